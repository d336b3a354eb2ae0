"""What a session looked like, computed from its events alone: per-partner turn-taking.

Everything here is a pure function of the event log. The wording describes each
partner side by side and never ranks one above the other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from attune_voice.events import (
    PARTNERS,
    SCHEMA_VERSION,
    CheckIn,
    Confirmation,
    Cue,
    Event,
    FloorEnded,
    FloorGiven,
    FloorRole,
    Paraphrase,
    SessionEnded,
    SessionStarted,
    Speech,
    SpeechKind,
)

UNFINISHED = "unfinished"
"""``SessionSummary.end_reason`` of a log without a SessionEnded event."""

_SPEAKING_ROLES = frozenset({FloorRole.SPEAK, FloorRole.SHARE})


@dataclass(frozen=True)
class PartnerSummary:
    """One partner's turn-taking over a session; times in seconds."""

    partner: str
    """A or B."""
    name: str
    """Display name from SessionStarted, else the letter."""
    talk_s: float
    """Sum of the lengths (end_t - t) of every Speech event attributed to this partner,
    whatever its speech_kind. Speech overlapping the other partner's counts for both."""
    share: float
    """talk_s over both partners' talk_s together (0 to 1); 0.0 when nobody spoke."""
    floors: int
    """FloorGiven events for this partner with role speak or share (not paraphrase,
    clarify or confirm)."""
    longest_monologue_s: float
    """The longest stretch they held the floor talking: for each of their floors, from
    the start of their first turn speech in it to the end of their last (thinking
    pauses included); the longest over the session, 0.0 if none."""
    overtime_s: float
    """Sum of FloorEnded.overtime_s over this partner's floors of any role."""
    overtime_floors: int
    """FloorEnded events for this partner with overtime_s above 0."""
    interruptions: int
    """Their Speech events with speech_kind interruption."""
    backchannels: int
    """Their Speech events with speech_kind backchannel."""
    paraphrase_attempts: int
    """Paraphrase events by this partner."""
    confirmed_first_time: int
    """Confirmations answered yes on attempt 1 by the other partner: paraphrases of
    this partner's that landed at the first try."""


@dataclass(frozen=True)
class SessionSummary:
    """A whole session at a glance."""

    exercise: str
    """From SessionStarted; empty when the log has none."""
    partners: tuple[str, str]
    """Display names of A and B (the letters when the log has no SessionStarted)."""
    duration_s: float
    """SessionEnded.t; without one, the latest t of any event; 0.0 for an empty log."""
    end_reason: str
    """SessionEnded.reason (completed, stopped, interrupted, device_lost) or unfinished."""
    unattributed_talk_s: float
    """Total length of Speech events attributed to nobody (partner None or unknown)."""
    partners_summary: tuple[PartnerSummary, PartnerSummary]
    """Partner A, then partner B."""
    check_ins: int
    """CheckIn events: gentle prompts after a long silence."""
    cues: int
    """Cue events: spoken time reminders."""


@dataclass
class _Tally:
    """Running counts for one partner while walking the log."""

    talk_s: float = 0.0
    floors: int = 0
    longest_monologue_s: float = 0.0
    overtime_s: float = 0.0
    overtime_floors: int = 0
    interruptions: int = 0
    backchannels: int = 0
    paraphrase_attempts: int = 0
    confirmed_first_time: int = 0


