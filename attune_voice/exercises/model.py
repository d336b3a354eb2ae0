"""What an exercise is once loaded: steps the engine walks through, with times in seconds."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from attune_voice.bounds import BREAK_S
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
    READY = "ready"
    """Say ``text`` to both, then ask each partner by name whether they are ready and
    wait for each answer (voice or key); "not now" or silence ends the session kindly."""
    MORE = "more"
    """Ask ``who`` (the speaker) "is there more?" after a confirm step: yes (by voice or
    Y) goes back to the round's last floor step for another piece while that floor's
    time lasts; no, silence or no time left goes on to the next step."""


class Who(StrEnum):
    SPEAKER = "speaker"
    LISTENER = "listener"
    PARTNER_A = "partner_a"
    PARTNER_B = "partner_b"


NAME_PLACEHOLDERS = frozenset({"speaker", "listener", "partner_a", "partner_b"})
"""The partners' names: filled in wherever a text is spoken."""

PLACEHOLDERS = NAME_PLACEHOLDERS | {"limit", "remaining", "holder", "question", "handover"}
"""Names that may appear in braces in prompt texts (each only where it has a value)."""

CHIME_NAMES = ("bell", "bowl", "fall", "rise", "wood")
"""The chimes ``attune_voice.audio.chimes`` makes; a script may name any of them."""

NO_SOUND = "none"
"""Written instead of a chime name: no sound for that event."""

SOUND_EVENTS = ("cue", "floor_end", "overtime")
"""The events a chime can mark."""

DEFAULT_HANDOVER = ("i'm done", "over to you", "that's all")

DEFAULT_BREAK_S = BREAK_S.low
"""A time-out for flooding lasts at least 20 minutes: the body needs that long to calm."""


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
    piece_s: float | None = None
    """A floor step said in pieces: the longest one piece runs before the listener says
    it back; ``limit_s`` stays the whole floor's time. None: one piece, the whole floor."""
    line: int = 0
    """Line of the step in its TOML file, for messages."""


@dataclass(frozen=True)
class Prompts:
    """The engine's own sentences; every one may use the placeholders."""

    cue: str = "{holder}, {remaining} left."
    overtime: str = "That's the time, {holder}. Finish your thought, then hand over."
    check_in: str = (
        "Take your time, {holder}. There is no rush. When you have finished, {handover}."
    )
    clarify: str = "{speaker}, tell {listener} what they missed, or what you meant."
    retry: str = "{listener}, try once more. What did you hear?"
    confirmed: str = "Thank you. {listener}, you heard {speaker}."
    unheard: str = "{speaker}, thank you; it is not always easy to hear. We can come back to it."
    go_on: str = "Go on, {speaker}."
    piece_end: str = "Let's stop there for a moment, {holder}, so that {listener} can say it back."


@dataclass(frozen=True)
class Sounds:
    """Which chime marks each event: a name from ``CHIME_NAMES`` or ``NO_SOUND``."""

    cue: str = "bell"
    """A soft single chime just before a time cue is spoken."""
    floor_end: str = "fall"
    """Two falling notes when a floor ends, so the hand-over is heard, not seen."""
    overtime: str = "bowl"
    """A low, slow bowl at the limit: a reminder, never a cut-off."""
    silent: bool = False
    """No chimes at all, whatever the names say."""

    def chime_for(self, event: str) -> str | None:
        """The chime to play for ``event`` (one of ``SOUND_EVENTS``), or None for silence."""
        if event not in SOUND_EVENTS:
            raise ValueError(f"no sound event {event!r}; the events are {SOUND_EVENTS}")
        name: str = getattr(self, event)
        return None if self.silent or name == NO_SOUND else name


def cues_within(cues_s: Iterable[float], limit_s: float) -> tuple[float, ...]:
    """The cue points, longest first, that fall in the second half of a floor of
    ``limit_s``: a time cue never lands early in a short turn ("twenty seconds left" ten
    seconds into an appreciation of thirty)."""
    return tuple(sorted((c for c in cues_s if 0 < c <= limit_s / 2), reverse=True))


