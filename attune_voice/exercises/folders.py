"""Where exercises are found by name: the built-in ones, the folder of your own, their text."""

from __future__ import annotations

import os
import re
import sys
from importlib import resources
from pathlib import Path

from attune_voice.errors import ScriptError
from attune_voice.exercises.wording import closest, one_of

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable

__all__ = [
    "SLUG",
    "builtin_names",
    "builtin_text",
    "custom_files",
    "custom_folder",
    "custom_names",
    "is_exercise_name",
    "read_script",
    "unknown_name",
]

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
"""What an exercise's name looks like: lowercase letters, digits and hyphens."""


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


def read_script(path: Path) -> str:
    """The text of a script file, or ``ScriptError`` saying why it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise ScriptError(f"{path}: no such exercise script") from e
    except IsADirectoryError as e:
        raise ScriptError(f"{path}: is a folder, not an exercise script (.toml)") from e
    except OSError as e:
        raise ScriptError(f"{path}: cannot read the exercise script: {e.strerror or e}") from e
    return _decode(data, str(path))


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
        raise ScriptError(unknown_name(name))
    return _decode((_builtin_folder() / f"{name}.toml").read_bytes(), f"builtin:{name}")


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


def custom_files() -> list[Path]:
    """The .toml files in ``custom_folder()``, sorted, usable or not."""
    try:
        return sorted(p for p in custom_folder().glob("*.toml") if p.is_file())
    except OSError:
        # An unreadable folder holds no usable exercises; library() says why.
        return []


def custom_names() -> list[str]:
    """Names of your own exercises (the .toml files in ``custom_folder()``), sorted; a
    file named like a built-in one is left out, as the built-in one always comes first."""
    builtin = set(builtin_names())
    return [p.stem for p in custom_files() if SLUG.fullmatch(p.stem) and p.stem not in builtin]


def is_exercise_name(name: str) -> bool:
    """Whether ``name`` can name an exercise: lowercase letters, digits and hyphens."""
    return SLUG.fullmatch(name) is not None


def unknown_name(name: str) -> str:
    """What to say when ``name`` is no known exercise: the closest names, and all of them."""
    builtin = builtin_names()
    custom = custom_names()
    close = closest(name, [*builtin, *custom])
    guess = f'did you mean "{close}"? ' if close else ""
    yours = f"; yours are {one_of(custom)}" if custom else ""
    return (
        f'no exercise called "{name}"; {guess}'
        f"the built-in ones are {one_of(builtin)}{yours}; or give the path to a .toml script"
    )
