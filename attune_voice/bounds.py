"""The accepted range of every count, duration and name the couple can set, said once.

The exercise checker, the command-line options (their ``--help`` and their errors) and
``docs/exercises.md`` all take their ranges from here, so that they never disagree.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from attune_voice.durations import format_duration


@dataclass(frozen=True)
class Bound:
    """A closed range ``low`` to ``high``; ``unit`` is "" (a count), "s" (a duration in
    seconds, said like 30m) or "min" (minutes, said as a number)."""

    low: float
    high: float
    unit: str = ""

    def contains(self, value: float) -> bool:
        """True for a finite ``value`` inside the range (NaN and infinities never are)."""
        if isinstance(value, int):  # exact, even past what a float holds
            return self.low <= value <= self.high
        return math.isfinite(value) and self.low <= value <= self.high

    def said(self) -> str:
        """The range as the help and the docs say it: "1 to 20", "10s to 30m"."""
        return f"{self.show(self.low)} to {self.show(self.high)}"

    def show(self, value: float) -> str:
        """One value in this range's unit: 20, 30m, 180."""
        if self.unit == "s":
            return format_duration(value)
        return str(int(value)) if float(value).is_integer() else f"{value:g}"


ROUNDS = Bound(1, 20)
"""How often an exercise's ``[[round]]`` steps repeat (``rounds``, ``--rounds``)."""

MAX_ATTEMPTS = Bound(1, 10)
"""Paraphrase attempts before a confirm step moves on (``max_attempts``)."""

FLOOR_LIMIT_S = Bound(10.0, 1800.0, "s")
"""How long one floor may last: ``limit``, ``paraphrase_limit``, ``confirm_limit``, a
step's ``limit`` and ``--limit``. Thirty minutes is also the engine's ``max_floor_s``."""

BREAK_S = Bound(20 * 60.0, 2 * 3600.0, "s")
"""How long a time-out lasts (``break``): at least the 20 minutes a flooded body needs
to calm, at most two hours."""

DEMO_MINUTES = Bound(1, 180, "min")
"""``demo --minutes``: a simulated session of at most three hours. The shortest an
exercise can fit depends on the exercise; ``fit_to_minutes`` refuses shorter."""

SEED = Bound(0, 2**32 - 1)
"""``demo --seed``: numpy's random generators take seeds in this range."""

NAME_CHARS = 200
"""The longest partner name (in characters); archives refuse longer ones."""


def partner_names_problem(names: Sequence[str]) -> str | None:
    """What is wrong with a couple's two names, or None when they can be used: each one
    usable (``partner_name_problem``), and not the same name twice, ignoring case (the
    reports could not tell "Sam" from "sam")."""
    if len(names) != 2:
        return "give two names"
    for name in names:
        problem = partner_name_problem(name)
        if problem is not None:
            return problem
    if names[0].strip().casefold() == names[1].strip().casefold():
        return f"the two names are the same ({names[0].strip()}); give each partner their own"
    return None


def partner_name_problem(name: str) -> str | None:
    """What is wrong with one partner's name, or None: non-empty, at most ``NAME_CHARS``
    characters, no control characters."""
    if not name.strip():
        return "a name cannot be empty"
    if len(name) > NAME_CHARS:
        return f"a name is at most {NAME_CHARS} characters, not {len(name)}"
    if any(unicodedata.category(char) in _CONTROL for char in name):
        return f"the name {name[:20]!r} holds a control character"
    return None


_CONTROL = frozenset({"Cc", "Zl", "Zp"})
"""Unicode categories that break a line or a table: controls and line separators."""
