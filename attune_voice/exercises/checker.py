"""Check a parsed exercise script: every problem with its line and what to write instead."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from attune_voice.bounds import BREAK_S, FLOOR_LIMIT_S, MAX_ATTEMPTS, ROUNDS, Bound
from attune_voice.durations import format_duration, parse_duration_s
from attune_voice.exercises import talked_over
from attune_voice.exercises.folders import SLUG
from attune_voice.exercises.model import (
    CHIME_NAMES,
    DEFAULT_BREAK_S,
    NAME_PLACEHOLDERS,
    NO_SOUND,
    PLACEHOLDERS,
    SOUND_EVENTS,
    Exercise,
    Prompts,
    Sounds,
    Step,
    StepKind,
    Who,
    says_question,
)
from attune_voice.exercises.source_lines import Place, SourceLines
from attune_voice.exercises.step_order import order_problems
from attune_voice.exercises.timing import (
    FLOOR_KINDS,
    MAX_PROMPT_S,
    estimate_speech_s,
    split_long_says,
    split_sentences,
)
from attune_voice.exercises.wording import closest, is_step_list, one_of, shown, written

__all__ = ["Checker", "Problem"]

_ABOUT_WORDS = "about 60 words"

_DURATION_HINT = "write it like 90s, 2m or 1m30s"
_BLOCKS = ("opening", "round", "closing")
_TOP_KEYS = (
    "name",
    "title",
    "goal",
    "skill",
    "rounds",
    "limit",
    "paraphrase_limit",
    "confirm_limit",
    "cues",
    "max_attempts",
    "handover",
    "break",
    "questions",
    "prompts",
    "sounds",
    talked_over.KEY,
    *_BLOCKS,
)
_STEP_KEYS = ("kind", "text", "who", "limit", "cues", "piece")
_PROMPT_KEYS = tuple(f.name for f in fields(Prompts))
_SOUND_KEYS = (*SOUND_EVENTS, "silent")
_DEFAULT_WHO = {StepKind.PARAPHRASE: Who.LISTENER}
_BASE = Exercise(name="", title="", goal="", skill="")
"""The model's defaults, for settings a script leaves out."""

