"""Voice commands in the session: what each means at each moment, and how the engine answers.

``action_for`` is the one table of what a command does: the engine acts on it, and its
predictions of what it will say next (``SessionEngine.upcoming_prompts``) follow it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from attune_voice.events import CommandWord, FloorRole
from attune_voice.session.phases import Phase


@dataclass(frozen=True)
class CommandConfig:
    """How the engine answers voice commands."""

    more_time_s: float = 60.0
    """What "more time" adds to the open floor (once per floor)."""
    break_s: float | None = None
    """Length of a time-out; None takes the exercise's (twenty minutes unless it says
    otherwise). The demo shortens it."""
    stop_answer_s: float = 10.0
    """After "Do you want to end the session?", silence this long means no."""


@dataclass(frozen=True)
class CommandPrompts:
    """What the coach says in answer to voice commands; placeholders as in exercises."""

    paused: str = "We'll pause here. Say resume when you are ready to go on."
    resumed: str = "Let's carry on."
    resumed_floor: str = "Let's carry on. {holder}, the floor is still yours."
    more_time: str = "One more minute, {holder}."
    time_out: str = (
        "Let's take a break. Spend the next {break_length} apart, doing something "
        "soothing: breathe slowly, stretch, take a short walk. Try not to go over the "
        "conversation in your head. I will call you back."
    )
    come_back: str = (
        "The break is over. Please come back when you can. When you are both here, "
        "say resume, or press the button."
    )
    confirm_stop: str = "Do you want to end the session? Say yes or no."
    stopping: str = "All right, we'll stop here. Everything so far is kept."
    not_stopping: str = "All right, we'll go on."


class Action(enum.Enum):
    """What a voice command does, at a moment when it means something."""

    PAUSE = "pause"
    RESUME = "resume"
    REPEAT = "repeat"
    MORE_TIME = "more_time"
    TIME_OUT = "time_out"
    ASK_STOP = "ask_stop"
    CONFIRM_STOP = "confirm_stop"
    CARRY_ON = "carry_on"
    HANDOVER = "handover"
    ANSWER_YES = "answer_yes"
    ANSWER_NOT_QUITE = "answer_not_quite"


def action_for(
    word: CommandWord,
    phase: Phase,
    floor_role: FloorRole | None,
    extended: bool,
    can_repeat: bool,
) -> Action | None:
    """What ``word`` does in ``phase``, or None when it means nothing at this moment.

    ``floor_role`` is the open floor's role (None when no floor is open), ``extended``
    whether that floor was given more time already, and ``can_repeat`` whether there is
    a prompt to say again.
    """
    if phase is Phase.CONFIRMING_STOP:
        if word is CommandWord.YES:
            return Action.CONFIRM_STOP
        if word in (CommandWord.NO, CommandWord.NOT_QUITE):
            return Action.CARRY_ON
        return None
    if phase is Phase.STARTING:
        return None
    if word is CommandWord.STOP:
        return Action.ASK_STOP
    if phase is Phase.BREAK:
        return None
    if word is CommandWord.TIME_OUT:
        return Action.TIME_OUT
    if phase is Phase.PAUSED:
        return Action.RESUME if word is CommandWord.RESUME else None
    if word is CommandWord.PAUSE:
        return Action.PAUSE
    if word is CommandWord.REPEAT:
        return Action.REPEAT if can_repeat else None
    if phase is not Phase.FLOOR or floor_role is None:
        return None
    confirming = floor_role is FloorRole.CONFIRM
    if word is CommandWord.HANDOVER and not confirming:
        return Action.HANDOVER
    if word is CommandWord.MORE_TIME and not confirming and not extended:
        return Action.MORE_TIME
    if confirming and word is CommandWord.YES:
        return Action.ANSWER_YES
    if confirming and word in (CommandWord.NO, CommandWord.NOT_QUITE):
        return Action.ANSWER_NOT_QUITE
    return None
