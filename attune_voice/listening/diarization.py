"""Who spoke when with one microphone and no enrolment: the voices of the speech, clustered.

Each speech segment of ``min_segment_s`` or more is cut into windows of ``window_s`` a
``hop_s`` apart (a shorter segment is one window), and each window becomes a voice
embedding (``speaker_encoder``). The embeddings are split into two groups by spherical
2-means, each window weighted by its length. If the two groups' voices are as alike as
one person's voice is with itself (their centres' cosine at least ``one_voice_cosine``),
or if the split does not hold for windows it was not fitted on (``split_holds``), one
voice is found and nothing is attributed. Otherwise every 10 ms of a segment goes
to the voice its covering windows are nearer to, on average; a run shorter than
``min_turn_s`` joins the run beside it, and a segment is split where the voice changes.

A "mm-hm" said in the speaker's breath is inside the speaker's segment (the detector
merges pauses under 0.3 s) and far shorter than ``min_turn_s``. So, given the room's
noise, a segment is also cut at its islands (``listening/islands.py``): a part runs
from the start of an island of ``min_segment_s`` or more to the start of the next, and
each part of ``alone_max_s`` or less is embedded alone as well; where it leans clearly
to one voice (``alone_lean``), that voice has it, whatever its windows said.

An embedding of two voices at once sounds like the louder one, so where two speak at
once the quieter one is heard by another network (``segmentation.Overlap``): given its
probabilities, each voice's span gets the other voice's span over it wherever two speak
at once (``at_once_probability``), and one voice's spans that then touch are one.

The voice heard first is partner A. Two voices found whose centres are still nearly as
alike (``alike_cosine``) are said to be alike: one person's voice can drift that far.

Everything here is a function of the audio handed in: nothing is stored, and the voice
embeddings are dropped when the call returns.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from attune_voice.config import SAMPLE_RATE_HZ, TurnConfig
from attune_voice.listening.islands import ISLAND_MARGIN_DB, ISLAND_PAUSE_S, islands
from attune_voice.listening.segmentation import STEP_S, Heard
from attune_voice.listening.speaker_encoder import Embeddings, SpeakerEncoder, voice_print
from attune_voice.listening.subframes import SUBFRAME_S, subframe_dbfs

_MIN_WINDOW_SAMPLES = SAMPLE_RATE_HZ // 10
_MIN_HELD_OUT_WINDOWS = 4
"""With fewer windows, one left out leaves too few to split: the split is not checked."""


@dataclass(frozen=True)
class DiarizationConfig:
    """How speech is cut into windows and the windows into two voices."""

    window_s: float = 1.5
    """Audio judged at once: near the 1.6 s the encoder was trained on."""
    hop_s: float = 0.75
    """Between the starts of consecutive windows of one segment."""
    min_segment_s: float = 0.3
    """Shorter segments are too short to judge and stay unattributed."""
    one_voice_cosine: float = 0.92
    """Two groups whose centres are at least this alike are one voice."""
    alike_cosine: float = 0.80
    """Two voices whose groups' centres are at least this alike may be one person's. One
    speaker's two groups measured 0.82-0.90 on six real recordings and 0.89-0.91 on two
    espeak-ng voices; two people 0.67-0.77 on three phone calls, but 0.88 on a fourth,
    and 0.61 (a man and a woman), 0.79 (two women) and 0.85 (two men) in espeak-ng
    voices. Set below the lowest one-person figure: being told "may be one person"
    costs two people less than a split of one person's speech read as two."""
    min_turn_s: float = 0.6
    """A change of voice inside a segment must last this long to split it, unless it is
    a short part that leans clearly to one voice alone (``alone_lean``)."""
    alone_max_s: float = 1.0
    """Parts this long or shorter are judged alone too (with the pause after them): a
    mm-hm is one of 1 s or less."""
    alone_lean: float = 0.4
    """A short part judged alone is its voice's when its embedding leans to that voice
    by this share of the distance between the two voices' centres."""
    pause_s: float = ISLAND_PAUSE_S
    """Quiet this long inside a segment separates two islands."""
    island_margin_db: float = ISLAND_MARGIN_DB
    """A sub-frame is sound when this far above the room's noise."""
    split_holds: float = 0.75
    """Two voices only where windows left out of the split fall at least this share as
    far from its middle as the windows it was fitted on (medians, ``held_out_share``).
    Among few windows in many dimensions any split separates them, one person's too:
    on five real one-person recordings (7-14 windows) the share was 0.22-0.67, on four
    real two-person ones 0.84-0.98 (0.88 for four people), and 0.92-0.99 on sixteen
    espeak-ng conversations of two voices. Set in the middle of the real gap."""
    held_out_windows: int = 40
    """Windows left out one at a time to measure ``split_holds`` (spread over the
    recording): each costs a round or two of 2-means over the rest."""
    iterations: int = 12
    """Rounds of 2-means."""
    clear_margin: float = TurnConfig().clear_voice_margin
    """A voice is told clearly where its windows are this much nearer to it (cosine) than
    to the other: the live sessions' rule for crediting speech by voice."""
    at_once_probability: float = 0.5
    """Two people speak at once where the segmentation network finds that likelier than
    not (its three classes of two at once together)."""
    min_at_once_s: float = 0.1
    """Shorter stretches of two at once, and shorter gaps between them, join what is
    around them."""
    threads: int = 2
    """The windows are embedded on this many threads (one core each)."""


