"""What an exercise is once loaded: steps the engine walks through, with times in seconds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from attune_voice.compat import StrEnum


class StepKind(StrEnum):
    SAY = "say"
    """Speak ``text`` to both partners."""
    FLOOR = "floor"
    """Give ``who`` the floor to speak, with a limit and time cues."""
    PARAPHRASE = "paraphrase"
    """Give ``who`` (usually the listener) the floor to say back what they heard."""
    CONFIRM = "confirm"
    """Ask ``who`` (usually the speaker) whether the paraphrase was right; "not quite"
    gives a short clarification floor and another paraphrase attempt."""
    SWAP = "swap"
    """Exchange the speaker and listener roles."""


class Who(StrEnum):
    SPEAKER = "speaker"
    LISTENER = "listener"
    PARTNER_A = "partner_a"
    PARTNER_B = "partner_b"


PLACEHOLDERS = frozenset(
    {"speaker", "listener", "partner_a", "partner_b", "limit", "remaining", "holder"}
)
"""Names that may appear in braces in any prompt text."""


@dataclass(frozen=True)
class Step:
    kind: StepKind
    text: str = ""
    """What is said when the step starts (for floor kinds: the prompt giving the floor)."""
    who: Who = Who.SPEAKER
    limit_s: float | None = None
    """Floor limit; None takes the exercise's limit for this kind."""
    cues_s: tuple[float, ...] | None = None
    """Remaining-time cue points, seconds before the limit; None takes the exercise's."""
    line: int = 0
    """Line of the step in its TOML file, for messages."""


@dataclass(frozen=True)
class Prompts:
    """The engine's own sentences; every one may use the placeholders."""

    cue: str = "{holder}, {remaining} left."
    overtime: str = "That's the time, {holder}. Finish your thought, then hand over."
    check_in: str = (
        "Take your time, {holder}. When you have finished, press the button to hand over."
    )
    clarify: str = "{speaker}, tell {listener} what they missed, or what you meant."
    retry: str = "{listener}, try once more. What did you hear?"
    confirmed: str = "Thank you. {listener}, you heard {speaker}."
    unheard: str = "Thank you both."


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    goal: str
    skill: str
    rounds: int = 1
    limit_s: float = 120.0
    """Default floor limit for floor steps."""
    paraphrase_limit_s: float = 60.0
    confirm_limit_s: float = 20.0
    cues_s: tuple[float, ...] = (60.0, 30.0)
    max_attempts: int = 2
    """Paraphrase attempts before the confirm step moves on regardless."""
    prompts: Prompts = field(default_factory=Prompts)
    opening: tuple[Step, ...] = ()
    round: tuple[Step, ...] = ()
    closing: tuple[Step, ...] = ()
    source: str = "<built-in>"

    def with_overrides(self, limit_s: float | None, rounds: int | None) -> Exercise:
        """The same exercise with the command line's floor limit and round count."""
        changed = self
        if limit_s is not None:
            changed = replace(
                changed,
                limit_s=limit_s,
                round=tuple(
                    replace(s, limit_s=None) if s.kind is StepKind.FLOOR else s
                    for s in changed.round
                ),
            )
        if rounds is not None:
            changed = replace(changed, rounds=rounds)
        return changed

    def floor_limit_s(self, step: Step) -> float:
        if step.limit_s is not None:
            return step.limit_s
        if step.kind is StepKind.PARAPHRASE:
            return self.paraphrase_limit_s
        if step.kind is StepKind.CONFIRM:
            return self.confirm_limit_s
        return self.limit_s

    def step_cues_s(self, step: Step) -> tuple[float, ...]:
        """Cue points for a floor step, keeping only those inside its limit."""
        cues = step.cues_s if step.cues_s is not None else self.cues_s
        if step.kind is not StepKind.FLOOR and step.cues_s is None:
            cues = ()
        limit_s = self.floor_limit_s(step)
        return tuple(sorted((c for c in cues if 0 < c < limit_s), reverse=True))

    def unrolled(self) -> list[tuple[int, Step]]:
        """Every step in order with its round number (0 outside the rounds)."""
        steps: list[tuple[int, Step]] = [(0, s) for s in self.opening]
        for number in range(1, self.rounds + 1):
            steps.extend((number, s) for s in self.round)
        steps.extend((0, s) for s in self.closing)
        return steps

    def settings(self) -> dict[str, object]:
        """The effective timing settings, as stored with each session."""
        return {
            "rounds": self.rounds,
            "limit_s": self.limit_s,
            "paraphrase_limit_s": self.paraphrase_limit_s,
            "confirm_limit_s": self.confirm_limit_s,
            "cues_s": list(self.cues_s),
            "max_attempts": self.max_attempts,
        }
