"""What a session looked like, computed from its events alone: turn-taking, side by side.

Everything here is a pure function of the event log (no audio, no clock), and every
report — the terminal table, the HTML page, the PNG, JSON, CSV and the spoken
summary — is built from what these functions return. The wording describes each
partner side by side, always A then B, and never ranks one above the other.

Events whose kind this version does not define yet (pauses, time-outs, transcripts)
are read by their ``kind`` string and their fields, and ignored when unknown.
"""

from __future__ import annotations

import bisect
import dataclasses
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from attune_voice.durations import spoken_duration
from attune_voice.events import (
    HOLDER_LEAD_S,
    PARTNERS,
    CheckIn,
    Confirmation,
    Cue,
    Event,
    FloorEnded,
    FloorGiven,
    FloorRole,
    Paraphrase,
    Prompt,
    SessionEnded,
    SessionStarted,
    Speech,
    SpeechKind,
)

REPORT_SCHEMA_VERSION = 2
"""Version of the review's JSON form (not of the events): 2 added turns, talking
stretches, hand-overs, overlaps, pauses and time-outs to version 1's fields."""

UNFINISHED = "unfinished"
"""``SessionSummary.end_reason`` of a log without a SessionEnded event."""

PAUSED, RESUMED, TIME_OUT, TRANSCRIPT = "paused", "resumed", "time_out", "transcript"
"""Event kinds read by name; their classes are defined with the voice commands."""

PARTNER_COLOURS = ("#2f6db5", "#b86a1b")
"""Partner A blue, partner B ochre: told apart with any colour vision, and neither the
red or green of a score."""
COACH_COLOUR = "#8a9099"

_SPEAKING_ROLES = frozenset({FloorRole.SPEAK, FloorRole.SHARE})


# --- what a session looked like --------------------------------------------------------


@dataclass(frozen=True)
class Handover:
    """The floor passing from one partner to the other; times in seconds."""

    t: float
    """When the new holder was given the floor."""
    from_partner: str
    to_partner: str
    gap_s: float | None
    """The floor-transfer offset: from the moment the floor was clear to the new
    holder's first speech in their floor. The floor is clear at the later of the
    previous holder's last speech in their floor and the end of any prompt spoken
    between the two floors (the floor-giving moment when there is neither). Negative
    when the new holder began before the previous one had stopped (an overlap); None
    when the new holder did not speak."""


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
    """talk_s over both partners' talk_s together (0 to 1); silence, prompts and
    unattributed speech are left out; 0.0 when nobody spoke."""
    floors: int
    """FloorGiven events for this partner with role speak or share (not paraphrase,
    clarify or confirm)."""
    turns: int
    """FloorGiven events for this partner, any role: every time the floor was theirs."""
    mean_monologue_s: float
    """The mean of this partner's talking stretches (see longest_monologue_s) over
    their floors in which they spoke; 0.0 if none."""
    longest_monologue_s: float
    """The longest stretch they held the floor talking: for each of their floors, from
    the start of their first turn speech in it to the end of their last (thinking
    pauses included); the longest over the session, 0.0 if none."""
    overtime_s: float
    """Sum of FloorEnded.overtime_s over this partner's floors of any role."""
    overtime_floors: int
    """FloorEnded events for this partner with overtime_s above 0."""
    response_gap_s: float | None
    """The median Handover.gap_s over hand-overs to this partner in which they spoke;
    None when there were none."""
    overlapped_handovers: int
    """Hand-overs to this partner with a negative gap: they began while the previous
    holder was still finishing."""
    overlaps: int
    """Their Speech events, other than backchannels, that began while the other
    partner was speaking (at or after the start of one of the other's segments and
    before its end)."""
    interruptions: int
    """Their Speech events with speech_kind interruption: longer speech during the
    other's floor."""
    backchannels: int
    """Their Speech events with speech_kind backchannel: a short "mm-hm" during the
    other's floor, counted apart from interruptions."""
    paraphrase_attempts: int
    """Paraphrase events by this partner."""
    paraphrase_rounds: int
    """Paraphrase events by this partner on attempt 1: the messages they said back."""
    confirmed_first_time: int
    """Confirmations answered yes on attempt 1 by the other partner: paraphrases of
    this partner's that landed at the first try."""