@dataclass(frozen=True)
class VoiceSpan:
    """A stretch of one segment and whose voice it is: 0 (partner A), 1, or None."""

    start_s: float
    end_s: float
    voice: int | None


@dataclass(frozen=True)
class Diarization:
    """What ``who_spoke_when`` found."""

    spans: tuple[VoiceSpan, ...]
    """In time order; segments too short to judge have ``voice`` None."""
    voices: int
    """Voices found: 0 (no speech long enough), 1 or 2."""
    centre_cosine: float | None
    """How alike the two groups' voices are (1 is the same); None without two groups."""
    alike: bool = False
    """Two voices were found, but as alike as one person's voice can be with itself
    (``alike_cosine``): the recording may be of one person."""
    held_out: float | None = None
    """How well the split held for windows left out of it (``held_out_share``); None
    where it was not measured (one group, too few windows, or voices as alike as one)."""
    unsure: tuple[tuple[float, float], ...] = ()
    """(start_s, end_s) of the speech told apart without a clear margin: where its
    windows' cosines to the two voices differ by less than ``clear_margin`` (and no short
    part alone leaned clearly), in time order."""

    @property
    def unsure_s(self) -> float:
        """How long the speech told apart without a clear margin lasts."""
        return sum(b - a for a, b in self.unsure)


Centres = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]
"""Two voices' centres: unit vectors."""


def segment_windows(
    start_s: float, end_s: float, config: DiarizationConfig
) -> list[tuple[float, float]]:
    """(start, end) of the windows that cover a segment, the last one ending with it."""
    length_s = end_s - start_s
    if length_s <= config.window_s:
        return [(start_s, end_s)]
    count = int(np.ceil((length_s - config.window_s) / config.hop_s)) + 1
    starts = np.minimum(start_s + np.arange(count) * config.hop_s, end_s - config.window_s)
    return [(float(s), float(s) + config.window_s) for s in starts]


def clip_windows(
    start_s: float, end_s: float, clip_samples: int, config: DiarizationConfig
) -> list[tuple[float, float, int, int]]:
    """(start_s, end_s, first sample, last sample + 1 in the segment's clip) of the
    windows of a segment of ``min_segment_s`` or more; none for a shorter one."""
    # In 10 ms steps: a segment of 30 sub-frames, 198.39 - 198.09 s, is 0.2999... s.
    if round((end_s - start_s) / STEP_S) < round(config.min_segment_s / STEP_S):
        return []
    found = []
    for w_start, w_end in segment_windows(start_s, end_s, config):
        a = round((w_start - start_s) * SAMPLE_RATE_HZ)
        b = round((w_end - start_s) * SAMPLE_RATE_HZ)
        if b - a >= _MIN_WINDOW_SAMPLES and a < clip_samples:  # else a file cut short
            found.append((w_start, w_end, a, b))
    return found


