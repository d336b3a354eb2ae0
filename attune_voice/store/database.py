"""The session database: sessions and their events in SQLite, committed as they happen.

One file (``paths.database_path()`` unless told otherwise), in WAL mode, readable by
its owner only. The schema version lives in ``PRAGMA user_version`` and grows only
through ``_MIGRATIONS``; a file this code cannot use is refused with one line saying
what is wrong and what to do, and is never modified. Before an older file is upgraded a
copy of it is kept beside it (``attune.db.schema1.bak``).

Every event is committed, and synced to disk, before ``append`` returns: a session
killed at any moment, even by a power cut, keeps every event appended before it.
Deleted sessions are overwritten, not just unlinked (``secure_delete``), and the
write-ahead log is emptied after a delete so no copy of them stays in it.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from attune_voice.errors import StoreError
from attune_voice.events import Event, dumps, loads
from attune_voice.session.consent import carries_words
from attune_voice.store import paths

APPLICATION_ID = 0x61747476
"""``PRAGMA application_id`` of our files ("attv"), so another program's database is
recognised as such instead of being mistaken for a damaged or newer one of ours."""

BUSY_TIMEOUT_S = 5.0
"""How long a statement waits for another process's write lock before giving up."""

MODES = frozenset({"demo", "run", "import"})
"""How a session came about: the simulated room, the microphone, or an imported log."""

RUNNING = "running"
FINAL_STATUSES = frozenset({"completed", "stopped", "interrupted", "device_lost"})
"""What a session can end as; the same words as ``events.EndReason``."""

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: sessions, their events, and the couple's saved settings.
    (
        f"PRAGMA application_id = {APPLICATION_ID}",
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            exercise TEXT NOT NULL,
            partner_a TEXT NOT NULL,
            partner_b TEXT NOT NULL,
            mode TEXT NOT NULL,
            status TEXT NOT NULL,
            duration_s REAL,
            settings TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX sessions_by_start ON sessions (started_at, id)",
        # Clustered on (session_id, seq): a session's events are read back in one range.
        """CREATE TABLE events (
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            t REAL NOT NULL,
            kind TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)
        ) WITHOUT ROWID""",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # 2: whether the partners agreed to keep words (consent); 1 keeps timing only.
    ("ALTER TABLE sessions ADD COLUMN timing_only INTEGER NOT NULL DEFAULT 0",),
)
"""Step N takes a database from schema N to N+1; add steps, never edit old ones."""

SCHEMA_VERSION = len(_MIGRATIONS)
"""The database schema this code writes (not ``events.SCHEMA_VERSION``)."""

_SESSION_COLUMNS = """
    s.id, s.started_at, s.exercise, s.partner_a, s.partner_b, s.mode, s.status,
    s.duration_s, (SELECT COUNT(*) FROM events AS e WHERE e.session_id = s.id),
    s.timing_only
"""
_NEWEST_FIRST = "ORDER BY s.started_at DESC, s.id DESC"

# SQLite's primary result codes (sqlite3.h), for Pythons whose sqlite3 lacks the names.
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26
_PROBLEM_BY_CODE = {
    _SQLITE_FULL: "full",
    _SQLITE_CORRUPT: "corrupt",
    _SQLITE_NOTADB: "corrupt",
    _SQLITE_READONLY: "readonly",
    _SQLITE_CANTOPEN: "readonly",
    _SQLITE_PERM: "readonly",
    _SQLITE_BUSY: "busy",
    _SQLITE_LOCKED: "busy",
}
# Python 3.10 exposes no result code, only the message (SQLite's fixed wording).
_PROBLEM_BY_MESSAGE = (
    ("disk is full", "full"),
    ("malformed", "corrupt"),
    ("not a database", "corrupt"),
    ("readonly", "readonly"),
    ("unable to open", "readonly"),
    ("locked", "busy"),
)


@dataclass(frozen=True)
class SessionRecord:
    """One row of the session list."""

    id: int
    started_at: str
    """ISO 8601 in UTC, as ``datetime.isoformat`` writes it (``+00:00``)."""
    exercise: str
    partners: tuple[str, str]
    """Display names of partner A and partner B."""
    mode: str
    """demo, run or import."""
    status: str
    """running, completed, stopped, interrupted or device_lost."""
    duration_s: float | None
    """None while the session is running."""
    event_count: int
    timing_only: bool = False
    """True when the partners did not both agree to keep words: no transcripts kept."""