@dataclass(frozen=True)
class SessionSummary:
    """The whole session: its frame and both partners' summaries."""

    exercise: str
    """From SessionStarted; empty when the log has none."""
    partners: tuple[str, str]
    """Display names of A and B (the letters when the log has no SessionStarted)."""
    duration_s: float
    """SessionEnded.t; without one, the latest t or end_t of any event; 0.0 for an
    empty log."""
    end_reason: str
    """SessionEnded.reason (completed, stopped, interrupted, device_lost) or unfinished."""
    unattributed_talk_s: float
    """Total length of Speech events attributed to nobody (partner None or unknown)."""
    partners_summary: tuple[PartnerSummary, PartnerSummary]
    """Partner A, then partner B."""
    handovers: tuple[Handover, ...]
    """Every change of floor holder, in order (see Handover)."""
    median_response_gap_s: float | None
    """The median Handover.gap_s over all hand-overs in which the new holder spoke."""
    overlap_s: float
    """Time during which both partners' speech (of any kind) was going on at once."""
    second_tries: int
    """Paraphrase events on attempt 2: paraphrases that needed a second try."""
    check_ins: int
    """CheckIn events: gentle prompts after a long silence."""
    cues: int
    """Cue events: spoken time reminders."""
    pauses: int
    """Events of kind paused: the session was paused on request."""
    time_outs: int
    """Events of kind time_out: a partner asked for a break."""
    paused_s: float
    """Time from each paused or time_out event to the next resumed event or, without
    one, to the session's end."""
    voices_told_apart: bool
    """Whether any Speech event was attributed by channel (a microphone per partner).
    Without that, all speech counts for whoever held the floor, so backchannels,
    interruptions and overlaps cannot show."""


@dataclass(frozen=True)
class SpeechSpan:
    """One stretch of speech on the timeline; ``partner`` is None where unattributed."""

    t: float
    end_t: float
    partner: str | None
    kind: str
    """turn, backchannel, interruption or aside."""


@dataclass(frozen=True)
class FloorSpan:
    """A floor from when it was given to when it ended (or the next floor, or the end)."""

    t: float
    end_t: float
    partner: str
    role: str
    attempt: int
    overtime_s: float


@dataclass(frozen=True)
class PromptSpan:
    t: float
    end_t: float
    purpose: str
    text: str


@dataclass(frozen=True)
class PauseSpan:
    """A pause or time-out, to its resume or the session's end."""

    t: float
    end_t: float
    kind: str
    """paused or time_out."""


@dataclass(frozen=True)
class TranscriptSpan:
    """The words of one stretch of speech, where the couple chose to keep them."""

    t: float
    end_t: float
    partner: str | None
    text: str


@dataclass(frozen=True)
class Timeline:
    """Who spoke when, with the floors, prompts, pauses and kept words; seconds."""

    duration_s: float
    names: tuple[str, str]
    speech: tuple[SpeechSpan, ...]
    """In start order."""
    floors: tuple[FloorSpan, ...]
    prompts: tuple[PromptSpan, ...]
    pauses: tuple[PauseSpan, ...]
    transcripts: tuple[TranscriptSpan, ...]
    """In start order; empty unless transcripts were kept."""