def step_scores(
    start_s: float,
    end_s: float,
    windows: Sequence[tuple[float, float]],
    scores: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The middle of each 10 ms step of a segment, and each step's score: the average of
    the scores of the (start_s, end_s) windows that cover it, each weighted by how near
    the step is to its middle."""
    steps = max(1, round((end_s - start_s) / STEP_S))
    at = np.asarray(start_s + (np.arange(steps) + 0.5) * STEP_S, dtype=np.float64)
    total = np.zeros(steps)
    weight = np.zeros(steps)
    for (w_start, w_end), score in zip(windows, scores, strict=True):
        inside = (at >= w_start) & (at < w_end)
        # Nearer a window's middle, its judgement counts more: its edges hear less.
        middle, half = (w_start + w_end) / 2, max((w_end - w_start) / 2, 1e-3)
        closeness = np.clip(1.0 - np.abs(at - middle) / half, 0.05, None) * inside
        total += closeness * score
        weight += closeness
    return at, total / np.maximum(weight, 1e-9)


def two_means(embeddings: Embeddings, weights: npt.NDArray[np.float64], iterations: int) -> Centres:
    """Two voice centres (unit vectors) of weighted embeddings, by spherical 2-means.

    Starts from the two sides of the embeddings' main direction of spread (their first
    principal component): the difference between two voices, where there are two. A
    start from the two most different windows splits off one odd window instead.
    """
    w = weights / max(float(weights.sum()), 1e-12)
    centred = embeddings - (w[:, np.newaxis] * embeddings).sum(axis=0)
    spread = (centred * w[:, np.newaxis]).T @ centred
    _, vectors = np.linalg.eigh(spread)
    side = centred @ vectors[:, -1] >= 0
    if side.all() or not side.any():
        side = np.arange(len(embeddings)) % 2 == 0
    start = np.stack(
        [
            voice_print((embeddings[g] * weights[g, np.newaxis]).astype(np.float32))
            for g in (side, ~side)
        ]
    )
    return _refined(embeddings, weights, (start[0], start[1]), iterations)


def _refined(
    embeddings: Embeddings, weights: npt.NDArray[np.float64], start: Centres, iterations: int
) -> Centres:
    """Rounds of spherical 2-means from ``start``, until the centres stay put."""
    centres = np.stack(start)
    for _ in range(iterations):
        nearer_first = (embeddings @ centres[0]) >= (embeddings @ centres[1])
        groups = (nearer_first, ~nearer_first)
        if not all(group.any() for group in groups):
            break
        updated = np.stack(
            [
                voice_print((embeddings[g] * weights[g, np.newaxis]).astype(np.float32))
                for g in groups
            ]
        )
        if np.allclose(updated, centres):
            break
        centres = updated
    return centres[0], centres[1]


def held_out_share(
    embeddings: Embeddings,
    weights: npt.NDArray[np.float64],
    centres: Centres,
    iterations: int,
    most: int,
) -> float:
    """How far windows left out of a 2-means split fall from its middle, against the
    windows it was fitted on: the median distance of up to ``most`` windows, each left
    out of the split in turn (the split refitted without it, from ``centres``), over
    the median of all in the whole split (``centres``). Distances run along the line
    between the two centres, in half their distance. Near 1 where two voices are there
    to split; well under 1 where the split only fits its own windows."""

    def distances(split: Centres, x: Embeddings) -> npt.NDArray[np.float64]:
        between = (split[0] - split[1]).astype(np.float64)
        middle = (split[0] + split[1]) / 2
        half = max(float(between @ between) / 2, 1e-12)
        return np.abs((x - middle) @ between) / half

    fitted = distances(centres, embeddings)
    count = len(embeddings)
    left_out = np.unique(np.linspace(0, count - 1, min(most, count)).round().astype(int))
    rest = np.ones(count, dtype=bool)
    held = []
    for i in left_out:
        rest[i] = False
        split = _refined(embeddings[rest], weights[rest], centres, iterations)
        held.append(float(distances(split, embeddings[i : i + 1])[0]))
        rest[i] = True
    return float(np.median(held)) / max(float(np.median(fitted)), 1e-12)


def smoothed(labels: npt.NDArray[np.int8], min_steps: int) -> npt.NDArray[np.int8]:
    """Runs shorter than ``min_steps`` take the label of the longer run beside them,
    shortest first, until none is left (a whole segment may be one short run)."""
    labels = labels.copy()
    while True:
        edges = np.flatnonzero(np.diff(labels)) + 1
        bounds = np.concatenate(([0], edges, [len(labels)]))
        lengths = np.diff(bounds)
        if len(lengths) <= 1 or lengths.min() >= min_steps:
            return labels
        k = int(np.argmin(lengths))
        before = lengths[k - 1] if k > 0 else -1
        after = lengths[k + 1] if k + 1 < len(lengths) else -1
        neighbour = k - 1 if before >= after else k + 1
        labels[bounds[k] : bounds[k + 1]] = labels[bounds[neighbour]]


def _alone(
    segment: tuple[float, float],
    clip: npt.NDArray[np.int16],
    room_noise_db: float,
    config: DiarizationConfig,
    changes: Sequence[float] = (),
) -> list[tuple[float, float]]:
    """(start, end) of a segment's short parts, each to be judged alone as well: a part
    runs from the start of an island of ``min_segment_s`` or more, or from a change of
    speaker the network heard (``changes``: a breath the room's echo fills leaves no
    island), to the next such start (or the segment's end), with the shorter islands and
    the pauses after it; those no longer than ``alone_max_s`` count, in a segment of two
    parts or more."""
    start_s, end_s = segment
    if end_s - start_s < 2 * config.min_segment_s:
        return []
    found = islands(subframe_dbfs(clip), room_noise_db, config.pause_s, config.island_margin_db)
    shortest = round(config.min_segment_s / SUBFRAME_S)
    starts = [start_s + a * SUBFRAME_S for a, b in found if b - a >= shortest]
    starts = sorted({*starts, *(t for t in changes if start_s < t < end_s)})
    if len(starts) < 2:
        return []
    parts = itertools.pairwise([*starts, end_s])
    return [(a, b) for a, b in parts if b - a <= config.alone_max_s]


def marked_runs(
    marked: npt.NDArray[np.bool_] | npt.NDArray[np.int8],
) -> list[tuple[int, int]]:
    """(first, last + 1) of each run of marked steps."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], marked.astype(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def at_once_stretches(
    at_once: npt.NDArray[np.float32], config: DiarizationConfig
) -> list[tuple[float, float]]:
    """(start_s, end_s) where two people speak at once: the 10 ms steps whose
    probability is ``at_once_probability`` or more, runs and gaps shorter than
    ``min_at_once_s`` joining what is around them."""
    both = smoothed(
        (at_once >= config.at_once_probability).astype(np.int8),
        max(1, round(config.min_at_once_s / STEP_S)),
    )
    return [(a * STEP_S, b * STEP_S) for a, b in marked_runs(both)]


