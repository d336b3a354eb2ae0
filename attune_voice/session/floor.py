"""The floor: who a step gives it to and for how long, the floor on offer and the open one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from attune_voice.events import FloorRole
from attune_voice.exercises.model import Exercise, Step, StepKind, Who

OTHER = {"A": "B", "B": "A"}


@dataclass
class Floor:
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
    extended: bool = False
    """"more time" was granted on this floor."""
    all_cues_s: tuple[float, ...] = ()

    @property
    def limit_t(self) -> float:
        return self.start_t + self.limit_s


@dataclass(frozen=True)
class PendingFloor:
    """The floor a prompt is offering: it opens when the prompt ends."""

    partner: str
    role: FloorRole
    limit_s: float
    cues_s: tuple[float, ...]
    attempt: int


def is_holder(partner: str | None, floor: Floor) -> bool:
    return partner is None or partner == floor.partner


def role_for(step: Step) -> FloorRole:
    if step.kind is StepKind.PARAPHRASE:
        return FloorRole.PARAPHRASE
    if step.kind is StepKind.CONFIRM:
        return FloorRole.CONFIRM
    return FloorRole.SPEAK


def partner_for(who: Who, speaker: str) -> str:
    return {
        Who.SPEAKER: speaker,
        Who.LISTENER: OTHER[speaker],
        Who.PARTNER_A: "A",
        Who.PARTNER_B: "B",
    }[who]


def floor_for(exercise: Exercise, step: Step, role: FloorRole, speaker: str) -> tuple[str, float]:
    """(holder, limit_s) of the floor ``step`` gives in ``role`` with this speaker."""
    limit_s = exercise.floor_limit_s(step)
    if role is FloorRole.CLARIFY:
        limit_s = exercise.paraphrase_limit_s
    return partner_for(step.who, speaker), limit_s


def paraphrase_index(steps: Sequence[tuple[int, Step]], index: int) -> int:
    """The paraphrase step before the confirm step at ``index``, which asked for it."""
    while index > 0 and steps[index][1].kind is not StepKind.PARAPHRASE:
        index -= 1
    return index


def context(speaker: str, floor: Floor | None) -> tuple[str, str, float]:
    """(speaker, holder, floor limit) for a prompt said now."""
    if floor is None:
        return speaker, speaker, 0.0
    return speaker, floor.partner, floor.limit_s
