"""The session engine: steps an exercise, gives and times the floor, and logs events.

It is driven only by inputs carrying ``t`` (seconds of audio consumed) and speaks
through a ``PromptPlayer``; it imports no audio, model or hardware library, so a whole
session can be tested with scripted inputs. Voice commands arrive as ``Command``
inputs, already understood; what one means depends on the moment (a "yes" answers the
stop question when it was asked, else the paraphrase confirmation).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from attune_voice.config import TurnConfig
from attune_voice.durations import spoken_duration
from attune_voice.events import (
    CheckIn,
    Confirmation,
    Cue,
    EndReason,
    Event,
    FloorEnded,
    FloorEndReason,
    FloorGiven,
    FloorRole,
    Key,
    Overtime,
    Paraphrase,
    Paused,
    Prompt,
    PromptMeaning,
    Resumed,
    SessionEnded,
    SessionStarted,
    StepStarted,
    TimeOut,
    VoiceCommand,
)
from attune_voice.exercises.model import Exercise, Step, StepKind, Who
from attune_voice.session.attribution import Attribution
from attune_voice.session.commands import Action, CommandConfig, CommandPrompts, action_for
from attune_voice.session.floor import (
    OTHER,
    Floor,
    PendingFloor,
    context,
    floor_for,
    is_holder,
    paraphrase_index,
    role_for,
)
from attune_voice.session.phases import MOVES, SUSPENDED, Phase, Suspension
from attune_voice.session.ports import (
    Answer,
    ChimePlayer,
    Command,
    EngineInput,
    Heard,
    KeyPress,
    PromptPlayer,
    SpeechOnset,
    SpeechSegment,
    Stop,
)
from attune_voice.session.upcoming import Foresight, Moment
from attune_voice.session.wording import fill

ANSWER_PAUSE_S = 1.5
"""A confirmation is a short answer: this much quiet after it ends the answer."""
_REPEATABLE = frozenset({"step", "floor", "cue", "check_in", "overtime", "confirmed", "closing"})
"""Prompts that "repeat" says again: the exercise's own, not answers to commands."""


