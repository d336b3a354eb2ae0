"""How the checker words things: the closest known word, "a, b or c", a value as TOML shows it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "is_step_list", "one_of", "shown", "written"]


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word``; ties go to the alphabetically first, so it is stable."""
    scored = sorted(
        (-difflib.SequenceMatcher(None, word.lower(), choice).ratio(), choice) for choice in choices
    )
    if scored and -scored[0][0] >= 0.6:
        return scored[0][1]
    return None


def one_of(choices: Iterable[str]) -> str:
    """The choices as "a, b or c"."""
    items = list(choices)
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else "".join(items)


def is_step_list(value: object) -> bool:
    """Whether ``value`` is a non-empty array of tables, as ``[[round]]`` steps are."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def written(key: str, value: object) -> str:
    """How ``key`` holding ``value`` is written: ``[[round]]``, ``[prompts]`` or ``rounds``."""
    if is_step_list(value):
        return f"[[{key}]]"
    if isinstance(value, dict):
        return f"[{key}]"
    return key


def shown(value: object) -> str:
    """A value the way it looks in TOML, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)
