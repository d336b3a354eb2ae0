"""With a microphone per partner, the speech each microphone hears of the other partner.

In a reverberant room the other partner reaches a microphone a few decibels down, and
their voice's tail fills the gaps between words: a channel is voiced where it stands
within ``DetectorConfig.channel_margin_db`` of the loudest, so that a partner talking
over the other is heard on their own channel, and so the other's speech is heard on it
too. Their voices tell the two apart where levels cannot. Each channel's speech is cut
into windows (``diarization.clip_windows``) and embedded from that channel's audio;
partner A's voice print is learnt from the windows of channel A that stand
``enrol_lead_db`` or more above channel B at the same time (and B's likewise), and how
channel A hears B from afar from its windows that stand ``far_lead_db`` or more below
channel B (and likewise): a voice from afar carries that microphone's room and noise.
Per 10 ms (as ``diarization.step_scores`` weighs the windows), a channel's speech is the
other partner's where its windows are ``clear_margin`` nearer (cosine) to the other
partner as this channel hears them than to the channel's own partner, or where the
channel stands ``far_lead_db`` below the other (their power over ``lead_s``) without
its windows being clearly the channel's own voice; such stretches of ``min_turn_s`` or
more are left out of the channel. A segment louder on its own microphone all through
is its own partner's and is not embedded (live, once its voice is well known). Talking
over the other partner, one's own voice leads on one's own microphone, so overlaps
stay. A mm-hm said into one's own microphone over the other's speech is judged again in
short windows (``short_window_s``) and kept where it lifts its channel to within
``doubt_lead_db`` of the other, or within ``far_lead_db`` for ``lead_s``; the other's
voice around it, which the long windows give to the mm-hm, is judged again in short
windows too where it stands ``doubt_lead_db`` under the other channel. A segment too
short to embed is the other partner's where it stands ``far_lead_db`` under the other
channel over its length. Every lead is measured with the microphones' balance taken off
(``CrosstalkConfig.balance_db``): two microphones of unlike gain would otherwise leave
one partner's voice never taught.

``heard_from_afar`` judges a whole recording (``analyze``); ``FarVoices`` judges a
live session's segments as they end, learning the voices as it goes (the latest
``enrol_max_windows`` teaching windows of each partner, and as many of each channel's
windows from afar); there, a part of the channel's own beside the other's voice gives
up the steps at that edge that stand ``far_lead_db`` under the other channel (a mm-hm
just after the other's sentence is not given its last words). A voice print is
biometric data: it lives in memory for one session or one call and is never written to
disk, exported or logged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import Frame
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig
from attune_voice.listening.diarization import (
    DiarizationConfig,
    clip_windows,
    marked_runs,
    smoothed,
    step_scores,
)
from attune_voice.listening.segmentation import STEP_S
from attune_voice.listening.speaker_encoder import SpeakerEncoder, voice_print
from attune_voice.listening.subframes import SUBFRAME_SAMPLES, level_dbfs, subframe_dbfs

ChannelSegment = tuple[float, float, int]
"""(start_s, end_s, channel) of speech heard on one channel."""
Embeddings = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]
Marks = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CrosstalkConfig:
    """How the voices are learnt and how clearly a channel's speech must sound like the
    other partner to be left out."""

    enrol_lead_db: float = 2.0
    """A window teaches its channel's voice where the channel stands this far above the
    other at the same time: the partner is nearer to it than to the other's microphone."""
    far_lead_db: float = 6.0
    """Speech this far quieter than on the other channel, and not clearly the channel's
    own partner's voice, is the other's: in noise, a voice from afar sounds like
    neither. Less quiet, it may be the softer partner talking over the louder. A
    channel's windows this far quieter teach how it hears the other partner, and its
    own partner's short words over the other's speech stand less far below."""

    min_enrol_windows: int = 4
    """Each voice needs this many such windows; with fewer nothing is left out."""
    balance_core_db: float = 1.5
    """A partner's windows lie this close about their place (``balance_db``)."""
    min_balance_db: float = 1.0
    """A smaller balance is taken as none: noise draws a softer partner's windows toward
    0 dB, so two microphones alike can measure this far apart (0.4 dB in
    ``tests/test_analysis.py``'s room, where it cost the softer partner a mm-hm)."""
    max_balance_db: float = 20.0
    """The most by which one microphone may be taken to hear alike sound louder than the
    other (``balance_db``)."""
    enrol_max_windows: int = 80
    """Live, each voice keeps its latest this many teaching windows (about a minute)."""
    balance_windows: int = 400
    """Live, the microphones' balance is measured on the latest this many windows of
    either channel (about five minutes of speech), each partner's place with
    ``known_windows`` about it: early in a session a dozen windows of one partner
    talking over the other can gather as tightly as a partner's own (in the demo's
    seed 3, with microphones alike, twelve put the balance at 4.9 dB for 40 windows)."""
    known_windows: int = 20
    """Live, once a voice has this many, a segment louder on its own microphone all
    through is its partner's without embedding it (the encoder then runs only on what
    may be the other's voice)."""
    buffer_s: float = 60.0
    """Live, the audio kept: a longer segment is judged on its last ``buffer_s``."""
    clear_margin: float = DiarizationConfig().clear_margin
    """Speech is the other partner's where its windows are this much nearer (cosine) to
    the other's print than to the channel's own."""
    min_turn_s: float = DiarizationConfig().min_turn_s
    """A stretch must sound like the other partner for this long to be left out."""
    lead_s: float = 0.3
    """A channel's lead over the other is measured on its power over this long."""
    short_window_s: float = 0.6
    """Speech that sounds like the other partner is judged again in windows this long
    (half of one apart), for a channel's own partner's short words over it; and speech
    that sounds like the channel's own partner but stands ``doubt_lead_db`` under the
    other, for the other's voice around such words."""
    doubt_lead_db: float = 3.0
    """A stretch of ``min_turn_s`` or more standing this far under the other channel is
    judged again in short windows even where the long ones lean to the channel's own
    partner: around a mm-hm said over the other's speech, the 1.5 s windows lean to the
    mm-hm, while the other's voice from afar after it stands only 4-8 dB under at 15 dB
    SNR, not always the ``far_lead_db``. And a channel's own partner's words, kept from a
    stretch that sounds like the other, lift it to within this of the other channel or
    stay within ``far_lead_db`` for ``lead_s``: over the bench's 80 living-room
    conversations the other's voice from afar poked up within ``far_lead_db`` in 55
    places, never above -3.6 dB nor for longer than 0.25 s (a 90 ms one was a mm-hm of
    A's where A said nothing in ``tests/test_analysis.py``'s room with A's microphone
    quieter)."""
    threads: int = DiarizationConfig().threads

    def balance_db(self, a_over_b_db: FloatArray, core_windows: int | None = None) -> float | None:
        """How much louder microphone A hears alike sound than microphone B, from how far
        channel A stood above B in windows of speech (``a_over_b_db``); None until both
        partners are heard.

        Each partner is nearer their own microphone, so the differences fall in two
        groups: partner A's above the balance, partner B's below it. With microphones
        of like gain the groups lie either side of 0; one microphone turned 6 dB down
        moves both by 6 dB, and then one partner's windows never lead. The balance is
        the midpoint of the two groups, found by 2-means (each partner taken as far from
        their own microphone as the other from theirs). Speech of both at once and a
        voice's tail lie between the groups, and while one partner has said little
        they can make up much of that partner's group: each group is placed at its
        outer quartile, and counts as a partner only with ``core_windows`` windows
        (``min_enrol_windows`` unless given) within ``balance_core_db`` of that place.
        Two groups less than ``enrol_lead_db`` either side of their midpoint, or with
        half as many windows about their midpoint as about the denser place, are not
        two partners (one partner moving about the room spreads their windows evenly).
        """
        values = np.sort(np.asarray(a_over_b_db, dtype=np.float64))
        if len(values) < 2 * self.min_enrol_windows:
            return None
        low, high = np.percentile(values, (10.0, 90.0))
        for _ in range(20):
            split = int(np.searchsorted(values, (low + high) / 2.0))
            if min(split, len(values) - split) < self.min_enrol_windows:
                return None
            low, high = float(np.median(values[:split])), float(np.median(values[split:]))
        outer = (
            float(np.percentile(values[:split], 25.0)),
            float(np.percentile(values[split:], 75.0)),
        )
        low, high = outer
        if high - low < 2.0 * self.enrol_lead_db:
            return None
        cores = [int(np.sum(np.abs(values - place) <= self.balance_core_db)) for place in outer]
        midpoint = (low + high) / 2.0
        between = int(np.sum(np.abs(values - midpoint) <= self.balance_core_db))
        least = self.min_enrol_windows if core_windows is None else core_windows
        if min(cores) < least or between >= max(cores) / 2.0:
            return None
        if abs(midpoint) < self.min_balance_db:
            return 0.0
        return float(np.clip(midpoint, -self.max_balance_db, self.max_balance_db))

    def teaches(self, lead_db: FloatArray) -> Marks:
        """Where a channel leads the other by ``enrol_lead_db``: its own partner's voice."""
        marks: Marks = lead_db >= self.enrol_lead_db
        return marks

    def from_afar(self, lead_db: FloatArray) -> Marks:
        """Where a channel stands ``far_lead_db`` or more under the other: by level, the
        other partner's voice heard from afar."""
        marks: Marks = lead_db <= -self.far_lead_db
        return marks


