"""Driving the session engine with scripted inputs: a word-timed voice and a frame clock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from attune_voice.events import Event, Prompt, PromptMeaning
from attune_voice.exercises.model import Exercise
from attune_voice.session.engine import SessionEngine
from attune_voice.session.ports import EngineInput, SpeechOnset, SpeechSegment, Tick

E = TypeVar("E", bound=Event)
Script = list[tuple[float, EngineInput]]
SECONDS_PER_WORD = 0.2
FRAME_S = 0.02


class CountingVoice:
    """Says each prompt in a fixed time per word and remembers what it said.

    A fixed speaking rate makes every time in the expected logs something a reader can
    work out by hand; real espeak-ng prompts are covered by the session tests.
    """

    def __init__(self) -> None:
        self.said: list[tuple[str, PromptMeaning]] = []

    def say(self, text: str, meaning: PromptMeaning) -> float:
        self.said.append((text, meaning))
        return len(text.split()) * SECONDS_PER_WORD


class Harness:
    """Runs the engine frame by frame, feeding scripted inputs at their times.

    It also keeps the engine's predictions as the session loop does: asked for at the
    start and after every decision that queues a prompt (``SessionEngine.upcoming_prompts``),
    each list replacing the one before, as the loop's does. A prompt said that the
    latest list did not name is in ``misses``, unless it was said before: the player
    keeps every rendering, so only a prompt neither predicted nor said yet is rendered
    between a decision and its sound.
    """

    def __init__(
        self,
        exercise: Exercise,
        voice: CountingVoice | None = None,
        understands_speech: bool = False,
        **engine_options: Any,
    ) -> None:
        self.events: list[Event] = []
        self.voice = voice or CountingVoice()
        self.engine = SessionEngine(
            exercise, ("Sam", "Alex"), self.voice, self.events.append, **engine_options
        )
        self.t = 0.0
        self.understands_speech = understands_speech
        self.predicted: list[str] = self.engine.upcoming_prompts(understands_speech)
        self.misses: list[str] = []

    def handle(self, inp: EngineInput) -> None:
        said_before = len(self.voice.said)
        busy_until_t = self.engine.busy_until_t
        self.engine.handle(inp)
        ready = set(self.predicted) | {text for text, _ in self.voice.said[:said_before]}
        self.misses += [text for text, _ in self.voice.said[said_before:] if text not in ready]
        if self.engine.busy_until_t != busy_until_t:
            self.predicted = self.engine.upcoming_prompts(self.understands_speech)

    def run_until(self, t_end: float, script: Sequence[tuple[float, EngineInput]] = ()) -> None:
        pending = sorted(script, key=lambda item: item[0])
        while self.t < t_end - 1e-9 and not self.engine.done:
            self.t = round(self.t + FRAME_S, 6)
            while pending and pending[0][0] <= self.t:
                self.handle(pending.pop(0)[1])
            self.handle(Tick(self.t))

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def prompts(self, purpose: str) -> list[Prompt]:
        return [p for p in self.of(Prompt) if p.purpose == purpose]


def speech(start_t: float, end_t: float, partner: str | None = None) -> Script:
    """An utterance as the listener reports it: onset at once, segment 0.3 s after it ends."""
    return [
        (start_t + 0.08, SpeechOnset(start_t, partner)),
        (end_t + 0.3, SpeechSegment(start_t, end_t, partner)),
    ]
