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
    Prompt,
    PromptMeaning,
    Readiness,
    SessionEnded,
    SessionStarted,
    StepStarted,
    VoiceCommand,
)
from attune_voice.exercises.model import Exercise, Step, StepKind, cues_within
from attune_voice.session.attribution import Attribution
from attune_voice.session.barge_in import SpokenOverWatch
from attune_voice.session.commands import (
    Action,
    CommandConfig,
    CommandPrompts,
    action_for,
    key_word,
)
from attune_voice.session.floor import (
    ANSWER_ROLES,
    OTHER,
    Floor,
    PendingFloor,
    context,
    floor_for,
    is_holder,
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
    Tick,
)
from attune_voice.session.prep_loop import Pieces, PrepLoop
from attune_voice.session.readiness import ReadinessQuestion
from attune_voice.session.upcoming import Foresight, Moment
from attune_voice.session.way_out import WayOut
from attune_voice.session.wording import fill, handover_said

ANSWER_PAUSE_S = 1.5
"""A confirmation is a short answer: this much quiet after it ends the answer."""
_REPEATABLE = frozenset({"step", "floor", "cue", "check_in", "overtime", "confirmed", "closing"})
"""Prompts that "repeat" says again: the exercise's own, not answers to commands."""


class SessionEngine(PrepLoop, WayOut):
    """Walks an exercise; one transition function drives every phase.

    ::

        STARTING --Tick--> (next step)
        (next step): say/ready/floor/paraphrase/confirm prompt --> PROMPTING
                     swap --> (next step);  no steps left --> DONE
        PROMPTING --Tick past the prompt's end--> FLOOR  (if the prompt gave a floor)
                                              --> ASKING (a ready step: each partner asked)
        ASKING --both answered yes--> (next step)
        ASKING --a "not now", a no or silence--> PROMPTING (goodbye) --> DONE (not started)
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

    Every phase change goes through ``_enter``, which allows only the moves that ``phases.MOVES``
    lists. While PAUSED, in a BREAK or CONFIRMING_STOP the floor's clock stands still: on the way
    back its start moves on by the time that passed. Speech segments are logged whenever they
    arrive, attributed by the floor (one microphone) or by channel (a microphone per partner);
    speech while the session stands still is an aside.
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
        understands_speech: bool = False,
        first_speaker: str = "A",
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
        self._speaker = first_speaker
        """Who speaks first: sessions alternate it (``first_speaker_for``)."""
        self._busy_until_t = 0.0
        self._pending: PendingFloor | None = None
        self._floor: Floor | None = None
        self._attribution = Attribution(self._config)
        self._attempt = 1
        self._answer: str | None = None
        self._active: set[str | None] = set()
        self._after_prompt: Callable[[float], None] | None = None
        self._commands = commands or CommandConfig()
        self._command_prompts = command_prompts or CommandPrompts()
        self._suspension: Suspension | None = None
        self._break_until_t = math.inf
        self._last_prompt: tuple[str, PromptMeaning] | None = None
        self._understands_speech = understands_speech
        """A speech model listens: questions ask for a spoken answer, not a key."""
        self._handover_said = handover_said(exercise.handover_phrases, understands_speech)
        """``{handover}`` in every text: the hand-over this couple has."""
        self._question: ReadinessQuestion | None = None
        self._over = SpokenOverWatch(exercise.may_cut, player, log)
        self._pieces: Pieces | None = None
        self.t = 0.0
        self._foresight = Foresight(
            exercise,
            self._steps,
            self._names,
            self._command_prompts,
            self._commands.more_time_s,
            self._break_s(),
            self._handover_said,
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
            Action.ANSWER_NO: self._answered_no,
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

        For the player to render ahead of time, so that saying one costs no rendering when the
        moment comes. From where the session stands: the next step's prompt; on a floor (or while
        its prompt plays), its cues, overtime reminder and check-in, and what follows it; when the
        session stands still, what takes it back. ``understands_speech`` says whether spoken words
        reach the engine (a speech model): only then can a confirmation be answered yes or not
        quite, and a voice command come, whose answers are then included too. A prediction that
        turns out wrong costs nothing but its rendering: the prompt said instead is rendered then.
        """
        now = Moment(
            phase=self.phase,
            suspension=self._suspension,
            ending=self._after_prompt
            in (self._complete, self._finished_stopping, self._not_started),
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
        self._busy_until_t = self._over.hear(inp, self._busy_until_t)
        if isinstance(inp, SpeechSegment):  # in every phase, the readiness question's too
            self._active.discard(inp.partner)
            self._on_segment(inp)
            return
        if self.phase is Phase.ASKING:
            self._asking(inp)
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
            floor = self._floor
            role = floor.role if floor is not None else None
            word = key_word(inp.key, self.phase, role)
            if word is not None:
                # A command key where its command means nothing (T in a break) does nothing.
                extended = floor is not None and floor.extended
                can_repeat = self._last_prompt is not None
                action = action_for(word, self.phase, role, extended, can_repeat)
                if action is not None:
                    self._actions[action](inp.t)
            elif self.phase is Phase.FLOOR and self._floor is not None:
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
        said_in = context(self._speaker, self._floor)
        spoken = fill(text, self._names, *said_in, handover=self._handover_said, **extra)
        return self._say_text(t, spoken, meaning)

    def _say_text(self, t: float, spoken: str, meaning: PromptMeaning) -> float:
        start_t = max(t, self._busy_until_t)
        duration_s = self._player.say(spoken, meaning)
        self._busy_until_t = start_t + duration_s
        self._over.said(start_t, self._busy_until_t, meaning.purpose)
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
            if step.kind is StepKind.READY:
                self._say(t, step.text, PromptMeaning("step"))
                self._pending = None
                self._enter(Phase.PROMPTING)
                self._after_prompt = self._ask_ready
                return
            if step.kind is StepKind.SAY:
                closing = self._index >= len(self._steps) - len(self.exercise.closing)
                self._say(t, step.text, PromptMeaning("closing" if closing else "step"))
                self._pending = None
            elif step.kind is StepKind.MORE:
                if not self._ask_more(t, step):
                    continue
            elif step.kind is StepKind.FLOOR and step.piece_s is not None:
                self._give_piece(t, step)
            else:
                if step.kind is StepKind.PARAPHRASE:
                    self._attempt = 1
                self._offer_floor(t, step, role_for(step), self._attempt)
            self._enter(Phase.PROMPTING)
            self._after_prompt = None
            return

    def _offer_floor(
        self,
        t: float,
        step: Step,
        role: FloorRole,
        attempt: int,
        text: str | None = None,
        *,
        limit_s: float | None = None,
        cues_s: tuple[float, ...] | None = None,
        pieced: bool = False,
        piece_only: bool = False,
    ) -> None:
        """Say ``step``'s prompt (or ``text``), which gives the floor when it ends.

        ``limit_s`` and ``cues_s`` replace the step's for one piece of a floor said in
        pieces; the prompt's ``{limit}`` is still the whole floor's time."""
        partner, step_limit_s = floor_for(self.exercise, step, role, self._speaker)
        given_s = step_limit_s if limit_s is None else limit_s
        self._pending = PendingFloor(
            partner,
            role,
            given_s,
            # Against the floor's own limit: a clarification is shorter than its step's.
            cues_within(self.exercise.step_cues_s(step) if cues_s is None else cues_s, given_s),
            attempt,
            pieced,
            piece_only,
        )
        if role in ANSWER_ROLES:
            self._answer = None
        self._say_text(
            t,
            fill(
                step.text if text is None else text,
                self._names,
                self._speaker,
                partner,
                step_limit_s,
                handover=self._handover_said,
            ),
            PromptMeaning(
                "floor",
                addressee=partner,
                role=role,
                limit_s=given_s,
                pieced=pieced,
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
            pieced=pending.pieced,
            piece_only=pending.piece_only,
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

    # --- readiness ----------------------------------------------------------------------

    def _ask_ready(self, t: float) -> None:
        self._question = ReadinessQuestion(
            (self._names["A"], self._names["B"]),
            self._player,
            spoken=self._understands_speech,
            start_t=max(t, self._busy_until_t),
            log_prompt=self._log,
            wait_s=self._steps[self._index][1].limit_s,
        )
        self._enter(Phase.ASKING)
        self._question.handle(Tick(t))
        self._busy_until_t = self._question.busy_until_t

    def _asking(self, inp: EngineInput) -> None:
        """Inputs while the readiness question is open: its answers, and onsets."""
        question = self._question
        assert question is not None
        if isinstance(inp, SpeechOnset):
            self._active.add(inp.partner)
            return
        if isinstance(inp, KeyPress):
            self._log(Key(inp.t, inp.key))
        if isinstance(inp, Heard):
            self._on_heard(inp)
        if isinstance(inp, Command):
            self._log(VoiceCommand(inp.t, word=inp.word, partner=inp.partner, applied=True))
        if isinstance(inp, (KeyPress, Command, Heard, Tick)):
            given = len(question.given)
            question.handle(inp)
            for answer in question.given[given:]:
                self._log(Readiness(answer.t, answer.partner, str(answer.answer), answer.by))
            self._busy_until_t = max(self._busy_until_t, question.busy_until_t)
        if isinstance(inp, Tick):
            self.t = inp.t
        if len(question.given) == len(self._names) and self.phase is Phase.ASKING:
            self._question = None
            self._enter(Phase.PROMPTING)
            self._pending = None
            if question.all_yes:
                # The next step waits until "let's begin" has been said.
                self._after_prompt = self._next_step
            else:
                self._after_prompt = self._not_started

    def _not_started(self, t: float) -> None:
        self._finish(t, EndReason.NOT_STARTED)

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
            if still_talking and floor.piece_only:
                # The floor's time goes on: the piece ends at the next pause, no overtime.
                floor.overtime = True
                self._say(
                    t,
                    self.exercise.prompts.piece_end,
                    PromptMeaning("piece_end", addressee=floor.partner),
                )
                return
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
        if floor.role in ANSWER_ROLES:
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
        if floor.overtime and not floor.piece_only:
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
        self._piece_ended(floor, t - floor.start_t)
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
        if floor.role is FloorRole.MORE and reason is not FloorEndReason.SESSION_END:
            self._more_answered(t, floor)
            return
        if reason is not FloorEndReason.SESSION_END:
            self._next_step(t)

    # --- speech -----------------------------------------------------------------------

    def _on_segment(self, seg: SpeechSegment) -> None:
        floor = self._floor
        if seg.far and floor is not None and is_holder(seg.partner, floor):
            floor.speaking = bool({floor.partner, None} & self._active)  # its onset ended
        if not self._attribution.adds(seg, floor):
            return
        still = self._attribution.stood_still_at(seg.start_t)
        if floor is not None and not still and is_holder(self._attribution.told(seg), floor):
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