def _heard_over(
    spans: Sequence[VoiceSpan], at_once: npt.NDArray[np.float32], config: DiarizationConfig
) -> list[VoiceSpan]:
    """The other voice's spans over one voice's, where two speak at once: the voice heard
    is the louder one, and the network that finds two at once hears the softer too."""
    over = []
    for a, b in at_once_stretches(at_once, config):
        for span in spans:
            if span.voice is None or span.end_s <= a or span.start_s >= b:
                continue
            start_s, end_s = max(a, span.start_s), min(b, span.end_s)
            if round((end_s - start_s) / STEP_S) >= round(config.min_at_once_s / STEP_S):
                over.append(VoiceSpan(start_s, end_s, 1 - span.voice))
    return over


def _joined(spans: Sequence[VoiceSpan]) -> list[VoiceSpan]:
    """In time order, one voice's spans that touch or overlap made one (a span heard
    over the other's begins or ends where that voice's own span does)."""
    ordered = sorted(spans, key=lambda s: (s.start_s, s.end_s))
    result: list[VoiceSpan] = []
    last: dict[int, int] = {}
    for span in ordered:
        k = last.get(span.voice) if span.voice is not None else None
        if k is not None and span.start_s <= result[k].end_s + STEP_S / 2:
            kept = result[k]
            result[k] = VoiceSpan(kept.start_s, max(kept.end_s, span.end_s), span.voice)
            continue
        if span.voice is not None:
            last[span.voice] = len(result)
        result.append(span)
    return sorted(result, key=lambda s: (s.start_s, s.end_s))


