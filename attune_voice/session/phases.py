"""The session engine's phases; the engine changes phase only through ``SessionEngine._enter``."""

from __future__ import annotations

import enum


class Phase(enum.Enum):
    STARTING = "starting"
    PROMPTING = "prompting"
    FLOOR = "floor"
    PAUSED = "paused"
    BREAK = "break"
    CONFIRMING_STOP = "confirming_stop"
    DONE = "done"


SUSPENDED = frozenset({Phase.PAUSED, Phase.BREAK, Phase.CONFIRMING_STOP})
"""The phases in which the session stands still: the floor's clock stops."""
