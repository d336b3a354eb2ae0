"""Load and check exercise scripts (TOML): every problem with its line and what to write instead."""

from __future__ import annotations

import bisect
import difflib
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from attune_voice.durations import format_duration, parse_duration_s
from attune_voice.errors import ScriptError
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
    fill_question,
    says_question,
)

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable

    import tomllib
else:  # pragma: no cover - Python 3.10
    # tomli is only installed on 3.10, where mypy (python_version 3.10) looks for it.
    from importlib.abc import Traversable

    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "MAX_PROMPT_S",
    "Problem",
    "builtin_names",
    "builtin_text",
    "check_exercise_file",
    "check_exercise_text",
    "copy_of_script",
    "custom_folder",
    "custom_names",
    "describe",
    "estimate_speech_s",
    "estimated_duration_s",
    "exercise_template",
    "is_exercise_name",
    "library",
    "load_exercise",
    "load_exercise_file",
    "script_text",
]

MAX_PROMPT_S = 25.0
"""The longest one spoken prompt should run; a longer ``say`` text is split at sentence ends."""
SECONDS_PER_WORD = 0.3
SECONDS_PER_PAUSE = 0.5
"""After a comma, colon or semicolon."""
SECONDS_PER_SENTENCE = 0.7
"""After a full stop, question mark or exclamation mark."""
# Fitted to the prompt voice on the built-in prompts (0.23 s a word, 0.5 s a pause,
# 0.7 s a sentence end), then rounded up so that an estimate errs long.
_PLACEHOLDER_WORDS = {"limit": 5.0, "remaining": 5.0}
"""Words a placeholder counts as: "two minutes and thirty seconds"; a name counts 1.5."""
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
    *_BLOCKS,
)
_STEP_KEYS = ("kind", "text", "who", "limit", "cues")
_PROMPT_KEYS = tuple(f.name for f in fields(Prompts))
_SOUND_KEYS = (*SOUND_EVENTS, "silent")
_FLOOR_KINDS = frozenset({StepKind.FLOOR, StepKind.PARAPHRASE, StepKind.CONFIRM})
_DEFAULT_WHO = {StepKind.PARAPHRASE: Who.LISTENER}
_BASE = Exercise(name="", title="", goal="", skill="")
"""The model's defaults, for settings a script leaves out."""
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# Which placeholders have a value where: elsewhere the engine would speak them as nothing.
_IN_FLOOR = NAME_PLACEHOLDERS | {"holder", "limit"}
_STEP_PLACEHOLDERS = {
    StepKind.SAY: NAME_PLACEHOLDERS | {"question"},
    StepKind.FLOOR: _IN_FLOOR | {"question"},
    StepKind.PARAPHRASE: _IN_FLOOR | {"question"},
    StepKind.CONFIRM: _IN_FLOOR | {"question"},
    StepKind.SWAP: NAME_PLACEHOLDERS,
}
_PROMPT_PLACEHOLDERS = {
    "cue": _IN_FLOOR | {"remaining"},
    "overtime": _IN_FLOOR,
    "check_in": _IN_FLOOR,
    "clarify": _IN_FLOOR,
    "retry": _IN_FLOOR,
    "confirmed": NAME_PLACEHOLDERS,
    "unheard": NAME_PLACEHOLDERS,
}
_WHERE_FILLED = {
    "holder": "floor steps and the cue, overtime, check_in, clarify and retry prompts",
    "limit": "floor steps and the cue, overtime, check_in, clarify and retry prompts",
    "remaining": "the cue prompt",
    "question": "step texts",
}

# An element of a place in the parsed document: a key, or an index into an array of tables.
_Place = tuple[str | int, ...]


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


# ---------------------------------------------------------------------------------------------
# Finding lines. tomllib returns values without positions, so the source is scanned once here:
# every table header and key line is recorded under its place in the document.

_BARE_KEY = r"[A-Za-z0-9_-]+"
_KEY_PART = rf"""(?:{_BARE_KEY}|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEY_PATH = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_ARRAY_HEADER = re.compile(rf"\s*\[\[\s*({_KEY_PATH})\s*\]\]")
_TABLE_HEADER = re.compile(rf"\s*\[\s*({_KEY_PATH})\s*\]")
_KEY_LINE = re.compile(rf"\s*({_KEY_PATH})\s*=")
_KEY_PARTS = re.compile(_KEY_PART)


def _key_parts(path: str) -> tuple[str, ...]:
    return tuple(part.strip("\"'") for part in _KEY_PARTS.findall(path))


def _scan_value(text: str, quote: str, depth: int) -> tuple[str, int]:
    """Follow strings, comments and brackets through one line of a value.

    Returns the open multi-line string quote ("" when none) and the bracket depth after
    the line, so that lines inside a multi-line string or array are never taken for keys.
    """
    i = 0
    while i < len(text):
        if quote:
            if quote == '"""' and text[i] == "\\":
                i += 2
            elif text.startswith(quote, i):
                quote = ""
                i += 3
            else:
                i += 1
            continue
        char = text[i]
        if char == "#":
            break
        if text.startswith(('"""', "'''"), i):
            quote = text[i : i + 3]
            i += 3
            continue
        if char == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif char == "'":
            end = text.find("'", i + 1)
            i = len(text) if end == -1 else end
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        i += 1
    return quote, depth


