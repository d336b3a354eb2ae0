"""The couple's own settings file, config.toml: which microphone and speakers to use,
how much sound they buffer, whether to hear the couple through the prompts, and the
coach's voice.

It lives in ``$ATTUNE_HOME/config.toml`` when ``ATTUNE_HOME`` is set, else in
``$XDG_CONFIG_HOME/attune-voice/config.toml`` (``~/.config/attune-voice/config.toml``).
It holds only what attune-voice writes into it, so a key it does not know is a mistake
worth one clear line rather than something to keep::

    [audio]
    input = "USB Speakerphone"
    output = "USB Speakerphone"
    latency = "0.1"
    hear_through = true

    [voice]
    name = "heart"
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attune_voice.audio.latency import parse_latency
from attune_voice.errors import AudioDeviceError, UsageError
from attune_voice.store import paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    # tomli is only installed on 3.10, where mypy (python_version 3.10) looks for it.
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

FILE_NAME = "config.toml"
_KEYS = {"audio": ("input", "output", "latency", "hear_through"), "voice": ("name",)}


@dataclass(frozen=True)
class Settings:
    """What config.toml says; None where it says nothing."""

    input_device: str | None = None
    """A device name fragment or an index, as ``--input`` takes it."""
    output_device: str | None = None
    latency: str | None = None
    """The sound buffer, as ``attune_voice.audio.latency.parse_latency`` reads it."""
    hear_through: bool | None = None
    """Hear the couple through the prompts (echo cancellation and barge-in) rather than
    close the microphone while the coach speaks; off unless set."""
    voice: str | None = None
    """The coach's voice by name (``attune-voice voices``); checked when it is used, as
    whether it is installed can change after it was saved."""


def settings_path() -> Path:
    """Where config.toml is (whether or not it exists yet)."""
    home = os.environ.get("ATTUNE_HOME", "")
    if home:
        return Path(home).expanduser().absolute() / FILE_NAME
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / paths.APP_DIR_NAME / FILE_NAME


def load_settings(path: Path | None = None) -> Settings:
    """Read config.toml; a missing file means no settings."""
    path = settings_path() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path} ({e}); fix or delete it") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path} is not valid TOML ({e}); fix or delete it") from e
    audio = _section(data, path, "audio")
    return Settings(
        input_device=_device(audio, "input", path),
        output_device=_device(audio, "output", path),
        latency=_latency(audio, path),
        hear_through=_hear_through(audio, path),
        voice=_voice(_section(data, path, "voice"), path),
    )


def _section(data: dict[str, Any], path: Path, name: str) -> dict[str, Any]:
    for key, value in data.items():
        if key not in _KEYS:
            raise UsageError(
                f"{path}: unknown setting '{key}'; only [audio] and [voice] belong there"
            )
        if not isinstance(value, dict):
            raise UsageError(f"{path}: '{key}' must be a table: write [{key}] on its own line")
    section: dict[str, Any] = data.get(name, {})
    for key in section:
        if key not in _KEYS[name]:
            known = " and ".join(_KEYS[name])
            raise UsageError(f"{path}: unknown setting '{name}.{key}'; [{name}] takes {known}")
    return section


def _voice(section: dict[str, Any], path: Path) -> str | None:
    value = section.get("name")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f'{path}: voice.name must be a voice\'s name, like name = "heart"')
    return value.strip()


def _hear_through(audio: dict[str, Any], path: Path) -> bool | None:
    value = audio.get("hear_through")
    if value is None:
        return None
    if not isinstance(value, bool):
        raise UsageError(
            f"{path}: audio.hear_through must be true or false, like hear_through = true"
        )
    return value


def _device(audio: dict[str, Any], key: str, path: Path) -> str | None:
    value = audio.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f'{path}: audio.{key} must be a device name or index, like {key} = "USB"')
    return value.strip()


def _latency(audio: dict[str, Any], path: Path) -> str | None:
    value = audio.get("latency")
    if value is None:
        return None
    text = str(value) if isinstance(value, float | int) and not isinstance(value, bool) else value
    if not isinstance(text, str):
        raise UsageError(f'{path}: audio.latency must be seconds, like latency = "0.1"')
    return checked_latency(text, f"{path}: ")


def checked_latency(text: str, where: str = "") -> str:
    """``text`` as config.toml keeps a latency, once ``parse_latency`` has read it;
    otherwise one line, starting with ``where``, saying what is wrong."""
    try:
        parse_latency(text)
    except AudioDeviceError as e:
        raise UsageError(f"{where}{e}") from e
    return text.strip()


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write config.toml (its folder is made private if new); returns where it went."""
    path = settings_path() if path is None else path
    lines = [
        "# attune-voice settings; `attune-voice devices --save` and `attune-voice voices use`"
        " write this file.",
    ]
    audio = [
        f"{key} = {_toml_string(value)}"
        for key, value in (
            ("input", settings.input_device),
            ("output", settings.output_device),
            ("latency", settings.latency),
        )
        if value is not None
    ]
    if settings.hear_through is not None:
        audio.append(f"hear_through = {'true' if settings.hear_through else 'false'}")
    if audio or settings.voice is None:
        lines += ["", "[audio]", *audio]
    if settings.voice is not None:
        lines += ["", "[voice]", f"name = {_toml_string(settings.voice)}"]
    try:
        paths.ensure_private_dir(path.parent)
        temporary = path.with_name(path.name + ".new")
        paths.write_private(temporary, ("\n".join(lines) + "\n").encode("utf-8"))
        # A rename, so that a crash never leaves half a file behind.
        temporary.replace(path)
    except OSError as e:
        raise UsageError(f"cannot write {path} ({e.strerror or e}); check its folder") from e
    return path


def _toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


__all__ = ["Settings", "checked_latency", "load_settings", "save_settings", "settings_path"]
