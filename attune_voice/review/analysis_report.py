"""An analysis of a recording as text, JSON and CSV: what ``attune-voice analyze`` prints."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from attune_voice.events import PARTNERS
from attune_voice.review.analysis import Analysis, ChannelMode
from attune_voice.review.speech import covered_s
from attune_voice.review.text import (
    INTERRUPTIONS,
    LONGEST_TURN,
    MM_HMS,
    TALK_TIME,
    cell_width,
    clock,
    text_table,
)

_TIMELINE_COLUMNS = 60
_NICE_BINS_S = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0)

_MODE_WORDS = {
    ChannelMode.MONO: "one channel",
    ChannelMode.PARTNERS: "two channels, one microphone per partner",
    ChannelMode.SAME_SIGNAL: "two channels carrying the same signal, analysed as one",
    ChannelMode.MIXED: "channels mixed into one",
}


_VOICE_WORDS = {
    0: "no speech long enough to tell voices apart",
    1: "one voice found: the speech is not split between partners",
    2: "two voices told apart by their sound (the first to speak is partner A)",
}


_ALIKE_WORDS = (
    "but they sound alike enough to be one person's: if only one person speaks here,\n"
    "add --no-voices"
)


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
    if analysis.coach_s is not None:
        lines += [
            f"the coach's prompts left out: {clock(analysis.coach_s)} (marked in the file by "
            "the session that saved it)",
            "",
        ]
    if analysis.far_learnt_s is not None and any(analysis.far_learnt_s):
        a_s, b_s = analysis.far_learnt_s
        lines += [
            "how each microphone hears the other partner: learnt where only they spoke "
            f"({clock(a_s)} on {label['A']}'s microphone, {clock(b_s)} on {label['B']}'s), and "
            "taken out",
            "",
        ]
    if analysis.far_s:
        lines += [
            f"each partner's voice heard on the other's microphone: {clock(analysis.far_s)}, "
            "told by voice and left out",
            "",
        ]
    if analysis.voices is not None and metrics.segments:
        words = _VOICE_WORDS.get(analysis.voices, _VOICE_WORDS[0])
        if analysis.voices_alike:
            words += f",\n{_ALIKE_WORDS}"
        if analysis.voices_unsure_s:
            words += (
                f"\nnot clearly one voice's: {clock(analysis.voices_unsure_s)} of the speech "
                f"({round(100 * analysis.voices_unsure_s / max(metrics.speech_s, 1e-9))}%), "
                "counted for the nearer"
            )
        lines += [words, ""]
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
        header = ("", TALK_TIME, "share", "turns", LONGEST_TURN, MM_HMS, INTERRUPTIONS)
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
        lines.append("")
        lines += text_table(rows[0], rows[1:], right=range(1, len(header)))
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
        lines += ["", *timeline_chart(analysis, label)]
    return "\n".join(lines) + "\n"


def timeline_chart(analysis: Analysis, label: dict[str, str] | None = None) -> list[str]:
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
    width = max(cell_width(n) for n in names)
    mark = f"{bin_s:g} s" if bin_s < 60 else f"{bin_s / 60:g} min"
    rows = [f"timeline, one mark per {mark}:"]
    for speaker, name in zip(speakers, names, strict=True):
        own = (span for span in analysis.segments if span.partner == speaker)
        covered = covered_s(own, bin_s, columns)
        marks = "".join("#" if c >= 0.5 * bin_s else "-" if c > 0.0 else " " for c in covered)
        rows.append(f"{name}{' ' * (width - cell_width(name))} |{marks}|")
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
        "voices": analysis.voices,
        "voices_alike": analysis.voices_alike,
        "voices_unsure_s": (
            None if analysis.voices_unsure_s is None else _rounded(analysis.voices_unsure_s)
        ),
        "far_s": None if analysis.far_s is None else _rounded(analysis.far_s),
        "far_learnt_s": (
            None if analysis.far_learnt_s is None else [_rounded(s) for s in analysis.far_learnt_s]
        ),
        "coach_s": None if analysis.coach_s is None else _rounded(analysis.coach_s),
        "segments": [
            {"speaker": s.partner, "start": _rounded(s.t), "end": _rounded(s.end_t)}
            for s in analysis.segments
        ],
        "metrics": {
            "speech_s": _rounded(metrics.speech_s),
            "speech_ratio": _rounded(metrics.speech_ratio),
            "segments": metrics.segments,
            "longest_segment_s": _rounded(metrics.longest_segment_s),
            "median_pause_s": _rounded(metrics.median_pause_s),
            "longest_pause_s": _rounded(metrics.longest_pause_s),
            "overlap_s": _rounded(metrics.overlap_s) if analysis.overlaps_heard else None,
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
                    "interruptions": row.interruptions if analysis.overlaps_heard else None,
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
                s.partner or "",
                label[s.partner] if s.partner is not None else "",
                f"{s.t:.3f}",
                f"{s.end_t:.3f}",
                f"{s.duration_s:.3f}",
            )
        )
    return out.getvalue()
