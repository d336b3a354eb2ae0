"""Driving the session engine with scripted inputs: a word-timed voice and a frame clock.

Also couples scripted floor by floor: ``drive`` runs a session in which each holder does
what a behaviour says when given the floor; ``busy_couple`` uses every command and key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from attune_voice.events import CommandWord, Event, FloorGiven, FloorRole, Prompt, PromptMeaning
from attune_voice.exercises.library import load_exercise
from attune_voice.exercises.model import Exercise
from attune_voice.session.commands import CommandConfig
from attune_voice.session.engine import SessionEngine
from attune_voice.session.ports import (
    Command,
    EngineInput,
    KeyPress,
    SpeechOnset,
    SpeechSegment,
    Tick,
)

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


Behaviour = Callable[[int, FloorGiven], Script]


def drive(h: Harness, until_t: float, behave: Behaviour) -> None:
    """Run the session; each time a floor is given, its holder does ``behave(n, floor)``."""
    script: Script = []
    given = 0
    while h.t < until_t - 1e-9 and not h.engine.done:
        h.t = round(h.t + FRAME_S, 6)
        script.sort(key=lambda item: item[0])
        while script and script[0][0] <= h.t:
            h.handle(script.pop(0)[1])
        h.handle(Tick(h.t))
        floors = h.of(FloorGiven)
        for floor in floors[given:]:
            script += behave(given, floor)
        given = len(floors)


BREAK_S = 30.0
Turn = Callable[[float, str, float], Script]
"""What a holder does with a floor given at ``t`` with a limit of so many seconds."""


def key(t: float) -> tuple[float, KeyPress]:
    return (t, KeyPress(t, "enter"))


def voice(t: float, word: CommandWord, who: str | None = None) -> tuple[float, Command]:
    return (t, Command(t, word, who))


W = CommandWord
TURNS: tuple[Turn, ...] = (
    # Hand over with the key; fall quiet (a check-in, then the floor passes); talk past the
    # limit; talk again after a check-in (a second one follows).
    lambda t, who, limit_s: [*speech(t + 0.5, t + 2.0, who), key(t + 2.5)],
    lambda t, who, limit_s: speech(t + 0.5, t + 2.0, who),
    lambda t, who, limit_s: speech(t + 0.5, t + limit_s + 2.0, who),
    lambda t, who, limit_s: [*speech(t + 0.5, t + 2.0, who), *speech(t + 7.0, t + 8.0, who)],
    # Pause, resumed by voice or by a key; the stop question and a break from the pause.
    lambda t, who, limit_s: [voice(t + 1, W.PAUSE), voice(t + 6, W.RESUME), key(t + 12)],
    lambda t, who, limit_s: [voice(t + 1, W.PAUSE), key(t + 6), key(t + 12)],
    lambda t, who, limit_s: [
        voice(t + 1, W.PAUSE),
        voice(t + 3, W.STOP),
        voice(t + 5, W.NO),
        voice(t + 7, W.RESUME),
        key(t + 12),
    ],
    lambda t, who, limit_s: [
        voice(t + 1, W.PAUSE),
        voice(t + 3, W.TIME_OUT),
        voice(t + 45, W.RESUME),
        key(t + 55),
    ],
    # A break: over by itself, then resumed; the stop question during it.
    lambda t, who, limit_s: [voice(t + 1, W.TIME_OUT), voice(t + 45, W.RESUME), key(t + 55)],
    lambda t, who, limit_s: [
        voice(t + 1, W.TIME_OUT),
        voice(t + 3, W.STOP),
        voice(t + 5, W.NO),
        voice(t + 45, W.RESUME),
        key(t + 55),
    ],
    # The stop question answered no, by silence, by a key.
    lambda t, who, limit_s: [voice(t + 1, W.STOP), voice(t + 3, W.NO), key(t + 8)],
    lambda t, who, limit_s: [voice(t + 1, W.STOP), key(t + 25)],
    lambda t, who, limit_s: [voice(t + 1, W.STOP), key(t + 3), key(t + 8)],
    # More time, then a spoken hand-over; the last prompt again.
    lambda t, who, limit_s: [
        *speech(t + 0.5, t + 2.0, who),
        voice(t + 3, W.MORE_TIME, who),
        voice(t + 6, W.HANDOVER, who),
    ],
    lambda t, who, limit_s: [voice(t + 1, W.REPEAT), voice(t + 5, W.HANDOVER, who)],
    # While the next prompt plays: pause, repeat, the stop question, a break.
    lambda t, who, limit_s: [key(t + 1), voice(t + 1.2, W.PAUSE), voice(t + 4, W.RESUME)],
    lambda t, who, limit_s: [key(t + 1), voice(t + 1.2, W.REPEAT)],
    lambda t, who, limit_s: [key(t + 1), voice(t + 1.2, W.STOP), voice(t + 3, W.NO)],
    lambda t, who, limit_s: [key(t + 1), voice(t + 1.2, W.TIME_OUT), voice(t + 45, W.RESUME)],
)
"""Turns that, one floor after another, use every command and key at every moment."""


def busy_couple() -> Behaviour:
    """Holders who take ``TURNS`` in order; confirmations are answered "not quite",
    "yes", then "no"."""
    answers = iter([W.NOT_QUITE, W.YES, W.NO] * 100)
    turns = iter(TURNS * 100)

    def behave(number: int, floor: FloorGiven) -> Script:
        t, who = floor.t, floor.partner
        if floor.role is FloorRole.CONFIRM:
            return [*speech(t + 0.5, t + 1.0, who), voice(t + 1.3, next(answers), who)]
        return next(turns)(t, who, floor.limit_s)

    return behave


def busy_session(name: str) -> Harness:
    exercise = load_exercise(name).with_overrides(limit_s=40.0, rounds=2)
    h = Harness(exercise, understands_speech=True, commands=CommandConfig(break_s=BREAK_S))
    drive(h, 7200.0, busy_couple())
    return h
