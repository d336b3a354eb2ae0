"""The way out of a conversation: pause, time out with guided breathing, and the stop question.

``WayOut`` is a part of ``SessionEngine`` (its base class): the moves into and out of
the phases in which the session stands still (``phases.SUSPENDED``). It keeps the
engine's state and speaks through the engine's own ``_say``, so that each rule stays in
one place: the floor's clock skips every stand-still, whatever caused it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from attune_voice.durations import spoken_duration
from attune_voice.events import (
    EndReason,
    Event,
    FloorEndReason,
    Paused,
    PromptMeaning,
    Resumed,
    TimeOut,
)
from attune_voice.exercises.model import Exercise
from attune_voice.session.attribution import Attribution
from attune_voice.session.commands import CommandConfig, CommandPrompts
from attune_voice.session.floor import Floor, PendingFloor
from attune_voice.session.phases import SUSPENDED, Phase, Suspension


class WayOut:
    """Pause, time out and stop, for ``SessionEngine``; see its transition diagram."""

    exercise: Exercise
    _log: Callable[[Event], None]
    _floor: Floor | None
    _pending: PendingFloor | None
    _attribution: Attribution
    _commands: CommandConfig
    _command_prompts: CommandPrompts
    _suspension: Suspension | None
    _break_until_t: float
    _after_prompt: Callable[[float], None] | None

    @property
    def phase(self) -> Phase:
        raise NotImplementedError

    def _enter(self, phase: Phase) -> None:
        raise NotImplementedError

    def _say(self, t: float, text: str, meaning: PromptMeaning, **extra: str) -> float:
        raise NotImplementedError

    def _end_floor(self, t: float, reason: FloorEndReason, advance: bool = True) -> None:
        raise NotImplementedError

    def _finish(self, t: float, reason: EndReason) -> None:
        raise NotImplementedError

    def _suspend(self, t: float, phase: Phase) -> None:
        if self._suspension is None:
            self._suspension = Suspension(self.phase, t)
            self._attribution.still.append([t, math.inf])
        self._enter(phase)

    def _end_suspension(self, until_t: float) -> float:
        """Close the stand-still at ``until_t``; the floor's clock skips it."""
        suspension = self._suspension
        assert suspension is not None
        self._suspension = None
        self._attribution.still[-1][1] = until_t
        still_s = max(0.0, until_t - suspension.since_t)
        if self._floor is not None:
            self._floor.start_t += still_s
            self._floor.last_speech_end_t += still_s
        self._enter(suspension.resume_phase)
        return still_s

    def _pause(self, t: float) -> None:
        self._suspend(t, Phase.PAUSED)
        self._log(Paused(t))
        self._say(t, self._command_prompts.paused, PromptMeaning("paused"))

    def _resume(self, t: float) -> None:
        floor = self._floor
        suspension = self._suspension
        assert suspension is not None
        prompts = self._command_prompts
        in_floor = floor is not None and suspension.resume_phase is Phase.FLOOR
        end_t = self._say(
            t,
            prompts.resumed_floor if in_floor else prompts.resumed,
            PromptMeaning("resumed", addressee=floor.partner if in_floor and floor else None),
        )
        self._log(Resumed(t, paused_s=end_t - suspension.since_t))
        self._end_suspension(end_t)

    def _break_s(self) -> float:
        if self._commands.break_s is not None:
            return self._commands.break_s
        return self.exercise.break_s

    def _time_out(self, t: float) -> None:
        break_s = self._break_s()
        self._suspend(t, Phase.BREAK)
        self._log(TimeOut(t, break_s=break_s))
        end_t = self._say(
            t,
            self._command_prompts.time_out,
            PromptMeaning("time_out"),
            break_length=spoken_duration(break_s),
        )
        # The guided minute of breathing is the start of the break, not added to it.
        for line in self._command_prompts.soothing:
            self._say(t, line, PromptMeaning("soothing"))
        self._break_until_t = end_t + break_s

    def _break_over(self, t: float) -> None:
        self._break_until_t = math.inf
        self._enter(Phase.PAUSED)
        self._say(t, self._command_prompts.come_back, PromptMeaning("come_back"))

    def _ask_stop(self, t: float) -> None:
        asked_from = self.phase if self.phase in SUSPENDED else None
        self._suspend(t, Phase.CONFIRMING_STOP)
        assert self._suspension is not None
        self._suspension.ask_phase = asked_from
        self._say(t, self._command_prompts.confirm_stop, PromptMeaning("confirm_stop"))

    def _confirm_stop(self, t: float) -> None:
        self._end_suspension(t)
        if self._floor is not None:
            self._end_floor(t, FloorEndReason.COMMAND, advance=False)
        self._pending = None
        self._say(t, self._command_prompts.stopping, PromptMeaning("stopping"))
        self._enter(Phase.PROMPTING)
        self._after_prompt = self._finished_stopping

    def _finished_stopping(self, t: float) -> None:
        self._finish(t, EndReason.STOPPED)

    def _carry_on(self, t: float) -> None:
        suspension = self._suspension
        assert suspension is not None
        if suspension.ask_phase is not None:
            # The question interrupted a pause or a break: back to it, still standing.
            self._enter(suspension.ask_phase)
            suspension.ask_phase = None
            self._say(t, self._command_prompts.not_stopping, PromptMeaning("resumed"))
            return
        end_t = self._say(t, self._command_prompts.not_stopping, PromptMeaning("resumed"))
        self._log(Resumed(t, paused_s=end_t - suspension.since_t))
        self._end_suspension(end_t)
