"""Analysis of a recorded conversation: reading, the channel decision, detection.

``analyze_recording`` reads any WAV the project reads (any common rate, 8- to 32-bit
or float, 1 to 8 channels) block by block, so an hour never sits in memory, and runs
the very detector that live sessions use. Nothing here prints: the command line turns
an ``Analysis`` into text, JSON or CSV with ``review.analysis_report``.

Channels: one channel is one room. Two channels are taken as one microphone per
partner (channel 1 is A, channel 2 is B), unless both carry the same signal (an
ordinary stereo phone or laptop recording), which is then analysed as one. More
channels are mixed into one only when asked (``mono``).

The turn-taking numbers come from ``review.recording_metrics`` and the timeline's
coverage from ``review.speech``: the rules that live sessions' reviews use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from attune_voice.audio import wav
from attune_voice.audio.resample import FloatPcm, Resampler, to_int16
from attune_voice.compat import StrEnum
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig
from attune_voice.errors import AudioFileError
from attune_voice.events import PARTNERS
from attune_voice.listening.channels import ChannelDetector
from attune_voice.listening.crosstalk import Crosstalk, heard_from_afar, speech_balance_db
from attune_voice.listening.diarization import Diarization, who_spoke_when
from attune_voice.listening.far_paths import FarPaths, far_cancelled, learn_far_paths
from attune_voice.listening.islands import noise_db
from attune_voice.listening.segmentation import Heard
from attune_voice.listening.segmenter import Segment
from attune_voice.listening.subframes import SILENT_DBFS, SUBFRAME_SAMPLES, subframe_dbfs
from attune_voice.review.recording_metrics import TurnMetrics, turn_metrics
from attune_voice.review.speech import SpeechSpan, Stretch, left_out, talk_s

Pcm16 = npt.NDArray[np.int16]

_SAME_CORRELATION = 0.7
"""Two channels whose waveforms correlate this well carry one signal..."""
_SAME_SPREAD_DB = 6.0
"""...provided their level difference also stays within this of its usual value:
one microphone per partner swings by the crosstalk, one way and then the other."""
_ACTIVE_DB = 15.0
"""Blocks this far above a channel's quiet level take part in the channel decision."""
_DECIDE_WITHIN_S = 600.0
"""The channel decision looks at the first ten minutes: how a recording was made does
not change halfway through it."""

_READ_FRAMES = 1 << 16
"""Sample frames read at a time."""
_DETECT_BLOCK_S = 10.0
"""Audio handed to the detector at a time: long enough to vectorise, short enough
to keep memory flat."""


class ChannelMode(StrEnum):
    """How the channels of a recording were taken."""

    MONO = "mono"
    """One channel in the file."""
    PARTNERS = "partners"
    """Two channels, one microphone per partner."""
    SAME_SIGNAL = "same signal"
    """Two channels carrying the same signal, analysed as one."""
    MIXED = "mixed"
    """Several channels mixed into one on request."""


@dataclass(frozen=True)
class Analysis:
    """What ``analyze_recording`` found."""

    file: str
    duration_s: float
    rate_hz: int
    file_channels: int
    channels: int
    """Channels analysed: 1, or 2 with one microphone per partner."""
    mode: ChannelMode
    segments: tuple[SpeechSpan, ...]
    """In time order (by start, then speaker)."""
    metrics: TurnMetrics
    cut_short_s: float | None = None
    """The length the header promised when the file holds less (it was cut short)."""
    voices: int | None = None
    """With one channel: the voices told apart in its speech (0, 1 or 2); None with one
    microphone per partner, where the channels attribute the speech."""
    voices_alike: bool | None = None
    """With two voices told apart: they sound as alike as one person's voice can with
    itself, so the recording may be of one person; None where no voices were sought."""
    voices_unsure_s: float | None = None
    """With two voices told apart: how much of the speech they split was not clearly one
    voice's (its windows about as near to both); None where no voices were told apart."""
    far_s: float | None = None
    """With a microphone per partner and voices told apart: the speech a microphone
    heard of the other partner (their voice, from afar) and left out; None where the
    voices were not sought or not learnt."""
    far_learnt_s: tuple[float, float] | None = None
    """With a microphone per partner and voices told apart: the seconds of speech, on A's
    microphone and on B's, from which how it hears the other partner was learnt and
    taken out (``listening.far_paths``; 0 where too little was heard to learn from); None
    where the voices were not sought."""
    coach_s: float | None = None
    """Time the file marks as the coach's prompts (a session's saved audio), left out of
    the speech; None for a file without such marks."""

    @property
    def overlaps_heard(self) -> bool:
        """Whether speech at once can be heard as both partners': with a microphone each,
        or on one channel with two voices told apart (the segmentation network finds
        where two speak at once). Otherwise no speech is anyone's, and time both
        speaking is not counted (null in JSON)."""
        return self.channels == 2 or self.voices == 2