@dataclass(frozen=True)
class Crosstalk:
    """What ``heard_from_afar`` found."""

    far: tuple[ChannelSegment, ...]
    """(start_s, end_s, channel) of the speech a channel heard of the other partner, in
    time order: to be left out of that channel."""
    judged: bool
    """Both voices were learnt (else nothing is left out)."""

    @property
    def far_s(self) -> float:
        return sum(b - a for a, b, _ in self.far)


@dataclass(frozen=True)
class _Voices:
    """What each channel's speech is told by: row c of ``own`` is channel c's partner's
    voice print (from the windows where channel c leads), row c of ``against`` the other
    partner as channel c hears them from afar (from its windows that stand
    ``far_lead_db`` or more below the other channel), or the other's own print while
    channel c has fewer than ``min_enrol_windows`` of those. A voice from afar carries
    that microphone's room, noise and colour as much as the voice: in a reverberant
    room at 20 dB SNR, every window of one partner's line heard on the other's
    microphone was nearer (by 0.05-0.10) to that other partner's print, learnt on the
    same microphone, than to their own."""

    own: Embeddings
    against: Embeddings

    def own_lean(self, embeddings: Embeddings, channels: npt.NDArray[np.int64]) -> FloatArray:
        """How much nearer each embedding is to its channel's partner than to the other
        partner as that channel hears them."""
        rows = np.arange(len(channels))
        lean: FloatArray = (embeddings @ self.own.T)[rows, channels] - (
            embeddings @ self.against.T
        )[rows, channels]
        return lean


