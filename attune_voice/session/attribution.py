"""Who said it: speech segments and transcripts attributed by channel or by who held the floor.

Speech reaches the engine once it has ended, so it is attributed by looking back: at the
floor open then (or the one that ended last) and at the stretches the session stood
still, when speech is an aside whoever said it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from attune_voice.events import HOLDER_LEAD_S, Speech, SpeechKind, Transcript
from attune_voice.session.floor import Floor
from attune_voice.session.ports import Heard, SpeechSegment


@dataclass
class Attribution:
    """The engine's record of past floors and stand-stills, and the rules that use it."""

    backchannel_max_s: float
    """The listener's speech up to this long during the other's floor is a backchannel."""
    last_floor: tuple[str, float, float] | None = None
    """(partner, start_t, end_t) of the floor that ended last."""
    still: list[list[float]] = field(default_factory=list)
    """[start_t, end_t] of every stretch the session stood still (end inf while open)."""

    def holder_at(self, t: float, floor: Floor | None) -> str | None:
        """Who held the floor at ``t``, given the floor open now."""
        if floor is not None and t >= floor.start_t - HOLDER_LEAD_S:
            return floor.partner
        if self.last_floor is not None:
            partner, start_t, end_t = self.last_floor
            if start_t - HOLDER_LEAD_S <= t < end_t:
                return partner
        return None

    def stood_still_at(self, t: float) -> bool:
        return any(start_t <= t < end_t for start_t, end_t in self.still)

    def speech(self, seg: SpeechSegment, floor: Floor | None) -> Speech:
        """The segment as logged: whose it is, and what kind of speech."""
        still = self.stood_still_at(seg.start_t)
        holder = None if still else self.holder_at(seg.start_t, floor)
        duration_s = seg.end_t - seg.start_t
        if seg.partner is None:
            partner, by = holder, "floor"
            kind = SpeechKind.TURN if holder is not None else SpeechKind.ASIDE
        else:
            partner, by = seg.partner, "channel"
            if holder is None:
                kind = SpeechKind.ASIDE
            elif seg.partner == holder:
                kind = SpeechKind.TURN
            elif duration_s <= self.backchannel_max_s:
                kind = SpeechKind.BACKCHANNEL
            else:
                kind = SpeechKind.INTERRUPTION
        return Speech(
            seg.start_t, end_t=seg.end_t, partner=partner, speech_kind=kind, attributed_by=by
        )

    def transcript(self, heard: Heard, floor: Floor | None) -> Transcript | None:
        """The words as logged, attributed as speech is; None when nothing was heard."""
        if not heard.words:
            return None
        start_t = heard.words[0].start
        partner = heard.partner
        if partner is None and not self.stood_still_at(start_t):
            partner = self.holder_at(start_t, floor)
        return Transcript(
            start_t,
            end_t=heard.words[-1].end,
            partner=partner,
            text=" ".join(word.w for word in heard.words),
            words=heard.words,
        )