def timeline(events: Sequence[Event]) -> Timeline:
    """Lay the log out in time: speech, floors (given to ended), prompts, pauses, words.

    A floor ends at its FloorEnded, else at the next FloorGiven, else at the session's
    end; a pause at the next resumed event, else at the session's end.
    """
    duration_s = _duration_s(events)
    speech: list[SpeechSpan] = []
    floors: list[FloorSpan] = []
    prompts: list[PromptSpan] = []
    pauses: list[PauseSpan] = []
    transcripts: list[TranscriptSpan] = []
    open_floor: FloorGiven | None = None
    open_pause: tuple[float, str] | None = None

    def close_floor(end_t: float, overtime_s: float) -> None:
        nonlocal open_floor
        if open_floor is not None:
            floors.append(
                FloorSpan(
                    t=open_floor.t,
                    end_t=max(open_floor.t, end_t),
                    partner=open_floor.partner,
                    role=str(open_floor.role),
                    attempt=open_floor.attempt,
                    overtime_s=overtime_s,
                )
            )
            open_floor = None

    for event in events:
        kind = str(event.kind)
        if isinstance(event, Speech):
            partner = event.partner if event.partner in PARTNERS else None
            speech.append(SpeechSpan(event.t, event.end_t, partner, str(event.speech_kind)))
        elif isinstance(event, FloorGiven):
            close_floor(event.t, 0.0)
            open_floor = event
        elif isinstance(event, FloorEnded):
            close_floor(event.t, event.overtime_s)
        elif isinstance(event, Prompt):
            prompts.append(PromptSpan(event.t, event.end_t, event.purpose, event.text))
        elif kind in (PAUSED, TIME_OUT):
            if open_pause is None:
                open_pause = (event.t, kind)
        elif kind == RESUMED:
            if open_pause is not None:
                pauses.append(PauseSpan(open_pause[0], max(open_pause[0], event.t), open_pause[1]))
                open_pause = None
        elif kind == TRANSCRIPT:
            text = getattr(event, "text", "")
            if isinstance(text, str) and text.strip():
                end_t = getattr(event, "end_t", event.t)
                partner_value = getattr(event, "partner", None)
                transcripts.append(
                    TranscriptSpan(
                        event.t,
                        float(end_t) if isinstance(end_t, (int, float)) else event.t,
                        partner_value if partner_value in PARTNERS else None,
                        text.strip(),
                    )
                )
    close_floor(duration_s, 0.0)
    if open_pause is not None:
        pauses.append(PauseSpan(open_pause[0], max(open_pause[0], duration_s), open_pause[1]))
    speech.sort(key=lambda span: span.t)
    transcripts.sort(key=lambda span: span.t)
    return Timeline(
        duration_s=duration_s,
        names=_names(next((e for e in events if isinstance(e, SessionStarted)), None)),
        speech=tuple(speech),
        floors=tuple(floors),
        prompts=tuple(prompts),
        pauses=tuple(pauses),
        transcripts=tuple(transcripts),
    )


# --- the metrics -------------------------------------------------------------------------


@dataclass
class _Tally:
    """Running counts for one partner while walking the log."""

    talk_s: float = 0.0
    floors: int = 0
    turns: int = 0
    overtime_s: float = 0.0
    overtime_floors: int = 0
    interruptions: int = 0
    backchannels: int = 0
    paraphrase_attempts: int = 0
    paraphrase_rounds: int = 0
    confirmed_first_time: int = 0


