"""Where attune-voice keeps its database and caches: XDG folders, or one ``ATTUNE_HOME``."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from attune_voice.errors import StoreError

APP_DIR_NAME = "attune-voice"
DATABASE_NAME = "attune.db"


def _env_path(name: str, *, allow_relative: bool) -> Path | None:
    """The folder named by environment variable ``name``, or None when unset or unusable."""
    value = os.environ.get(name, "")
    if not value:
        # An empty variable means "unset" in the XDG spec, not "the current folder".
        return None
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    # The XDG spec says relative XDG_* paths are invalid and must be ignored; ATTUNE_HOME
    # is our own, set on purpose, so a relative one is taken from the current folder.
    return path.absolute() if allow_relative else None


def _attune_home() -> Path | None:
    """``$ATTUNE_HOME`` as a folder, None when unset; ``StoreError`` when set but empty
    (likely a script's unset variable: falling back to the real home would mix data)."""
    if os.environ.get("ATTUNE_HOME") == "":
        raise StoreError(
            "ATTUNE_HOME is set but empty; name a folder, or unset it to use the usual one"
        )
    return _env_path("ATTUNE_HOME", allow_relative=True)


def data_dir() -> Path:
    """The folder for the database: ``$ATTUNE_HOME``, else the XDG data folder."""
    home = _attune_home()
    if home is not None:
        return home
    xdg = _env_path("XDG_DATA_HOME", allow_relative=False)
    if xdg is not None:
        return xdg / APP_DIR_NAME
    return Path.home() / ".local" / "share" / APP_DIR_NAME


def cache_dir() -> Path:
    """The folder for rebuildable files (rendered prompts): ``$ATTUNE_HOME/cache`` or XDG."""
    home = _attune_home()
    if home is not None:
        return home / "cache"
    xdg = _env_path("XDG_CACHE_HOME", allow_relative=False)
    if xdg is not None:
        return xdg / APP_DIR_NAME
    return Path.home() / ".cache" / APP_DIR_NAME


def database_path() -> Path:
    """The default session database file."""
    return data_dir() / DATABASE_NAME


def ensure_private_dir(path: Path) -> Path:
    """Create folder ``path`` readable by its owner only (0700) and return it.

    Missing parents are created with the usual mode, but never above ``$ATTUNE_HOME``:
    that folder itself is created, its parent must exist (a mistyped path makes no
    folders at ``/``). A folder that already exists keeps the mode its owner gave it.
    Raises ``OSError`` when the folder cannot be created or a file stands where it
    should be; callers turn that into their boundary's error.
    """
    home = _attune_home()
    if home is not None and path.absolute().is_relative_to(home) and not home.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "its parent folder does not exist", str(home))
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        if not path.is_dir():
            raise
        return path
    # mkdir's mode passes through the umask, which could leave it unusable (0500) or,
    # with an odd umask, not exactly 0700; the couple's log should be exactly private.
    path.chmod(0o700)
    return path


def open_private(path: Path, *, exclusive: bool = False) -> BinaryIO:
    """Open file ``path`` for writing, readable by its owner only (0600), even when it
    existed with a wider mode; ``exclusive`` refuses a file that exists. Everything
    attune-voice writes for the couple goes through here: recordings, pages, pictures,
    scripts. Raises ``OSError``."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "wb")


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` as ``open_private`` opens it."""
    with open_private(path, exclusive=exclusive) as file:
        file.write(data)


def audio_dir() -> Path:
    """The folder for session recordings kept on request: ``session-<id>.wav``."""
    return data_dir() / "audio"


def session_audio_files(session_id: int) -> list[Path]:
    """The saved recordings of one session (none unless the couple asked to keep audio)."""
    folder = audio_dir()
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"session-{session_id}.*"))


def readable_by_others(folder: Path, files: list[Path]) -> list[Path]:
    """``folder`` and those of ``files`` that exist and others than the owner may read.

    A folder others may enter (x) or list (r) counts: with it open, a file's own mode is
    the only guard left.
    """
    exposed = []
    for path in (folder, *files):
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            exposed.append(path)
    return exposed
