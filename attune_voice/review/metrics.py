"""The turn-taking numbers of a session, computed from its events alone, side by side.

Everything here is a pure function of the event log (no audio, no clock), and every
report (the terminal table, the HTML page, the PNG, JSON, CSV and the spoken summary)
is built from what ``summarize`` returns. Talk time, merging and overlaps follow the
rules in ``review.speech``, which the analysis of recordings uses too.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

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
    Paused,
    SessionEnded,
    SessionStarted,
    Speech,
    SpeechKind,
    TimeOut,
)
from attune_voice.review.speech import (
    SpeechSpan,
    merged,
    overlap_s,
    started_during,
    talk_s,
)
from attune_voice.review.timeline import FloorSpan, Timeline, timeline

UNFINISHED = "unfinished"
"""``SessionSummary.end_reason`` of a log without a SessionEnded event."""

_SPEAKING_ROLES = frozenset({FloorRole.SPEAK, FloorRole.SHARE})


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


@dataclass
class _Tally:
    """Running counts for one partner while walking the log."""

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
    laid_out = timeline(events)
    said = [e for e in events if isinstance(e, Speech)]
    talk = {partner: talk_s(e for e in said if e.partner == partner) for partner in PARTNERS}
    unattributed_talk_s = talk_s(e for e in said if e.partner not in PARTNERS)
    tallies = {partner: _Tally() for partner in PARTNERS}
    check_ins = cues = second_tries = pauses = time_outs = 0

    for event in events:
        if isinstance(event, Speech):
            tally = tallies.get(event.partner) if event.partner is not None else None
            if tally is None:
                continue
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
        elif isinstance(event, Paused):
            pauses += 1
        elif isinstance(event, TimeOut):
            time_outs += 1

    stretches = _talking_stretches(laid_out)
    handovers = handovers_of(laid_out)
    overlaps = _overlap_counts(laid_out.speech)
    total_talk_s = sum(talk.values())
    summaries = []
    for partner, name in zip(PARTNERS, laid_out.names, strict=True):
        tally = tallies[partner]
        own = stretches[partner]
        gaps = [h.gap_s for h in handovers if h.to_partner == partner and h.gap_s is not None]
        summaries.append(
            PartnerSummary(
                partner=partner,
                name=name,
                talk_s=talk[partner],
                share=talk[partner] / total_talk_s if total_talk_s > 0 else 0.0,
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
        partners=laid_out.names,
        duration_s=laid_out.duration_s,
        end_reason=str(ended.reason) if ended is not None else UNFINISHED,
        unattributed_talk_s=unattributed_talk_s,
        partners_summary=(summaries[0], summaries[1]),
        handovers=handovers,
        median_response_gap_s=statistics.median(all_gaps) if all_gaps else None,
        overlap_s=overlap_s(
            (s for s in laid_out.speech if s.partner == PARTNERS[0]),
            (s for s in laid_out.speech if s.partner == PARTNERS[1]),
        ),
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


def _overlap_counts(speech: Sequence[SpeechSpan]) -> dict[str, int]:
    """For each partner, their speech other than backchannels begun while the other spoke."""
    counts = {}
    for partner in PARTNERS:
        other = merged(s for s in speech if s.partner == _other(partner))
        starts = [stretch.t for stretch in other]
        count = 0
        for span in speech:
            if span.partner != partner or span.kind == SpeechKind.BACKCHANNEL:
                continue
            if started_during(span.t, other, starts):
                count += 1
        counts[partner] = count
    return counts


def _other(partner: str | None) -> str | None:
    """The other partner's letter, or None for a letter that is neither A nor B."""
    if partner not in PARTNERS:
        return None
    return PARTNERS[1 - PARTNERS.index(partner)]
