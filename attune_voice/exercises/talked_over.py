"""The script's ``stop_when_talked_over``: which of the coach's reminders a partner may stop.

Only the coach's own short reminders can be named. A step's lines (the safety lines
among them), the questions and what the way out says are always said to the end, so a
script can narrow the default list, never reach past it.
"""

from __future__ import annotations

from collections.abc import Callable

from attune_voice.exercises.model import MAY_CUT
from attune_voice.exercises.wording import closest, one_of, shown

__all__ = ["KEY", "said_name", "stop_when_talked_over"]

KEY = "stop_when_talked_over"


def said_name(purpose: str) -> str:
    """A prompt's purpose as a script writes it, and as ``exercises show`` lists it."""
    return purpose.replace("_", "-")


_BY_SAID_NAME = {said_name(purpose): purpose for purpose in sorted(MAY_CUT)}

Add = Callable[[str, str, str], None]
"""The checker's way to record a problem: message, suggestion, the text to point at."""


def stop_when_talked_over(raw: object, add: Add) -> frozenset[str] | None:
    """The purposes of the prompts that stop when talked over; None when absent or wrong."""
    if raw is None:
        return None
    choices = one_of(f'"{name}"' for name in _BY_SAID_NAME)
    hint = f'write {KEY} = ["cue", "check-in"], or [] to say every prompt to the end'
    if not isinstance(raw, list):
        add(f"{KEY} must be a list, not {shown(raw)}", hint, "")
        return None
    purposes: set[str] = set()
    for item in raw:
        name = item.strip().lower().replace("_", "-") if isinstance(item, str) else None
        if name is None or name not in _BY_SAID_NAME:
            guess = closest(name, _BY_SAID_NAME) if name else None
            shown_item = shown(item)
            add(
                f"{shown_item} is not a prompt that may stop when talked over",
                (f'did you mean "{guess}"? ' if guess else "")
                + f"the coach's reminders that may stop are {choices}; "
                "a step's own lines are always said to the end",
                item if isinstance(item, str) else "",
            )
            return None
        if _BY_SAID_NAME[name] in purposes:
            add(f"{shown(item)} is listed twice", "keep one", item)
            return None
        purposes.add(_BY_SAID_NAME[name])
    return frozenset(purposes)
