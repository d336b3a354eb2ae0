"""Who said it: speech segments and transcripts attributed by channel, voice or the floor.

Speech reaches the engine once it has ended, so it is attributed by looking back: at the
floor open then (or the one that ended last) and at the stretches the session stood
still, when speech is an aside whoever said it. With a microphone per partner the
channel says who spoke. With one microphone the listener labels speech with the voice it
sounds like (``listening/enrolment.py``); the label counts only when its margin is clear,
and otherwise the speech stays with the floor holder, as it does with no label at all.
Speech heard over the holder's voice comes as a part of its own beside the holder's, and
is logged only when it is clearly the listener's; so are the late parts (the listener's
speech told once both voices are known), which the holder's turn logged before covers.
Words go to whoever the speech they were said in was told to by voice, when that speech
has been logged and only one partner's voice fills their time; otherwise to the floor
holder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from attune_voice.config import TurnConfig
from attune_voice.events import HOLDER_LEAD_S, Speech, SpeechKind, Transcript
from attune_voice.session.floor import Floor
from attune_voice.session.ports import Heard, SpeechSegment


@dataclass
class Attribution:
    """The engine's record of past floors and stand-stills, and the rules that use it."""

    config: TurnConfig
    """Its ``backchannel_max_s`` and ``clear_voice_margin``."""
    past_floors: list[tuple[str, float, float]] = field(default_factory=list)
    """(partner, start_t, end_t) of every floor that has ended, in order."""
    still: list[list[float]] = field(default_factory=list)
    """[start_t, end_t] of every stretch the session stood still (end inf while open)."""
    voiced: list[tuple[float, float, str]] = field(default_factory=list)
    """(start_t, end_t, partner) of the latest speech told by voice, for words said in it."""

    VOICED_KEPT = 16
    """Speech told by voice remembered for the words: they come soon after it."""

    @property
    def last_floor(self) -> tuple[str, float, float] | None:
        """(partner, start_t, end_t) of the floor that ended last; set when one ends."""
        return self.past_floors[-1] if self.past_floors else None

    @last_floor.setter
    def last_floor(self, ended: tuple[str, float, float]) -> None:
        self.past_floors.append(ended)

    def holder_at(self, t: float, floor: Floor | None) -> str | None:
        """Who held the floor at ``t``, given the floor open now. Speech reaches the
        engine once it has ended, and with one microphone the listener's speech heard
        before both voices were known comes later still (``listening/enrolment.py``)."""
        if floor is not None and t >= floor.start_t - HOLDER_LEAD_S:
            return floor.partner
        for partner, start_t, end_t in reversed(self.past_floors):
            if start_t - HOLDER_LEAD_S <= t < end_t:
                return partner
            if end_t <= t:
                break
        return None

    def stood_still_at(self, t: float) -> bool:
        return any(start_t <= t < end_t for start_t, end_t in self.still)

    def told(self, seg: SpeechSegment) -> str | None:
        """Who the segment itself says spoke: its channel, or its voice when clear."""
        if seg.partner is not None:
            return seg.partner
        if seg.voice is not None and seg.voice.margin >= self.config.clear_voice_margin:
            return seg.voice.partner
        return None

    def adds(self, seg: SpeechSegment, floor: Floor | None) -> bool:
        """Whether the segment adds to the log: speech heard over the holder's voice
        (``VoiceLabel.over``: a late part too) does only when its voice is clear and not
        the holder's, as the holder's own part already covers that time; unsure, it
        would be counted for the holder twice. The other partner's voice heard from afar
        on a microphone (``SpeechSegment.far``) never does: nobody spoke there."""
        if seg.far:
            return False
        if seg.voice is None or not seg.voice.over:
            return True
        told = self.told(seg)
        holder = self.holder_at(seg.start_t, floor)
        still = self.stood_still_at(seg.start_t)
        return told is not None and holder not in (None, told) and not still

    def speech(self, seg: SpeechSegment, floor: Floor | None) -> Speech:
        """The segment as logged: whose it is, and what kind of speech."""
        still = self.stood_still_at(seg.start_t)
        holder = None if still else self.holder_at(seg.start_t, floor)
        duration_s = seg.end_t - seg.start_t
        told = self.told(seg)
        if told is None:
            partner, by = holder, "floor"
            kind = SpeechKind.TURN if holder is not None else SpeechKind.ASIDE
        else:
            partner, by = told, "channel" if seg.partner is not None else "voice"
            if holder is None:
                kind = SpeechKind.ASIDE
            elif told == holder:
                kind = SpeechKind.TURN
            elif duration_s <= self.config.backchannel_max_s:
                kind = SpeechKind.BACKCHANNEL
            else:
                kind = SpeechKind.INTERRUPTION
        if by == "voice" and partner is not None:
            self.voiced.append((seg.start_t, seg.end_t, partner))
            del self.voiced[: -self.VOICED_KEPT]
        return Speech(
            seg.start_t, end_t=seg.end_t, partner=partner, speech_kind=kind, attributed_by=by
        )

    def voice_of(self, start_t: float, end_t: float) -> str | None:
        """Whose voice fills [start_t, end_t): one partner's speech told by voice covers
        at least half of it and the other's none of it; else None."""
        span_s = max(end_t - start_t, 1e-3)
        covered = {
            partner: sum(
                max(0.0, min(end_t, b) - max(start_t, a)) for a, b, p in self.voiced if p == partner
            )
            for partner in {p for _, _, p in self.voiced}
        }
        filled = [p for p, seconds in covered.items() if seconds > 0.0]
        if len(filled) == 1 and covered[filled[0]] >= 0.5 * span_s:
            return filled[0]
        return None

    def transcript(self, heard: Heard, floor: Floor | None) -> Transcript | None:
        """The words as logged, attributed as speech is; None when nothing was heard."""
        if not heard.words:
            return None
        start_t = heard.words[0].start
        partner = heard.partner
        if partner is None:
            partner = self.voice_of(start_t, heard.words[-1].end)
        if partner is None and not self.stood_still_at(start_t):
            partner = self.holder_at(start_t, floor)
        return Transcript(
            start_t,
            end_t=heard.words[-1].end,
            partner=partner,
            text=" ".join(word.w for word in heard.words),
            words=heard.words,
        )
