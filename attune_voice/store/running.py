"""Which sessions a live process is still recording: an exclusive lock on a file each.

A session is "running" in the store from its start until it is finished. If the
program dies in between, the next start marks it interrupted, but a session another
attune-voice is recording right now (a demo in a second terminal) must be left alone.
The recorder holds ``running/session-<id>.lock`` locked while it records; the
operating system drops the lock when the process dies, however it dies, so a lock
nobody holds means nobody is recording that session.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from attune_voice.store.paths import ensure_private_dir


def lock_path(folder: Path, session_id: int) -> Path:
    return folder / "running" / f"session-{session_id}.lock"


class SessionClaim:
    """This process records one session: holds its lock until ``release``."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._fd: int | None = None
        self._path: Path | None = None

    def claim(self, session_id: int) -> None:
        """Lock the session's file; raises ``OSError`` if it cannot be made, or
        ``BlockingIOError`` if another process holds it."""
        path = lock_path(self._folder, session_id)
        ensure_private_dir(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise
        except OSError:
            # A file system without locks: the session records all the same, and
            # ``is_recording`` takes such a file for a stale one, as it must.
            pass
        self._fd, self._path = fd, path

    def release(self) -> None:
        if self._fd is None or self._path is None:
            return
        # Removed while still locked, so nobody can lock the finished session's file.
        with contextlib.suppress(OSError):
            self._path.unlink()
        os.close(self._fd)
        self._fd = self._path = None


def is_recording(folder: Path, session_id: int) -> bool:
    """Whether a live process holds the session's lock; a stale lock file is removed."""
    path = lock_path(folder, session_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        # A file system without locks: nothing can be told apart; treat it as stale.
        return False
    else:
        with contextlib.suppress(OSError):
            path.unlink()
        return False
    finally:
        os.close(fd)