# --- reading -----------------------------------------------------------------------------


def _read_blocks(path: Path, info: wav.WavInfo) -> Iterator[FloatPcm]:
    """The audio as float blocks shaped (channels, n), a bounded read at a time."""
    try:
        file = path.open("rb")
    except OSError as e:
        raise AudioFileError(f"{path}: cannot read it: {e.strerror or e}") from e
    with file:
        # wav.py's own block reader decodes every encoding it accepts; reusing it keeps
        # one decoder, and an hour is decoded piece by piece, never whole.
        yield from wav.iter_wav_blocks(path, file, info)


def _read_pcm16(path: Path, info: wav.WavInfo) -> Iterator[Pcm16]:
    """16-bit audio as it is stored, blocks shaped (channels, n): at 16 kHz it goes to
    the detector as it is, with no round trip through floats."""
    try:
        with path.open("rb") as file:
            file.seek(info.data_offset)
            remaining = info.frames
            while remaining > 0:
                frames = min(remaining, _READ_FRAMES)
                raw = file.read(frames * info.frame_bytes)
                frames = len(raw) // info.frame_bytes
                if frames == 0:
                    return
                remaining -= frames
                samples = np.frombuffer(raw[: frames * info.frame_bytes], dtype="<i2")
                yield np.ascontiguousarray(samples.reshape(frames, info.channels).T)
    except OSError as e:
        raise AudioFileError(f"{path}: cannot read it: {e.strerror or e}") from e


def channels_carry_same_signal(blocks: Iterator[FloatPcm], rate_hz: int) -> bool:
    """Whether the two channels of a recording carry one signal.

    Looks at every 10 ms of the first ten minutes where either channel is well above
    its quiet level: the two must correlate as waveforms and keep a steady level
    difference. A microphone per partner fails both: each channel is mostly its own
    partner, and the level difference swings by the crosstalk when the other speaks.
    """
    step = max(1, rate_hz // 100)
    levels: list[npt.NDArray[np.float64]] = []
    dots: list[npt.NDArray[np.float64]] = []
    powers: list[npt.NDArray[np.float64]] = []
    carry = np.zeros((2, 0), dtype=np.float32)
    seen = 0
    for block in blocks:
        if seen >= _DECIDE_WITHIN_S * rate_hz:
            break
        seen += block.shape[1]
        joined = np.concatenate((carry, block[:2]), axis=1)
        usable = joined.shape[1] - joined.shape[1] % step
        carry = joined[:, usable:]
        frames = joined[:, :usable].reshape(2, -1, step).astype(np.float64)
        power = np.einsum("cij,cij->ci", frames, frames)
        powers.append(power)
        dots.append(np.einsum("ij,ij->i", frames[0], frames[1]))
        levels.append(10.0 * np.log10(np.maximum(power / step, 1e-12)))
    if not levels:
        return True
    level = np.concatenate(levels, axis=1)
    power = np.concatenate(powers, axis=1)
    dot = np.concatenate(dots)
    quiet = np.percentile(level, 10, axis=1, keepdims=True)
    active = np.any(level >= quiet + _ACTIVE_DB, axis=0)
    if not active.any():
        # Nothing but room tone: either way there is nobody to attribute.
        return True
    p0, p1 = power[0, active].sum(), power[1, active].sum()
    correlation = float(abs(dot[active].sum()) / math.sqrt(max(p0 * p1, 1e-30)))
    difference = level[0, active] - level[1, active]
    spread = float(np.percentile(np.abs(difference - np.median(difference)), 90))
    return correlation >= _SAME_CORRELATION and spread <= _SAME_SPREAD_DB


# --- detection ---------------------------------------------------------------------------


def as_pcm16(blocks: Iterator[FloatPcm], rate_hz: int, channels: int) -> Iterator[Pcm16]:
    """Float blocks at any rate as 16 kHz 16-bit blocks, as a live microphone gives."""
    resampler = Resampler(rate_hz, SAMPLE_RATE_HZ, channels) if rate_hz != SAMPLE_RATE_HZ else None
    for block in blocks:
        yield to_int16(resampler.process(block) if resampler is not None else block)
    if resampler is not None:
        yield to_int16(resampler.flush())


def detect_segments(
    blocks: Iterator[Pcm16],
    channels: int,
    config: DetectorConfig | None = None,
    on_progress: Callable[[float], None] | None = None,
    balance_db: float = 0.0,
) -> list[Segment]:
    """Speech segments of 16 kHz 16-bit blocks shaped (channels, n), of any lengths.

    The same ``ChannelDetector`` as live sessions, handed about 10 s at a time; with
    two channels, on microphones ``balance_db`` apart (``ChannelDetector.balance_db``).
    """
    detector = ChannelDetector(config or DetectorConfig(), channels, batch=True)
    detector.balance_db = balance_db
    chunk = int(_DETECT_BLOCK_S * SAMPLE_RATE_HZ)
    pending: list[Pcm16] = []
    pending_samples = 0
    segments: list[Segment] = []

    def run(final: bool) -> None:
        nonlocal pending, pending_samples
        if not pending:
            return
        joined = np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]
        usable = joined.shape[1] - joined.shape[1] % SUBFRAME_SAMPLES
        if usable:
            segments.extend(detector.feed(joined[:, :usable])[1])
            if on_progress is not None:
                on_progress(detector.t)
        # A last fraction of 10 ms is too short to judge and is left out.
        rest = joined[:, usable:] if not final else joined[:, :0]
        pending = [rest] if rest.shape[1] else []
        pending_samples = rest.shape[1]

    for block in blocks:
        pending.append(block)
        pending_samples += block.shape[1]
        if pending_samples >= chunk:
            run(final=False)
    run(final=True)
    segments.extend(detector.flush())
    if on_progress is not None:
        on_progress(detector.t)  # the last batch is judged at the flush
    return segments


