"""Speech as stretches of time: talk time, their union, overlaps and how much of each slice
they fill, by the one set of rules that live sessions and analyzed recordings share.

Every function takes anything with ``t`` and ``end_t`` in seconds (a ``Span``): speech
spans, Speech events, prompts, the stretches ``merged`` returns.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol


class Span(Protocol):
    """Anything that lasts from ``t`` to ``end_t``, seconds."""

    @property
    def t(self) -> float: ...

    @property
    def end_t(self) -> float: ...


@dataclass(frozen=True)
class SpeechSpan:
    """One stretch of speech; ``partner`` is None where nothing attributes it."""

    t: float
    end_t: float
    partner: str | None
    kind: str | None = None
    """turn, backchannel, interruption or aside, as a live session told them apart; None
    in a recording, which has no floors to tell them by."""

    @property
    def duration_s(self) -> float:
        return self.end_t - self.t


class Stretch(NamedTuple):
    """Time covered by speech without a break, seconds."""

    t: float
    end_t: float


def left_out(
    spans: Iterable[SpeechSpan], stretches: Sequence[Stretch], shortest_s: float
) -> list[SpeechSpan]:
    """``spans`` without the time ``stretches`` (sorted, disjoint) cover; a piece left
    shorter than ``shortest_s`` is dropped, as too short to have been heard as speech."""
    starts = [s.t for s in stretches]
    result: list[SpeechSpan] = []
    for span in spans:
        t = span.t
        # Stretches that may overlap the span: from the last one starting before it.
        for k in range(max(0, bisect.bisect_right(starts, t) - 1), len(stretches)):
            stretch = stretches[k]
            if stretch.t >= span.end_t:
                break
            if stretch.end_t <= t:
                continue
            if stretch.t - t >= shortest_s:
                result.append(dataclasses.replace(span, t=t, end_t=stretch.t))
            t = max(t, stretch.end_t)
        if span.end_t - t >= shortest_s:
            result.append(dataclasses.replace(span, t=t))
    return result


def talk_s(spans: Iterable[Span]) -> float:
    """The sum of the spans' lengths, in the order given; overlapping spans count twice."""
    return sum((max(0.0, span.end_t - span.t) for span in spans), 0.0)


def merged(spans: Iterable[Span]) -> list[Stretch]:
    """The union of ``spans`` as sorted, disjoint stretches (touching ones joined)."""
    result: list[Stretch] = []
    for span in sorted(spans, key=lambda s: s.t):
        if result and span.t <= result[-1].end_t:
            result[-1] = Stretch(result[-1].t, max(result[-1].end_t, span.end_t))
        else:
            result.append(Stretch(span.t, span.end_t))
    return result


def overlapping(first: Sequence[Span], second: Sequence[Span]) -> list[tuple[int, int, float]]:
    """(index in first, index in second, seconds shared) of every overlapping pair.

    Each sequence must be in time order and never overlap itself (one channel's
    segments, or what ``merged`` returns), so one merge-like pass finds every pair.
    """
    pairs: list[tuple[int, int, float]] = []
    i = j = 0
    while i < len(first) and j < len(second):
        a, b = first[i], second[j]
        shared = min(a.end_t, b.end_t) - max(a.t, b.t)
        if shared > 0:
            pairs.append((i, j, shared))
        if a.end_t <= b.end_t:
            i += 1
        else:
            j += 1
    return pairs


def overlap_s(first: Iterable[Span], second: Iterable[Span]) -> float:
    """Time during which speech of ``first`` and of ``second`` goes on at once."""
    pairs = overlapping(merged(first), merged(second))
    return sum((shared for _, _, shared in pairs), 0.0)


def started_during(t: float, stretches: Sequence[Span], starts: Sequence[float]) -> bool:
    """Whether ``t`` falls at or after the start of one of ``stretches`` and before its end.

    ``stretches`` are in start order and ``starts`` lists their starts (kept by the
    caller, who asks many times about the same stretches).
    """
    at = bisect.bisect_right(starts, t) - 1
    return at >= 0 and t < stretches[at].end_t


def covered_s(spans: Iterable[Span], slice_s: float, slices: int) -> list[float]:
    """The time ``spans`` fill in each of ``slices`` equal slices of ``slice_s`` from 0."""
    covered = [0.0] * slices
    for span in spans:
        # Floor division finds every slice a span reaches into, even where t / slice_s
        # rounds up to the next whole number.
        first = max(0, int(span.t // slice_s))
        last = min(slices - 1, int(span.end_t // slice_s))
        for i in range(first, last + 1):
            covered[i] += max(0.0, min(span.end_t, (i + 1) * slice_s) - max(span.t, i * slice_s))
    return covered
