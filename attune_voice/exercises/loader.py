"""Load and check exercise scripts (TOML): every problem with its line and what to write instead."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from attune_voice.errors import ScriptError
from attune_voice.exercises.checker import Checker, Problem
from attune_voice.exercises.folders import (
    SLUG,
    builtin_names,
    builtin_text,
    custom_folder,
    read_script,
)
from attune_voice.exercises.model import Exercise
from attune_voice.exercises.source_lines import SourceLines

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    # tomli is only installed on 3.10, where mypy (python_version 3.10) looks for it.
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["check_exercise_file", "check_exercise_text", "load_builtin", "load_exercise_file"]

_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column \d+|at end of document)\)\s*$")


def _syntax_problem(error: Exception, lines: SourceLines) -> Problem:
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
    lines = SourceLines(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return None, [_syntax_problem(e, lines)]
    checker = Checker(lines)
    exercise = checker.exercise(data, source)
    name = data.get("name")
    if file_name is not None and isinstance(name, str) and SLUG.fullmatch(name):
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
    return check_exercise_text(read_script(path), str(path), file_name=file_name)


def load_exercise_file(path: Path) -> Exercise:
    """Load a script file, or raise ``ScriptError`` with one line naming the first problem."""
    exercise, problems = check_exercise_file(path)
    if problems or exercise is None:
        raise _first_problem_error(str(path), problems)
    return exercise


def load_builtin(name: str) -> Exercise:
    """A built-in exercise, or ``ScriptError`` naming its first problem."""
    source = f"builtin:{name}"
    exercise, problems = check_exercise_text(builtin_text(name), source)
    if problems or exercise is None:
        raise _first_problem_error(source, problems)
    return exercise
