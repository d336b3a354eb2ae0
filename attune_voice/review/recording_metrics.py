"""Turn-taking of a recording, from its speech alone: no floors were logged, so turns are
runs of one partner's speech and backchannels are told from interruptions by length.

Talk time, merging and overlaps follow the rules in ``review.speech``, which the
review of live sessions uses too.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from attune_voice.config import TurnConfig
from attune_voice.events import PARTNERS
from attune_voice.review.speech import (
    Span,
    SpeechSpan,
    merged,
    overlapping,
    started_during,
    talk_s,
)

BACKCHANNEL_MAX_S = TurnConfig().backchannel_max_s
"""The listener's speech up to this long while the other speaks is a backchannel
("mm-hm"); longer, it is an interruption: the rule of live sessions."""


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
    """Their short responses (up to 1 s) while the other held the floor: over the
    other's speech, or between two stretches of it."""
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
    """The median time from the end of one partner's turn (or of the coach's prompt
    after it) to the start of the other's (negative when they overlapped); None without
    switches."""
    speakers: tuple[SpeakerMetrics, ...]
    """Partner A then B; empty when nothing attributes the speech."""


@dataclass
class _Turn:
    speaker: str
    start_s: float
    end_s: float


def _backchannels(spans: Sequence[SpeechSpan], over: set[int]) -> set[int]:
    """Indices (into ``spans``, in start order) of the short responses: speech of up to
    ``BACKCHANNEL_MAX_S`` said over the other's speech (``over``: the indices of spans
    that overlap the other's), or between two stretches of it: the other went on, so
    the floor stayed theirs, as a listener's mm-hm in a speaker's pause does in a live
    session."""
    attributed = [k for k, s in enumerate(spans) if s.partner is not None]
    short = {k for k in attributed if spans[k].duration_s <= BACKCHANNEL_MAX_S}
    found = short & over
    for before, k, after in zip(attributed, attributed[1:], attributed[2:], strict=False):
        partner = spans[k].partner
        if k in short and spans[before].partner == spans[after].partner != partner:
            found.add(k)
    return found


def _turns(spans: Sequence[SpeechSpan], backchannels: set[int]) -> list[_Turn]:
    """Each partner's turns in order: runs of their speech that the other partner's
    speech does not break (a backchannel does not); ``spans`` in start order."""
    turns: list[_Turn] = []
    for k, span in enumerate(spans):
        if span.partner is None or k in backchannels:
            continue
        last = turns[-1] if turns else None
        if last is not None and last.speaker == span.partner:
            last.end_s = max(last.end_s, span.end_t)
        else:
            turns.append(_Turn(span.partner, span.t, span.end_t))
    return turns


def _cleared_t(end_s: float, start_s: float, prompt_ends: Sequence[float]) -> float:
    """When the other could answer a turn that ended at ``end_s``: then, or when a
    prompt that ended before ``start_s`` did (the review's rule for hand-overs)."""
    at = bisect.bisect_right(prompt_ends, start_s) - 1
    return max(end_s, prompt_ends[at]) if at >= 0 else end_s


def turn_metrics(
    spans: Sequence[SpeechSpan], duration_s: float, prompts: Sequence[Span] = ()
) -> TurnMetrics:
    """Turn-taking metrics of speech spans (see each ``TurnMetrics`` field); a response
    is timed from the end of any of the coach's ``prompts`` that came between."""
    spans = sorted(spans, key=lambda s: s.t)
    stretches = merged(spans)
    speech_s = talk_s(stretches)
    pauses = [b.t - a.end_t for a, b in itertools.pairwise(stretches)]
    index = {
        speaker: [k for k, s in enumerate(spans) if s.partner == speaker] for speaker in PARTNERS
    }
    own = {speaker: [spans[k] for k in index[speaker]] for speaker in PARTNERS}
    speakers: tuple[SpeakerMetrics, ...] = ()
    switches = 0
    responses: list[float] = []
    overlap_s = 0.0
    if own["A"] or own["B"]:
        # A channel's segments never overlap each other, so they are paired as they are.
        pairs = overlapping(own["A"], own["B"])
        # Summed from the whole 0, which the JSON has always shown for no overlap.
        overlap_s = sum(shared for _, _, shared in pairs)
        over = {index["A"][i] for i, _, _ in pairs} | {index["B"][j] for _, j, _ in pairs}
        backchannels = _backchannels(spans, over)
        turns = _turns(spans, backchannels)
        changes = [(a, b) for a, b in itertools.pairwise(turns) if a.speaker != b.speaker]
        switches = len(changes)
        prompt_ends = sorted(p.end_t for p in prompts)
        responses = [b.start_s - _cleared_t(a.end_s, b.start_s, prompt_ends) for a, b in changes]
        total_talk_s = talk_s(s for s in spans if s.partner is not None)
        rows = []
        for speaker, other in (PARTNERS, PARTNERS[::-1]):
            spoken_s = talk_s(own[speaker])
            their_turns = [t for t in turns if t.speaker == speaker]
            other_starts = [s.t for s in own[other]]
            rows.append(
                SpeakerMetrics(
                    speaker=speaker,
                    talk_s=spoken_s,
                    share=spoken_s / total_talk_s if total_talk_s > 0 else 0.0,
                    turns=len(their_turns),
                    longest_turn_s=max((t.end_s - t.start_s for t in their_turns), default=0.0),
                    backchannels=sum(1 for k in index[speaker] if k in backchannels),
                    interruptions=sum(
                        1
                        for s in own[speaker]
                        if s.duration_s > BACKCHANNEL_MAX_S
                        and started_during(s.t, own[other], other_starts)
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