class Store:
    """An open session database; use ``Store.open`` and close it (or use ``with``)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        """Wrap a connection that ``Store.open`` has checked, configured and migrated."""
        self._conn = conn
        self._path = path
        # Looked up once per session: append checks it for every event.
        self._timing_only: dict[int, bool] = {}

    @classmethod
    def open(cls, path: Path | None = None, *, create: bool = True) -> Store:
        """Open (creating if needed) the database at ``path``, default ``database_path()``.

        With ``create=False`` a missing file is not created: the store is an empty one
        in memory. A new file and its folder are made private (0600 and 0700). Raises
        ``StoreError`` for a file that is not an attune-voice database, is damaged or
        was written by a newer version (all left untouched), or cannot be written.
        """
        path = (paths.database_path() if path is None else path).absolute()
        if not create and not path.exists():
            empty = sqlite3.connect(":memory:", isolation_level=None)
            _migrate(empty, path)
            return cls(empty, path)
        try:
            paths.ensure_private_dir(path.parent)
        except OSError as e:
            raise StoreError(
                f"cannot create the folder {path.parent} ({_os_reason(e)}); "
                "check that it is a writable folder"
            ) from e
        _create_private_file(path)
        with _guard(path, "open", at_open=True):
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            _check_usable(conn, path)
            with _guard(path, "open", at_open=True):
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if 0 < version < SCHEMA_VERSION:
                    # Before anything writes to it, not even the switch to WAL.
                    _keep_copy(conn, path, backup_path(path, version))
            with _guard(path, "open", at_open=True):
                # Only now, with the file known to be ours: switching to WAL writes it.
                conn.execute("PRAGMA journal_mode = WAL").fetchall()
                # FULL syncs the log at every commit: a power cut loses no appended
                # event. A session writes a few events a second, so the cost is small.
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA secure_delete = ON")
            _migrate(conn, path)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        """Close the database; closing twice is harmless."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start_session(
        self,
        *,
        exercise: str,
        partners: tuple[str, str],
        mode: str,
        started_at: str,
        settings: Mapping[str, object],
        timing_only: bool = False,
        claim: Callable[[int], None] | None = None,
    ) -> int:
        """Record a new running session and return its id.

        ``claim(session_id)`` runs before the new row is committed, under the store's
        write lock: whatever it marks (a lock file saying a live process records the
        session) is in place before any other process can see the session running.

        ``started_at`` is an ISO 8601 time with a UTC offset (``Z`` or ``+00:00``; any
        offset is converted to UTC) from the caller: the store never reads a clock.
        With ``timing_only`` (the partners did not both consent) events that carry words
        are dropped by ``append`` whatever the caller sends.
        Raises ``ValueError`` for a bad mode, time or settings that are not JSON.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {sorted(MODES)}, not {mode!r}")
        started = utc_iso(started_at)
        try:
            settings_json = json.dumps(dict(settings), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ValueError(f"session settings must be plain JSON values ({e})") from e
        with self._guard("write to"), _transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO sessions (started_at, exercise, partner_a, partner_b, mode,"
                " status, settings, timing_only) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    started,
                    exercise,
                    partners[0],
                    partners[1],
                    mode,
                    RUNNING,
                    settings_json,
                    int(timing_only),
                ),
            )
            if cursor.lastrowid is None:  # sqlite3 sets it after every INSERT
                raise StoreError(f"cannot write to {self._path} (the new session got no id)")
            if claim is not None:
                claim(cursor.lastrowid)
        self._timing_only[cursor.lastrowid] = timing_only
        return cursor.lastrowid

    def append(self, session_id: int, event: Event) -> None:
        """Add ``event`` after the session's last event, committed before returning.

        A crash of the program afterwards loses nothing appended; with
        ``synchronous=NORMAL`` a power cut may still lose the last few commits.
        """
        self.append_many(session_id, (event,))

    def append_many(self, session_id: int, events: Iterable[Event]) -> None:
        """Add ``events`` in order, all or none, in one transaction.

        Raises ``ValueError`` for an event whose ``t`` is not a finite number (SQLite
        would store NaN as NULL) and ``TypeError`` for fields JSON cannot hold.
        """
        rows = []
        timing_only = self._is_timing_only(session_id)
        for event in events:
            if timing_only and carries_words(event):
                continue
            if not math.isfinite(event.t):
                raise ValueError(f"{event.kind} event at t={event.t}: t must be finite")
            rows.append((session_id, session_id, event.t, str(event.kind), dumps(event)))
        with self._guard("write to"):
            try:
                with _transaction(self._conn):
                    # seq is computed under the write lock BEGIN IMMEDIATE takes, so
                    # two writers cannot pick the same number.
                    self._conn.executemany(
                        "INSERT INTO events (session_id, seq, t, kind, data) VALUES (?,"
                        " (SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE session_id = ?),"
                        " ?, ?, ?)",
                        rows,
                    )
            except sqlite3.IntegrityError as e:
                if "FOREIGN KEY" not in str(e):
                    raise
                raise _no_session(session_id) from e

    def finish_session(self, session_id: int, status: str, duration_s: float) -> None:
        """Set the session's final status and length in seconds."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {sorted(FINAL_STATUSES)}, not {status!r}")
        with self._guard("write to"):
            cursor = self._conn.execute(
                "UPDATE sessions SET status = ?, duration_s = ? WHERE id = ?",
                (str(status), float(duration_s), session_id),
            )
        if cursor.rowcount == 0:
            raise _no_session(session_id)

    def settings_of(self, session_id: int) -> dict[str, Any]:
        """The settings ``start_session`` was given for the session."""
        with self._guard("read"):
            row = self._conn.execute(
                "SELECT settings FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        if row is None:
            raise _no_session(session_id)
        try:
            value = json.loads(row[0])
        except (ValueError, TypeError) as e:
            raise StoreError(
                f"the settings of session {session_id} in {self._path} are unreadable ({e})"
            ) from e
        return value if isinstance(value, dict) else {}

    def delete_sessions(self, session_ids: Iterable[int]) -> list[int]:
        """Remove the sessions and their events for good; return the ids that existed.

        The pages they used are overwritten (``secure_delete``) and the write-ahead log
        is emptied, so no copy stays in the database files. Raises ``StoreError`` when
        another attune-voice holds the log open and it cannot be emptied yet.
        """
        wanted = sorted(sid for sid in set(session_ids) if _fits(sid))
        with self._guard("write to"), _transaction(self._conn):
            found = [
                sid
                for sid in wanted
                if self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone()
            ]
            self._conn.executemany(
                "DELETE FROM events WHERE session_id = ?", [(sid,) for sid in found]
            )
            self._conn.executemany("DELETE FROM sessions WHERE id = ?", [(sid,) for sid in found])
        for sid in found:
            self._timing_only.pop(sid, None)
        if found:
            self._empty_log()
        return found

    def delete_all_sessions(self) -> list[int]:
        """Remove every session (the saved settings stay); return their ids."""
        with self._guard("read"):
            ids = [int(row[0]) for row in self._conn.execute("SELECT id FROM sessions")]
        removed = self.delete_sessions(ids)
        with self._guard("write to"):
            # Shrinks the file too, so even its size no longer tells how much was said.
            self._conn.execute("VACUUM")
        self._empty_log()
        return removed

    def readable_by_others(self) -> list[Path]:
        """The database's folder and files that someone other than the owner can read."""
        return paths.readable_by_others(self._path.parent, _companions(self._path))

    def exposure_warning(self) -> str | None:
        """A warning naming what others than the owner can read, with the fix; None when
        the couple's data is private."""
        exposed = self.readable_by_others()
        if not exposed:
            return None
        names = ", ".join(str(path) for path in exposed)
        return (
            f"warning: others can read {names}; make it private with:"
            f" chmod -R go-rwx {self._path.parent}"
        )

    def _empty_log(self) -> None:
        with self._guard("write to"):
            busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise StoreError(
                f"the deleted sessions are gone from {self._path}, but another attune-voice"
                " still holds its log open; close it and run the delete again to wipe the log"
            )

    def _is_timing_only(self, session_id: int) -> bool:
        known = self._timing_only.get(session_id)
        if known is None:
            with self._guard("read"):
                row = self._conn.execute(
                    "SELECT timing_only FROM sessions WHERE id = ?", (session_id,)
                ).fetchone()
            # An unknown id fails in the insert with its own message.
            known = bool(row[0]) if row is not None else False
            self._timing_only[session_id] = known
        return known

    def mark_unfinished_interrupted(
        self, still_recording: Callable[[int], bool] | None = None
    ) -> list[int]:
        """Mark sessions still 'running' (the program died) as 'interrupted'; return their ids.

        Their duration becomes the latest ``t`` among their events (0 when none).
        ``still_recording(session_id)`` spares a session a live process is recording;
        it is asked under the write lock, as ``start_session``'s claim is made.
        """
        with self._guard("write to"), _transaction(self._conn):
            ids = [
                int(row[0])
                for row in self._conn.execute(
                    "SELECT id FROM sessions WHERE status = ? ORDER BY id", (RUNNING,)
                )
                if still_recording is None or not still_recording(int(row[0]))
            ]
            self._conn.executemany(
                "UPDATE sessions SET status = 'interrupted', duration_s = COALESCE("
                " (SELECT MAX(t) FROM events WHERE events.session_id = sessions.id), 0.0)"
                " WHERE id = ?",
                [(session_id,) for session_id in ids],
            )
        return ids

    def sessions(self) -> list[SessionRecord]:
        """Every session, newest start first."""
        with self._guard("read"):
            rows = self._conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions AS s {_NEWEST_FIRST}"
            ).fetchall()
        return [_record(row) for row in rows]

    def session(self, session_id: int) -> SessionRecord:
        if not _fits(session_id):
            raise _no_session(session_id)
        with self._guard("read"):
            row = self._conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions AS s WHERE s.id = ?", (session_id,)
            ).fetchone()
        if row is None:
            raise _no_session(session_id)
        return _record(row)

    def latest_session_id(self) -> int | None:
        """The newest session's id, or None when there are none."""
        with self._guard("read"):
            row = self._conn.execute(f"SELECT s.id FROM sessions AS s {_NEWEST_FIRST} LIMIT 1")
            found = row.fetchone()
        return None if found is None else int(found[0])

    def events(self, session_id: int) -> list[Event]:
        """The session's events in the order they were appended."""
        if not _fits(session_id):
            raise _no_session(session_id)
        with self._guard("read"):
            known = self._conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,))
            if known.fetchone() is None:
                raise _no_session(session_id)
            rows = self._conn.execute(
                "SELECT seq, data FROM events WHERE session_id = ? ORDER BY seq", (session_id,)
            ).fetchall()
        result: list[Event] = []
        for seq, data in rows:
            try:
                result.append(loads(data))
            # loads promises ValueError, but non-object JSON or a non-text column
            # reaches it as TypeError or AttributeError.
            except (ValueError, TypeError, AttributeError) as e:
                raise StoreError(
                    f"event {seq} of session {session_id} in {self._path} is unreadable"
                    f" ({_one_line(str(e))}); restore a backup or export the other sessions"
                ) from e
        return result

    def get_setting(self, key: str) -> str | None:
        with self._guard("read"):
            row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        with self._guard("write to"):
            self._conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def _guard(self, action: str) -> AbstractContextManager[None]:
        return _guard(self._path, action)