def who_spoke_when(
    segments: Sequence[tuple[float, float]],
    clips: Sequence[npt.NDArray[np.int16]],
    encoder: SpeakerEncoder,
    config: DiarizationConfig | None = None,
    room_noise_db: float | None = None,
    network: Heard | None = None,
) -> Diarization:
    """Split speech segments between two voices.

    ``segments`` are (start_s, end_s) in time order and ``clips[i]`` is the 16 kHz int16
    audio of segment i; ``room_noise_db`` (``islands.noise_db`` of the whole recording)
    lets the short parts of a segment be judged alone too; ``network``, what the speaker
    segmentation network heard (``segmentation.Overlap``), gives the other voice its own
    span wherever two speak at once, and cuts the short parts at changes of speaker too.
    """
    config = config or DiarizationConfig()
    windows: list[tuple[int, float, float]] = []
    audio: list[npt.NDArray[np.int16]] = []
    alone: list[tuple[int, float, float]] = []
    alone_audio: list[npt.NDArray[np.int16]] = []
    changes = () if network is None else network.changes
    for index, ((start_s, end_s), clip) in enumerate(zip(segments, clips, strict=True)):
        for w_start, w_end, a, b in clip_windows(start_s, end_s, len(clip), config):
            windows.append((index, w_start, w_end))
            audio.append(clip[a:b])
        if room_noise_db is None:
            continue
        for p_start, p_end in _alone((start_s, end_s), clip, room_noise_db, config, changes):
            a = round((p_start - start_s) * SAMPLE_RATE_HZ)
            b = round((p_end - start_s) * SAMPLE_RATE_HZ)
            if b - a >= _MIN_WINDOW_SAMPLES and a < len(clip):
                alone.append((index, p_start, p_end))
                alone_audio.append(clip[a:b])
    unjudged = tuple(VoiceSpan(a, b, None) for a, b in segments)
    if not windows:
        return Diarization(unjudged, 0, None)
    if len(windows) < 2:
        return Diarization(unjudged, 1, None)  # one window is one voice
    # One batch: the short parts are few, and the encoder's batches share two threads.
    every = encoder.embed(audio + alone_audio, threads=config.threads)
    embeddings, alone_embeddings = every[: len(windows)], every[len(windows) :]
    weights = np.array([b - a for _, a, b in windows], dtype=np.float64)
    centre_a, centre_b = two_means(embeddings, weights, config.iterations)
    cosine = float(centre_a @ centre_b)
    if cosine >= config.one_voice_cosine:
        return Diarization(unjudged, 1, cosine)
    held_out = None
    if len(windows) >= _MIN_HELD_OUT_WINDOWS:
        held_out = held_out_share(
            embeddings, weights, (centre_a, centre_b), config.iterations, config.held_out_windows
        )
        if held_out < config.split_holds:
            return Diarization(unjudged, 1, cosine, held_out=held_out)
    margin = embeddings @ centre_a - embeddings @ centre_b
    # Alone, a part is judged against how far apart the two voices are: an embedding
    # at one centre is nearer to it by 1 - cosine, a lean of 1.
    alone_lean = (alone_embeddings @ centre_a - alone_embeddings @ centre_b) / (1.0 - cosine)
    by_segment: dict[int, list[int]] = {}
    for k, (index, _, _) in enumerate(windows):
        by_segment.setdefault(index, []).append(k)
    alone_by_segment: dict[int, list[int]] = {}
    for k, (index, _, _) in enumerate(alone):
        alone_by_segment.setdefault(index, []).append(k)
    spans: list[VoiceSpan] = []
    unsure_stretches: list[tuple[float, float]] = []
    min_steps = max(1, round(config.min_turn_s / STEP_S))
    for index, (start_s, end_s) in enumerate(segments):
        own = by_segment.get(index)
        if own is None:
            spans.append(VoiceSpan(start_s, end_s, None))
            continue
        at, score = step_scores(
            start_s, end_s, [windows[k][1:] for k in own], margin[own].astype(np.float64)
        )
        steps = len(at)
        labels = smoothed((score < 0).astype(np.int8), min_steps)
        unsure = np.abs(score) < config.clear_margin
        for k in alone_by_segment.get(index, []):
            # A part that leans clearly to one voice alone is that voice's, however
            # short: the windows around it hear mostly the speech on either side.
            if abs(alone_lean[k]) >= config.alone_lean:
                _, p_start, p_end = alone[k]
                part = (at >= p_start) & (at < p_end)
                labels[part] = 0 if alone_lean[k] > 0 else 1
                unsure[part] = False
        unsure_stretches += [
            (start_s + a * STEP_S, start_s + b * STEP_S) for a, b in marked_runs(unsure)
        ]
        edges = np.flatnonzero(np.diff(labels)) + 1
        bounds = np.concatenate(([0], edges, [steps]))
        for a, b in itertools.pairwise(bounds):
            spans.append(
                VoiceSpan(
                    start_s if a == 0 else start_s + a * STEP_S,
                    end_s if b == steps else start_s + b * STEP_S,
                    int(labels[a]),
                )
            )
    if len({s.voice for s in spans if s.voice is not None}) < 2:
        # Both groups' windows lost every 10 ms to the other: one voice after all.
        return Diarization(unjudged, 1, cosine, held_out=held_out)
    if network is not None:
        spans = _joined(spans + _heard_over(spans, network.at_once, config))
    first = next((s.voice for s in spans if s.voice is not None), 0)
    if first == 1:
        spans = [
            VoiceSpan(s.start_s, s.end_s, None if s.voice is None else 1 - s.voice) for s in spans
        ]
    return Diarization(
        tuple(spans),
        2,
        cosine,
        alike=cosine >= config.alike_cosine,
        held_out=held_out,
        unsure=tuple(unsure_stretches),
    )