def _voices(
    own: Sequence[Sequence[Embeddings]],
    afar: Sequence[Sequence[Embeddings]],
    config: CrosstalkConfig,
) -> _Voices:
    """The two channels' ``_Voices`` from the windows that taught each partner's voice
    (``own[c]``: channel c's partner) and those each channel heard from afar."""
    prints = np.stack([voice_print(np.stack(windows)) for windows in own])
    against = [
        voice_print(np.stack(afar[c]))
        if len(afar[c]) >= config.min_enrol_windows
        else prints[1 - c]
        for c in (0, 1)
    ]
    return _Voices(prints, np.stack(against))


def microphone_gain_db(channel: int | npt.NDArray[np.int64], balance_db: float) -> FloatArray:
    """How much louder ``channel``'s microphone hears alike sound than the other's, of two
    microphones ``balance_db`` apart (``CrosstalkConfig.balance_db``): taken off a
    channel's lead, so that a lead is the partners' nearness, not the microphones'."""
    gain: FloatArray = np.where(np.asarray(channel) == 0, balance_db, -balance_db)
    return gain


@dataclass(frozen=True)
class _Windows:
    """The windows of segments, from their own channel's audio."""

    where: list[tuple[int, float, float]]
    """(segment, start_s, end_s) of each window."""
    audio: list[npt.NDArray[np.int16]]
    channel: npt.NDArray[np.int64]
    lead_db: npt.NDArray[np.float64]
    """How far each window's channel stands above the other channel at the same time,
    the microphones' balance taken off (``balanced``)."""

    @property
    def a_over_b_db(self) -> FloatArray:
        """How far channel A stood above channel B in each window."""
        a_over_b: FloatArray = np.where(self.channel == 0, self.lead_db, -self.lead_db)
        return a_over_b

    def balanced(self, balance_db: float) -> _Windows:
        """These windows with their leads measured on microphones ``balance_db`` apart."""
        lead_db = self.lead_db - microphone_gain_db(self.channel, balance_db)
        return _Windows(self.where, self.audio, self.channel, lead_db)