def _create_private_file(path: Path) -> None:
    """Create an empty database file readable by its owner only, unless one exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as e:
        if path.is_dir():
            raise StoreError(
                f"{path} is a folder, not a database file; give the path of a file"
            ) from e
        return
    except OSError as e:
        raise StoreError(
            f"cannot create {path} ({_os_reason(e)}); check that its folder is writable"
        ) from e
    try:
        # The umask may only remove bits, but an odd one could leave the file unusable.
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _check_usable(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse, without writing anything, a file that is not a current attune-voice database."""
    with _guard(path, "open", at_open=True):
        application_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        empty = conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None
        if application_id != APPLICATION_ID and not (
            application_id == 0 and version == 0 and empty
        ):
            raise StoreError(
                f"{path} is an SQLite database of another program, not attune-voice;"
                " give another path or move it aside; nothing was changed"
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer attune-voice (schema {version}, this one"
                f" reads up to {SCHEMA_VERSION}); upgrade attune-voice to open it;"
                " nothing was changed"
            )
        # Reads every page once: a damaged file is refused now, whole, rather than
        # failing halfway through a session or a review.
        problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(1)")]
        if problems != ["ok"]:
            raise StoreError(_damaged(path, "; ".join(problems), at_open=True))


def _companions(path: Path) -> list[Path]:
    """The database file and the files SQLite keeps beside it."""
    return [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))]