class _Lines:
    """Where each key and table header of a TOML source starts."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        self._where: dict[_Place, int] = {}
        self._starts: list[int] = []
        self.repeated: list[tuple[str, int, int]] = []
        """(dotted key, first line, repeated line) for keys written twice."""
        self.unclosed_line = 0
        """Line of the value whose string or bracket is still open at the end, or 0."""
        table: _Place = ()
        counts: dict[_Place, int] = {}
        quote, depth, value_line = "", 0, 0
        for number, line in enumerate(self._lines, 1):
            rest = line
            if not quote and depth == 0:
                array = _ARRAY_HEADER.match(line)
                header = array or _TABLE_HEADER.match(line)
                if header:
                    base = _key_parts(header.group(1))
                    if array:
                        counts[base] = counts.get(base, 0) + 1
                        table = (*base, counts[base] - 1)
                        # The whole array is found at its first header, e.g. for [[rouns]].
                        self._where.setdefault(base, number)
                    else:
                        table = base
                    self._record(table, number)
                    continue
                key = _KEY_LINE.match(line)
                if key:
                    self._record((*table, *_key_parts(key.group(1))), number)
                    value_line = number
                    rest = line[key.end() :]
            quote, depth = _scan_value(rest, quote, depth)
        if quote or depth:
            self.unclosed_line = value_line

    def _record(self, place: _Place, number: int) -> None:
        if place in self._where:
            dotted = ".".join(str(p) for p in place)
            self.repeated.append((dotted, self._where[place], number))
            return
        self._where[place] = number
        self._starts.append(number)

    @property
    def count(self) -> int:
        return len(self._lines)

    def line_of(self, place: _Place, needle: str = "") -> int:
        """The line of ``place`` (or its nearest recorded parent); with ``needle``, the first
        line of that value's text containing it, so multi-line values point at the right line.
        """
        for cut in range(len(place), 0, -1):
            line = self._where.get(place[:cut])
            if line:
                break
        else:
            return 0
        if needle:
            after = bisect.bisect_right(self._starts, line)
            end = self._starts[after] - 1 if after < len(self._starts) else len(self._lines)
            for number in range(line, end + 1):
                if needle in self._lines[number - 1]:
                    return number
        return line


# ---------------------------------------------------------------------------------------------
# Checking.


def _closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word``; ties go to the alphabetically first, so it is stable."""
    scored = sorted(
        (-difflib.SequenceMatcher(None, word.lower(), choice).ratio(), choice) for choice in choices
    )
    if scored and -scored[0][0] >= 0.6:
        return scored[0][1]
    return None


def _one_of(choices: Iterable[str]) -> str:
    items = list(choices)
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else "".join(items)


def _is_step_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _written(key: str, value: object) -> str:
    """How ``key`` holding ``value`` is written: ``[[round]]``, ``[prompts]`` or ``rounds``."""
    if _is_step_list(value):
        return f"[[{key}]]"
    if isinstance(value, dict):
        return f"[{key}]"
    return key


def _shown(value: object) -> str:
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