# Which placeholders have a value where: elsewhere the engine would speak them as nothing.
_ANYWHERE = NAME_PLACEHOLDERS | {"handover"}
_IN_FLOOR = _ANYWHERE | {"holder", "limit"}
_STEP_PLACEHOLDERS = {
    StepKind.SAY: _ANYWHERE | {"question"},
    StepKind.FLOOR: _IN_FLOOR | {"question"},
    StepKind.PARAPHRASE: _IN_FLOOR | {"question"},
    StepKind.CONFIRM: _IN_FLOOR | {"question"},
    StepKind.MORE: _IN_FLOOR | {"question"},
    StepKind.SWAP: _ANYWHERE,
    StepKind.READY: _ANYWHERE,
}
_PROMPT_PLACEHOLDERS = {
    "cue": _IN_FLOOR | {"remaining"},
    "overtime": _IN_FLOOR,
    "check_in": _IN_FLOOR,
    "clarify": _IN_FLOOR,
    "retry": _IN_FLOOR,
    "confirmed": _ANYWHERE,
    "unheard": _ANYWHERE,
    "go_on": _ANYWHERE,
    "piece_end": _IN_FLOOR,
}
_WHERE_FILLED = {
    "holder": "floor steps and the cue, overtime, check_in, clarify, retry and piece_end prompts",
    "limit": "floor steps and the cue, overtime, check_in, clarify, retry and piece_end prompts",
    "remaining": "the cue prompt",
    "question": "step texts",
    "handover": "step texts and prompts",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a script: where it is, what is wrong, and what to write instead."""

    line: int
    """1-based line in the script; 0 when the problem concerns the whole file."""
    message: str
    suggestion: str

    def __str__(self) -> str:
        text = f"{self.message}; {self.suggestion}" if self.suggestion else self.message
        return f"{self.line}: {text}" if self.line else text

    def at(self, source: str) -> str:
        """The problem as one line in the usual ``file:line: message`` form."""
        return f"{source}:{self}" if self.line else f"{source}: {self}"


def _seconds(value: object) -> float | None:
    """Seconds for a written duration (text, or a bare number of seconds), or None."""
    if isinstance(value, str):
        try:
            return parse_duration_s(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # a whole number past any float: longer than any bound
            return math.inf
        return seconds if math.isfinite(seconds) else None
    return None


class Checker:
    """Walks a parsed script, collecting every problem instead of stopping at the first."""

    def __init__(self, lines: SourceLines) -> None:
        self.lines = lines
        self.problems: list[Problem] = []
        self.guessed: set[Place] = set()
        """Places an unknown key was probably meant for: no "missing" problem for those."""
        self.longest_question = ""
        """The bank's longest question, for the length of texts that say {question}."""

    def add(self, place: Place, message: str, suggestion: str, needle: str = "") -> None:
        # A key that is not there at all (name = ...) is added at the top of the file.
        line = self.lines.line_of(place, needle) or 1
        self.problems.append(Problem(line, message, suggestion))

    def unknown_keys(
        self, table: Mapping[str, object], known: tuple[str, ...], at: Place, label: str
    ) -> None:
        for key, value in table.items():
            if key in known:
                continue
            # Compare like with like, so that [[rouns]] suggests [[round]], not rounds.
            alike = [k for k in known if (k in _BLOCKS) == is_step_list(value)]
            close = closest(key, alike or known)
            if close:
                self.guessed.add((*at, close))
                suggestion = f"did you mean {written(close, value)}?"
            else:
                suggestion = f"the keys {label or 'at the top'} are {one_of(known)}"
            where = f" in {label}" if label else ""
            self.add((*at, key), f"unknown key {written(key, value)}{where}", suggestion)

    def text(
        self,
        place: Place,
        value: object,
        *,
        required: bool,
        allowed: frozenset[str] | None = None,
        context: str = "",
    ) -> str | None:
        """A non-empty string, with its placeholders checked against ``allowed`` (all of
        them when None); ``context`` names where the text is, for messages."""
        name = str(place[-1])
        if value is None:
            if required and place not in self.guessed:
                self.add(place, f"{name} is missing", f'add {name} = "..."')
            return None
        if not isinstance(value, str):
            self.add(place, f"{name} must be text, not {shown(value)}", f'write {name} = "..."')
            return None
        if not value.strip():
            self.add(place, f"{name} is empty", f'write {name} = "..." with the words to use')
            return None
        self.placeholders(place, value, PLACEHOLDERS if allowed is None else allowed, context)
        return value

    def placeholders(
        self, place: Place, text: str, allowed: frozenset[str], context: str = ""
    ) -> None:
        # Prompts are filled in with str.format, so "{{" and "}}" stand for literal braces.
        valid = "{" + "}, {".join(sorted(PLACEHOLDERS)) + "}"
        usable = "{" + "}, {".join(sorted(allowed)) + "}"
        literal = "or write {{ and }} for a literal brace"
        i = 0
        while i < len(text):
            if text.startswith(("{{", "}}"), i):
                i += 2
            elif text[i] == "}":
                before = text[max(0, i - 12) : i + 1].splitlines()[-1]
                self.add(place, 'a "}" has no opening "{"', f"write {{speaker}}, {literal}", before)
                i += 1
            elif text[i] != "{":
                i += 1
            else:
                end = text.find("}", i + 1)
                reopened = text.find("{", i + 1)
                if end == -1 or -1 < reopened < end:
                    after = text[i : i + 12].splitlines()[0]
                    self.add(
                        place, 'a "{" has no closing "}"', f"write {{speaker}}, {literal}", after
                    )
                    i += 1
                    continue
                name = text[i + 1 : end]
                needle = text[i : end + 1]
                if name not in PLACEHOLDERS:
                    close = closest(name, PLACEHOLDERS) if name else None
                    what = f"unknown placeholder {{{name}}}" if name else "empty braces {}"
                    guess = f"did you mean {{{close}}}? " if close else ""
                    self.add(place, what, f"{guess}the placeholders are {valid}", needle)
                elif name not in allowed:
                    where = f" in {context}" if context else " here"
                    self.add(
                        place,
                        f"{{{name}}} has no value{where}, so it would be spoken as nothing",
                        f"{{{name}}} is filled in only in {_WHERE_FILLED[name]}; "
                        f"here you can use {usable}",
                        needle,
                    )
                i = end + 1

    def spoken_length(self, place: Place, text: str, what: str, *, split: bool) -> None:
        """A problem when ``text`` would be spoken for more than ``MAX_PROMPT_S``; with
        ``split`` only a single sentence that long is one (the loader splits the rest)."""
        question = self.longest_question
        if split:
            for sentence in split_sentences(text):
                seconds = estimate_speech_s(sentence, question)
                if seconds > MAX_PROMPT_S:
                    self.add(
                        place,
                        f"this sentence takes about {seconds:.0f}s to say",
                        f"break it into shorter sentences: a prompt is split at sentence ends "
                        f"into parts of under {MAX_PROMPT_S:.0f}s ({_ABOUT_WORDS})",
                        sentence.split("\n")[0][:30],
                    )
            return
        seconds = estimate_speech_s(text, question)
        if seconds > MAX_PROMPT_S:
            self.add(
                place,
                f"this {what} takes about {seconds:.0f}s to say, more than {MAX_PROMPT_S:.0f}s",
                f"keep it under {_ABOUT_WORDS}; put any explanation in a say step just before it",
            )

    def whole_number(self, place: Place, value: object, bound: Bound) -> int | None:
        name = str(place[-1])
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            suggestion = f"write {name} = 2, a whole number without quotes"
            if isinstance(value, str) and value.strip().isdigit():
                suggestion = f"write {name} = {value.strip()} without quotes"
            elif name == "rounds" and is_step_list(value):
                suggestion = (
                    "the steps go in [[round]] blocks; rounds = 2 says how often they repeat"
                )
            self.add(place, f"{name} must be a whole number, not {shown(value)}", suggestion)
            return None
        if not bound.low <= value <= bound.high:
            # Said short: a number of a hundred digits would hide the message.
            shown_value = str(value) if len(str(value)) <= 12 else f"{str(value)[:9]}..."
            self.add(place, f"{name} is {shown_value}", f"write {name} = {bound.said()}")
            return None
        return value

    def duration(
        self, place: Place, value: object, what: str, bound: Bound | None = None
    ) -> float | None:
        """Seconds above zero (and inside ``bound``), from a duration string or a bare
        number of seconds."""
        if value is None:
            return None
        seconds = _seconds(value)
        if seconds is None:
            if isinstance(value, str):
                message = f"{what} {shown(value)} is not a duration"
            else:
                message = f"{what} must be a duration, not {shown(value)}"
            self.add(place, message, _DURATION_HINT, value if isinstance(value, str) else "")
            return None
        if seconds <= 0:
            self.add(place, f"{what} {shown(value)} is no time at all", _DURATION_HINT, str(value))
            return None
        if bound is not None and not bound.contains(seconds):
            size = "too long" if seconds > bound.high else "too short"
            self.add(
                place,
                f"{what} {shown(value)} is {size}",
                f"a {what} is {bound.said()}",
                str(value),
            )
            return None
        return seconds

    def cues(self, place: Place, value: object) -> tuple[float, ...] | None:
        """Remaining-time cue points, longest first; None when absent or not usable."""
        if value is None:
            return None
        if not isinstance(value, list):
            self.add(
                place,
                f"cues must be a list, not {shown(value)}",
                'write cues = ["1m", "30s"]: the time left when each cue sounds',
            )
            return None
        found: list[float] = []
        for item in value:
            seconds = self.duration(place, item, "cue")
            if seconds is not None and seconds in found:
                message = f"cue {format_duration(seconds)} is listed twice"
                self.add(place, message, "keep one of them", str(item))
            elif seconds is not None:
                found.append(seconds)
        return tuple(sorted(found, reverse=True)) if len(found) == len(value) else None

    def cues_before(self, place: Place, raw_cues: object, limit_s: float) -> None:
        if not isinstance(raw_cues, list):
            return
        for item in raw_cues:
            cue_s = _seconds(item)
            if cue_s is not None and cue_s >= limit_s:
                self.add(
                    place,
                    f"cue {format_duration(cue_s)} is not before the limit "
                    f"{format_duration(limit_s)}",
                    "a cue says how much time is LEFT, so it must be shorter than the limit",
                    str(item),
                )

    def step(self, block: str, index: int, table: dict[str, Any]) -> tuple[StepKind | None, Step]:
        """One step; its kind is None when missing or unknown (the step is then only a stand-in)."""
        at: Place = (block, index)
        self.unknown_keys(table, _STEP_KEYS, at, f"a [[{block}]] step")
        kinds = [k.value for k in StepKind]
        raw_kind = table.get("kind")
        kind: StepKind | None = None
        if raw_kind is None:
            self.add(
                at,
                f"this [[{block}]] step has no kind",
                f'add kind = "..." with one of {one_of(kinds)}',
            )
        elif isinstance(raw_kind, str) and raw_kind in kinds:
            kind = StepKind(raw_kind)
        else:
            close = closest(str(raw_kind), kinds)
            guess = f'did you mean "{close}"? ' if close else ""
            self.add(
                (*at, "kind"),
                f"unknown step kind {shown(raw_kind)}",
                f"{guess}the kinds are {one_of(kinds)}",
            )

        text = self.text(
            (*at, "text"),
            table.get("text"),
            required=kind is not StepKind.SWAP,
            allowed=_STEP_PLACEHOLDERS[kind] if kind else None,
            context=f"a {kind.value} step" if kind else "",
        )
        if text is not None and kind is not None and kind is not StepKind.SWAP:
            self.spoken_length(
                (*at, "text"), text, f"{kind.value} prompt", split=kind is StepKind.SAY
            )

        who = _DEFAULT_WHO.get(kind, Who.SPEAKER) if kind else Who.SPEAKER
        raw_who = table.get("who")
        people = [w.value for w in Who]
        if isinstance(raw_who, str) and raw_who in people:
            who = Who(raw_who)
        elif raw_who is not None:
            close = closest(str(raw_who).replace(" ", "_"), people)
            guess = f'did you mean "{close}"? ' if close else ""
            self.add((*at, "who"), f"unknown who {shown(raw_who)}", f"{guess}use {one_of(people)}")

        limit_s = self.duration((*at, "limit"), table.get("limit"), "limit", FLOOR_LIMIT_S)
        cues_s = self.cues((*at, "cues"), table.get("cues"))
        piece_s = self.duration((*at, "piece"), table.get("piece"), "piece", FLOOR_LIMIT_S)
        if kind is not None and kind is not StepKind.FLOOR and "piece" in table:
            self.add(
                (*at, "piece"),
                f"only a floor step is said in pieces, not a {kind.value} step",
                'remove piece, or make it kind = "floor"',
            )
        if kind is not None and kind not in FLOOR_KINDS:
            # A ready step's limit is how long each partner has to answer: a topic to
            # choose together takes longer than a yes.
            for key in ("cues",) if kind is StepKind.READY else ("limit", "cues"):
                if key in table:
                    self.add(
                        (*at, key),
                        f"a {kind.value} step gives nobody the floor, so it takes no {key}",
                        f"remove {key}, or make it a floor step",
                    )
        step = Step(
            kind=kind or StepKind.SAY,
            text=text or "",
            who=who,
            limit_s=limit_s,
            cues_s=cues_s,
            piece_s=piece_s,
            line=self.lines.line_of(at),
        )
        return kind, step

    def block(self, name: str, raw: object) -> list[tuple[StepKind | None, Step]]:
        if raw is None or raw == []:
            return []
        if not is_step_list(raw):
            also = "; the number of rounds is written rounds = 2" if name == "round" else ""
            self.add(
                (name,),
                f"{name} must be [[{name}]] step tables, not {shown(raw)}",
                f'start each step with a [[{name}]] line, then kind = "..." and text = "..."{also}',
            )
            return []
        assert isinstance(raw, list)  # narrowed by is_step_list, which mypy cannot see
        steps = [self.step(name, i, table) for i, table in enumerate(raw)]
        for line, message, suggestion in order_problems(name, steps):
            self.problems.append(Problem(line, message, suggestion))
        return steps

    def prompts(self, raw: object) -> Prompts:
        if raw is None:
            return Prompts()
        if not isinstance(raw, dict):
            self.add(
                ("prompts",),
                f"prompts must be a [prompts] table, not {shown(raw)}",
                'write a [prompts] line, then cue = "..." and the other prompts under it',
            )
            return Prompts()
        self.unknown_keys(raw, _PROMPT_KEYS, ("prompts",), "[prompts]")
        values: dict[str, str] = {}
        for key in _PROMPT_KEYS:
            text = self.text(
                ("prompts", key),
                raw.get(key),
                required=False,
                allowed=_PROMPT_PLACEHOLDERS[key],
                context=f"the {key} prompt",
            )
            if text is not None:
                self.spoken_length(("prompts", key), text, f"{key} prompt", split=False)
                values[key] = text
        return Prompts(**values)

    def sounds(self, raw: object) -> Sounds:
        if raw is None:
            return Sounds()
        if not isinstance(raw, dict):
            self.add(
                ("sounds",),
                f"sounds must be a [sounds] table, not {shown(raw)}",
                'write a [sounds] line, then cue = "bell" or silent = true under it',
            )
            return Sounds()
        self.unknown_keys(raw, _SOUND_KEYS, ("sounds",), "[sounds]")
        choices = [*CHIME_NAMES, NO_SOUND]
        values: dict[str, str] = {}
        for event in SOUND_EVENTS:
            value = raw.get(event)
            if value is None:
                continue
            if isinstance(value, str) and value in choices:
                values[event] = value
                continue
            close = closest(str(value), choices) if isinstance(value, str) else None
            guess = f'did you mean "{close}"? ' if close else ""
            self.add(
                ("sounds", event),
                f"unknown sound {shown(value)} for {event}",
                f'{guess}the sounds are {one_of(CHIME_NAMES)}, or "{NO_SOUND}" for no sound',
            )
        silent = raw.get("silent", False)
        if not isinstance(silent, bool):
            self.add(
                ("sounds", "silent"),
                f"silent must be true or false, not {shown(silent)}",
                "write silent = true (no chimes at all) without quotes",
            )
            silent = False
        return Sounds(**values, silent=silent)

    def handover(self, raw: object) -> tuple[str, ...] | None:
        """Hand-over phrases, lowercase; None when absent or not usable."""
        if raw is None:
            return None
        hint = 'write handover = ["i\'m done", "over to you"]'
        if not isinstance(raw, list):
            self.add(("handover",), f"handover must be a list, not {shown(raw)}", hint)
            return None
        phrases: list[str] = []
        for item in raw:
            if not isinstance(item, str) or not item.strip():
                self.add(
                    ("handover",), f"a hand-over phrase must be words, not {shown(item)}", hint
                )
                continue
            phrase = " ".join(item.lower().split())
            if len(phrase.split()) > 4:
                self.add(
                    ("handover",),
                    f"the hand-over phrase {shown(item)} is long",
                    'use a short phrase of up to four words, like "over to you"',
                    item,
                )
            elif phrase in phrases:
                self.add(("handover",), f"{shown(item)} is listed twice", "keep one", item)
            else:
                phrases.append(phrase)
        return tuple(phrases) if len(phrases) == len(raw) else None

    def break_length(self, raw: object) -> float | None:
        seconds = self.duration(("break",), raw, "break")
        if seconds is not None and seconds > BREAK_S.high:
            self.add(
                ("break",),
                f"a break of {format_duration(seconds)} is too long",
                f"a time-out lasts {BREAK_S.said()}",
            )
            return None
        if seconds is not None and seconds < DEFAULT_BREAK_S:
            self.add(
                ("break",),
                f"a break of {format_duration(seconds)} is too short to calm down",
                f"a real time-out lasts at least {format_duration(DEFAULT_BREAK_S)}; "
                f'write break = "{format_duration(DEFAULT_BREAK_S)}" or more',
            )
            return None
        return seconds

    def question_bank(self, raw: object) -> tuple[str, ...] | None:
        if raw is None:
            return None
        hint = 'write questions = ["What was the best part of your day?", "..."]'
        if not isinstance(raw, list) or not raw:
            what = "an empty list" if raw == [] else shown(raw)
            self.add(("questions",), f"questions must be a list of questions, not {what}", hint)
            return None
        bank: list[str] = []
        for item in raw:
            if not isinstance(item, str) or not item.strip():
                self.add(("questions",), f"a question must be text, not {shown(item)}", hint)
                continue
            self.placeholders(("questions",), item, NAME_PLACEHOLDERS, "a question")
            if item in bank:
                self.add(("questions",), f"{shown(item)} is listed twice", "keep one", item)
                continue
            bank.append(item)
        if len(bank) != len(raw):
            return None
        self.longest_question = max(bank, key=lambda q: len(q.split()))
        return tuple(bank)

    def exercise(self, data: dict[str, Any], source: str) -> Exercise | None:
        self.unknown_keys(data, _TOP_KEYS, (), "")
        name = self.text(("name",), data.get("name"), required=True)
        if name is not None and not SLUG.fullmatch(name):
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "my-exercise"
            self.add(
                ("name",),
                f"name {shown(name)} is not a short name",
                f'use lowercase letters, digits and hyphens, like name = "{slug}"',
            )
            name = None
        title = self.text(("title",), data.get("title"), required=False)
        goal = self.text(("goal",), data.get("goal"), required=False)
        skill = self.text(("skill",), data.get("skill"), required=True)
        rounds = self.whole_number(("rounds",), data.get("rounds"), ROUNDS)
        max_attempts = self.whole_number(("max_attempts",), data.get("max_attempts"), MAX_ATTEMPTS)
        limit_s = self.duration(("limit",), data.get("limit"), "limit", FLOOR_LIMIT_S)
        paraphrase_s = self.duration(
            ("paraphrase_limit",), data.get("paraphrase_limit"), "limit", FLOOR_LIMIT_S
        )
        confirm_s = self.duration(
            ("confirm_limit",), data.get("confirm_limit"), "limit", FLOOR_LIMIT_S
        )
        cues_s = self.cues(("cues",), data.get("cues"))
        handover = self.handover(data.get("handover"))
        break_s = self.break_length(data.get("break"))
        questions = self.question_bank(data.get("questions"))
        prompts = self.prompts(data.get("prompts"))
        sounds = self.sounds(data.get("sounds"))
        may_cut = talked_over.stop_when_talked_over(
            data.get(talked_over.KEY), lambda *problem: self.add((talked_over.KEY,), *problem)
        )
        blocks = {block: self.block(block, data.get(block)) for block in _BLOCKS}
        self.question_use(blocks, data)

        # The timings as they will be used, so that cues are checked against real limits.
        timed = replace(
            _BASE,
            limit_s=_BASE.limit_s if limit_s is None else limit_s,
            paraphrase_limit_s=_BASE.paraphrase_limit_s if paraphrase_s is None else paraphrase_s,
            confirm_limit_s=_BASE.confirm_limit_s if confirm_s is None else confirm_s,
        )
        if cues_s is not None:
            self.cues_before(("cues",), data.get("cues"), timed.limit_s)
        for block, steps in blocks.items():
            for index, (kind, step) in enumerate(steps):
                if kind in FLOOR_KINDS and step.cues_s is not None:
                    raw_cues = data[block][index].get("cues")
                    self.cues_before((block, index, "cues"), raw_cues, timed.floor_limit_s(step))
                if step.piece_s is not None and step.piece_s >= timed.floor_limit_s(step):
                    self.add(
                        (block, index, "piece"),
                        f"a piece of {format_duration(step.piece_s)} is not shorter than "
                        f"the floor's limit {format_duration(timed.floor_limit_s(step))}",
                        "a piece is a part of the floor's time: make it shorter, "
                        'like piece = "40s" in a floor of "2m"',
                    )

        if all(not data.get(block) for block in _BLOCKS):
            # Steps are added after the settings: at the end of the file.
            self.problems.append(
                Problem(
                    max(1, self.lines.count),
                    "the script has no steps",
                    "add [[opening]], [[round]] or [[closing]] blocks, "
                    'each with kind = "..." and text = "..."',
                )
            )
        if rounds is not None and "round" not in data:
            self.add(
                ("rounds",),
                "rounds is set but there are no [[round]] steps to repeat",
                "add [[round]] steps, or remove rounds",
            )

        if self.problems or name is None or skill is None:
            return None
        return replace(
            timed,
            name=name,
            title=title or name.replace("-", " ").capitalize(),
            goal=goal or "",
            skill=skill,
            rounds=_BASE.rounds if rounds is None else rounds,
            max_attempts=_BASE.max_attempts if max_attempts is None else max_attempts,
            cues_s=_BASE.cues_s if cues_s is None else cues_s,
            prompts=prompts,
            opening=split_long_says(step for _, step in blocks["opening"]),
            round=split_long_says(step for _, step in blocks["round"]),
            closing=split_long_says(step for _, step in blocks["closing"]),
            source=source,
            handover_phrases=_BASE.handover_phrases if handover is None else handover,
            break_s=_BASE.break_s if break_s is None else break_s,
            sounds=sounds,
            may_cut=_BASE.may_cut if may_cut is None else may_cut,
            questions=questions or (),
        )

    def question_use(
        self, blocks: dict[str, list[tuple[StepKind | None, Step]]], data: dict[str, Any]
    ) -> None:
        """{question} needs a bank, and a bank needs a step that asks its questions."""
        asking = [
            (block, index)
            for block, steps in blocks.items()
            for index, (_, step) in enumerate(steps)
            if says_question(step.text)
        ]
        has_bank = "questions" in data
        if asking and not has_bank:
            block, index = asking[0]
            self.add(
                (block, index, "text"),
                "{question} is used but the script has no questions",
                'add questions = ["What ...?", "How ...?"] at the top, before any [[...]] line',
                "{question}",
            )
        if has_bank and not asking:
            self.add(
                ("questions",),
                "there are questions but no step asks them",
                'put {question} in a floor step, like text = "{speaker}, {question}"',
            )