class SessionEngine:
    """Walks an exercise; one transition function drives every phase.

    ::

        STARTING --Tick--> (next step)
        (next step): say/floor/paraphrase/confirm prompt --> PROMPTING
                     swap --> (next step);  no steps left --> DONE
        PROMPTING --Tick past the prompt's end--> FLOOR  (if the prompt gave a floor)
                                              --> (next step)  otherwise
        FLOOR --Tick: cue point--> FLOOR (cue spoken)
        FLOOR --Tick: limit, holder quiet--> (floor ends)
        FLOOR --Tick: limit, holder speaking--> FLOOR (overtime reminder; ends at a pause)
        FLOOR --Tick: silence after speech--> FLOOR (check-in) --more silence--> (floor ends)
        FLOOR --KeyPress or Command(handover)--> (floor ends)
        (floor ends) --> PROMPTING for a confirm outcome, or (next step)

        PROMPTING/FLOOR --pause--> PAUSED --resume or KeyPress--> (where it was)
        PROMPTING/FLOOR/PAUSED --time_out--> BREAK --break over--> PAUSED (reminder)
        PROMPTING/FLOOR/PAUSED/BREAK --stop--> CONFIRMING_STOP
        CONFIRMING_STOP --yes--> PROMPTING (goodbye) --> DONE (stopped)
        CONFIRMING_STOP --no, KeyPress or silence--> (where it was)
        FLOOR --more_time--> FLOOR (limit + one minute, once per floor)
        PROMPTING/FLOOR --repeat--> (the same; the last prompt again, off the floor's clock)
        FLOOR --yes/no/not_quite on a confirm floor--> (floor ends with that answer)
        any --Stop--> DONE

    Every phase change goes through ``_enter``, which allows only the moves that
    ``phases.MOVES`` lists. While PAUSED, in a BREAK or CONFIRMING_STOP the floor's
    clock stands still: on the way back its start moves on by the time that passed.
    Speech segments are logged whenever they arrive, attributed by the floor (one
    microphone) or by channel (a microphone per partner); speech while the session
    stands still is an aside.
    """

    def __init__(
        self,
        exercise: Exercise,
        names: tuple[str, str],
        player: PromptPlayer,
        log: Callable[[Event], None],
        config: TurnConfig | None = None,
        commands: CommandConfig | None = None,
        command_prompts: CommandPrompts | None = None,
    ) -> None:
        self.exercise = exercise
        self._names = {"A": names[0], "B": names[1]}
        self._player = player
        self._log = log
        self._config = config or TurnConfig()
        self._steps = exercise.unrolled()
        self._index = -1
        self._phase = Phase.STARTING
        self.end_reason: EndReason | None = None
        self._speaker = "A"
        self._busy_until_t = 0.0
        self._pending: PendingFloor | None = None
        self._floor: Floor | None = None
        self._attribution = Attribution(self._config.backchannel_max_s)
        self._attempt = 1
        self._answer: str | None = None
        self._active: set[str | None] = set()
        self._after_prompt: Callable[[float], None] | None = None
        self._commands = commands or CommandConfig()
        self._command_prompts = command_prompts or CommandPrompts()
        self._suspension: Suspension | None = None
        self._break_until_t = math.inf
        self._last_prompt: tuple[str, PromptMeaning] | None = None
        self.t = 0.0
        self._foresight = Foresight(
            exercise,
            self._steps,
            self._names,
            self._command_prompts,
            self._commands.more_time_s,
            self._break_s(),
        )
        self._actions: dict[Action, Callable[[float], None]] = {
            Action.PAUSE: self._pause,
            Action.RESUME: self._resume,
            Action.REPEAT: self._repeat,
            Action.MORE_TIME: self._more_time,
            Action.TIME_OUT: self._time_out,
            Action.ASK_STOP: self._ask_stop,
            Action.CONFIRM_STOP: self._confirm_stop,
            Action.CARRY_ON: self._carry_on,
            Action.HANDOVER: self._handover,
            Action.ANSWER_YES: self._answered_yes,
            Action.ANSWER_NOT_QUITE: self._answered_not_quite,
        }

    # --- public ---------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    def _enter(self, phase: Phase) -> None:
        """The one place the phase changes: to a phase ``MOVES`` allows from this one."""
        assert phase in MOVES[self._phase], f"no move from {self._phase} to {phase}"
        self._phase = phase

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    @property
    def busy_until_t(self) -> float:
        """When the prompts queued so far finish playing."""
        return self._busy_until_t

    @property
    def player(self) -> PromptPlayer:
        return self._player

    def upcoming_prompts(self, understands_speech: bool = False) -> list[str]:
        """The prompts the engine may say next, as they would be spoken, soonest first.

        For the player to render ahead of time, so that saying one costs no rendering
        when the moment comes. From where the session stands: the next step's prompt;
        on a floor (or while its prompt plays), its cues, overtime reminder and check-in,
        and what follows it; when the session stands still, what takes it back.
        ``understands_speech`` says whether spoken words reach the engine (a speech
        model): only then can a confirmation be answered yes or not quite, and a voice
        command come, whose answers are then included too. A prediction that turns out
        wrong costs nothing but its rendering: the prompt said instead is rendered then.
        """
        now = Moment(
            phase=self.phase,
            suspension=self._suspension,
            ending=self._after_prompt is not None,
            floor=self._floor,
            pending=self._pending,
            index=self._index,
            speaker=self._speaker,
            attempt=self._attempt,
            can_repeat=self._last_prompt is not None,
        )
        return self._foresight.prompts(now, understands_speech)

    def handle(self, inp: EngineInput) -> None:
        """The one transition function."""
        if self.phase is Phase.DONE:
            return
        if isinstance(inp, Stop):
            self._stop(inp.t, inp.reason)
            return
        if isinstance(inp, SpeechOnset):
            self._active.add(inp.partner)
            if (
                self._floor is not None
                and self.phase not in SUSPENDED
                and is_holder(inp.partner, self._floor)
            ):
                self._floor.speaking = True
                self._floor.spoke = True
                self._floor.checked_in = False
            return
        if isinstance(inp, SpeechSegment):
            self._active.discard(inp.partner)
            self._on_segment(inp)
            return
        if isinstance(inp, Answer):
            self._answer = inp.answer
            return
        if isinstance(inp, Command):
            self._on_command(inp)
            return
        if isinstance(inp, Heard):
            self._on_heard(inp)
            return
        if isinstance(inp, KeyPress):
            self._log(Key(inp.t, inp.key))
            if self.phase is Phase.FLOOR and self._floor is not None:
                self._end_floor(inp.t, FloorEndReason.HANDOVER_KEY)
            elif self.phase is Phase.PAUSED:
                self._resume(inp.t)
            elif self.phase is Phase.CONFIRMING_STOP:
                self._carry_on(inp.t)
            return
        self.t = inp.t
        if self.phase is Phase.STARTING:
            self._log(
                SessionStarted(
                    0.0,
                    exercise=self.exercise.name,
                    partners=(self._names["A"], self._names["B"]),
                    settings=self.exercise.settings(),
                )
            )
            self._next_step(inp.t)
        elif self.phase is Phase.PROMPTING:
            if inp.t >= self._busy_until_t:
                self._prompt_finished(self._busy_until_t)
        elif self.phase is Phase.FLOOR:
            self._floor_tick(inp.t)
        elif self.phase is Phase.BREAK and inp.t >= self._break_until_t:
            self._break_over(inp.t)
        elif (
            self.phase is Phase.CONFIRMING_STOP
            and inp.t >= self._busy_until_t + self._commands.stop_answer_s
        ):
            self._carry_on(inp.t)

    # --- steps ----------------------------------------------------------------------

    def _chime(self, t: float, event: str) -> None:
        """Sound the exercise's chime for ``event``, if it has one and the player can."""
        name = self.exercise.sounds.chime_for(event)
        if name is None or not isinstance(self._player, ChimePlayer):
            return
        start_t = max(t, self._busy_until_t)
        self._busy_until_t = start_t + self._player.chime(name)

    def _say(self, t: float, text: str, meaning: PromptMeaning, **extra: str) -> float:
        spoken = fill(text, self._names, *context(self._speaker, self._floor), **extra)
        return self._say_text(t, spoken, meaning)

    def _say_text(self, t: float, spoken: str, meaning: PromptMeaning) -> float:
        start_t = max(t, self._busy_until_t)
        duration_s = self._player.say(spoken, meaning)
        self._busy_until_t = start_t + duration_s
        self._log(Prompt(start_t, end_t=self._busy_until_t, text=spoken, purpose=meaning.purpose))
        if meaning.purpose in _REPEATABLE:
            self._last_prompt = (spoken, meaning)
        return self._busy_until_t

    def _next_step(self, t: float) -> None:
        while True:
            self._index += 1
            if self._index >= len(self._steps):
                self._enter(Phase.PROMPTING)
                self._after_prompt = self._complete
                return
            round_number, step = self._steps[self._index]
            self._log(StepStarted(t, index=self._index, step=str(step.kind), round=round_number))
            if step.kind is StepKind.SWAP:
                self._speaker = OTHER[self._speaker]
                continue
            if step.kind is StepKind.SAY:
                closing = self._index >= len(self._steps) - len(self.exercise.closing)
                self._say(t, step.text, PromptMeaning("closing" if closing else "step"))
                self._pending = None
            else:
                if step.kind is StepKind.PARAPHRASE:
                    self._attempt = 1
                self._offer_floor(t, step, role_for(step), self._attempt)
            self._enter(Phase.PROMPTING)
            self._after_prompt = None
            return

    def _offer_floor(
        self, t: float, step: Step, role: FloorRole, attempt: int, text: str | None = None
    ) -> None:
        partner, limit_s = floor_for(self.exercise, step, role, self._speaker)
        self._pending = PendingFloor(
            partner, role, limit_s, self.exercise.step_cues_s(step), attempt
        )
        if role is FloorRole.CONFIRM:
            self._answer = None
        self._say_text(
            t,
            fill(step.text if text is None else text, self._names, self._speaker, partner, limit_s),
            PromptMeaning(
                "floor",
                addressee=partner,
                role=role,
                limit_s=limit_s,
                round=self._steps[self._index][0] if self._index < len(self._steps) else 0,
            ),
        )
        self._enter(Phase.PROMPTING)

    def _prompt_finished(self, t: float) -> None:
        if self._after_prompt is not None:
            action, self._after_prompt = self._after_prompt, None
            action(t)
            return
        pending, self._pending = self._pending, None
        if pending is None:
            self._next_step(t)
            return
        self._floor = Floor(
            partner=pending.partner,
            role=pending.role,
            start_t=t,
            limit_s=pending.limit_s,
            cues_s=list(pending.cues_s),
            all_cues_s=pending.cues_s,
            attempt=pending.attempt,
            speaking=pending.partner in self._active or None in self._active,
            last_speech_end_t=t,
        )
        self._enter(Phase.FLOOR)
        self._log(
            FloorGiven(
                t,
                partner=pending.partner,
                role=pending.role,
                limit_s=pending.limit_s,
                attempt=pending.attempt,
            )
        )

    def _complete(self, t: float) -> None:
        self._enter(Phase.DONE)
        self.end_reason = EndReason.COMPLETED
        self._log(SessionEnded(t, reason=EndReason.COMPLETED))

    # --- the floor ------------------------------------------------------------------

    def _floor_tick(self, t: float) -> None:
        floor = self._floor
        assert floor is not None
        config = self._config
        prompting = t < self._busy_until_t
        elapsed_s = t - floor.start_t
        while floor.cues_s and elapsed_s >= floor.limit_s - floor.cues_s[0]:
            remaining_s = floor.cues_s.pop(0)
            self._log(Cue(t, partner=floor.partner, remaining_s=remaining_s))
            self._chime(t, "cue")
            self._say(
                t,
                self.exercise.prompts.cue,
                PromptMeaning("cue", addressee=floor.partner, limit_s=remaining_s),
                remaining=spoken_duration(remaining_s),
            )
        # Quiet counts from the holder's last speech or the last prompt, whichever is later.
        quiet_since_t = max(floor.last_speech_end_t, self._busy_until_t)
        quiet_s = t - quiet_since_t if not floor.speaking else 0.0
        if elapsed_s >= floor.limit_s and not floor.limit_reached:
            floor.limit_reached = True
            still_talking = floor.speaking or (
                floor.spoke and t - floor.last_speech_end_t < config.overtime_pause_s
            )
            if still_talking:
                floor.overtime = True
                self._log(Overtime(t, partner=floor.partner))
                self._chime(t, "overtime")
                self._say(
                    t,
                    self.exercise.prompts.overtime,
                    PromptMeaning("overtime", addressee=floor.partner),
                )
                return
            self._end_floor(t, FloorEndReason.LIMIT)
            return
        if prompting:
            return
        if floor.overtime:
            if quiet_s >= config.overtime_pause_s or elapsed_s >= config.max_floor_s:
                self._end_floor(t, FloorEndReason.LIMIT)
            return
        if floor.role is FloorRole.CONFIRM:
            if self._answer is not None or (floor.spoke and quiet_s >= ANSWER_PAUSE_S):
                self._end_floor(t, FloorEndReason.SILENCE)
            return
        if not floor.spoke:
            return
        if not floor.checked_in and quiet_s >= config.silence_checkin_s:
            floor.checked_in = True
            self._log(CheckIn(t, partner=floor.partner, silence_s=quiet_s))
            self._say(
                t,
                self.exercise.prompts.check_in,
                PromptMeaning("check_in", addressee=floor.partner),
            )
        elif floor.checked_in and quiet_s >= config.checkin_wait_s:
            self._end_floor(t, FloorEndReason.SILENCE)

    def _end_floor(self, t: float, reason: FloorEndReason, advance: bool = True) -> None:
        floor = self._floor
        assert floor is not None
        self._floor = None
        overtime_s = 0.0
        if floor.overtime:
            end_of_speech_t = t if floor.speaking else floor.last_speech_end_t
            overtime_s = max(0.0, end_of_speech_t - floor.limit_t)
        self._log(
            FloorEnded(
                t,
                partner=floor.partner,
                role=floor.role,
                reason=reason,
                held_s=t - floor.start_t,
                overtime_s=overtime_s,
            )
        )
        self._attribution.last_floor = (floor.partner, floor.start_t, t)
        if reason is not FloorEndReason.SESSION_END:
            self._chime(t, "floor_end")
        if floor.role is FloorRole.PARAPHRASE:
            self._log(Paraphrase(t, partner=floor.partner, attempt=floor.attempt))
        if not advance:
            return
        if floor.role is FloorRole.CONFIRM and reason is not FloorEndReason.SESSION_END:
            self._confirmed(t, floor)
            return
        if floor.role is FloorRole.CLARIFY:
            self._retry_paraphrase(t)
            return
        if reason is not FloorEndReason.SESSION_END:
            self._next_step(t)

    # --- confirmation -----------------------------------------------------------------

    def _confirmed(self, t: float, floor: Floor) -> None:
        answer = self._answer or "unheard"
        self._answer = None
        self._log(Confirmation(t, partner=floor.partner, answer=answer, attempt=self._attempt))
        prompts = self.exercise.prompts
        if answer == "not_quite" and self._attempt < self.exercise.max_attempts:
            self._attempt += 1
            step = Step(StepKind.FLOOR, who=Who.SPEAKER)
            self._offer_floor(t, step, FloorRole.CLARIFY, self._attempt, text=prompts.clarify)
            return
        text = prompts.confirmed if answer == "yes" else prompts.unheard
        self._attempt = 1
        if text:
            self._say(t, text, PromptMeaning("confirmed"))
            self._pending = None
            self._enter(Phase.PROMPTING)
            self._after_prompt = None
        else:
            self._next_step(t)

    def _retry_paraphrase(self, t: float) -> None:
        confirm_index = self._index
        step = self._steps[paraphrase_index(self._steps, self._index)][1]
        # When this paraphrase floor ends, the next step is the confirm step again.
        self._index = confirm_index - 1
        self._offer_floor(
            t, step, FloorRole.PARAPHRASE, self._attempt, text=self.exercise.prompts.retry
        )

    # --- speech -----------------------------------------------------------------------

    def _on_segment(self, seg: SpeechSegment) -> None:
        floor = self._floor
        still = self._attribution.stood_still_at(seg.start_t)
        if floor is not None and not still and is_holder(seg.partner, floor):
            floor.speaking = bool({floor.partner, None} & self._active)
            floor.spoke = True
            floor.last_speech_end_t = max(floor.last_speech_end_t, seg.end_t)
        self._log(self._attribution.speech(seg, floor))

    def _on_heard(self, heard: Heard) -> None:
        transcript = self._attribution.transcript(heard, self._floor)
        if transcript is not None:
            self._log(transcript)

    # --- the end ----------------------------------------------------------------------

    def _stop(self, t: float, reason: EndReason) -> None:
        if self._suspension is not None:
            self._end_suspension(t)
        if self._floor is not None:
            self._end_floor(t, FloorEndReason.SESSION_END)
        self._finish(t, reason)

    def _finish(self, t: float, reason: EndReason) -> None:
        self._enter(Phase.DONE)
        self.end_reason = reason
        self._log(SessionEnded(t, reason=reason))

    # --- voice commands ---------------------------------------------------------------

    def _on_command(self, cmd: Command) -> None:
        floor = self._floor
        action = action_for(
            cmd.word,
            self.phase,
            floor.role if floor is not None else None,
            floor is not None and floor.extended,
            self._last_prompt is not None,
        )
        applied = action is not None
        self._log(VoiceCommand(cmd.t, word=cmd.word, partner=cmd.partner, applied=applied))
        if action is not None:
            self._actions[action](cmd.t)

    def _handover(self, t: float) -> None:
        self._end_floor(t, FloorEndReason.HANDOVER_PHRASE)

    def _answered_yes(self, t: float) -> None:
        self._answer = "yes"

    def _answered_not_quite(self, t: float) -> None:
        self._answer = "not_quite"

    def _more_time(self, t: float) -> None:
        floor = self._floor
        assert floor is not None
        floor.extended = True
        floor.limit_s += self._commands.more_time_s
        floor.limit_reached = False
        floor.overtime = False
        elapsed_s = t - floor.start_t
        floor.cues_s = [c for c in floor.all_cues_s if elapsed_s < floor.limit_s - c]
        self._say(
            t,
            self._command_prompts.more_time,
            PromptMeaning("more_time", addressee=floor.partner),
        )

    def _repeat(self, t: float) -> None:
        assert self._last_prompt is not None
        text, meaning = self._last_prompt
        start_t = max(t, self._busy_until_t)
        # Already spoken text: its placeholders were filled when it was first said.
        end_t = self._say_text(t, text, PromptMeaning("repeat", addressee=meaning.addressee))
        if self._floor is not None and self.phase is Phase.FLOOR:
            # Hearing the prompt again is not the holder's time.
            self._floor.start_t += end_t - start_t

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