def backup_path(path: Path, version: int) -> Path:
    """Where the copy of a schema-``version`` database is kept before it is upgraded."""
    return path.with_name(f"{path.name}.schema{version}.bak")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to ``SCHEMA_VERSION``, all steps in one transaction.

    ``open`` has already copied an older file aside whole, so an upgrade that goes
    wrong, or a wish to go back to an older attune-voice, never costs a session.
    """
    with _guard(path, "upgrade"):
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version >= SCHEMA_VERSION:
            return
        with _transaction(conn):
            # Read again under the write lock: another process may have just migrated.
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            for statements in _MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _keep_copy(conn: sqlite3.Connection, path: Path, copy: Path) -> None:
    """Write a consistent copy of the database to ``copy`` (0600), once."""
    if copy.exists():
        return
    partial = copy.with_name(copy.name + ".part")
    try:
        _create_private_file(partial)
        target = sqlite3.connect(partial)
        try:
            conn.backup(target)
        finally:
            target.close()
        partial.replace(copy)
    except (OSError, sqlite3.Error) as e:
        with suppress(OSError):
            partial.unlink()
        if isinstance(e, sqlite3.Error):
            raise
        raise StoreError(
            f"cannot keep a copy of {path} before upgrading it ({_os_reason(e)});"
            " free some space and try again; nothing was changed"
        ) from e


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taking the write lock up front so it cannot deadlock later."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # SQLite rolls some failures (a full disk) back itself; only undo what is left.
        if conn.in_transaction:
            conn.rollback()
        raise


@contextmanager
def _guard(path: Path, action: str, *, at_open: bool = False) -> Iterator[None]:
    """Turn any sqlite3 error in the block into a one-line ``StoreError``."""
    try:
        yield
    except sqlite3.Error as e:
        raise _store_error(e, path, action, at_open=at_open) from e


def _store_error(e: sqlite3.Error, path: Path, action: str, *, at_open: bool) -> StoreError:
    detail = _one_line(str(e)) or type(e).__name__
    problem = _problem(e)
    if problem == "full":
        return StoreError(
            f"cannot {action} {path}: the disk is full ({detail}); free some space and try again"
        )
    if problem == "corrupt":
        return StoreError(_damaged(path, detail, at_open=at_open))
    if problem == "readonly":
        return StoreError(
            f"cannot {action} {path} ({detail}); check that the file and its folder are writable"
        )
    if problem == "busy":
        return StoreError(
            f"{path} is busy ({detail}); close any other attune-voice using it and try again"
        )
    return StoreError(f"cannot {action} {path} ({detail})")


def _problem(e: sqlite3.Error) -> str | None:
    """Which kind of trouble an sqlite3 error is: full, corrupt, readonly, busy or None."""
    code = getattr(e, "sqlite_errorcode", None)
    if isinstance(code, int):
        # Extended codes (SQLITE_READONLY_DBMOVED…) keep the primary code in the low byte.
        return _PROBLEM_BY_CODE.get(code & 0xFF)
    message = str(e).lower()
    return next((problem for text, problem in _PROBLEM_BY_MESSAGE if text in message), None)


def _damaged(path: Path, detail: str, *, at_open: bool) -> str:
    unchanged = "; nothing was changed" if at_open else ""
    return (
        f"{path} is not a readable attune-voice database ({_one_line(detail)});"
        f" move it aside or restore a backup{unchanged}"
    )


def _fits(session_id: int) -> bool:
    """Whether SQLite can hold the number; a larger one names no session."""
    return -(2**63) <= session_id < 2**63


def _no_session(session_id: int) -> StoreError:
    return StoreError(f"no session {session_id}; list them with: attune-voice sessions")


def _record(row: Any) -> SessionRecord:
    """A ``SessionRecord`` from a row of ``_SESSION_COLUMNS``."""
    sid, started_at, exercise, partner_a, partner_b, mode, status, duration_s, count, words = row
    return SessionRecord(
        id=int(sid),
        started_at=str(started_at),
        exercise=str(exercise),
        partners=(str(partner_a), str(partner_b)),
        mode=str(mode),
        status=str(status),
        duration_s=None if duration_s is None else float(duration_s),
        event_count=int(count),
        timing_only=bool(words),
    )


def utc_iso(text: str) -> str:
    """``text`` (ISO 8601 with an offset) as UTC in ``isoformat`` form, which sorts as time."""
    # Python 3.10's fromisoformat does not read the "Z" suffix.
    cleaned = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError as e:
        raise ValueError(f"started_at must be an ISO 8601 time, not {text!r}") from e
    if moment.utcoffset() is None:
        raise ValueError(f"started_at needs a UTC offset (Z or +00:00): {text!r}")
    try:
        return moment.astimezone(timezone.utc).isoformat()
    except OverflowError as e:  # year 1 or 9999 with an offset that leaves the calendar
        raise ValueError(f"started_at is out of range: {text!r}") from e


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _os_reason(e: OSError) -> str:
    return e.strerror or _one_line(str(e)) or type(e).__name__
