"""Analysis of a recorded conversation: reading, the channel decision, detection, metrics.

``analyze_recording`` reads any WAV the project reads (any common rate, 8- to 32-bit
or float, 1 to 8 channels) block by block, so an hour never sits in memory, and runs
the very detector that live sessions use. Nothing here prints: the command line turns
an ``Analysis`` into text, JSON or CSV with the ``format_*`` and ``*_to_*`` functions.

Channels: one channel is one room. Two channels are taken as one microphone per
partner (channel 1 is A, channel 2 is B), unless both carry the same signal (an
ordinary stereo phone or laptop recording), which is then analysed as one. More
channels are mixed into one only when asked (``mono``).
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from attune_voice.audio import wav
from attune_voice.audio.resample import FloatPcm, Resampler, to_int16
from attune_voice.compat import StrEnum
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig, TurnConfig
from attune_voice.errors import AudioFileError
from attune_voice.events import PARTNERS
from attune_voice.listening.channels import ChannelDetector
from attune_voice.listening.segmenter import Segment
from attune_voice.listening.subframes import SUBFRAME_SAMPLES

Pcm16 = npt.NDArray[np.int16]

BACKCHANNEL_MAX_S = TurnConfig().backchannel_max_s
"""The listener's speech up to this long while the other speaks is a backchannel
("mm-hm"); longer, it is an interruption: the rule of live sessions."""

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
class SpeechSpan:
    """One stretch of speech, seconds from the start of the recording."""

    speaker: str | None
    """A or B where a microphone per partner says so; None where nothing attributes it."""
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class SpeakerMetrics:
    """One partner's share of the conversation."""

    speaker: str
    talk_s: float
    """Total length of their speech (overlap with the other counts for both)."""
    share: float
    """talk_s over both partners' talk_s together, 0 to 1."""
    turns: int
    """Times they took the floor: runs of their speech not broken by the other's
    speech (the other's backchannels do not break a turn)."""
    longest_turn_s: float
    """The longest turn, from its first word to its last, pauses included."""
    backchannels: int
    """Their short responses (up to 1 s) while the other was speaking."""
    interruptions: int
    """Times they started speaking, for longer than 1 s, while the other was speaking."""