def _seconds(value: object) -> float | None:
    """Seconds for a written duration (text, or a bare number of seconds), or None."""
    if isinstance(value, str):
        try:
            return parse_duration_s(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def estimate_speech_s(text: str, question: str = "") -> float:
    """About how long the prompt voice takes to say ``text`` once its placeholders are
    filled in (a name counts as 1.5 words, a duration as 5, ``{question}`` as ``question``)."""
    filled = fill_question(text, question)
    words = 0.0
    spoken: list[str] = []
    for token in re.split(r"(\{\{|\}\}|\{[^{}]*\})", filled):
        if token in ("{{", "}}"):
            continue
        if token.startswith("{") and token.endswith("}"):
            words += _PLACEHOLDER_WORDS.get(token[1:-1], 1.5)
        else:
            words += len(re.findall(r"\S*\w\S*", token))
            spoken.append(token)
    plain = "".join(spoken)
    pauses = len(re.findall(r"[,;:]", plain))
    sentences = len(re.findall(r"[.?!]+(?:\s|$)", plain))
    return words * SECONDS_PER_WORD + pauses * SECONDS_PER_PAUSE + sentences * SECONDS_PER_SENTENCE


def _sentences(text: str) -> list[str]:
    return [part for part in re.split(r"(?<=[.?!])\s+", text.strip()) if part]


def _split_long_says(steps: Iterable[Step]) -> tuple[Step, ...]:
    """Each ``say`` step longer than ``MAX_PROMPT_S`` becomes consecutive say steps, split
    at sentence ends, each as long as fits; every part keeps the step's line."""
    result: list[Step] = []
    for step in steps:
        if step.kind is not StepKind.SAY or estimate_speech_s(step.text) <= MAX_PROMPT_S:
            result.append(step)
            continue
        part: list[str] = []
        for sentence in _sentences(step.text):
            if part and estimate_speech_s(" ".join([*part, sentence])) > MAX_PROMPT_S:
                result.append(replace(step, text=" ".join(part)))
                part = []
            part.append(sentence)
        result.append(replace(step, text=" ".join(part)))
    return tuple(result)


class _Checker:
    """Walks a parsed script, collecting every problem instead of stopping at the first."""

    def __init__(self, lines: _Lines) -> None:
        self.lines = lines
        self.problems: list[Problem] = []
        self.guessed: set[_Place] = set()
        """Places an unknown key was probably meant for: no "missing" problem for those."""
        self.longest_question = ""
        """The bank's longest question, for the length of texts that say {question}."""

    def add(self, place: _Place, message: str, suggestion: str, needle: str = "") -> None:
        # A key that is not there at all (name = ...) is added at the top of the file.
        line = self.lines.line_of(place, needle) or 1
        self.problems.append(Problem(line, message, suggestion))

    def unknown_keys(
        self, table: Mapping[str, object], known: tuple[str, ...], at: _Place, label: str
    ) -> None:
        for key, value in table.items():
            if key in known:
                continue
            # Compare like with like, so that [[rouns]] suggests [[round]], not rounds.
            alike = [k for k in known if (k in _BLOCKS) == _is_step_list(value)]
            close = _closest(key, alike or known)
            if close:
                self.guessed.add((*at, close))
                suggestion = f"did you mean {_written(close, value)}?"
            else:
                suggestion = f"the keys {label or 'at the top'} are {_one_of(known)}"
            where = f" in {label}" if label else ""
            self.add((*at, key), f"unknown key {_written(key, value)}{where}", suggestion)

    def text(
        self,
        place: _Place,
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
            self.add(place, f"{name} must be text, not {_shown(value)}", f'write {name} = "..."')
            return None
        if not value.strip():
            self.add(place, f"{name} is empty", f'write {name} = "..." with the words to use')
            return None
        self.placeholders(place, value, PLACEHOLDERS if allowed is None else allowed, context)
        return value

    def placeholders(
        self, place: _Place, text: str, allowed: frozenset[str], context: str = ""
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
                    close = _closest(name, PLACEHOLDERS) if name else None
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

    def spoken_length(self, place: _Place, text: str, what: str, *, split: bool) -> None:
        """A problem when ``text`` would be spoken for more than ``MAX_PROMPT_S``; with
        ``split`` only a single sentence that long is one (the loader splits the rest)."""
        question = self.longest_question
        if split:
            for sentence in _sentences(text):
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

    def whole_number(self, place: _Place, value: object) -> int | None:
        name = str(place[-1])
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            suggestion = f"write {name} = 2, a whole number without quotes"
            if isinstance(value, str) and value.strip().isdigit():
                suggestion = f"write {name} = {value.strip()} without quotes"
            elif name == "rounds" and _is_step_list(value):
                suggestion = (
                    "the steps go in [[round]] blocks; rounds = 2 says how often they repeat"
                )
            self.add(place, f"{name} must be a whole number, not {_shown(value)}", suggestion)
            return None
        if value < 1:
            self.add(place, f"{name} is {value}", f"write {name} = 1 or more")
            return None
        return value

    def duration(self, place: _Place, value: object, what: str) -> float | None:
        """Seconds above zero, from a duration string or a bare number of seconds."""
        if value is None:
            return None
        seconds = _seconds(value)
        if seconds is None:
            if isinstance(value, str):
                message = f"{what} {_shown(value)} is not a duration"
            else:
                message = f"{what} must be a duration, not {_shown(value)}"
            self.add(place, message, _DURATION_HINT, value if isinstance(value, str) else "")
            return None
        if seconds <= 0:
            self.add(place, f"{what} {_shown(value)} is no time at all", _DURATION_HINT, str(value))
            return None
        return seconds

    def cues(self, place: _Place, value: object) -> tuple[float, ...] | None:
        """Remaining-time cue points, longest first; None when absent or not usable."""
        if value is None:
            return None
        if not isinstance(value, list):
            self.add(
                place,
                f"cues must be a list, not {_shown(value)}",
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

    def cues_before(self, place: _Place, raw_cues: object, limit_s: float) -> None:
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
        at: _Place = (block, index)
        self.unknown_keys(table, _STEP_KEYS, at, f"a [[{block}]] step")
        kinds = [k.value for k in StepKind]
        raw_kind = table.get("kind")
        kind: StepKind | None = None
        if raw_kind is None:
            self.add(
                at,
                f"this [[{block}]] step has no kind",
                f'add kind = "..." with one of {_one_of(kinds)}',
            )
        elif isinstance(raw_kind, str) and raw_kind in kinds:
            kind = StepKind(raw_kind)
        else:
            close = _closest(str(raw_kind), kinds)
            guess = f'did you mean "{close}"? ' if close else ""
            self.add(
                (*at, "kind"),
                f"unknown step kind {_shown(raw_kind)}",
                f"{guess}the kinds are {_one_of(kinds)}",
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
            close = _closest(str(raw_who).replace(" ", "_"), people)
            guess = f'did you mean "{close}"? ' if close else ""
            self.add(
                (*at, "who"), f"unknown who {_shown(raw_who)}", f"{guess}use {_one_of(people)}"
            )

        limit_s = self.duration((*at, "limit"), table.get("limit"), "limit")
        cues_s = self.cues((*at, "cues"), table.get("cues"))
        if kind is not None and kind not in _FLOOR_KINDS:
            for key in ("limit", "cues"):
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
            line=self.lines.line_of(at),
        )
        return kind, step

    def block(self, name: str, raw: object) -> list[tuple[StepKind | None, Step]]:
        if raw is None or raw == []:
            return []
        if not _is_step_list(raw):
            also = "; the number of rounds is written rounds = 2" if name == "round" else ""
            self.add(
                (name,),
                f"{name} must be [[{name}]] step tables, not {_shown(raw)}",
                f'start each step with a [[{name}]] line, then kind = "..." and text = "..."{also}',
            )
            return []
        assert isinstance(raw, list)  # narrowed by _is_step_list, which mypy cannot see
        steps = [self.step(name, i, table) for i, table in enumerate(raw)]
        # The speaker can only confirm a paraphrase that has just been said.
        paraphrased = False
        for kind, step in steps:
            if kind is StepKind.CONFIRM and not paraphrased:
                self.problems.append(
                    Problem(
                        step.line,
                        f"this confirm step in [[{name}]] does not follow a paraphrase step",
                        f'put a [[{name}]] step with kind = "paraphrase" just before it',
                    )
                )
            if kind is StepKind.PARAPHRASE:
                paraphrased = True
            elif kind in (StepKind.FLOOR, StepKind.CONFIRM, StepKind.SWAP):
                paraphrased = False
        return steps

    def prompts(self, raw: object) -> Prompts:
        if raw is None:
            return Prompts()
        if not isinstance(raw, dict):
            self.add(
                ("prompts",),
                f"prompts must be a [prompts] table, not {_shown(raw)}",
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
                f"sounds must be a [sounds] table, not {_shown(raw)}",
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
            close = _closest(str(value), choices) if isinstance(value, str) else None
            guess = f'did you mean "{close}"? ' if close else ""
            self.add(
                ("sounds", event),
                f"unknown sound {_shown(value)} for {event}",
                f'{guess}the sounds are {_one_of(CHIME_NAMES)}, or "{NO_SOUND}" for no sound',
            )
        silent = raw.get("silent", False)
        if not isinstance(silent, bool):
            self.add(
                ("sounds", "silent"),
                f"silent must be true or false, not {_shown(silent)}",
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
            self.add(("handover",), f"handover must be a list, not {_shown(raw)}", hint)
            return None
        phrases: list[str] = []
        for item in raw:
            if not isinstance(item, str) or not item.strip():
                self.add(
                    ("handover",), f"a hand-over phrase must be words, not {_shown(item)}", hint
                )
                continue
            phrase = " ".join(item.lower().split())
            if len(phrase.split()) > 4:
                self.add(
                    ("handover",),
                    f"the hand-over phrase {_shown(item)} is long",
                    'use a short phrase of up to four words, like "over to you"',
                    item,
                )
            elif phrase in phrases:
                self.add(("handover",), f"{_shown(item)} is listed twice", "keep one", item)
            else:
                phrases.append(phrase)
        return tuple(phrases) if len(phrases) == len(raw) else None

    def break_length(self, raw: object) -> float | None:
        seconds = self.duration(("break",), raw, "break")
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
            what = "an empty list" if raw == [] else _shown(raw)
            self.add(("questions",), f"questions must be a list of questions, not {what}", hint)
            return None
        bank: list[str] = []
        for item in raw:
            if not isinstance(item, str) or not item.strip():
                self.add(("questions",), f"a question must be text, not {_shown(item)}", hint)
                continue
            self.placeholders(("questions",), item, NAME_PLACEHOLDERS, "a question")
            if item in bank:
                self.add(("questions",), f"{_shown(item)} is listed twice", "keep one", item)
                continue
            bank.append(item)
        if len(bank) != len(raw):
            return None
        self.longest_question = max(bank, key=lambda q: len(q.split()))
        return tuple(bank)

    def exercise(self, data: dict[str, Any], source: str) -> Exercise | None:
        self.unknown_keys(data, _TOP_KEYS, (), "")
        name = self.text(("name",), data.get("name"), required=True)
        if name is not None and not _SLUG.fullmatch(name):
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "my-exercise"
            self.add(
                ("name",),
                f"name {_shown(name)} is not a short name",
                f'use lowercase letters, digits and hyphens, like name = "{slug}"',
            )
            name = None
        title = self.text(("title",), data.get("title"), required=False)
        goal = self.text(("goal",), data.get("goal"), required=False)
        skill = self.text(("skill",), data.get("skill"), required=True)
        rounds = self.whole_number(("rounds",), data.get("rounds"))
        max_attempts = self.whole_number(("max_attempts",), data.get("max_attempts"))
        limit_s = self.duration(("limit",), data.get("limit"), "limit")
        paraphrase_s = self.duration(("paraphrase_limit",), data.get("paraphrase_limit"), "limit")
        confirm_s = self.duration(("confirm_limit",), data.get("confirm_limit"), "limit")
        cues_s = self.cues(("cues",), data.get("cues"))
        handover = self.handover(data.get("handover"))
        break_s = self.break_length(data.get("break"))
        questions = self.question_bank(data.get("questions"))
        prompts = self.prompts(data.get("prompts"))
        sounds = self.sounds(data.get("sounds"))
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
                if kind in _FLOOR_KINDS and step.cues_s is not None:
                    raw_cues = data[block][index].get("cues")
                    self.cues_before((block, index, "cues"), raw_cues, timed.floor_limit_s(step))

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
            opening=_split_long_says(step for _, step in blocks["opening"]),
            round=_split_long_says(step for _, step in blocks["round"]),
            closing=_split_long_says(step for _, step in blocks["closing"]),
            source=source,
            handover_phrases=_BASE.handover_phrases if handover is None else handover,
            break_s=_BASE.break_s if break_s is None else break_s,
            sounds=sounds,
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


# ---------------------------------------------------------------------------------------------
# Public API.

_TIMES = "\u00d7"
"""The multiplication sign of "Round (\u00d72):", escaped because it looks like an x."""
_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column \d+|at end of document)\)\s*$")


def _syntax_problem(error: Exception, lines: _Lines) -> Problem:
    message = str(error)
    if lines.repeated and re.search(r"overwrite|twice|already", message, re.IGNORECASE):
        # tomllib reports a repeated key at the end of the document; the scan knows where.
        key, first, again = lines.repeated[0]
        return Problem(again, f"{key} is written twice (first on line {first})", "keep one of them")
    found = _TOML_POSITION.search(message)
    reason = message[: found.start()] if found else message
    line = getattr(error, "lineno", None)  # tomli >= 2.1 and Python >= 3.14 have it
    if not isinstance(line, int):
        line = int(found.group(1)) if found and found.group(1) else 0
    unclosed = re.match(r"unclosed|unterminated", reason, re.IGNORECASE)
    if lines.unclosed_line and (unclosed or not line):
        # tomllib notices an open bracket or string only where it gives up; point at its start.
        line = lines.unclosed_line
    suggestion = 'check the quotes, brackets and "=" here; text needs quotes, like text = "Hello"'
    if unclosed and "array" in reason:
        suggestion = 'close the list with "]"'
    elif unclosed:
        suggestion = "close the text with the same quotes it starts with"
    return Problem(line or max(1, lines.count), f"TOML syntax error: {reason}", suggestion)


def check_exercise_text(
    text: str, source: str, *, file_name: str | None = None
) -> tuple[Exercise | None, list[Problem]]:
    """Parse and check a script; the exercise when there are no problems, and all problems.

    Problems are in file order; ``source`` is kept on the exercise for messages. With
    ``file_name`` (the script lives in the folder of your own exercises, where it is found
    by that name), the script's name must be the file's name and not a built-in one.
    """
    lines = _Lines(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return None, [_syntax_problem(e, lines)]
    checker = _Checker(lines)
    exercise = checker.exercise(data, source)
    name = data.get("name")
    if file_name is not None and isinstance(name, str) and _SLUG.fullmatch(name):
        if name != file_name:
            checker.add(
                ("name",),
                f'name "{name}" is not the file\'s name, {file_name}',
                f'write name = "{file_name}", or rename the file to {name}.toml',
            )
        elif name in builtin_names():
            checker.add(
                ("name",),
                f"{name} is the name of a built-in exercise, which always comes first",
                f'give yours its own name, like name = "my-{name}", and the file too',
            )
    problems = sorted(checker.problems, key=lambda p: p.line)
    return (exercise if not problems else None), problems


def _first_problem_error(source: str, problems: list[Problem]) -> ScriptError:
    more = len(problems) - 1
    tail = ""
    if more:
        tail = (
            f" (and {more} more problem{'s' if more > 1 else ''};"
            f" run: attune-voice exercises check {source})"
        )
    return ScriptError(problems[0].at(source) + tail)


def _decode(data: bytes, source: str) -> str:
    try:
        # utf-8-sig: editors on Windows like to start a file with a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ScriptError(
            f"{source}:{line}: the file is not UTF-8 text (byte 0x{data[e.start]:02x});"
            " save it as UTF-8"
        ) from e


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise ScriptError(f"{path}: no such exercise script") from e
    except IsADirectoryError as e:
        raise ScriptError(f"{path}: is a folder, not an exercise script (.toml)") from e
    except OSError as e:
        raise ScriptError(f"{path}: cannot read the exercise script: {e.strerror or e}") from e
    return _decode(data, str(path))


def _in_custom_folder(path: Path) -> bool:
    try:
        return path.absolute().parent.resolve() == custom_folder().resolve()
    except OSError:
        return False


def check_exercise_file(path: Path) -> tuple[Exercise | None, list[Problem]]:
    """Check a script file: the exercise and every problem, as ``check_exercise_text``.

    A script in the folder of your own exercises is also held to its file name. A file
    that cannot be read, or is not UTF-8, raises ``ScriptError``.
    """
    file_name = path.stem if _in_custom_folder(path) else None
    return check_exercise_text(_read(path), str(path), file_name=file_name)


def load_exercise_file(path: Path) -> Exercise:
    """Load a script file, or raise ``ScriptError`` with one line naming the first problem."""
    exercise, problems = check_exercise_file(path)
    if problems or exercise is None:
        raise _first_problem_error(str(path), problems)
    return exercise


def _builtin_folder() -> Traversable:
    return resources.files("attune_voice.exercises") / "builtin"


def builtin_names() -> list[str]:
    """Names of the exercises that ship with attune_voice, sorted."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in _builtin_folder().iterdir()
        if entry.name.endswith(".toml") and entry.is_file()
    )


def builtin_text(name: str) -> str:
    """The TOML source of a built-in exercise."""
    if name not in builtin_names():
        raise ScriptError(_unknown_name(name))
    return _decode((_builtin_folder() / f"{name}.toml").read_bytes(), f"builtin:{name}")


def _load_builtin(name: str) -> Exercise:
    source = f"builtin:{name}"
    exercise, problems = check_exercise_text(builtin_text(name), source)
    if problems or exercise is None:
        raise _first_problem_error(source, problems)
    return exercise


def custom_folder() -> Path:
    """The folder of your own exercises, found there by name: ``$ATTUNE_HOME/exercises``
    when ``ATTUNE_HOME`` is set, else ``$XDG_CONFIG_HOME/attune-voice/exercises``
    (``~/.config/attune-voice/exercises`` by default)."""
    home = os.environ.get("ATTUNE_HOME", "")
    if home:
        return Path(home).expanduser().absolute() / "exercises"
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec says an empty or relative XDG_CONFIG_HOME is to be ignored.
    if xdg and Path(xdg).expanduser().is_absolute():
        return Path(xdg).expanduser() / "attune-voice" / "exercises"
    return Path.home() / ".config" / "attune-voice" / "exercises"


def _custom_files() -> list[Path]:
    try:
        return sorted(p for p in custom_folder().glob("*.toml") if p.is_file())
    except OSError:
        # An unreadable folder holds no usable exercises; library() says why.
        return []


def custom_names() -> list[str]:
    """Names of your own exercises (the .toml files in ``custom_folder()``), sorted; a
    file named like a built-in one is left out, as the built-in one always comes first."""
    builtin = set(builtin_names())
    return [p.stem for p in _custom_files() if _SLUG.fullmatch(p.stem) and p.stem not in builtin]


def is_exercise_name(name: str) -> bool:
    """Whether ``name`` can name an exercise: lowercase letters, digits and hyphens."""
    return _SLUG.fullmatch(name) is not None


def _unknown_name(name: str) -> str:
    builtin = builtin_names()
    custom = custom_names()
    close = _closest(name, [*builtin, *custom])
    guess = f'did you mean "{close}"? ' if close else ""
    yours = f"; yours are {_one_of(custom)}" if custom else ""
    return (
        f'no exercise called "{name}"; {guess}'
        f"the built-in ones are {_one_of(builtin)}{yours}; or give the path to a .toml script"
    )


def load_exercise(name_or_path: str) -> Exercise:
    """An exercise by name (a built-in one, else one of yours in ``custom_folder()``), or a
    script by path (anything ending in .toml or with a folder in it); an unknown name raises
    ``ScriptError`` listing the known ones."""
    if name_or_path in builtin_names():
        return _load_builtin(name_or_path)
    if name_or_path in custom_names():
        return load_exercise_file(custom_folder() / f"{name_or_path}.toml")
    path = Path(name_or_path).expanduser()
    # Path("./talk").parts drops the "./", so compare the name with what was typed instead.
    if name_or_path.endswith(".toml") or path.name != name_or_path or path.is_file():
        return load_exercise_file(path)
    raise ScriptError(_unknown_name(name_or_path))


def library() -> tuple[list[Exercise], list[str]]:
    """Every exercise known by name, built-in ones first, and one line for each of your
    files that cannot be used (broken, or named like a built-in one)."""
    exercises = [_load_builtin(name) for name in builtin_names()]
    notes: list[str] = []
    folder = custom_folder()
    if folder.exists() and not folder.is_dir():
        notes.append(f"{folder}: is a file; your own exercises go in a folder of that name")
    builtin = set(builtin_names())
    for path in _custom_files():
        if path.stem in builtin:
            notes.append(
                f"{path}: not used, because {path.stem} is a built-in exercise;"
                " give the file and its name another name"
            )
        elif not _SLUG.fullmatch(path.stem):
            slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "my-exercise"
            notes.append(
                f'{path}: not used; rename it to {slug}.toml and write name = "{slug}" in it'
            )
        else:
            try:
                exercises.append(load_exercise_file(path))
            except ScriptError as e:
                notes.append(str(e))
    return exercises, notes


def estimated_duration_s(exercise: Exercise) -> float:
    """About how long a session takes when every floor is used to its limit: the time to
    set aside for it."""
    total_s = 0.0
    for _, step in exercise.unrolled():
        if step.kind is StepKind.SWAP:
            continue
        total_s += estimate_speech_s(step.text)
        if step.kind in _FLOOR_KINDS:
            total_s += exercise.floor_limit_s(step)
        if step.kind is StepKind.CONFIRM:
            total_s += estimate_speech_s(exercise.prompts.confirmed)
    return total_s


_TEMPLATE = '''\
# {title}: an exercise for attune-voice. Lines starting with # are notes for you; the
# coach never says them. The format is explained in docs/exercises.md. When you are
# done, check it with:  attune-voice exercises check {name}

name = "{name}"                  # lowercase letters, digits and hyphens: the file's name
title = "{title}"
goal = "One sentence on what we practise, and why."
skill = "empathy"                # awareness, turning toward, tolerance, understanding,
                                 # non-defensive listening, empathy, or your own words
rounds = 1                       # how often the [[round]] steps repeat
limit = "2m"                     # a floor step's time: "90s", "2m" or "1m30s"
paraphrase_limit = "1m"          # time to say back what was heard
confirm_limit = "20s"            # time to answer "yes" or "not quite"
cues = ["1m", "30s"]             # a gentle cue when this much time is LEFT
# handover = ["i'm done", "over to you"]   # spoken phrases that pass the floor on
# break = "20m"                  # a time-out lasts at least 20 minutes
# questions = ["What was the best part of your day?", "What are you looking forward to?"]
#                                # a bank for {{question}}: a new one each time, no repeats

# [sounds]                       # bell, bowl, fall, rise, wood, or "none"
# cue = "bell"
# floor_end = "fall"
# overtime = "bowl"
# silent = true                  # no chimes at all

# In any text: {{speaker}} and {{listener}} (they swap roles), {{partner_a}} and
# {{partner_b}} (the names in the order given); in floor steps also {{limit}} (the time).
# Keep each text under about 25 seconds (60 words): calm "we" language, no blame.

[[opening]]
kind = "say"
text = """\\
Before we begin: are you both in a good place to do this now? If either of us \\
is not, that is fine. We can stop here and choose another time.\\
"""

[[opening]]
kind = "say"
text = """\\
Here is how it goes. One of us speaks about our own feelings, and the other listens, \\
then says back what they heard. Then we swap.\\
"""

[[round]]
kind = "floor"
text = "{{speaker}}, you have the floor. You have {{limit}}."

[[round]]
kind = "paraphrase"
text = "{{listener}}, what did you hear {{speaker}} say? Put it in your own words."

[[round]]
kind = "confirm"
text = "{{speaker}}, did {{listener}} get it right? Say yes, or not quite."

[[round]]
kind = "swap"

[[round]]
kind = "floor"
text = "Now you, {{speaker}}. You have {{limit}}."

[[round]]
kind = "paraphrase"
text = "{{listener}}, what did you hear {{speaker}} say? Put it in your own words."

[[round]]
kind = "confirm"
text = "{{speaker}}, did {{listener}} get it right? Say yes, or not quite."

[[round]]
kind = "swap"

[[closing]]
kind = "floor"
who = "partner_a"
limit = "30s"
text = "{{partner_a}}, what is one thing you appreciated about {{partner_b}} just now?"

[[closing]]
kind = "floor"
who = "partner_b"
limit = "30s"
text = "{{partner_b}}, and what is one thing you appreciated about {{partner_a}}?"

[[closing]]
kind = "say"
text = "Thank you both."
'''


def exercise_template(name: str) -> str:
    """A commented script to start from, valid as it is, named ``name``."""
    return _TEMPLATE.format(name=name, title=name.replace("-", " ").capitalize())


def script_text(name_or_path: str) -> tuple[str, str]:
    """The TOML source of an exercise by name or path, and where it came from."""
    if name_or_path in builtin_names():
        return builtin_text(name_or_path), f"the built-in exercise {name_or_path}"
    if name_or_path in custom_names():
        path = custom_folder() / f"{name_or_path}.toml"
        return _read(path), f"your exercise {name_or_path}"
    path = Path(name_or_path).expanduser()
    if name_or_path.endswith(".toml") or path.name != name_or_path or path.is_file():
        return _read(path), str(path)
    raise ScriptError(_unknown_name(name_or_path))


def copy_of_script(name_or_path: str, name: str) -> str:
    """The source of an exercise (a built-in one, one of yours, or a file), renamed
    ``name``, to adapt."""
    text, origin = script_text(name_or_path)
    renamed, count = re.subn(
        r'^name\s*=\s*(?:"[^"\n]*"|\'[^\'\n]*\')',
        f'name = "{name}"',
        text,
        count=1,
        flags=re.MULTILINE,
    )
    if count != 1:
        raise ScriptError(
            f'{origin}: has no name = "..." line to change; give it one, then copy it again'
        )
    note = (
        f"# A copy of {origin}, to adapt. Check it with:\n#   attune-voice exercises check {name}\n"
    )
    return note + renamed


def describe(exercise: Exercise) -> list[str]:
    """Plain lines describing an exercise, for ``attune-voice exercises show``."""
    lines = [f"{exercise.title} ({exercise.name})"]
    if exercise.goal:
        lines.append(f"Goal: {exercise.goal}")
    lines.append(f"Skill: {exercise.skill}")
    cues = " and ".join(format_duration(c) for c in exercise.cues_s) or "none"
    lines.append(
        f"Timings: {exercise.rounds} {_plural(exercise.rounds, 'round')}; "
        f"floor {format_duration(exercise.limit_s)}, "
        f"paraphrase {format_duration(exercise.paraphrase_limit_s)}, "
        f"confirm {format_duration(exercise.confirm_limit_s)}; "
        f"cues at {cues} left; "
        f"up to {exercise.max_attempts} paraphrase {_plural(exercise.max_attempts, 'attempt')}"
    )
    lines.append(
        f"Length: about {_minutes(estimated_duration_s(exercise))} with every floor used in full"
    )
    handover = ", ".join(f'"{p}"' for p in exercise.handover_phrases) or "the button only"
    lines.append(f"Hand-over: {handover}; a break lasts {format_duration(exercise.break_s)}")
    lines.append(f"Sounds: {_describe_sounds(exercise)}")
    number = 0
    sections = (
        ("Opening:", exercise.opening),
        (f"Round ({_TIMES}{exercise.rounds}):", exercise.round),
        ("Closing:", exercise.closing),
    )
    for heading, steps in sections:
        if not steps:
            continue
        lines.append(heading)
        for step in steps:
            number += 1
            lines.append(f"  {number}. {_describe_step(exercise, step)}")
    if exercise.questions:
        lines.append(
            f"Questions ({len(exercise.questions)}; a session asks "
            f"{exercise.questions_needed()}, and none comes back until all have been asked):"
        )
        lines.extend(f"  - {question}" for question in exercise.questions)
    return lines


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} {_plural(minutes, 'minute')}"


def _describe_sounds(exercise: Exercise) -> str:
    sounds = exercise.sounds
    if sounds.silent:
        return "silent"
    labels = {"cue": "before a cue", "floor_end": "when a floor ends", "overtime": "at the limit"}
    return ", ".join(
        f"{'no sound' if getattr(sounds, event) == NO_SOUND else getattr(sounds, event)} "
        f"{labels[event]}"
        for event in SOUND_EVENTS
    )


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def _describe_step(exercise: Exercise, step: Step) -> str:
    if step.kind is StepKind.SAY:
        return f"say: {step.text}"
    if step.kind is StepKind.SWAP:
        return f"swap roles{': ' + step.text if step.text else ''}"
    timing = format_duration(exercise.floor_limit_s(step))
    cues = exercise.step_cues_s(step)
    if cues:
        timing += ", cues at " + " and ".join(format_duration(c) for c in cues)
    return f"{step.kind.value} ({step.who.value}, {timing}): {step.text}"
