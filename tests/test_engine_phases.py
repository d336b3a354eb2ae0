"""The engine's phases: every move the table allows is made by some session, and only those.

``SessionEngine._enter`` refuses a move that ``MOVES`` does not list, so the sessions here
(a busy couple using every command and key, and sessions stopped in every phase) would
fail on a move missing from the table; the test then checks that no move in the table
is one the engine never makes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_script import Harness, Script, busy_session, drive, key, voice

from attune_voice.events import CommandWord, EndReason, FloorGiven
from attune_voice.exercises.library import load_exercise
from attune_voice.session.engine import SessionEngine
from attune_voice.session.phases import MOVES, Phase
from attune_voice.session.ports import Stop

Move = tuple[Phase, Phase]
W = CommandWord


@pytest.fixture
def moves(monkeypatch: pytest.MonkeyPatch) -> set[Move]:
    """The moves every engine made during the test, seen through ``_enter``."""
    made: set[Move] = set()
    enter = SessionEngine._enter

    def watched(engine: SessionEngine, phase: Phase) -> None:
        made.add((engine.phase, phase))
        enter(engine, phase)

    monkeypatch.setattr(SessionEngine, "_enter", watched)
    return made


def stop(t: float) -> tuple[float, Stop]:
    return (t, Stop(t, EndReason.INTERRUPTED))


ON_THE_FIRST_FLOOR: tuple[Callable[[float], Script], ...] = (
    lambda t: [stop(t + 1)],
    lambda t: [voice(t + 1, W.PAUSE), stop(t + 3)],
    lambda t: [voice(t + 1, W.TIME_OUT), stop(t + 3)],
    lambda t: [voice(t + 1, W.STOP), stop(t + 3)],
    lambda t: [voice(t + 1, W.STOP), voice(t + 3, W.YES)],
    # While the next prompt plays.
    lambda t: [key(t + 1), stop(t + 1.2)],
    lambda t: [key(t + 1), voice(t + 1.2, W.PAUSE), stop(t + 3)],
    lambda t: [key(t + 1), voice(t + 1.2, W.TIME_OUT), stop(t + 3)],
    lambda t: [key(t + 1), voice(t + 1.2, W.STOP), stop(t + 3)],
)
"""What happens on the first floor of a session that then ends there."""


def stopped(first_floor: Callable[[float], Script]) -> Harness:
    h = Harness(load_exercise("speaker-listener"), understands_speech=True)

    def behave(number: int, floor: FloorGiven) -> Script:
        return first_floor(floor.t) if number == 0 else []

    drive(h, 600.0, behave)
    return h


def test_every_move_in_the_table_is_made_and_no_other(moves: set[Move]) -> None:
    busy = busy_session("speaker-listener")
    assert busy.engine.end_reason is EndReason.COMPLETED
    before_the_start = Harness(load_exercise("speaker-listener"))
    before_the_start.handle(Stop(0.0, EndReason.INTERRUPTED))
    for first_floor in ON_THE_FIRST_FLOOR:
        assert stopped(first_floor).engine.done
    allowed = {(a, b) for a, targets in MOVES.items() for b in targets}
    assert moves == allowed