def _windows(
    segments: Sequence[ChannelSegment], clips: Sequence[npt.NDArray[np.int16]]
) -> _Windows:
    """The diarization's windows of each segment of 0.3 s or more, with their leads as
    the microphones heard them (not yet ``balanced``)."""
    windowing = DiarizationConfig()
    where: list[tuple[int, float, float]] = []
    audio: list[npt.NDArray[np.int16]] = []
    channels: list[int] = []
    leads: list[float] = []
    for index, ((start_s, end_s, channel), clip) in enumerate(zip(segments, clips, strict=True)):
        for w_start, w_end, a, b in clip_windows(start_s, end_s, clip.shape[1], windowing):
            near = clip[channel, a:b]
            where.append((index, w_start, w_end))
            audio.append(near)
            channels.append(channel)
            leads.append(level_dbfs(near) - level_dbfs(clip[1 - channel, a:b]))
    return _Windows(
        where, audio, np.array(channels, dtype=np.int64), np.array(leads, dtype=np.float64)
    )


def _far(
    segments: Sequence[ChannelSegment],
    clips: Sequence[npt.NDArray[np.int16]],
    windows: _Windows,
    embeddings: Embeddings,
    voices: _Voices | None,
    encoder: SpeakerEncoder,
    config: CrosstalkConfig,
    balance_db: float,
) -> tuple[list[ChannelSegment], dict[int, FloatArray]]:
    """The stretches of the segments that are the other partner's voice, given both
    voices; without them, by level alone (``far_lead_db``); and each judged segment's
    ``_step_lead``, by its index. ``windows`` are balanced by ``balance_db``, as the
    leads measured here are."""
    # How much nearer each window is to its own channel's partner than to the other.
    own_lean = np.zeros(len(windows.channel))
    if voices is not None:
        own_lean = voices.own_lean(embeddings, windows.channel)
    by_segment: dict[int, list[int]] = {}
    for k, (index, _, _) in enumerate(windows.where):
        by_segment.setdefault(index, []).append(k)
    min_steps = max(1, round(config.min_turn_s / STEP_S))
    others: dict[int, Marks] = {}
    """Per judged segment, the 10 ms steps that are the other partner's voice."""
    leads: dict[int, FloatArray] = {}
    """Each judged segment's ``_step_lead``."""
    for index, judged_by in by_segment.items():
        start_s, end_s, _ = segments[index]
        spans = [windows.where[k][1:] for k in judged_by]
        _, score = step_scores(start_s, end_s, spans, own_lean[judged_by].astype(np.float64))
        channel = segments[index][2]
        lead = leads[index] = _step_lead(clips[index], channel, len(score), config, balance_db)
        # Nearer the other's voice, or quieter than the other channel and not clearly
        # one's own voice: in noise, the other's voice from afar sounds like neither.
        others[index] = (score <= -config.clear_margin) | (
            (score < config.clear_margin) & config.from_afar(lead)
        )
    judging = None if voices is None else _Judging(segments, clips, leads, encoder, voices, config)
    if judging is not None:
        _doubts_judged(others, judging)
    far: list[tuple[int, float, float]] = []
    """(segment, start_s, end_s) of each stretch that sounds like the other partner."""
    for index, other in others.items():
        start_s, end_s, _ = segments[index]
        afar = smoothed(other.astype(np.int8), min_steps)
        far += [
            (index, start_s + a * STEP_S, min(end_s, start_s + b * STEP_S))
            for a, b in marked_runs(afar)
        ]
    if judging is None:
        return [(a, b, segments[index][2]) for index, a, b in far], leads
    return _own_kept(far, judging), leads