def summarize(events: Sequence[Event]) -> SessionSummary:
    """Compute the summary of one session's events (see each field for its definition)."""
    started = next((e for e in events if isinstance(e, SessionStarted)), None)
    ended = next((e for e in events if isinstance(e, SessionEnded)), None)
    names = _names(started)
    tallies = {partner: _Tally() for partner in PARTNERS}
    unattributed_talk_s = 0.0
    check_ins = cues = second_tries = pauses = time_outs = 0

    for event in events:
        kind = str(event.kind)
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
            if event.partner in tallies:
                tallies[event.partner].turns += 1
                if event.role in _SPEAKING_ROLES:
                    tallies[event.partner].floors += 1
        elif isinstance(event, FloorEnded):
            if event.partner in tallies:
                tallies[event.partner].overtime_s += event.overtime_s
                if event.overtime_s > 0:
                    tallies[event.partner].overtime_floors += 1
        elif isinstance(event, Paraphrase):
            if event.partner in tallies:
                tallies[event.partner].paraphrase_attempts += 1
                if event.attempt == 1:
                    tallies[event.partner].paraphrase_rounds += 1
            if event.attempt == 2:
                second_tries += 1
        elif isinstance(event, Confirmation):
            paraphraser = _other(event.partner)
            if paraphraser is not None and event.answer == "yes" and event.attempt == 1:
                tallies[paraphraser].confirmed_first_time += 1
        elif isinstance(event, CheckIn):
            check_ins += 1
        elif isinstance(event, Cue):
            cues += 1
        elif kind == PAUSED:
            pauses += 1
        elif kind == TIME_OUT:
            time_outs += 1

    laid_out = timeline(events)
    stretches = _talking_stretches(laid_out)
    handovers = handovers_of(laid_out)
    overlaps = _overlap_counts(laid_out.speech)
    total_talk_s = sum(tally.talk_s for tally in tallies.values())
    summaries = []
    for partner, name in zip(PARTNERS, names, strict=True):
        tally = tallies[partner]
        own = stretches[partner]
        gaps = [h.gap_s for h in handovers if h.to_partner == partner and h.gap_s is not None]
        summaries.append(
            PartnerSummary(
                partner=partner,
                name=name,
                talk_s=tally.talk_s,
                share=tally.talk_s / total_talk_s if total_talk_s > 0 else 0.0,
                floors=tally.floors,
                turns=tally.turns,
                mean_monologue_s=statistics.fmean(own) if own else 0.0,
                longest_monologue_s=max(own, default=0.0),
                overtime_s=tally.overtime_s,
                overtime_floors=tally.overtime_floors,
                response_gap_s=statistics.median(gaps) if gaps else None,
                overlapped_handovers=sum(1 for gap in gaps if gap < 0),
                overlaps=overlaps[partner],
                interruptions=tally.interruptions,
                backchannels=tally.backchannels,
                paraphrase_attempts=tally.paraphrase_attempts,
                paraphrase_rounds=tally.paraphrase_rounds,
                confirmed_first_time=tally.confirmed_first_time,
            )
        )
    all_gaps = [h.gap_s for h in handovers if h.gap_s is not None]
    return SessionSummary(
        exercise=started.exercise if started is not None else "",
        partners=names,
        duration_s=laid_out.duration_s,
        end_reason=str(ended.reason) if ended is not None else UNFINISHED,
        unattributed_talk_s=unattributed_talk_s,
        partners_summary=(summaries[0], summaries[1]),
        handovers=handovers,
        median_response_gap_s=statistics.median(all_gaps) if all_gaps else None,
        overlap_s=_overlap_s(laid_out.speech),
        second_tries=second_tries,
        check_ins=check_ins,
        cues=cues,
        pauses=pauses,
        time_outs=time_outs,
        paused_s=sum(p.end_t - p.t for p in laid_out.pauses),
        voices_told_apart=any(
            isinstance(e, Speech) and e.attributed_by == "channel" for e in events
        ),
    )


def handovers_of(laid_out: Timeline) -> tuple[Handover, ...]:
    """Every change of floor holder with its response gap (see ``Handover.gap_s``)."""
    result: list[Handover] = []
    prompt_ends = sorted(p.end_t for p in laid_out.prompts)
    for before, after in zip(laid_out.floors, laid_out.floors[1:], strict=False):
        if before.partner == after.partner:
            continue
        previous = floor_speech(laid_out, before)
        mine = floor_speech(laid_out, after)
        gap_s = None
        if mine:
            # Prompt ends that fall between the two floors, the floor-giving moment
            # included: the coach speaks the new floor's prompt right up to it.
            lo = bisect.bisect_left(prompt_ends, before.end_t)
            hi = bisect.bisect_right(prompt_ends, after.t)
            clear_candidates = [s.end_t for s in previous] + prompt_ends[lo:hi]
            clear_t = max(clear_candidates, default=after.t)
            gap_s = mine[0].t - clear_t
        result.append(Handover(after.t, before.partner, after.partner, gap_s))
    return tuple(result)


def floor_speech(laid_out: Timeline, floor: FloorSpan) -> list[SpeechSpan]:
    """The holder's turn speech in ``floor``, in start order: starting from HOLDER_LEAD_S
    before it was given until it ended (a segment may run on past the end)."""
    speech = laid_out.speech
    lo = bisect.bisect_left(speech, floor.t - HOLDER_LEAD_S, key=lambda s: s.t)
    hi = bisect.bisect_left(speech, floor.end_t, key=lambda s: s.t)
    return [s for s in speech[lo:hi] if s.partner == floor.partner and s.kind == SpeechKind.TURN]


def _talking_stretches(laid_out: Timeline) -> dict[str, list[float]]:
    """For each partner, the talking stretch (first to last turn speech) of every floor
    of theirs in which they spoke."""
    stretches: dict[str, list[float]] = {partner: [] for partner in PARTNERS}
    for floor in laid_out.floors:
        spans = floor_speech(laid_out, floor)
        if spans and floor.partner in stretches:
            stretches[floor.partner].append(max(s.end_t for s in spans) - spans[0].t)
    return stretches