def _mixed(blocks: Iterator[FloatPcm]) -> Iterator[FloatPcm]:
    for block in blocks:
        yield block.mean(axis=0, keepdims=True, dtype=np.float32)


def analyze_recording(
    path: str | Path,
    *,
    mono: bool = False,
    config: DetectorConfig | None = None,
    on_progress: Callable[[float], None] | None = None,
    attribute_voices: bool = True,
) -> Analysis:
    """Find who spoke when in a recorded conversation, and the turn-taking metrics.

    With one channel (or one signal), the speech is split between two voices by the
    voices themselves (``listening.diarization``) unless ``attribute_voices`` is off.

    Raises ``AudioFileError`` (one line saying what is wrong and what is accepted) for a
    file that cannot be analysed.
    """
    file_path = Path(path)
    info = wav.wav_info(file_path)
    duration_s = info.frames / info.rate_hz
    if mono or info.channels == 1:
        mode = ChannelMode.MONO if info.channels == 1 else ChannelMode.MIXED
    elif info.channels == 2:
        same = channels_carry_same_signal(_read_blocks(file_path, info), info.rate_hz)
        mode = ChannelMode.SAME_SIGNAL if same else ChannelMode.PARTNERS
    else:
        raise AudioFileError(
            f"{file_path}: has {info.channels} channels; analyze takes one channel per "
            "partner (1 or 2 channels): add --mono to mix them all into one"
        )
    channels = 2 if mode == ChannelMode.PARTNERS else 1
    pcm_direct = (
        channels == info.channels and info.encoding == "int16" and info.rate_hz == SAMPLE_RATE_HZ
    )

    def read() -> Iterator[Pcm16]:
        if pcm_direct:
            return _read_pcm16(file_path, info)
        floats = _read_blocks(file_path, info)
        if channels < info.channels:
            floats = _mixed(floats)
        return as_pcm16(floats, info.rate_hz, channels)

    config = config or DetectorConfig()
    # Telling voices apart reads the file a second time, and with a microphone each it
    # is read twice more with the other partner taken out: each pass is a share of the
    # bar (if those two are not needed, the bar ends sooner).
    passes = (4 if channels == 2 else 2) if attribute_voices else 1

    def progress(done_s: float) -> None:
        if on_progress is not None:
            on_progress(done_s / passes)

    coach = [Stretch(a / info.rate_hz, b / info.rate_hz) for a, b in info.coach_frames]

    def speech(
        blocks: Iterator[Pcm16], balance_db: float, on_pass: Callable[[float], None]
    ) -> tuple[SpeechSpan, ...]:
        found = detect_segments(blocks, channels, config, on_pass, balance_db)
        spans = spans_from_segments(found, channels, duration_s)
        if coach:
            # A session's saved audio holds its coach's prompts: the session's listener
            # heard none of them as anyone's speech, and neither does the analysis.
            spans = tuple(left_out(spans, coach, config.min_speech_s))
        return spans

    spans = speech(read(), 0.0, progress)
    voices: Diarization | None = None
    far: Crosstalk | None = None
    paths: FarPaths | None = None
    if attribute_voices:

        def pass_(number: int) -> Callable[[float], None]:
            return lambda done_s: progress((number - 1) * duration_s + done_s)

        # A second pass over the file keeps only the speech's audio, never the whole file.
        if channels == 1:
            spans, voices = _told_apart(spans, read(), pass_(2))
        else:
            clips, _ = _speech_audio(read(), spans, pass_(2))
            balance_db = speech_balance_db(_channel_segments(spans), clips)
            paths = learn_far_paths(clips, [s.t for s in spans], balance_db)
            if balance_db or paths.learnt:
                # Found again with the other partner taken out of each microphone, each
                # channel holds its own partner, whole even where the other talks over
                # them; and with the microphones' balance taken off, as a live
                # session's are, the quieter microphone is not held to 9 dB of the
                # louder one's level at the other's word ends (each a mm-hm).
                del clips  # the first speech's audio: let go before the new is read
                spans = speech(far_cancelled(read(), paths), balance_db, pass_(3))
                clips, _ = _speech_audio(far_cancelled(read(), paths), spans, pass_(4))
            spans, far = _far_left_out(spans, clips, config.min_speech_s)
    cut_short_s = None
    if info.truncated:
        cut_short_s = _claimed_s(file_path, info)
    return Analysis(
        file=str(file_path),
        duration_s=duration_s,
        rate_hz=info.rate_hz,
        file_channels=info.channels,
        channels=channels,
        mode=mode,
        segments=spans,
        metrics=turn_metrics(spans, duration_s, coach),
        cut_short_s=cut_short_s,
        voices=None if voices is None else voices.voices,
        voices_alike=None if voices is None else voices.alike,
        voices_unsure_s=None if voices is None or voices.voices < 2 else voices.unsure_s,
        far_s=far.far_s if far is not None and far.judged else None,
        far_learnt_s=None if paths is None else paths.learnt_s,
        coach_s=talk_s(coach) if coach else None,
    )


