"""The order a block's steps must keep: a confirm after its paraphrase, a more after its confirm."""

from __future__ import annotations

from collections.abc import Sequence

from attune_voice.exercises.model import Step, StepKind
from attune_voice.exercises.timing import FLOOR_KINDS

OrderProblem = tuple[int, str, str]
"""(line, what is wrong, what to write instead)."""


def order_problems(name: str, steps: Sequence[tuple[StepKind | None, Step]]) -> list[OrderProblem]:
    """Every step of the ``[[name]]`` block out of its place (a kind of None is unknown)."""
    return [*_confirms(name, steps), *_pieces(name, steps)]


def _confirms(name: str, steps: Sequence[tuple[StepKind | None, Step]]) -> list[OrderProblem]:
    # The speaker can only confirm a paraphrase that has just been said.
    problems = []
    paraphrased = False
    for kind, step in steps:
        if kind is StepKind.CONFIRM and not paraphrased:
            problems.append(
                (
                    step.line,
                    f"this confirm step in [[{name}]] does not follow a paraphrase step",
                    f'put a [[{name}]] step with kind = "paraphrase" just before it',
                )
            )
        if kind is StepKind.PARAPHRASE:
            paraphrased = True
        elif kind in (StepKind.FLOOR, StepKind.CONFIRM, StepKind.SWAP):
            paraphrased = False
    return problems


def _pieces(name: str, steps: Sequence[tuple[StepKind | None, Step]]) -> list[OrderProblem]:
    """A "more" step asks for another piece of a floor said in pieces, once its last piece
    has been said back and confirmed; a floor said in pieces needs one to go on."""
    problems: list[OrderProblem] = []
    pieced: Step | None = None
    """The floor step said in pieces that a "more" step would go back to."""
    last_floor: StepKind | None = None
    for kind, step in steps:
        if kind is StepKind.MORE:
            if pieced is None:
                problems.append(
                    (
                        step.line,
                        f"this more step in [[{name}]] has no floor to go back to",
                        f"give a floor step before it in [[{name}]] a piece, like "
                        'piece = "40s", with no swap between',
                    )
                )
            elif last_floor is not StepKind.CONFIRM:
                problems.append(
                    (
                        step.line,
                        f"this more step in [[{name}]] does not follow a confirm step",
                        "ask whether there is more once the piece has been said back and "
                        'confirmed: put it just after the kind = "confirm" step',
                    )
                )
            pieced = None
        elif kind is StepKind.SWAP or (kind is StepKind.FLOOR and step.piece_s is not None):
            problems += _unfinished(name, pieced)
            pieced = step if kind is StepKind.FLOOR else None
        if kind in FLOOR_KINDS:
            last_floor = kind
    return problems + _unfinished(name, pieced)


def _unfinished(name: str, pieced: Step | None) -> list[OrderProblem]:
    if pieced is None:
        return []
    return [
        (
            pieced.line,
            f"this floor step in [[{name}]] is said in pieces, but no more step asks "
            "for the next piece",
            'after its paraphrase and confirm steps, add a step with kind = "more" and '
            'text = "{speaker}, is there more?"; or remove piece',
        )
    ]