@dataclass(frozen=True)
class TurnMetrics:
    """Turn-taking over a whole recording; times in seconds."""

    speech_s: float
    """Time during which anyone speaks (overlap counted once)."""
    speech_ratio: float
    """speech_s over the recording's duration."""
    segments: int
    longest_segment_s: float
    """The longest single segment: talk without a pause of ``merge_gap_s``."""
    longest_pause_s: float
    """The longest silence between two stretches of speech."""
    median_pause_s: float
    """The median silence between consecutive stretches of speech (0 with fewer than two)."""
    overlap_s: float
    """Time during which both partners speak at once (0 without attribution)."""
    switches: int
    """Times the floor passed from one partner to the other."""
    median_response_s: float | None
    """The median time from the end of one partner's turn to the start of the other's
    (negative when they overlapped); None without switches."""
    speakers: tuple[SpeakerMetrics, ...]
    """Partner A then B; empty when nothing attributes the speech."""


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
) -> list[Segment]:
    """Speech segments of 16 kHz 16-bit blocks shaped (channels, n), of any lengths.

    The same ``ChannelDetector`` as live sessions, handed about 10 s at a time.
    """
    detector = ChannelDetector(config or DetectorConfig(), channels, batch=True)
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
) -> Analysis:
    """Find who spoke when in a recorded conversation, and the turn-taking metrics.

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
    if channels == info.channels and info.encoding == "int16" and info.rate_hz == SAMPLE_RATE_HZ:
        pcm = _read_pcm16(file_path, info)
    else:
        floats = _read_blocks(file_path, info)
        if channels < info.channels:
            floats = _mixed(floats)
        pcm = as_pcm16(floats, info.rate_hz, channels)
    found = detect_segments(pcm, channels, config, on_progress)
    spans = spans_from_segments(found, channels, duration_s)
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
        metrics=turn_metrics(spans, duration_s),
        cut_short_s=cut_short_s,
    )


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
            speaker=PARTNERS[s.channel] if channels == 2 else None,
            start_s=max(0.0, s.start_t),
            end_s=min(duration_s, s.end_t),
        )
        for s in segments
    ]
    spans = [s for s in spans if s.end_s > s.start_s]
    spans.sort(key=lambda s: (s.start_s, s.speaker or ""))
    return tuple(spans)


# --- metrics -----------------------------------------------------------------------------


def _merged(spans: Sequence[SpeechSpan]) -> list[tuple[float, float]]:
    """The stretches covered by any of the spans, in order."""
    merged: list[list[float]] = []
    for span in sorted(spans, key=lambda s: s.start_s):
        if merged and span.start_s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span.end_s)
        else:
            merged.append([span.start_s, span.end_s])
    return [(a, b) for a, b in merged]


def _overlaps(
    first: Sequence[SpeechSpan], second: Sequence[SpeechSpan]
) -> list[tuple[int, int, float]]:
    """(index in first, index in second, seconds) of every overlapping pair.

    Each list is one channel's segments: in time order and never overlapping each
    other, so one merge-like pass finds every pair.
    """
    pairs: list[tuple[int, int, float]] = []
    i = j = 0
    while i < len(first) and j < len(second):
        a, b = first[i], second[j]
        shared = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
        if shared > 0:
            pairs.append((i, j, shared))
        if a.end_s <= b.end_s:
            i += 1
        else:
            j += 1
    return pairs


def _starts_during(span: SpeechSpan, others: Sequence[SpeechSpan], starts: list[float]) -> bool:
    """Whether ``span`` starts while one of ``others`` (in order, with their starts
    listed in ``starts``) is under way."""
    at = bisect.bisect_right(starts, span.start_s) - 1
    return at >= 0 and span.start_s < others[at].end_s


@dataclass
class _Turn:
    speaker: str
    start_s: float
    end_s: float


def _turns(spans: Sequence[SpeechSpan]) -> list[_Turn]:
    """Each partner's turns in order: runs of their speech that the other partner's
    speech does not break (a backchannel inside a turn does not)."""
    turns: list[_Turn] = []
    for span in sorted(spans, key=lambda s: s.start_s):
        if span.speaker is None:
            continue
        last = turns[-1] if turns else None
        if last is not None and last.speaker == span.speaker:
            last.end_s = max(last.end_s, span.end_s)
        elif (
            last is not None and span.duration_s <= BACKCHANNEL_MAX_S and span.start_s < last.end_s
        ):
            continue
        else:
            turns.append(_Turn(span.speaker, span.start_s, span.end_s))
    return turns


def turn_metrics(spans: Sequence[SpeechSpan], duration_s: float) -> TurnMetrics:
    """Turn-taking metrics of speech spans (see each ``TurnMetrics`` field)."""
    stretches = _merged(spans)
    speech_s = sum((b - a for a, b in stretches), 0.0)
    pauses = [b[0] - a[1] for a, b in itertools.pairwise(stretches)]
    own = {speaker: [s for s in spans if s.speaker == speaker] for speaker in PARTNERS}
    speakers: tuple[SpeakerMetrics, ...] = ()
    switches = 0
    responses: list[float] = []
    overlap_s = 0.0
    if own["A"] or own["B"]:
        pairs = _overlaps(own["A"], own["B"])
        overlap_s = sum(shared for _, _, shared in pairs)
        overlapped = {"A": {i for i, _, _ in pairs}, "B": {j for _, j, _ in pairs}}
        turns = _turns(spans)
        changes = [(a, b) for a, b in itertools.pairwise(turns) if a.speaker != b.speaker]
        switches = len(changes)
        responses = [b.start_s - a.end_s for a, b in changes]
        total_talk_s = sum((s.duration_s for s in spans if s.speaker is not None), 0.0)
        rows = []
        for speaker, other in (PARTNERS, PARTNERS[::-1]):
            talk_s = sum((s.duration_s for s in own[speaker]), 0.0)
            their_turns = [t for t in turns if t.speaker == speaker]
            other_starts = [s.start_s for s in own[other]]
            rows.append(
                SpeakerMetrics(
                    speaker=speaker,
                    talk_s=talk_s,
                    share=talk_s / total_talk_s if total_talk_s > 0 else 0.0,
                    turns=len(their_turns),
                    longest_turn_s=max((t.end_s - t.start_s for t in their_turns), default=0.0),
                    backchannels=sum(
                        1
                        for index, s in enumerate(own[speaker])
                        if s.duration_s <= BACKCHANNEL_MAX_S and index in overlapped[speaker]
                    ),
                    interruptions=sum(
                        1
                        for s in own[speaker]
                        if s.duration_s > BACKCHANNEL_MAX_S
                        and _starts_during(s, own[other], other_starts)
                    ),
                )
            )
        speakers = tuple(rows)
    return TurnMetrics(
        speech_s=speech_s,
        speech_ratio=speech_s / duration_s if duration_s > 0 else 0.0,
        segments=len(spans),
        longest_segment_s=max((s.duration_s for s in spans), default=0.0),
        longest_pause_s=max(pauses, default=0.0),
        median_pause_s=float(np.median(pauses)) if pauses else 0.0,
        overlap_s=overlap_s,
        switches=switches,
        median_response_s=float(np.median(responses)) if responses else None,
        speakers=speakers,
    )


# --- reports -----------------------------------------------------------------------------

_TIMELINE_COLUMNS = 60
_NICE_BINS_S = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0)

_MODE_WORDS = {
    ChannelMode.MONO: "one channel",
    ChannelMode.PARTNERS: "two channels, one microphone per partner",
    ChannelMode.SAME_SIGNAL: "two channels carrying the same signal, analysed as one",
    ChannelMode.MIXED: "channels mixed into one",
}


def clock(seconds: float) -> str:
    """Seconds as m:ss, or h:mm:ss from an hour, rounded to the second."""
    whole = int(max(0.0, seconds) + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _short(seconds: float) -> str:
    """A pause or a response time: tenths of a second below a minute."""
    return f"{seconds:.1f} s" if abs(seconds) < 60 else clock(seconds)


def _names(names: tuple[str, str] | None) -> dict[str, str]:
    chosen = names or ("Partner A", "Partner B")
    return dict(zip(PARTNERS, chosen, strict=True))


def format_analysis(analysis: Analysis, names: tuple[str, str] | None = None) -> str:
    """The turn-taking summary and a compact timeline, as plain text."""
    label = _names(names)
    metrics = analysis.metrics
    rate_khz = f"{analysis.rate_hz / 1000:g} kHz"
    lines = [
        f"{Path(analysis.file).name}: {clock(analysis.duration_s)} "
        f"({_MODE_WORDS[analysis.mode]}, {rate_khz})",
        "",
    ]
    if metrics.segments == 0:
        lines.append("no speech found")
    else:
        summary = (
            f"speech {clock(metrics.speech_s)} ({round(100 * metrics.speech_ratio)}% of the "
            f"recording) in {metrics.segments} segment{'s' if metrics.segments != 1 else ''}, "
            f"the longest {_short(metrics.longest_segment_s)}"
        )
        lines.append(summary)
        if metrics.longest_pause_s > 0:
            lines.append(
                f"pauses between them: median {_short(metrics.median_pause_s)}, longest "
                f"{_short(metrics.longest_pause_s)}"
            )
    if metrics.speakers:
        header = ("", "talk", "share", "turns", "longest turn", "backchannels", "interruptions")
        rows = [header]
        for row in metrics.speakers:
            rows.append(
                (
                    label[row.speaker],
                    clock(row.talk_s),
                    f"{round(100 * row.share)}%",
                    str(row.turns),
                    clock(row.longest_turn_s),
                    str(row.backchannels),
                    str(row.interruptions),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines.append("")
        for r in rows:
            cells = [r[0].ljust(widths[0])]
            cells += [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
            lines.append("  ".join(cells).rstrip())
        response = (
            f"; median response {_short(metrics.median_response_s)}"
            if metrics.median_response_s is not None
            else ""
        )
        lines += [
            "",
            f"both speaking {clock(metrics.overlap_s)}; the floor changed hands "
            f"{metrics.switches} time{'s' if metrics.switches != 1 else ''}{response}",
        ]
    if metrics.segments:
        lines += ["", *timeline(analysis, label)]
    return "\n".join(lines) + "\n"


def timeline(analysis: Analysis, label: dict[str, str] | None = None) -> list[str]:
    """One row per speaker: '#' where a bin is mostly speech, '-' where it holds some."""
    label = label or _names(None)
    duration_s = max(analysis.duration_s, 1e-3)
    bin_s = next(
        (b for b in _NICE_BINS_S if duration_s / b <= _TIMELINE_COLUMNS),
        math.ceil(duration_s / _TIMELINE_COLUMNS / 60.0) * 60.0,
    )
    columns = max(1, math.ceil(duration_s / bin_s))
    speakers: list[str | None] = list(PARTNERS) if analysis.metrics.speakers else [None]
    names = [label[s] if s is not None else "speech" for s in speakers]
    width = max(len(n) for n in names)
    mark = f"{bin_s:g} s" if bin_s < 60 else f"{bin_s / 60:g} min"
    rows = [f"timeline, one mark per {mark}:"]
    for speaker, name in zip(speakers, names, strict=True):
        covered = np.zeros(columns)
        for span in analysis.segments:
            if span.speaker != speaker:
                continue
            first = int(span.start_s // bin_s)
            last = min(columns - 1, int(span.end_s // bin_s))
            for column in range(first, last + 1):
                a = max(span.start_s, column * bin_s)
                b = min(span.end_s, (column + 1) * bin_s)
                covered[column] += max(0.0, b - a)
        marks = "".join("#" if c >= 0.5 * bin_s else "-" if c > 0.0 else " " for c in covered)
        rows.append(f"{name.ljust(width)} |{marks}|")
    end = clock(analysis.duration_s)
    rows.append(" " * (width + 1) + "0:00" + end.rjust(max(len(end) + 1, columns + 2 - 4)))
    return rows


def _rounded(seconds: float) -> float:
    return round(seconds, 3)


def analysis_to_json(analysis: Analysis, names: tuple[str, str] | None = None) -> dict[str, object]:
    """The analysis as one JSON object: file, duration_s, channels, segments, metrics."""
    label = _names(names)
    metrics = analysis.metrics
    return {
        "file": analysis.file,
        "duration_s": _rounded(analysis.duration_s),
        "channels": analysis.channels,
        "segments": [
            {"speaker": s.speaker, "start": _rounded(s.start_s), "end": _rounded(s.end_s)}
            for s in analysis.segments
        ],
        "metrics": {
            "speech_s": _rounded(metrics.speech_s),
            "speech_ratio": _rounded(metrics.speech_ratio),
            "segments": metrics.segments,
            "longest_segment_s": _rounded(metrics.longest_segment_s),
            "median_pause_s": _rounded(metrics.median_pause_s),
            "longest_pause_s": _rounded(metrics.longest_pause_s),
            "overlap_s": _rounded(metrics.overlap_s),
            "switches": metrics.switches,
            "median_response_s": (
                None if metrics.median_response_s is None else _rounded(metrics.median_response_s)
            ),
            "speakers": [
                {
                    "speaker": row.speaker,
                    "name": label[row.speaker],
                    "talk_s": _rounded(row.talk_s),
                    "share": _rounded(row.share),
                    "turns": row.turns,
                    "longest_turn_s": _rounded(row.longest_turn_s),
                    "backchannels": row.backchannels,
                    "interruptions": row.interruptions,
                }
                for row in metrics.speakers
            ],
            "recording": {
                "sample_rate_hz": analysis.rate_hz,
                "channels": analysis.file_channels,
                "taken_as": str(analysis.mode),
            },
        },
    }


def analysis_to_csv(analysis: Analysis, names: tuple[str, str] | None = None) -> str:
    """One row per speech segment: speaker, name, start, end, duration (seconds)."""
    label = _names(names)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("speaker", "name", "start", "end", "duration"))
    for s in analysis.segments:
        writer.writerow(
            (
                s.speaker or "",
                label[s.speaker] if s.speaker is not None else "",
                f"{s.start_s:.3f}",
                f"{s.end_s:.3f}",
                f"{s.duration_s:.3f}",
            )
        )
    return out.getvalue()