def pick_question(bank: Sequence[str], used: Sequence[str]) -> str:
    """The next question to ask from ``bank``, given every question ``used`` so far (oldest
    first, across sessions).

    No question comes back until every question in the bank has been asked; then a new
    cycle starts, and the half of the bank asked most recently waits until last. The first
    question ever asked is the bank's first; after that the order is varied but depends
    only on ``used``, so the same history always gives the same question.
    """
    pool = list(dict.fromkeys(bank))
    if not pool:
        raise ValueError("the question bank is empty")
    known = set(pool)
    cycle: list[str] = []
    previous: list[str] = []
    for question in used:
        if question in known and question not in cycle:
            cycle.append(question)
            if len(cycle) == len(pool):
                previous, cycle = cycle, []
    fresh = [q for q in pool if q not in cycle]
    held = set(previous[len(previous) - len(pool) // 2 :]) if len(pool) > 1 else set()
    fresh = [q for q in fresh if q not in held] or fresh
    return fresh[zlib.crc32("\n".join(used).encode("utf-8")) % len(fresh)]


def pick_questions(bank: Sequence[str], used: Sequence[str], count: int) -> list[str]:
    """``count`` questions in a row, each picked as if the ones before had been asked."""
    picked: list[str] = []
    for _ in range(count):
        picked.append(pick_question(bank, [*used, *picked]))
    return picked


def fill_question(text: str, question: str) -> str:
    """``text`` with each ``{question}`` replaced; ``{{`` and ``}}`` stay literal braces."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith(("{{", "}}"), i):
            out.append(text[i : i + 2])
            i += 2
        elif text.startswith("{question}", i):
            out.append(question)
            i += len("{question}")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def says_question(text: str) -> bool:
    return fill_question(text, "\0") != text


MAY_CUT = frozenset({"cue", "check_in", "overtime", "more_time", "repeat", "piece_end"})
"""Prompts a partner may talk over and stop, unless an exercise says otherwise."""


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
    handover_phrases: tuple[str, ...] = DEFAULT_HANDOVER
    """Spoken phrases that hand the floor over, lowercase; empty: only the button does."""
    break_s: float = DEFAULT_BREAK_S
    """How long a time-out lasts when either partner asks for a break."""
    sounds: Sounds = field(default_factory=Sounds)
    may_cut: frozenset[str] = MAY_CUT
    """The purposes of the prompts the coach stops when a partner keeps talking over
    them: its own short reminders. A step's lines (the safety lines among them), the
    questions and what the way out says are always said to the end."""
    questions: tuple[str, ...] = ()
    """The question bank for ``{question}``; see ``pick_question``."""
    asked: tuple[str, ...] = ()
    """The questions drawn for this session, in order (see ``with_questions``); when there
    are fewer than the session asks, the rest are drawn from the bank after these."""

    def with_overrides(
        self, limit_s: float | None, rounds: int | None, *, silent: bool | None = None
    ) -> Exercise:
        """The same exercise with the command line's floor limit, round count and sound.

        The limit replaces the exercise's floor limit. Floor steps with a limit of their
        own (a short question, an appreciation) keep it, but never run past the new limit.
        """
        changed = self
        if limit_s is not None:

            def capped(steps: tuple[Step, ...]) -> tuple[Step, ...]:
                return tuple(
                    replace(s, limit_s=min(s.limit_s, limit_s))
                    if s.kind is StepKind.FLOOR and s.limit_s is not None
                    else s
                    for s in steps
                )

            changed = replace(
                changed,
                limit_s=limit_s,
                opening=capped(changed.opening),
                round=capped(changed.round),
                closing=capped(changed.closing),
            )
        if rounds is not None:
            changed = replace(changed, rounds=rounds)
        if silent is not None:
            changed = replace(changed, sounds=replace(changed.sounds, silent=silent))
        return changed

    def with_questions(self, asked: Sequence[str]) -> Exercise:
        """The same exercise asking these questions, in order (from ``pick_questions``)."""
        return replace(self, asked=tuple(asked))

    def floor_limit_s(self, step: Step) -> float:
        if step.limit_s is not None:
            return step.limit_s
        if step.kind is StepKind.PARAPHRASE:
            return self.paraphrase_limit_s
        if step.kind in (StepKind.CONFIRM, StepKind.MORE):
            return self.confirm_limit_s
        return self.limit_s

    def step_cues_s(self, step: Step) -> tuple[float, ...]:
        """Cue points for a floor step, keeping only those in its second half."""
        cues = step.cues_s if step.cues_s is not None else self.cues_s
        if step.kind is not StepKind.FLOOR and step.cues_s is None:
            cues = ()
        return cues_within(cues, self.floor_limit_s(step))

    def _template_steps(self) -> Iterator[tuple[int, Step]]:
        yield from ((0, s) for s in self.opening)
        for number in range(1, self.rounds + 1):
            yield from ((number, s) for s in self.round)
        yield from ((0, s) for s in self.closing)

    def questions_needed(self) -> int:
        """How many questions one session asks: one per floor step that says {question}
        (and one for a first non-floor step that says it before any floor step has)."""
        count = 0
        for _, step in self._template_steps():
            if says_question(step.text) and (step.kind is StepKind.FLOOR or count == 0):
                count += 1
        return count

    def session_questions(self) -> tuple[str, ...]:
        """The questions this session asks: ``asked``, completed from the bank."""
        needed = self.questions_needed()
        if not self.questions or len(self.asked) >= needed:
            return self.asked[:needed]
        return (
            *self.asked,
            *pick_questions(self.questions, self.asked, needed - len(self.asked)),
        )

    def unrolled(self) -> list[tuple[int, Step]]:
        """Every step in order with its round number (0 outside the rounds), with each
        ``{question}`` filled in: a floor step asks the next question, any other step
        repeats the one asked last."""
        questions = iter(self.session_questions())
        current: str | None = None
        steps: list[tuple[int, Step]] = []
        for number, template in self._template_steps():
            step = template
            if says_question(template.text):
                if template.kind is StepKind.FLOOR or current is None:
                    current = next(questions, "")
                step = replace(template, text=fill_question(template.text, current))
            steps.append((number, step))
        return steps

    def settings(self) -> dict[str, object]:
        """The effective timing settings, as stored with each session."""
        settings: dict[str, object] = {
            "rounds": self.rounds,
            "limit_s": self.limit_s,
            "paraphrase_limit_s": self.paraphrase_limit_s,
            "confirm_limit_s": self.confirm_limit_s,
            "cues_s": list(self.cues_s),
            "max_attempts": self.max_attempts,
            "break_s": self.break_s,
        }
        if self.questions:
            settings["questions"] = list(self.session_questions())
        return settings
