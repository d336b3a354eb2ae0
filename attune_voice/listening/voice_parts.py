"""The parts of a speech segment told by voice, and how the parts of one voice join."""

from __future__ import annotations

from dataclasses import dataclass

from attune_voice.session.ports import VoiceLabel

JOIN_GAP_S = 0.3
"""Parts of one voice closer than this are one part: the segmenter's merge gap."""


@dataclass(frozen=True)
class VoicePart:
    """A stretch of one segment and whose voice it sounds like (None: not judged)."""

    start_t: float
    end_t: float
    voice: VoiceLabel | None


def _near(one: VoicePart, other: VoicePart, gap_s: float) -> bool:
    """Two parts of the same voice that overlap in time or lie under ``gap_s`` apart."""
    return (
        one.voice is not None
        and other.voice is not None
        and one.voice.partner == other.voice.partner
        and one.start_t < other.end_t + gap_s
        and other.start_t < one.end_t + gap_s
    )


def absorbing(heard_over: list[VoicePart], parts: list[VoicePart]) -> list[VoicePart]:
    """The network's parts heard over another voice, each taking in the parts of its own
    voice that it touches, removed from ``parts``, and each other when under
    ``JOIN_GAP_S`` apart: a listener's interruption begun over the holder's words and
    going on alone is one utterance, not two. A part the pieces'
    departure found over the same voice is the same speech, its edges only as near as a
    piece's (1.5 s): it is dropped."""
    result: list[VoicePart] = []
    for found in heard_over:
        joined = found
        for part in [p for p in parts if _near(found, p, JOIN_GAP_S)]:
            parts.remove(part)
            if part.voice is not None and not part.voice.over:
                start_t = min(joined.start_t, part.start_t)
                joined = VoicePart(start_t, max(joined.end_t, part.end_t), found.voice)
        if result and _near(result[-1], joined, JOIN_GAP_S):
            last = result.pop()
            joined = VoicePart(last.start_t, max(last.end_t, joined.end_t), last.voice)
        result.append(joined)
    return result