def _speech_audio(
    blocks: Iterator[Pcm16],
    spans: Sequence[SpeechSpan],
    on_progress: Callable[[float], None],
    listen: Callable[[Pcm16], None] | None = None,
) -> tuple[list[Pcm16], float]:
    """The 16 kHz audio of each span (in time order) on every channel, shaped
    (channels, n), read block by block, and the room's noise level in dBFS
    (``islands.noise_db``) over the whole recording's first channel; every block's first
    channel is handed to ``listen`` as well, and the seconds read to ``on_progress``."""
    bounds = [(round(s.t * SAMPLE_RATE_HZ), round(s.end_t * SAMPLE_RATE_HZ)) for s in spans]
    parts: list[list[Pcm16]] = [[] for _ in spans]
    levels: list[npt.NDArray[np.float64]] = []
    at = 0
    first = 0
    channels = 1
    for block in blocks:
        channels = block.shape[0]
        if listen is not None:
            listen(block[0])
        # A block's last few samples short of a sub-frame are left out of the levels:
        # the noise is a percentile of tens of thousands of sub-frames.
        levels.append(subframe_dbfs(block[0]))
        end = at + block.shape[1]
        while first < len(bounds) and bounds[first][1] <= at:
            first += 1
        k = first
        while k < len(bounds) and bounds[k][0] < end:
            a, b = bounds[k]
            if b > at:
                parts[k].append(block[:, max(a, at) - at : min(b, end) - at])
            k += 1
        at = end
        on_progress(at / SAMPLE_RATE_HZ)
    clips = [
        np.concatenate(p, axis=1) if p else np.zeros((channels, 0), dtype=np.int16) for p in parts
    ]
    heard = np.concatenate(levels) if levels else np.zeros(0)
    return clips, noise_db(heard) if len(heard) else SILENT_DBFS


