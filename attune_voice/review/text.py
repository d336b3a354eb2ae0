"""The review in words and marks for people: the side-by-side rows, notes, headline, the
text timeline, the spoken summary and the compact plain-text review.

The wording describes each partner side by side, always A then B, and never ranks one
above the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from attune_voice.durations import spoken_duration
from attune_voice.events import PARTNERS
from attune_voice.review.metrics import PartnerSummary, SessionSummary
from attune_voice.review.speech import covered_s
from attune_voice.review.timeline import Timeline

PARTNER_COLOURS = ("#2f6db5", "#b86a1b")
"""Partner A blue, partner B ochre: told apart with any colour vision, and neither the
red or green of a score."""
COACH_COLOUR = "#8a9099"


# --- side by side: the rows every report shows --------------------------------------------


@dataclass(frozen=True)
class MetricRow:
    """One line of the per-partner table, formatted for people."""

    key: str
    """The PartnerSummary field it shows."""
    label: str
    values: tuple[str, str]
    """Partner A's, then partner B's."""
    definition: str
    """One sentence saying what it counts."""


def metric_rows(summary: SessionSummary) -> list[MetricRow]:
    """The per-partner table: one row per measure, one column per partner."""
    a, b = summary.partners_summary
    percents = _percents((a.share, b.share))

    def row(
        key: str, label: str, definition: str, cell: Callable[[PartnerSummary], str]
    ) -> MetricRow:
        return MetricRow(key, label, (cell(a), cell(b)), definition)

    return [
        row("talk_s", "talk time", "All the speech heard from each of you.", _talk),
        MetricRow(
            "share",
            "share of the talk",
            (f"{percents[0]}%", f"{percents[1]}%"),
            "Each one's talk time out of both together; silence and prompts left out.",
        ),
        row("turns", "turns", "Times the floor was yours, for any step.", _int("turns")),
        row("floors", "floors to speak", "Times you had the floor to share.", _int("floors")),
        row(
            "mean_monologue_s",
            "usual talking stretch",
            "The mean, over your turns, of the time from first to last word.",
            lambda p: clock(p.mean_monologue_s),
        ),
        row(
            "longest_monologue_s",
            "longest talking stretch",
            "The longest time from first to last word within one turn.",
            lambda p: clock(p.longest_monologue_s),
        ),
        row(
            "overtime_s",
            "over the time limit",
            "Time spoken past the turn's limit, and in how many turns.",
            lambda p: (
                clock(p.overtime_s)
                + (f" ({_times_short(p.overtime_floors)})" if p.overtime_floors else "")
            ),
        ),
        row(
            "response_gap_s",
            "response gap (median)",
            "After a hand-over, the wait from a clear floor to your first words;"
            " an overlap when you began before the other had finished.",
            lambda p: gap_text(p.response_gap_s),
        ),
        row(
            "overlapped_handovers",
            "overlapping hand-overs",
            "Hand-overs where you began while the other was still finishing.",
            _int("overlapped_handovers"),
        ),
        row(
            "overlaps",
            "started over the other",
            "Speech (not counting mm-hms) begun while the other was speaking.",
            _int("overlaps"),
        ),
        row(
            "interruptions",
            "interruptions",
            "Longer speech during the other's turn.",
            _int("interruptions"),
        ),
        row(
            "backchannels",
            "mm-hms (backchannels)",
            "Short encouraging sounds during the other's turn.",
            _int("backchannels"),
        ),
        row(
            "paraphrase_attempts",
            "paraphrase attempts",
            "Times you said back what you heard.",
            _int("paraphrase_attempts"),
        ),
        row(
            "confirmed_first_time",
            "confirmed first time",
            "Paraphrases the other confirmed at the first try, of all you began.",
            lambda p: f"{p.confirmed_first_time} of {p.paraphrase_rounds}",
        ),
    ]


def session_notes(summary: SessionSummary) -> list[str]:
    """Short lines about the session as a whole, for under the table."""
    notes = []
    measured = [h for h in summary.handovers if h.gap_s is not None]
    if summary.handovers:
        text = f"hand-overs: {len(summary.handovers)}"
        if measured:
            text += f", median response gap {gap_text(summary.median_response_gap_s)}"
        notes.append(text)
    if summary.overlap_s > 0:
        notes.append(f"both speaking at once: {clock(summary.overlap_s)}")
    spoke = any(p.talk_s > 0 for p in summary.partners_summary)
    if spoke and not summary.voices_told_apart:
        notes.append(
            "one microphone: all speech counts for whoever held the floor, so mm-hms,"
            " interruptions and overlaps do not show"
        )
    if summary.unattributed_talk_s > 0:
        unattributed = clock(summary.unattributed_talk_s)
        notes.append(f"speech not attributed to either partner: {unattributed}")
    breaks = f"time-outs: {summary.time_outs}; pauses: {summary.pauses}"
    if summary.paused_s > 0:
        breaks += f" ({clock(summary.paused_s)} in all)"
    notes.append(breaks)
    notes.append(f"check-ins: {summary.check_ins}; time cues: {summary.cues}")
    return notes


def headline(summary: SessionSummary) -> str:
    """``exercise: duration (how it ended)``."""
    exercise = summary.exercise or "session"
    return f"{exercise}: {clock(summary.duration_s)} ({summary.end_reason.replace('_', ' ')})"


def timeline_markers(names: tuple[str, str]) -> tuple[str, str]:
    """One character per partner for the text timeline: their initials, or 1 and 2."""
    initials = tuple(name.strip()[:1].upper() for name in names)
    if all(c.isalpha() for c in initials) and initials[0] != initials[1]:
        return initials[0], initials[1]
    return "1", "2"


BOTH_MARK, PROMPT_MARK, QUIET_MARK = "+", "·", " "
_HEARD_FRACTION = 0.25
"""A partner shows in a timeline character when they spoke for at least this part of it."""


def timeline_text(laid_out: Timeline, width_chars: int) -> str:
    """Who spoke when, in ``width_chars`` characters over the whole session.

    Each character stands for an equal slice of time: a partner's marker (see
    ``timeline_markers``) when only they spoke for at least a quarter of it,
    ``BOTH_MARK`` when both did, ``PROMPT_MARK`` when only the coach did, else quiet.
    """
    width_chars = max(1, width_chars)
    duration_s = laid_out.duration_s
    if duration_s <= 0:
        return QUIET_MARK * width_chars
    slice_s = duration_s / width_chars
    heard = {
        partner: covered_s(
            (s for s in laid_out.speech if s.partner == partner), slice_s, width_chars
        )
        for partner in PARTNERS
    }
    coach = covered_s(laid_out.prompts, slice_s, width_chars)
    markers = timeline_markers(laid_out.names)
    threshold_s = slice_s * _HEARD_FRACTION
    chars = []
    for i in range(width_chars):
        a, b = (heard[partner][i] >= threshold_s for partner in PARTNERS)
        if a and b:
            chars.append(BOTH_MARK)
        elif a or b:
            chars.append(markers[0] if a else markers[1])
        elif coach[i] >= threshold_s:
            chars.append(PROMPT_MARK)
        else:
            chars.append(QUIET_MARK)
    return "".join(chars)


ROW_LENGTHS_S = (300.0, 600.0, 900.0, 1200.0, 1800.0, 3600.0)
MAX_ROWS = 8


def timeline_rows(duration_s: float) -> list[tuple[float, float]]:
    """Split a session into rows of equal scale for the drawn timelines.

    Up to five minutes is one row; longer sessions get rows of the shortest length in
    ``ROW_LENGTHS_S`` that keeps them to ``MAX_ROWS`` (the last row may be shorter),
    so that a long session stays readable on a narrow screen.
    """
    if duration_s <= ROW_LENGTHS_S[0]:
        return [(0.0, max(duration_s, 1.0))]
    row_s = next(
        (length for length in ROW_LENGTHS_S if duration_s / length <= MAX_ROWS),
        duration_s / MAX_ROWS,
    )
    rows = []
    start_t = 0.0
    while start_t < duration_s:
        rows.append((start_t, start_t + row_s))
        start_t += row_s
    return rows


# --- words ---------------------------------------------------------------------------------


def spoken_summary(summary: SessionSummary) -> str:
    """A few warm sentences to say at the end of a session; they describe, never rank.

    For example: "You each had the floor twice; your talking time was evenly shared;
    the hand-overs were smooth; two paraphrases needed a second try. Thank you both
    for listening to each other."
    """
    a, b = summary.partners_summary
    parts = []
    if a.floors == b.floors == 0:
        parts.append("We did not get as far as a turn this time")
    elif a.floors == b.floors:
        parts.append(f"You each had the floor {_times_words(a.floors)}")
    elif a.floors and b.floors:
        parts.append(
            f"{a.name} had the floor {_times_words(a.floors)} and {b.name} {_times_words(b.floors)}"
        )
    else:
        holder, other = (a, b) if a.floors else (b, a)
        parts.append(
            f"{holder.name} had the floor {_times_words(holder.floors)}"
            f" and {other.name} did not have it this time"
        )
    if a.talk_s > 0 and b.talk_s > 0:
        if abs(a.share - 0.5) <= 0.1:
            parts.append("your talking time was evenly shared")
        else:
            parts.append(
                f"{a.name} spoke for {_about(a.talk_s)} and {b.name} for {_about(b.talk_s)}"
            )
    measured = [h for h in summary.handovers if h.gap_s is not None]
    overlapped = sum(1 for h in measured if h.gap_s is not None and h.gap_s < 0)
    interruptions = a.interruptions + b.interruptions
    if measured and not overlapped and not interruptions:
        parts.append("the hand-overs were smooth")
    elif overlapped or interruptions:
        moments = overlapped + interruptions
        parts.append(
            f"there {'was' if moments == 1 else 'were'} {_count_words(moments)}"
            f" moment{'' if moments == 1 else 's'} when your words overlapped"
        )
    rounds = a.paraphrase_rounds + b.paraphrase_rounds
    first_time = a.confirmed_first_time + b.confirmed_first_time
    if summary.second_tries:
        n = summary.second_tries
        parts.append(f"{_count_words(n)} paraphrase{'' if n == 1 else 's'} needed a second try")
    elif rounds and first_time == rounds:
        parts.append(
            "the paraphrase landed first time"
            if rounds == 1
            else "every paraphrase landed first time"
        )
    sentences = ["; ".join(parts) + "."]
    if summary.end_reason == "stopped" and summary.duration_s > 0:
        sentences.append("You stopped early, and that is all right.")
    if summary.time_outs:
        sentences.append("Taking a break when you need one is part of the practice.")
    sentences.append("Thank you both for listening to each other.")
    text = " ".join(sentences)
    return text[0].upper() + text[1:]


def clock(seconds: float) -> str:
    """Seconds as m:ss, or h:mm:ss from an hour, rounded to the nearest second."""
    whole = int(max(0.0, seconds) + 0.5)
    hours, rest = divmod(whole, 3600)
    if hours:
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{rest // 60}:{rest % 60:02d}"


def gap_text(gap_s: float | None) -> str:
    """A response gap for people: "1.2 s", "overlap 0.4 s", or "—" when none."""
    if gap_s is None:
        return "—"
    if gap_s < 0:
        return f"overlap {-gap_s:.1f} s"
    return f"{gap_s:.1f} s"


def _int(field: str) -> Callable[[PartnerSummary], str]:
    return lambda p: str(getattr(p, field))


def _talk(p: PartnerSummary) -> str:
    return clock(p.talk_s)


_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _count_words(n: int) -> str:
    return _COUNT_WORDS[n] if 0 <= n < len(_COUNT_WORDS) else str(n)


def _times_words(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{_count_words(n)} times")


def _times_short(n: int) -> str:
    return f"{n} turn" if n == 1 else f"{n} turns"


def _about(seconds: float) -> str:
    """A rough spoken length, short to say: "under a minute", "a minute and a half"."""
    if seconds < 45:
        return "under a minute"
    if seconds < 75:
        return "about a minute"
    if seconds < 105:
        return "about a minute and a half"
    if seconds < 55 * 60:
        return "about " + spoken_duration(round(seconds / 60) * 60)
    hours = round(seconds / 3600)
    return "about an hour" if hours == 1 else f"about {_count_words(hours)} hours"


# --- the compact plain-text review ------------------------------------------------------------


def format_summary(summary: SessionSummary) -> str:
    """A short plain-text review: the session, then one row per partner."""
    lines = [headline(summary), ""]
    percents = _percents(tuple(p.share for p in summary.partners_summary))
    header = (
        "",
        "talk",
        "share",
        "floors",
        "longest turn",
        "overtime",
        "interruptions",
        "backchannels",
        "paraphrase attempts",
    )
    rows = [header]
    for partner, percent in zip(summary.partners_summary, percents, strict=True):
        rows.append(
            (
                partner.name,
                clock(partner.talk_s),
                f"{percent}%",
                str(partner.floors),
                clock(partner.longest_monologue_s),
                clock(partner.overtime_s),
                str(partner.interruptions),
                str(partner.backchannels),
                str(partner.paraphrase_attempts),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        # Names read left to right; numbers line up on their last digit.
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    extras = []
    if summary.unattributed_talk_s > 0:
        unattributed = clock(summary.unattributed_talk_s)
        extras.append(f"speech not attributed to either partner: {unattributed}")
    extras.append(f"check-ins: {summary.check_ins}")
    extras.append(f"time cues: {summary.cues}")
    lines += ["", "; ".join(extras)]
    return "\n".join(lines) + "\n"


def _percents(shares: tuple[float, ...]) -> tuple[int, ...]:
    """Whole percents that add up to exactly 100 when anyone spoke (largest remainder)."""
    if sum(shares) <= 0:
        return tuple(0 for _ in shares)
    exact = [share * 100 for share in shares]
    whole = [int(value) for value in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - whole[i], reverse=True)
    for i in by_remainder[: 100 - sum(whole)]:
        whole[i] += 1
    return tuple(whole)


def percents(summary: SessionSummary) -> tuple[int, int]:
    """The partners' shares as whole percents adding up to 100 (0 and 0 in silence)."""
    a, b = _percents(tuple(p.share for p in summary.partners_summary))
    return a, b