@dataclass(frozen=True)
class _Judging:
    """What judging segments in short windows reads: the segments, their audio on both
    channels, each judged segment's ``_step_lead``, and the voices to tell them by."""

    segments: Sequence[ChannelSegment]
    clips: Sequence[npt.NDArray[np.int16]]
    leads: dict[int, FloatArray]
    encoder: SpeakerEncoder
    voices: _Voices
    config: CrosstalkConfig


def _short_leans(
    stretches: Sequence[tuple[int, float, float]], judging: _Judging
) -> list[tuple[int, float, float, float]]:
    """The (segment, start_s, end_s) ``stretches`` cut into windows of
    ``short_window_s``, half of one apart (none under 0.1 s), each as (stretch,
    start_s, end_s, how much nearer it is to its channel's partner than to the other
    partner as that channel hears them)."""
    segments, clips, config = judging.segments, judging.clips, judging.config
    step_s = config.short_window_s / 2
    pieces: list[tuple[int, float, float]] = []
    audio: list[npt.NDArray[np.int16]] = []
    for k, (index, a, b) in enumerate(stretches):
        start_s, _, channel = segments[index]
        w_start = a
        while True:
            w_end = min(b, w_start + config.short_window_s)
            x = round((w_start - start_s) * SAMPLE_RATE_HZ)
            y = round((w_end - start_s) * SAMPLE_RATE_HZ)
            if y - x >= SAMPLE_RATE_HZ // 10:
                pieces.append((k, w_start, w_end))
                audio.append(clips[index][channel, x:y])
            if w_end >= b:
                break
            w_start += step_s
    if not pieces:
        return []
    embeddings = judging.encoder.embed(audio, threads=config.threads)
    channels = np.array([segments[stretches[k][0]][2] for k, _, _ in pieces], dtype=np.int64)
    leans = judging.voices.own_lean(embeddings, channels)
    return [(k, a, b, float(lean)) for (k, a, b), lean in zip(pieces, leans, strict=True)]


def _doubts_judged(others: dict[int, Marks], judging: _Judging) -> None:
    """Mark in ``others`` the other partner's voice that the long windows gave to the
    channel's own: stretches of ``min_turn_s`` or more not yet the other's and standing
    ``doubt_lead_db`` under the other channel (``leads``) are judged in short windows,
    and in each window that leans clearly to the other partner, the steps standing that
    far under are the other's."""
    segments, leads, config = judging.segments, judging.leads, judging.config
    min_steps = max(1, round(config.min_turn_s / STEP_S))
    doubts: list[tuple[int, float, float]] = []
    for index, other in others.items():
        start_s = segments[index][0]
        doubtful = ~other & (leads[index] <= -config.doubt_lead_db)
        doubts += [
            (index, start_s + a * STEP_S, start_s + b * STEP_S)
            for a, b in marked_runs(smoothed(doubtful.astype(np.int8), min_steps))
        ]
    for k, w_start, w_end, lean in _short_leans(doubts, judging):
        if lean > -config.clear_margin:
            continue
        index = doubts[k][0]
        steps = _window_steps(segments[index][0], w_start, w_end)
        others[index][steps] |= leads[index][steps] <= -config.doubt_lead_db


def _window_steps(start_s: float, w_start: float, w_end: float) -> slice:
    """The 10 ms steps of a segment beginning at ``start_s`` that a short window covers."""
    return slice(round((w_start - start_s) / STEP_S), round((w_end - start_s) / STEP_S))


def _step_lead(
    clip: npt.NDArray[np.int16],
    channel: int,
    steps: int,
    config: CrosstalkConfig,
    balance_db: float,
) -> npt.NDArray[np.float64]:
    """Per 10 ms step of a segment, how far its channel stands above the other, each
    channel's power averaged over ``lead_s`` (a word's syllable, not a window's 1.5 s:
    a mm-hm's rise is not spread over the speech around it), on microphones
    ``balance_db`` apart."""
    width = max(1, round(config.lead_s / STEP_S))
    kernel = np.ones(width) / width
    powers = [
        np.convolve(10.0 ** (subframe_dbfs(clip[c]) / 10.0), kernel, mode="same")
        for c in (channel, 1 - channel)
    ]
    lead = 10.0 * np.log10(np.maximum(powers[0], 1e-12) / np.maximum(powers[1], 1e-12))
    lead -= microphone_gain_db(channel, balance_db)
    result = np.zeros(steps)  # a clip cut short: its missing steps lead by nothing
    result[: min(steps, len(lead))] = lead[:steps]
    return result


