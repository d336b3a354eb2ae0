"""What the session engine may say next, predicted from where the session stands.

For the prompt player to render ahead of time (``SessionEngine.upcoming_prompts``). The
engine's own transitions decide what is said; these predictions follow them, through
the same helpers (``floor``, ``wording``) and the same table of what a voice command
means (``commands.action_for``). tests/test_engine_upcoming.py drives every built-in
exercise with every command and key and checks that no prompt said was unpredicted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from attune_voice.durations import spoken_duration
from attune_voice.events import CommandWord, FloorRole
from attune_voice.exercises.model import Exercise, Step, StepKind, Who
from attune_voice.session.commands import Action, CommandPrompts, action_for
from attune_voice.session.floor import (
    OTHER,
    Floor,
    PendingFloor,
    context,
    floor_for,
    paraphrase_index,
    role_for,
)
from attune_voice.session.phases import Phase, Suspension
from attune_voice.session.wording import fill

_ANSWERED = (CommandWord.PAUSE, CommandWord.STOP, CommandWord.TIME_OUT, CommandWord.MORE_TIME)
"""The commands whose answers are predicted, in the order they are rendered ahead."""


@dataclass(frozen=True)
class Moment:
    """Where the session stands, as far as what it says next depends on it."""

    phase: Phase
    suspension: Suspension | None
    ending: bool
    """The prompt playing is the last: the session ends when it does."""
    floor: Floor | None
    pending: PendingFloor | None
    index: int
    """The step under way."""
    speaker: str
    attempt: int
    """The paraphrase attempt under way."""
    can_repeat: bool
    """There is a prompt that "repeat" would say again."""


@dataclass(frozen=True)
class Foresight:
    """Predicts one session's prompts: its exercise, names and answers to commands."""

    exercise: Exercise
    steps: Sequence[tuple[int, Step]]
    names: Mapping[str, str]
    command_prompts: CommandPrompts
    more_time_s: float
    break_s: float

    def prompts(self, now: Moment, understands_speech: bool) -> list[str]:
        """See ``SessionEngine.upcoming_prompts``."""
        texts: list[str] = []
        suspension = now.suspension
        phase = now.phase
        if phase is Phase.DONE or now.ending:
            return texts
        if suspension is not None:
            texts += self._coming_back(now, phase, suspension)
            phase = suspension.resume_phase
        if phase is Phase.STARTING:
            texts += self._next_step_text(now.index, now.speaker)
        elif now.floor is not None or now.pending is not None:
            texts += self._floor_texts(now, understands_speech)
        elif phase is Phase.PROMPTING:
            texts += self._next_step_text(now.index, now.speaker)
        if understands_speech:
            texts += self._command_answers(now)
        return list(dict.fromkeys(texts))

    def _text(
        self, template: str, speaker: str, holder: str, limit_s: float, /, **extra: str
    ) -> str:
        return fill(template, self.names, speaker, holder, limit_s, **extra)

    def _next_step_text(self, index: int, speaker: str) -> list[str]:
        """The prompt of the first step after ``index`` that says one (as ``_next_step``
        will say it), or nothing at the end."""
        while True:
            index += 1
            if index >= len(self.steps):
                return []
            step = self.steps[index][1]
            if step.kind is StepKind.SWAP:
                speaker = OTHER[speaker]
                continue
            if step.kind is StepKind.SAY:
                return [self._text(step.text, speaker, speaker, 0.0)]
            holder, limit_s = floor_for(self.exercise, step, role_for(step), speaker)
            return [self._text(step.text, speaker, holder, limit_s)]

    def _floor_texts(self, now: Moment, understands_speech: bool) -> list[str]:
        """The open (or offered) floor's own prompts and what follows its end."""
        floor, pending = now.floor, now.pending
        prompts = self.exercise.prompts
        if floor is not None:
            holder, role, limit_s = floor.partner, floor.role, floor.limit_s
            cues_s: tuple[float, ...] = tuple(floor.cues_s)
            overtime, check_in = not floor.limit_reached, not floor.checked_in
        else:
            assert pending is not None
            holder, role, limit_s = pending.partner, pending.role, pending.limit_s
            cues_s, overtime, check_in = pending.cues_s, True, True
        speaker = now.speaker
        after: list[str] = []
        if role is FloorRole.CONFIRM:
            # Unheard is the only outcome when no answer can be understood.
            outcomes = (prompts.confirmed, prompts.unheard) if understands_speech else ()
            for outcome in outcomes or (prompts.unheard,):
                # An empty outcome says nothing: the next step follows at once.
                after += (
                    [self._text(outcome, speaker, speaker, 0.0)]
                    if outcome
                    else self._next_step_text(now.index, speaker)
                )
            if understands_speech and now.attempt < self.exercise.max_attempts:
                clarify = Step(StepKind.FLOOR, who=Who.SPEAKER)
                clarify_holder, clarify_limit_s = floor_for(
                    self.exercise, clarify, FloorRole.CLARIFY, speaker
                )
                after.append(self._text(prompts.clarify, speaker, clarify_holder, clarify_limit_s))
        elif role is FloorRole.CLARIFY:
            step = self.steps[paraphrase_index(self.steps, now.index)][1]
            retry_holder, retry_limit_s = floor_for(
                self.exercise, step, FloorRole.PARAPHRASE, speaker
            )
            after.append(self._text(prompts.retry, speaker, retry_holder, retry_limit_s))
        else:
            after += self._next_step_text(now.index, speaker)
        own = [
            self._text(prompts.cue, speaker, holder, limit_s, remaining=spoken_duration(c))
            for c in cues_s
        ]
        if check_in and role is not FloorRole.CONFIRM:
            own.insert(0, self._text(prompts.check_in, speaker, holder, limit_s))
        if overtime:
            own.append(self._text(prompts.overtime, speaker, holder, limit_s))
        # What follows comes first: a key press can end the floor at any moment.
        return after + own

    def _coming_back(self, now: Moment, phase: Phase, suspension: Suspension) -> list[str]:
        """What the engine says when the session that stands still moves on."""
        prompts = self.command_prompts
        floor = now.floor
        said_now = context(now.speaker, floor)
        in_floor = floor is not None and suspension.resume_phase is Phase.FLOOR
        resumed = self._text(prompts.resumed_floor if in_floor else prompts.resumed, *said_now)
        if phase is Phase.PAUSED:
            return [resumed]
        if phase is Phase.BREAK:
            return [self._text(prompts.come_back, *said_now), resumed]
        # The stop question: no (or silence), or yes, said once the floor has closed.
        return [
            self._text(prompts.not_stopping, *said_now),
            self._text(prompts.stopping, now.speaker, now.speaker, 0.0),
        ]

    def _command_answers(self, now: Moment) -> list[str]:
        """The answers to the voice commands that mean something now (``action_for``), or
        once the floor being offered opens."""
        floor, pending = now.floor, now.pending
        texts = self._answers(
            now,
            now.phase,
            context(now.speaker, floor),
            floor.role if floor is not None else None,
            floor is not None and floor.extended,
        )
        if pending is not None and now.phase is Phase.PROMPTING:
            # The floor opens when its prompt ends, without a prompt of its own: what
            # can be said on it is predicted now.
            on_floor = (now.speaker, pending.partner, pending.limit_s)
            texts += self._answers(now, Phase.FLOOR, on_floor, pending.role, False)
        return texts

    def _answers(
        self,
        now: Moment,
        phase: Phase,
        said_in: tuple[str, str, float],
        role: FloorRole | None,
        extended: bool,
    ) -> list[str]:
        """The answers to pause, stop, time-out and more time in ``phase``, said in
        ``said_in`` (speaker, holder, floor limit), for those that mean something there."""
        prompts = self.command_prompts
        texts = []
        for word in _ANSWERED:
            action = action_for(word, phase, role, extended, now.can_repeat)
            if action is Action.PAUSE:
                texts.append(self._text(prompts.paused, *said_in))
            elif action is Action.ASK_STOP:
                texts.append(self._text(prompts.confirm_stop, *said_in))
            elif action is Action.TIME_OUT:
                break_length = spoken_duration(self.break_s)
                texts.append(self._text(prompts.time_out, *said_in, break_length=break_length))
            elif action is Action.MORE_TIME:
                speaker, holder, limit_s = said_in
                limit_s += self.more_time_s
                texts.append(self._text(prompts.more_time, speaker, holder, limit_s))
        return texts