def _merged(spans: Iterable[SpeechSpan]) -> list[tuple[float, float]]:
    """The union of ``spans`` as sorted, disjoint (start, end) intervals."""
    merged: list[tuple[float, float]] = []
    for span in sorted(spans, key=lambda s: s.t):
        if merged and span.t <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], span.end_t))
        else:
            merged.append((span.t, span.end_t))
    return merged


def _overlap_counts(speech: Sequence[SpeechSpan]) -> dict[str, int]:
    counts = {}
    for partner in PARTNERS:
        other = _merged(s for s in speech if s.partner == _other(partner))
        starts = [start for start, _ in other]
        count = 0
        for span in speech:
            if span.partner != partner or span.kind == SpeechKind.BACKCHANNEL:
                continue
            i = bisect.bisect_right(starts, span.t) - 1
            if i >= 0 and span.t < other[i][1]:
                count += 1
        counts[partner] = count
    return counts


def _overlap_s(speech: Sequence[SpeechSpan]) -> float:
    a = _merged(s for s in speech if s.partner == PARTNERS[0])
    b = _merged(s for s in speech if s.partner == PARTNERS[1])
    total_s, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        total_s += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total_s


def _duration_s(events: Sequence[Event]) -> float:
    ended = next((e for e in events if isinstance(e, SessionEnded)), None)
    if ended is not None:
        return ended.t
    # Speech is logged once it ends, so its end can be the latest moment known.
    latest = (max(e.t, float(getattr(e, "end_t", e.t))) for e in events)
    return max(latest, default=0.0)


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
    heard = {partner: [0.0] * width_chars for partner in PARTNERS}
    coach = [0.0] * width_chars
    for span in laid_out.speech:
        if span.partner is not None:
            _spread(heard[span.partner], span.t, span.end_t, slice_s)
    for prompt in laid_out.prompts:
        _spread(coach, prompt.t, prompt.end_t, slice_s)
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


def _spread(bins: list[float], t: float, end_t: float, slice_s: float) -> None:
    """Add the time [t, end_t) spends in each slice of ``bins``."""
    first = max(0, int(t / slice_s))
    last = min(len(bins) - 1, int(end_t / slice_s))
    for i in range(first, last + 1):
        bins[i] += max(0.0, min(end_t, (i + 1) * slice_s) - max(t, i * slice_s))


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


def summary_to_json(summary: SessionSummary) -> dict[str, Any]:
    """The summary as JSON-able values; times in seconds to the millisecond."""
    data: dict[str, Any] = {"schema_version": REPORT_SCHEMA_VERSION}
    data.update(_rounded(dataclasses.asdict(summary)))
    return data


def summary_from_json(data: Any) -> SessionSummary:
    """Rebuild a summary from ``summary_to_json`` or ``dataclasses.asdict`` form.

    Raises ``ValueError`` for anything that is not such a summary.
    """
    try:
        fields = {f.name for f in dataclasses.fields(SessionSummary)}
        values = {key: data[key] for key in fields}
        a, b = (PartnerSummary(**p) for p in values["partners_summary"])
        values["partners_summary"] = (a, b)
        values["partners"] = (str(values["partners"][0]), str(values["partners"][1]))
        values["handovers"] = tuple(Handover(**h) for h in values["handovers"])
        return SessionSummary(**values)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ValueError(f"not a session summary ({e})") from e


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


def _names(started: SessionStarted | None) -> tuple[str, str]:
    """Display names of A and B; the letters where the log does not give two names."""
    if started is None or len(started.partners) != len(PARTNERS):
        return (PARTNERS[0], PARTNERS[1])
    return (str(started.partners[0]), str(started.partners[1]))


def _other(partner: str | None) -> str | None:
    """The other partner's letter, or None for a letter that is neither A nor B."""
    if partner not in PARTNERS:
        return None
    return PARTNERS[1 - PARTNERS.index(partner)]


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


def _rounded(value: Any) -> Any:
    """``value`` with every float rounded to 3 places and tuples made lists."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(item) for item in value]
    return value
