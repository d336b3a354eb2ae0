"""The session engine: steps an exercise, gives and times the floor, and logs events.

It is driven only by inputs carrying ``t`` (seconds of audio consumed) and speaks
through a ``PromptPlayer``; it imports no audio, model or hardware library, so a whole
session can be tested with scripted inputs.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

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
    Prompt,
    PromptMeaning,
    SessionEnded,
    SessionStarted,
    Speech,
    SpeechKind,
    StepStarted,
)
from attune_voice.exercises.model import Exercise, Step, StepKind, Who

OTHER = {"A": "B", "B": "A"}
ANSWER_PAUSE_S = 1.5
"""A confirmation is a short answer: this much quiet after it ends the answer."""


# --- inputs -------------------------------------------------------------------------


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
class SpeechSegment:
    start_t: float
    end_t: float
    partner: str | None


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
class Stop:
    t: float
    reason: EndReason


EngineInput = Tick | SpeechOnset | SpeechSegment | KeyPress | Answer | Stop


class PromptPlayer(Protocol):
    def say(self, text: str, meaning: PromptMeaning) -> float:
        """Queue the prompt after anything already queued; return its duration in s."""
        ...


# --- state --------------------------------------------------------------------------


class Phase(enum.Enum):
    STARTING = "starting"
    PROMPTING = "prompting"
    FLOOR = "floor"
    DONE = "done"


@dataclass
class _Floor:
    """The open floor: runtime state, mutated as the turn goes on."""

    partner: str
    role: FloorRole
    start_t: float
    limit_s: float
    cues_s: list[float]
    attempt: int
    spoke: bool = False
    speaking: bool = False
    last_speech_end_t: float = 0.0
    checked_in: bool = False
    limit_reached: bool = False
    overtime: bool = False

    @property
    def limit_t(self) -> float:
        return self.start_t + self.limit_s


@dataclass(frozen=True)
class _PendingFloor:
    partner: str
    role: FloorRole
    limit_s: float
    cues_s: tuple[float, ...]
    attempt: int


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
        FLOOR --KeyPress--> (floor ends)
        (floor ends) --> PROMPTING for a confirm outcome, or (next step)
        any --Stop--> DONE

    Speech segments are logged whenever they arrive, attributed by the floor (one
    microphone) or by channel (a microphone per partner).
    """

    def __init__(
        self,
        exercise: Exercise,
        names: tuple[str, str],
        player: PromptPlayer,
        log: Callable[[Event], None],
        config: TurnConfig | None = None,
    ) -> None:
        self.exercise = exercise
        self._names = {"A": names[0], "B": names[1]}
        self._player = player
        self._log = log
        self._config = config or TurnConfig()
        self._steps = exercise.unrolled()
        self._index = -1
        self.phase = Phase.STARTING
        self.end_reason: EndReason | None = None
        self._speaker = "A"
        self._busy_until_t = 0.0
        self._pending: _PendingFloor | None = None
        self._floor: _Floor | None = None
        self._last_floor: tuple[str, float, float] | None = None
        """(partner, start_t, end_t) of the floor that ended last."""
        self._attempt = 1
        self._answer: str | None = None
        self._active: set[str | None] = set()
        self._after_prompt: Callable[[float], None] | None = None
        self.t = 0.0

    # --- public ---------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    @property
    def busy_until_t(self) -> float:
        """When the prompts queued so far finish playing."""
        return self._busy_until_t

    def handle(self, inp: EngineInput) -> None:
        """The one transition function."""
        if self.phase is Phase.DONE:
            return
        if isinstance(inp, Stop):
            self._stop(inp.t, inp.reason)
            return
        if isinstance(inp, SpeechOnset):
            self._active.add(inp.partner)
            if self._floor is not None and self._is_holder(inp.partner, self._floor):
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
        if isinstance(inp, KeyPress):
            self._log(Key(inp.t, inp.key))
            if self.phase is Phase.FLOOR and self._floor is not None:
                self._end_floor(inp.t, FloorEndReason.HANDOVER_KEY)
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

    # --- steps ----------------------------------------------------------------------

    def _placeholders(self) -> dict[str, str]:
        listener = OTHER[self._speaker]
        holder = self._floor.partner if self._floor else self._speaker
        return {
            "speaker": self._names[self._speaker],
            "listener": self._names[listener],
            "partner_a": self._names["A"],
            "partner_b": self._names["B"],
            "holder": self._names[holder],
            "limit": spoken_duration(self._floor.limit_s if self._floor else 0.0),
            "remaining": "",
        }

    def _say(self, t: float, text: str, meaning: PromptMeaning, **extra: str) -> float:
        values = self._placeholders() | extra
        spoken = text.format_map(_Blank(values))
        start_t = max(t, self._busy_until_t)
        duration_s = self._player.say(spoken, meaning)
        self._busy_until_t = start_t + duration_s
        self._log(Prompt(start_t, end_t=self._busy_until_t, text=spoken, purpose=meaning.purpose))
        return self._busy_until_t

    def _next_step(self, t: float) -> None:
        while True:
            self._index += 1
            if self._index >= len(self._steps):
                self.phase = Phase.PROMPTING
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
                self._offer_floor(t, step, self._role_for(step), self._attempt)
            self.phase = Phase.PROMPTING
            self._after_prompt = None
            return

    def _role_for(self, step: Step) -> FloorRole:
        if step.kind is StepKind.PARAPHRASE:
            return FloorRole.PARAPHRASE
        if step.kind is StepKind.CONFIRM:
            return FloorRole.CONFIRM
        return FloorRole.SPEAK

    def _partner_for(self, who: Who) -> str:
        return {
            Who.SPEAKER: self._speaker,
            Who.LISTENER: OTHER[self._speaker],
            Who.PARTNER_A: "A",
            Who.PARTNER_B: "B",
        }[who]

    def _offer_floor(
        self, t: float, step: Step, role: FloorRole, attempt: int, text: str | None = None
    ) -> None:
        partner = self._partner_for(step.who)
        limit_s = self.exercise.floor_limit_s(step)
        if role is FloorRole.CLARIFY:
            limit_s = self.exercise.paraphrase_limit_s
        self._pending = _PendingFloor(
            partner, role, limit_s, self.exercise.step_cues_s(step), attempt
        )
        if role is FloorRole.CONFIRM:
            self._answer = None
        values = {"holder": self._names[partner], "limit": spoken_duration(limit_s)}
        self._say(
            t,
            step.text if text is None else text,
            PromptMeaning(
                "floor",
                addressee=partner,
                role=role,
                limit_s=limit_s,
                round=self._steps[self._index][0] if self._index < len(self._steps) else 0,
            ),
            **values,
        )
        self.phase = Phase.PROMPTING

    def _prompt_finished(self, t: float) -> None:
        if self._after_prompt is not None:
            action, self._after_prompt = self._after_prompt, None
            action(t)
            return
        pending, self._pending = self._pending, None
        if pending is None:
            self._next_step(t)
            return
        self._floor = _Floor(
            partner=pending.partner,
            role=pending.role,
            start_t=t,
            limit_s=pending.limit_s,
            cues_s=list(pending.cues_s),
            attempt=pending.attempt,
            speaking=pending.partner in self._active or None in self._active,
            last_speech_end_t=t,
        )
        self.phase = Phase.FLOOR
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
        self.phase = Phase.DONE
        self.end_reason = EndReason.COMPLETED
        self._log(SessionEnded(t, reason=EndReason.COMPLETED))

    # --- the floor ------------------------------------------------------------------

    def _is_holder(self, partner: str | None, floor: _Floor) -> bool:
        return partner is None or partner == floor.partner

    def _floor_tick(self, t: float) -> None:
        floor = self._floor
        assert floor is not None
        config = self._config
        prompting = t < self._busy_until_t
        elapsed_s = t - floor.start_t
        while floor.cues_s and elapsed_s >= floor.limit_s - floor.cues_s[0]:
            remaining_s = floor.cues_s.pop(0)
            self._log(Cue(t, partner=floor.partner, remaining_s=remaining_s))
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

    def _end_floor(self, t: float, reason: FloorEndReason) -> None:
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
        self._last_floor = (floor.partner, floor.start_t, t)
        if floor.role is FloorRole.PARAPHRASE:
            self._log(Paraphrase(t, partner=floor.partner, attempt=floor.attempt))
        if floor.role is FloorRole.CONFIRM and reason is not FloorEndReason.SESSION_END:
            self._confirmed(t, floor)
            return
        if floor.role is FloorRole.CLARIFY:
            self._retry_paraphrase(t)
            return
        if reason is not FloorEndReason.SESSION_END:
            self._next_step(t)

    # --- confirmation -----------------------------------------------------------------

    def _confirmed(self, t: float, floor: _Floor) -> None:
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
            self.phase = Phase.PROMPTING
            self._after_prompt = None
        else:
            self._next_step(t)

    def _retry_paraphrase(self, t: float) -> None:
        # Go back to the paraphrase step before the confirm step that asked for it.
        confirm_index = self._index
        paraphrase_index = confirm_index
        while paraphrase_index > 0 and self._steps[paraphrase_index][1].kind is not (
            StepKind.PARAPHRASE
        ):
            paraphrase_index -= 1
        step = self._steps[paraphrase_index][1]
        # When this paraphrase floor ends, the next step is the confirm step again.
        self._index = confirm_index - 1
        self._offer_floor(
            t, step, FloorRole.PARAPHRASE, self._attempt, text=self.exercise.prompts.retry
        )

    # --- speech -----------------------------------------------------------------------

    def _holder_at(self, t: float) -> str | None:
        if self._floor is not None and t >= self._floor.start_t - 0.5:
            return self._floor.partner
        if self._last_floor is not None:
            partner, start_t, end_t = self._last_floor
            if start_t - 0.5 <= t < end_t:
                return partner
        return None

    def _on_segment(self, seg: SpeechSegment) -> None:
        floor = self._floor
        if floor is not None and self._is_holder(seg.partner, floor):
            floor.speaking = bool({floor.partner, None} & self._active)
            floor.spoke = True
            floor.last_speech_end_t = max(floor.last_speech_end_t, seg.end_t)
        holder = self._holder_at(seg.start_t)
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
            elif duration_s <= self._config.backchannel_max_s:
                kind = SpeechKind.BACKCHANNEL
            else:
                kind = SpeechKind.INTERRUPTION
        self._log(
            Speech(
                seg.start_t, end_t=seg.end_t, partner=partner, speech_kind=kind, attributed_by=by
            )
        )

    def _stop(self, t: float, reason: EndReason) -> None:
        if self._floor is not None:
            self._end_floor(t, FloorEndReason.SESSION_END)
        self.phase = Phase.DONE
        self.end_reason = reason
        self._log(SessionEnded(t, reason=reason))


class _Blank(dict[str, str]):
    """Leaves an unknown placeholder empty rather than failing mid-session."""

    def __missing__(self, key: str) -> str:
        return ""
