"""Exercises by name: load one, list them all, start a new one from the template or a copy."""

from __future__ import annotations

import re
from pathlib import Path

from attune_voice.errors import ScriptError
from attune_voice.exercises.folders import (
    SLUG,
    builtin_names,
    builtin_text,
    custom_files,
    custom_folder,
    custom_names,
    read_script,
    unknown_name,
)
from attune_voice.exercises.loader import load_builtin, load_exercise_file
from attune_voice.exercises.model import Exercise

__all__ = ["copy_of_script", "exercise_template", "library", "load_exercise", "script_text"]


def load_exercise(name_or_path: str) -> Exercise:
    """An exercise by name (a built-in one, else one of yours in ``custom_folder()``), or a
    script by path (anything ending in .toml or with a folder in it); an unknown name raises
    ``ScriptError`` listing the known ones."""
    if name_or_path in builtin_names():
        return load_builtin(name_or_path)
    if name_or_path in custom_names():
        return load_exercise_file(custom_folder() / f"{name_or_path}.toml")
    path = Path(name_or_path).expanduser()
    # Path("./talk").parts drops the "./", so compare the name with what was typed instead.
    if name_or_path.endswith(".toml") or path.name != name_or_path or path.is_file():
        return load_exercise_file(path)
    raise ScriptError(unknown_name(name_or_path))


def library() -> tuple[list[Exercise], list[str]]:
    """Every exercise known by name, built-in ones first, and one line for each of your
    files that cannot be used (broken, or named like a built-in one)."""
    exercises = [load_builtin(name) for name in builtin_names()]
    notes: list[str] = []
    folder = custom_folder()
    if folder.exists() and not folder.is_dir():
        notes.append(f"{folder}: is a file; your own exercises go in a folder of that name")
    builtin = set(builtin_names())
    for path in custom_files():
        if path.stem in builtin:
            notes.append(
                f"{path}: not used, because {path.stem} is a built-in exercise;"
                " give the file and its name another name"
            )
        elif not SLUG.fullmatch(path.stem):
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
# {{partner_b}} (the names in the order given), {{handover}} (how to hand over: "say I'm
# done" with a speech model, "press the button" without); in floor steps also {{limit}}.
# Keep each text under about 25 seconds (60 words): calm "we" language, no blame.

# A ready step asks each of you by name whether you are ready, and waits for each
# answer (yes or not now, by voice or by Y / N). "Not now", or no answer, ends the
# session kindly before it starts.
[[opening]]
kind = "ready"
text = "Before we begin, a quick check-in. I will ask each of you in turn."

# Say early, once, how to stop: a time out (say it, or press T) is at least twenty
# minutes apart, then back within a day.
[[opening]]
kind = "say"
text = """\\
If this stops feeling safe, either of us can call a time out: say time out, or \\
press T. We then take at least twenty minutes apart, and come back within a day.\\
"""

[[opening]]
kind = "say"
text = """\\
Here is how it goes. One of us speaks about our own feelings, a short piece at a time, \\
and the other says back each piece. When you finish a piece, {{handover}}. Then we swap.\\
"""

# The floor goes a short piece at a time (piece): the listener says each piece back,
# the speaker confirms, and the more step asks whether there is more. Yes gives another
# piece while the floor's limit lasts; no goes on. Leave out piece and the more step
# for one long turn instead.
[[round]]
kind = "floor"
piece = "40s"
text = "{{speaker}}, you have the floor, {{limit}} in all, one short piece at a time."

[[round]]
kind = "paraphrase"
text = "{{listener}}, what did you hear {{speaker}} say? Put it in your own words."

[[round]]
kind = "confirm"
text = "{{speaker}}, did {{listener}} get it right? Say yes or not quite, or press Y or N."

[[round]]
kind = "more"
text = "{{speaker}}, is there more? Say yes or no, or press Y or N."

# The listener's short floor: what makes sense in it (validation).
[[round]]
kind = "floor"
who = "listener"
limit = "30s"
cues = []
text = "{{listener}}, what makes sense to you? Try: that makes sense, because, and your reason."

[[round]]
kind = "swap"

[[round]]
kind = "floor"
piece = "40s"
text = "Now you, {{speaker}}. You have {{limit}} in all, one short piece at a time."

[[round]]
kind = "paraphrase"
text = "{{listener}}, what did you hear {{speaker}} say? Put it in your own words."

[[round]]
kind = "confirm"
text = "{{speaker}}, did {{listener}} get it right? Say yes or not quite, or press Y or N."

[[round]]
kind = "more"
text = "{{speaker}}, is there more? Say yes or no, or press Y or N."

[[round]]
kind = "floor"
who = "listener"
limit = "30s"
cues = []
text = "{{listener}}, what makes sense to you? Try: that makes sense, because, and your reason."

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
        return read_script(path), f"your exercise {name_or_path}"
    path = Path(name_or_path).expanduser()
    if name_or_path.endswith(".toml") or path.name != name_or_path or path.is_file():
        return read_script(path), str(path)
    raise ScriptError(unknown_name(name_or_path))


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
