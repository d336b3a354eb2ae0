"""The session engine's phases and the moves between them; ``SessionEngine._enter`` makes each."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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

_LIVE = frozenset({Phase.PROMPTING, Phase.FLOOR})

MOVES: dict[Phase, frozenset[Phase]] = {
    Phase.STARTING: frozenset({Phase.PROMPTING, Phase.DONE}),
    Phase.PROMPTING: frozenset({Phase.PROMPTING, Phase.FLOOR, Phase.DONE} | SUSPENDED),
    Phase.FLOOR: frozenset({Phase.PROMPTING, Phase.DONE} | SUSPENDED),
    Phase.PAUSED: _LIVE | {Phase.BREAK, Phase.CONFIRMING_STOP},
    Phase.BREAK: _LIVE | {Phase.PAUSED, Phase.CONFIRMING_STOP},
    Phase.CONFIRMING_STOP: _LIVE | {Phase.PAUSED, Phase.BREAK},
    Phase.DONE: frozenset(),
}
"""The phases each phase may move to; any other move is a bug. ::

    STARTING ──first tick──> PROMPTING ──prompt over, it gave a floor──> FLOOR
    PROMPTING ──the next prompt──> PROMPTING
    FLOOR ──floor ends──> PROMPTING (what follows it)
    PROMPTING, FLOOR ──pause / time-out / stop──> PAUSED / BREAK / CONFIRMING_STOP
    PAUSED ──time-out / stop──> BREAK / CONFIRMING_STOP
    BREAK ──over──> PAUSED;  BREAK ──stop──> CONFIRMING_STOP
    CONFIRMING_STOP ──no, in a pause or a break──> PAUSED / BREAK
    PAUSED, BREAK, CONFIRMING_STOP ──resume, no, Stop──> PROMPTING / FLOOR (where it was)
    STARTING, PROMPTING, FLOOR ──the end, or Stop──> DONE

The engine's own docstring draws the same moves with the inputs that cause them.
"""


@dataclass
class Suspension:
    """The session stands still (pause, time-out, stop question) since ``since_t``."""

    resume_phase: Phase
    since_t: float
    ask_phase: Phase | None = None
    """While the stop question is open: the suspended phase it interrupted, if any."""