def summarize(events: Sequence[Event]) -> SessionSummary:
    """Compute the summary of one session's events (see each field for its definition)."""
    started = next((e for e in events if isinstance(e, SessionStarted)), None)
    ended = next((e for e in events if isinstance(e, SessionEnded)), None)
    names = _names(started)
    tallies = {partner: _Tally() for partner in PARTNERS}
    unattributed_talk_s = 0.0
    check_ins = cues = 0
    floors: list[FloorEnded] = []

    for event in events:
        if isinstance(event, Speech):
            length_s = max(0.0, event.end_t - event.t)
            tally = tallies.get(event.partner) if event.partner is not None else None
            if tally is None:
                unattributed_talk_s += length_s
                continue
            tally.talk_s += length_s
            if event.speech_kind == SpeechKind.INTERRUPTION:
                tally.interruptions += 1
            elif event.speech_kind == SpeechKind.BACKCHANNEL:
                tally.backchannels += 1
        elif isinstance(event, FloorGiven):
            if event.partner in tallies and event.role in _SPEAKING_ROLES:
                tallies[event.partner].floors += 1
        elif isinstance(event, FloorEnded):
            floors.append(event)
            if event.partner in tallies:
                tallies[event.partner].overtime_s += event.overtime_s
                if event.overtime_s > 0:
                    tallies[event.partner].overtime_floors += 1
        elif isinstance(event, Paraphrase):
            if event.partner in tallies:
                tallies[event.partner].paraphrase_attempts += 1
        elif isinstance(event, Confirmation):
            paraphraser = _other(event.partner)
            if paraphraser is not None and event.answer == "yes" and event.attempt == 1:
                tallies[paraphraser].confirmed_first_time += 1
        elif isinstance(event, CheckIn):
            check_ins += 1
        elif isinstance(event, Cue):
            cues += 1

    for partner, longest_s in _longest_monologues(events, floors).items():
        tallies[partner].longest_monologue_s = longest_s
    total_talk_s = sum(tally.talk_s for tally in tallies.values())
    summaries = tuple(
        PartnerSummary(
            partner=partner,
            name=name,
            share=tallies[partner].talk_s / total_talk_s if total_talk_s > 0 else 0.0,
            **dataclasses.asdict(tallies[partner]),
        )
        for partner, name in zip(PARTNERS, names, strict=True)
    )
    return SessionSummary(
        exercise=started.exercise if started is not None else "",
        partners=names,
        duration_s=ended.t if ended is not None else max((e.t for e in events), default=0.0),
        end_reason=str(ended.reason) if ended is not None else UNFINISHED,
        unattributed_talk_s=unattributed_talk_s,
        partners_summary=(summaries[0], summaries[1]),
        check_ins=check_ins,
        cues=cues,
    )


def _longest_monologues(events: Sequence[Event], floors: Sequence[FloorEnded]) -> dict[str, float]:
    # A segment is logged when it ends, often just after its floor has ended, so
    # floors and speech are matched by time, not by log order.
    turns = [
        e
        for e in events
        if isinstance(e, Speech) and e.speech_kind == SpeechKind.TURN and e.partner is not None
    ]
    longest: dict[str, float] = {}
    for floor in floors:
        start_t = floor.t - floor.held_s
        spans = [s for s in turns if s.partner == floor.partner and start_t - 0.5 <= s.t < floor.t]
        if spans:
            span_s = max(s.end_t for s in spans) - min(s.t for s in spans)
            longest[floor.partner] = max(longest.get(floor.partner, 0.0), span_s)
    return longest


def summary_to_json(summary: SessionSummary) -> dict[str, Any]:
    """The summary as JSON-able values; times in seconds to the millisecond."""
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    data.update(_rounded(dataclasses.asdict(summary)))
    return data


def format_summary(summary: SessionSummary) -> str:
    """A short plain-text review: the session, then one row per partner."""
    exercise = summary.exercise or "session"
    lines = [
        f"{exercise}: {_mmss(summary.duration_s)} ({summary.end_reason.replace('_', ' ')})",
        "",
    ]
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
                _mmss(partner.talk_s),
                f"{percent}%",
                str(partner.floors),
                _mmss(partner.longest_monologue_s),
                _mmss(partner.overtime_s),
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
        unattributed = _mmss(summary.unattributed_talk_s)
        extras.append(f"speech not attributed to either partner: {unattributed}")
    extras.append(f"check-ins: {summary.check_ins}")
    extras.append(f"time cues: {summary.cues}")
    lines += ["", "; ".join(extras)]
    return "\n".join(lines) + "\n"


def _names(started: SessionStarted | None) -> tuple[str, str]:
    """Display names of A and B; the letters where the log does not give two names."""
    if started is None or len(started.partners) != len(PARTNERS):
        return (PARTNERS[0], PARTNERS[1])
    return (str(started.partners[0]), str(started.partners[1]))


def _other(partner: str) -> str | None:
    """The other partner's letter, or None for a letter that is neither A nor B."""
    if partner not in PARTNERS:
        return None
    return PARTNERS[1 - PARTNERS.index(partner)]


def _mmss(seconds: float) -> str:
    """Seconds as m:ss, rounded to the nearest second."""
    whole = int(max(0.0, seconds) + 0.5)
    return f"{whole // 60}:{whole % 60:02d}"


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


def _rounded(value: Any) -> Any:
    """``value`` with every float rounded to 3 places and tuples made lists."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(item) for item in value]
    return value
