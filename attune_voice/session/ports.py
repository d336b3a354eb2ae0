"""The session engine's inputs and the prompt players it speaks through.

Every input carries ``t``, seconds of audio consumed. The listener makes these inputs,
and the consent question and the room check speak through the same players: they
depend on this module, not on the engine. It needs only the standard library and
``events``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from attune_voice.events import CommandWord, EndReason, PromptMeaning, WordTime


@dataclass(frozen=True)
class Tick:
    """Audio up to ``t`` has been consumed."""

    t: float


@dataclass(frozen=True)
class SpeechOnset:
    t: float
    partner: str | None
    """Who, where a microphone per partner says so; None with one microphone."""


@dataclass(frozen=True)
class VoiceLabel:
    """Whose voice a stretch of speech sounds like, with one microphone."""

    partner: str
    margin: float
    """Its cosine to this partner's voice print minus its cosine to the other's; for
    speech heard ``over`` the other's as it happened, how far it departs from both voices
    heard alone (a late part, told once both voices are known, keeps the cosine margin;
    ``listening/enrolment.py``). Speech heard ``over`` is logged only above the clear
    margin."""
    over: bool = False
    """Heard over the floor holder's voice, which goes on: the holder's part covers the
    same time."""


@dataclass(frozen=True)
class SpeechSegment:
    start_t: float
    end_t: float
    partner: str | None
    """Who, where a microphone per partner says so; None with one microphone."""
    voice: VoiceLabel | None = None
    """With one microphone, whose voice it sounds like once both voices are learnt."""
    far: bool = False
    """With a microphone each: the other partner's voice heard from afar on this
    partner's microphone (``listening/crosstalk.py``). It ends the speech its onset
    began, and nobody said anything here."""


@dataclass(frozen=True)
class KeyPress:
    t: float
    key: str


@dataclass(frozen=True)
class Answer:
    """A recognised confirmation: "yes" or "not_quite"."""

    t: float
    answer: str


@dataclass(frozen=True)
class Command:
    """A voice command, heard as a whole utterance; ``t`` is when it was understood."""

    t: float
    word: CommandWord
    partner: str | None = None
    """Who said it, where a microphone per partner tells."""


@dataclass(frozen=True)
class Heard:
    """The recognised words of one utterance (only when transcripts are kept)."""

    t: float
    words: tuple[WordTime, ...]
    partner: str | None = None


@dataclass(frozen=True)
class Stop:
    t: float
    reason: EndReason


EngineInput = Tick | SpeechOnset | SpeechSegment | KeyPress | Answer | Command | Heard | Stop


class PromptPlayer(Protocol):
    def say(self, text: str, meaning: PromptMeaning) -> float:
        """Queue the prompt after anything already queued; return its duration in s."""
        ...


@runtime_checkable
class ChimePlayer(Protocol):
    """A player that can also sound the exercise's chimes (cue, end of floor, overtime)."""

    def chime(self, name: str) -> float:
        """Queue the named chime after anything already queued; return its duration in s."""
        ...