def _short_from_afar(
    clip: npt.NDArray[np.int16], channel: int, balance_db: float, config: CrosstalkConfig
) -> bool:
    """Whether a segment too short to embed (``clip`` on both channels) stands
    ``far_lead_db`` or more under the other channel over its length: a syllable or the
    tail of the other partner's voice, not a word of its own partner's (a mm-hm said
    into one's own microphone over the other's speech stands less far under)."""
    lead = level_dbfs(clip[channel]) - level_dbfs(clip[1 - channel])
    return bool(config.from_afar(np.array([lead]) - microphone_gain_db(channel, balance_db))[0])


def speech_balance_db(
    segments: Sequence[ChannelSegment],
    clips: Sequence[npt.NDArray[np.int16]],
    config: CrosstalkConfig | None = None,
) -> float:
    """The microphones' balance as ``heard_from_afar`` measures it on the same speech
    (``CrosstalkConfig.balance_db``), without judging any of it; 0 where not measured."""
    config = config or CrosstalkConfig()
    return config.balance_db(_windows(segments, clips).a_over_b_db) or 0.0


def heard_from_afar(
    segments: Sequence[ChannelSegment],
    clips: Sequence[npt.NDArray[np.int16]],
    encoder: SpeakerEncoder,
    config: CrosstalkConfig | None = None,
) -> Crosstalk:
    """The stretches of each channel's speech that are the other partner's voice.

    ``segments`` are (start_s, end_s, channel) of two channels' speech and ``clips[i]``
    the 16 kHz int16 audio of segment i on both channels, shaped (2, n).
    """
    config = config or CrosstalkConfig()
    windows = _windows(segments, clips)
    if not windows.where:
        return Crosstalk((), False)
    balance_db = config.balance_db(windows.a_over_b_db) or 0.0
    windows = windows.balanced(balance_db)
    channel_of = windows.channel
    teaching = config.teaches(windows.lead_db)
    if min(int(np.sum(teaching & (channel_of == c))) for c in (0, 1)) < config.min_enrol_windows:
        return Crosstalk((), False)
    index_of = np.array([index for index, _, _ in windows.where])
    embeddable = set(index_of.tolist())
    short = [
        (start_s, end_s, channel)
        for index, (start_s, end_s, channel) in enumerate(segments)
        if index not in embeddable and _short_from_afar(clips[index], channel, balance_db, config)
    ]
    # A segment louder on its own microphone all through is its own partner's: only the
    # others are judged, and only they and the teaching windows are embedded.
    doubtful = np.isin(index_of, index_of[~teaching])
    if not doubtful.any():
        return Crosstalk(tuple(sorted(short)), True)
    kept = np.flatnonzero(teaching | doubtful)
    embeddings = encoder.embed([windows.audio[k] for k in kept], threads=config.threads)
    taught = teaching[kept]
    # Windows of doubtful segments only: a segment that leads all through has none.
    afar = config.from_afar(windows.lead_db[kept])
    channels = channel_of[kept]
    voices = _voices(
        [list(embeddings[taught & (channels == c)]) for c in (0, 1)],
        [list(embeddings[afar & (channels == c)]) for c in (0, 1)],
        config,
    )
    judged = np.flatnonzero(doubtful[kept])
    subset = _Windows(
        [windows.where[kept[k]] for k in judged],
        [windows.audio[kept[k]] for k in judged],
        channel_of[kept[judged]],
        windows.lead_db[kept[judged]],
    )
    far, _ = _far(segments, clips, subset, embeddings[judged], voices, encoder, config, balance_db)
    return Crosstalk(tuple(sorted(far + short)), True)