def _heard(
    spans: tuple[SpeechSpan, ...], blocks: Iterator[Pcm16], on_progress: Callable[[float], None]
) -> tuple[list[Pcm16], float, Heard]:
    """``_speech_audio``'s clips and room noise, and what the segmentation network heard
    (two speak at once, one follows another; the network is let go when this returns,
    before the encoder is loaded); the seconds of audio read so far go to ``on_progress``."""
    from attune_voice.listening.segmentation import Overlap, SpeakerSegmentation

    overlap = Overlap(SpeakerSegmentation(), speech=[(s.t, s.end_t) for s in spans])
    clips, room_noise_db = _speech_audio(blocks, spans, on_progress, overlap.feed)
    return [clip[0] for clip in clips], room_noise_db, overlap.finish()


def _told_apart(
    spans: tuple[SpeechSpan, ...], blocks: Iterator[Pcm16], on_progress: Callable[[float], None]
) -> tuple[tuple[SpeechSpan, ...], Diarization]:
    """One channel's speech split between two voices, and what was found."""
    from attune_voice.listening.speaker_encoder import SpeakerEncoder

    clips, room_noise_db, network = _heard(spans, blocks, on_progress)
    found = who_spoke_when(
        [(s.t, s.end_t) for s in spans],
        clips,
        SpeakerEncoder(),
        room_noise_db=room_noise_db,
        network=network,
    )
    if found.voices < 2:
        return spans, found
    told = tuple(
        SpeechSpan(v.start_s, v.end_s, None if v.voice is None else PARTNERS[v.voice])
        for v in found.spans
    )
    return tuple(sorted(told, key=lambda s: (s.t, s.partner or ""))), found


def _channel_segments(spans: Sequence[SpeechSpan]) -> list[tuple[float, float, int]]:
    """(start_s, end_s, channel) of a microphone per partner's speech."""
    return [(s.t, s.end_t, PARTNERS.index(s.partner or PARTNERS[0])) for s in spans]


def _far_left_out(
    spans: tuple[SpeechSpan, ...], clips: Sequence[Pcm16], shortest_s: float
) -> tuple[tuple[SpeechSpan, ...], Crosstalk]:
    """A microphone per partner: each channel's speech (``clips``: the audio of each of
    ``spans``, ``_speech_audio``) without what it heard of the other partner's voice
    (``listening.crosstalk``), and what was found."""
    from attune_voice.listening.speaker_encoder import SpeakerEncoder

    found = heard_from_afar(_channel_segments(spans), clips, SpeakerEncoder())
    kept: list[SpeechSpan] = []
    for channel, partner in enumerate(PARTNERS):
        far = [Stretch(a, b) for a, b, c in found.far if c == channel]
        kept += left_out((s for s in spans if s.partner == partner), far, shortest_s)
    return tuple(sorted(kept, key=lambda s: (s.t, s.partner or ""))), found


def _claimed_s(path: Path, info: wav.WavInfo) -> float | None:
    """The duration the data chunk's header claims, for a file that was cut short."""
    try:
        with path.open("rb") as file:
            file.seek(info.data_offset - 4)
            claimed_bytes = int.from_bytes(file.read(4), "little")
    except OSError:
        return None
    if claimed_bytes == 0xFFFFFFFF:  # RF64 keeps the real size elsewhere
        return None
    return claimed_bytes / info.frame_bytes / info.rate_hz


def spans_from_segments(
    segments: Sequence[Segment], channels: int, duration_s: float
) -> tuple[SpeechSpan, ...]:
    """Detector segments as speech spans in time order, attributed by channel."""
    spans = [
        SpeechSpan(
            t=max(0.0, s.start_t),
            end_t=min(duration_s, s.end_t),
            partner=PARTNERS[s.channel] if channels == 2 else None,
        )
        for s in segments
    ]
    spans = [s for s in spans if s.end_t > s.t]
    spans.sort(key=lambda s: (s.t, s.partner or ""))
    return tuple(spans)
