"""Speech over the coach's prompts: when a partner kept talking over one, and whether it stopped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from attune_voice.events import Event, SpokenOver
from attune_voice.session.ports import EngineInput, SpeechOnset, SpeechSegment, Tick

KEEP_TALKING_S = 0.5
"""Talking over a prompt this long is meant, not a word caught by its start: the coach
gives way (when the prompt may be cut) and it is logged."""


@runtime_checkable
class PromptStopper(Protocol):
    """A prompt player that can stop what it is saying."""

    def stop(self) -> bool:
        """Stop the prompt audio playing and queued, fading it out; False if nothing was."""
        ...


@dataclass
class _Said:
    start_t: float
    end_t: float
    purpose: str
    reported: bool = False


class SpokenOverWatch:
    """Watches speech against the prompts said; logs ``SpokenOver`` once per prompt.

    A partner who talks over a prompt for ``KEEP_TALKING_S`` (counted from the later of
    their speech's start and the prompt's) is logged with the time their speech began.
    When the prompt's purpose is one the exercise lets be cut (``Exercise.may_cut``)
    and the player can stop, the prompt stops there, and the session goes on from then
    as if it had ended. Time is the inputs' ``t``.
    """

    def __init__(
        self,
        may_cut: frozenset[str],
        player: object,
        log: Callable[[Event], None],
        keep_talking_s: float = KEEP_TALKING_S,
    ) -> None:
        self._may_cut = may_cut
        self._player = player
        self._log = log
        self._keep_s = keep_talking_s
        self._said: list[_Said] = []
        self._talking: dict[str | None, float] = {}
        """Who is speaking now, and since when."""

    def said(self, start_t: float, end_t: float, purpose: str) -> None:
        """A prompt was queued to play from ``start_t`` to ``end_t``."""
        self._said = [p for p in self._said if p.end_t > start_t - 60.0]
        self._said.append(_Said(start_t, end_t, purpose))

    def hear(self, inp: EngineInput, busy_until_t: float) -> float:
        """Take an engine input; returns when the coach's prompts now end (earlier than
        ``busy_until_t`` when one was stopped)."""
        if isinstance(inp, SpeechOnset):
            self._talking.setdefault(inp.partner, inp.t)
        elif isinstance(inp, SpeechSegment):
            self._talking.pop(inp.partner, None)
        elif isinstance(inp, Tick) and self._talking:
            return self._tick(inp.t, busy_until_t)
        return busy_until_t

    def _tick(self, t: float, busy_until_t: float) -> float:
        prompt = next((p for p in self._said if p.start_t <= t < p.end_t), None)
        if prompt is None or prompt.reported:
            return busy_until_t
        for partner, since_t in self._talking.items():
            if t - max(since_t, prompt.start_t) < self._keep_s:
                continue
            prompt.reported = True
            cut = prompt.purpose in self._may_cut
            if cut:
                cut = isinstance(self._player, PromptStopper) and self._player.stop()
            self._log(SpokenOver(since_t, partner=partner, purpose=prompt.purpose, cut=cut))
            if cut:
                self._said = [p for p in self._said if p.start_t < t]
                prompt.end_t = t
                return min(busy_until_t, t)
            break
        return busy_until_t


__all__ = ["KEEP_TALKING_S", "PromptStopper", "SpokenOverWatch"]