class FarVoices:
    """Live, with a microphone each: each segment, as it ends, cut into the parts its
    own partner said and the parts that are the other partner's voice from afar."""

    def __init__(
        self,
        encoder: SpeakerEncoder,
        config: CrosstalkConfig | None = None,
        balance_db: float = 0.0,
    ) -> None:
        """``balance_db``: the microphones' balance as measured before the session (by
        the room check), taken until the session's own windows measure it."""
        self.config = config or CrosstalkConfig()
        self._encoder = encoder
        self._balance_before_db = float(
            np.clip(balance_db, -self.config.max_balance_db, self.config.max_balance_db)
        )
        self.balance_db = self._balance_before_db
        """The microphones' balance the latest segment was judged with."""
        self._samples = int(self.config.buffer_s * SAMPLE_RATE_HZ)
        self._audio = np.zeros((2, self._samples), dtype=np.int16)
        self._end_sample = 0
        kept = self.config.enrol_max_windows
        self._taught: tuple[deque[Embeddings], deque[Embeddings]] = (
            deque(maxlen=kept),
            deque(maxlen=kept),
        )
        """Per channel's partner, the latest windows that taught their voice."""
        self._afar: tuple[deque[Embeddings], deque[Embeddings]] = (
            deque(maxlen=kept),
            deque(maxlen=kept),
        )
        """Per channel, the latest windows it heard of the other partner from afar."""
        self._a_over_b_db: deque[float] = deque(maxlen=self.config.balance_windows)
        """How far channel A stood above B in the latest windows: the microphones'
        balance (``CrosstalkConfig.balance_db``)."""

    def hear(self, frame: Frame) -> None:
        """Keep a frame of both microphones (every frame, in order)."""
        at = np.arange(frame.start_sample, frame.start_sample + frame.pcm.shape[1])
        self._audio[:, at % self._samples] = frame.pcm[:2]
        self._end_sample = frame.start_sample + frame.pcm.shape[1]

    def parts(self, start_t: float, end_t: float, channel: int) -> list[tuple[float, float, bool]]:
        """The segment as (start_t, end_t, from afar) parts in time order, covering it;
        until both voices are known, by level alone (``far_lead_db``)."""
        end = min(round(end_t * SAMPLE_RATE_HZ), self._end_sample)
        start = max(round(start_t * SAMPLE_RATE_HZ), end - self._samples, 0)
        if end <= start:
            return [(start_t, end_t, False)]
        clip = self._audio[:, np.arange(start, end) % self._samples]
        segment = (start / SAMPLE_RATE_HZ, end / SAMPLE_RATE_HZ, channel)
        windows = _windows([segment], [clip])
        self._a_over_b_db.extend(windows.a_over_b_db)
        measured = self.config.balance_db(
            np.array(self._a_over_b_db), core_windows=self.config.known_windows
        )
        balance_db = self.balance_db = self._balance_before_db if measured is None else measured
        windows = windows.balanced(balance_db)
        if not windows.where:
            return [(start_t, end_t, _short_from_afar(clip, channel, balance_db, self.config))]
        known = min(len(taught) for taught in self._taught) >= self.config.min_enrol_windows
        own = bool(np.all(self.config.teaches(windows.lead_db)))
        well_known = len(self._taught[channel]) >= self.config.known_windows
        if own and known and well_known:
            # Louder on its own microphone all through: its own partner's, whose voice
            # is well known (the usual case, with microphones well apart).
            return [(start_t, end_t, False)]
        embeddings = self._encoder.embed(windows.audio, threads=1)
        teaching = self.config.teaches(windows.lead_db)
        afar = self.config.from_afar(windows.lead_db)
        for embedding, taught, heard_afar in zip(embeddings, teaching, afar, strict=True):
            if taught:
                self._taught[channel].append(embedding)
            elif heard_afar:
                self._afar[channel].append(embedding)
        voices = None
        if min(len(taught) for taught in self._taught) >= self.config.min_enrol_windows:
            voices = _voices(self._taught, self._afar, self.config)
        far, leads = _far(
            [segment], [clip], windows, embeddings, voices, self._encoder, self.config, balance_db
        )
        result: list[tuple[float, float, bool]] = []
        t = start_t
        for a, b, _ in sorted(far):
            result.append((t, a, False))
            result.append((max(a, t), b, True))
            t = b
        result.append((t, end_t, False))
        # The segment's lead as ``_far`` measured it, to the sub-frames its audio holds.
        lead = leads[0][: clip.shape[1] // SUBFRAME_SAMPLES]
        result = _own_edges_trimmed(result, self.config.from_afar(lead), start / SAMPLE_RATE_HZ)
        # Too short to have been heard as speech: with the far part beside it.
        shortest_s = DetectorConfig().min_speech_s
        return [part for part in result if part[2] or part[1] - part[0] >= shortest_s]


def _own_edges_trimmed(
    parts: list[tuple[float, float, bool]], under: npt.NDArray[np.bool_], start_t: float
) -> list[tuple[float, float, bool]]:
    """``parts`` (start_t, end_t, from afar) of a segment heard from ``start_t``, each own
    part's edges next to the other's voice moved in past the steps that stand
    ``far_lead_db`` under the other channel (``under``), which go with the far part
    beside them: the own part begins where its windows lean to its own voice, and a
    window is long, so a mm-hm just after the other's sentence took the sentence's last
    words and their echo with it (0.3-0.4 s more: counted as an interruption). A part
    under all through stays as it is (the windows found it the channel's own)."""
    result = []
    for k, (a, b, far) in enumerate(parts):
        first = max(0, round((a - start_t) / STEP_S))
        inside = under[first : max(first, round((b - start_t) / STEP_S))]
        if far or inside.all() or not len(inside):
            result.append((a, b, far))
            continue
        after_far = k > 0 and parts[k - 1][2]
        before_far = k + 1 < len(parts) and parts[k + 1][2]
        lead_in = int(np.argmin(inside)) if after_far else 0
        lead_out = int(np.argmin(inside[::-1])) if before_far else 0
        own_a, own_b = a + lead_in * STEP_S, b - lead_out * STEP_S
        if lead_in:
            result.append((a, own_a, True))
        result.append((own_a, own_b, False))
        if lead_out:
            result.append((own_b, b, True))
    return result


def _own_kept(far: list[tuple[int, float, float]], judging: _Judging) -> list[ChannelSegment]:
    """The (segment, start_s, end_s) stretches of ``far`` as (start_s, end_s, channel),
    without the short stretches where the channel's own partner speaks as well (a mm-hm
    said into one's own microphone over the other's speech): judged in windows of
    ``short_window_s``; of each window that leans clearly to its own channel's voice,
    the steps where the channel stands less than ``far_lead_db`` below the other
    (``leads``: each segment's ``_step_lead``) are kept, in runs that reach within
    ``doubt_lead_db`` of the other or last ``lead_s``. The long windows around a mm-hm
    hear mostly the other's voice; a mm-hm said near one's own microphone lifts it
    within that of the other, while the other's voice from afar stays below."""
    segments, leads, config = judging.segments, judging.leads, judging.config
    own: dict[int, list[tuple[float, float]]] = {}
    for k, w_start, w_end, lean in _short_leans(far, judging):
        if lean < config.clear_margin:
            continue
        index = far[k][0]
        near = leads[index][_window_steps(segments[index][0], w_start, w_end)]
        for first_step, end_step in marked_runs(~config.from_afar(near)):
            # A word said near one's own microphone lifts it to within doubt_lead_db of
            # the other, or for lead_s (its power's span) at least; the other's voice
            # from afar pokes up less and for less.
            lifted = near[first_step:end_step].max() > -config.doubt_lead_db
            if lifted or (end_step - first_step) * STEP_S >= config.lead_s:
                own.setdefault(k, []).append(
                    (w_start + first_step * STEP_S, w_start + end_step * STEP_S)
                )
    kept: list[ChannelSegment] = []
    for k, (index, a, b) in enumerate(far):
        channel = segments[index][2]
        t = a
        for own_start, own_end in own.get(k, []):  # in time order, as made
            if own_start > t:
                kept.append((t, own_start, channel))
            t = max(t, own_end)
        if b > t:
            kept.append((t, b, channel))
    return kept
