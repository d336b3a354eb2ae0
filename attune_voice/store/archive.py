"""A portable archive of sessions: one JSON file the couple can keep or hand to a counsellor.

The file is plain UTF-8 JSON, readable without attune-voice::

    {"format": "attune-voice-archive", "version": 1,
     "sessions": [{"started_at": ..., "exercise": ..., "partners": [A, B], "mode": ...,
                   "status": ..., "duration_s": ..., "timing_only": false,
                   "settings": {...}, "events": [{"kind": ..., "t": ...}, ...]}]}

Reading one back checks everything before anything is written, and adds the sessions
as new ones: a session already in the database (same start, exercise and partners) is
left as it is, never overwritten.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attune_voice.bounds import NAME_CHARS, partner_names_problem
from attune_voice.errors import ArchiveError
from attune_voice.events import Event, event_from_json
from attune_voice.session.consent import carries_words
from attune_voice.store.database import FINAL_STATUSES, Store, utc_iso

FORMAT = "attune-voice-archive"
VERSION = 1
"""Bumped when a reader of the old version could misread the new one."""

MAX_ARCHIVE_BYTES = 512 * 1024 * 1024
"""A larger file is refused before it is read: years of sessions take a few megabytes."""

MAX_NAME_CHARS = NAME_CHARS


@dataclass(frozen=True)
class ArchivedSession:
    """One session as an archive holds it, checked."""

    started_at: str
    exercise: str
    partners: tuple[str, str]
    mode: str
    status: str
    duration_s: float | None
    timing_only: bool
    settings: dict[str, Any]
    events: tuple[Event, ...]


@dataclass(frozen=True)
class ArchiveParts:
    """An archive read session by session."""

    sessions: tuple[ArchivedSession, ...]
    """The sessions that can be imported, in the archive's order."""
    refused: tuple[str, ...]
    """One line for each session that cannot: "session 3 is not valid (...)"."""


@dataclass(frozen=True)
class ImportResult:
    added: tuple[int, ...]
    """Ids the imported sessions got in this database."""
    skipped: int
    """Sessions already present, left untouched."""


def export_sessions(store: Store, target: Path, session_ids: list[int] | None = None) -> int:
    """Write the sessions (all when ``session_ids`` is None) to ``target``; return how many.

    The file is written beside its final name and renamed into place, readable by its
    owner only: an export cut short never leaves half an archive under the name.
    """
    text, count = archive_text(store, session_ids)
    _write_private(target, text.encode("utf-8"))
    return count


def archive_text(store: Store, session_ids: list[int] | None = None) -> tuple[str, int]:
    """The archive of the sessions (all when ``session_ids`` is None) and how many."""
    records = store.sessions()
    if session_ids is not None:
        wanted = set(session_ids)
        records = [record for record in records if record.id in wanted]
    # Oldest first reads naturally and imports in the order they happened.
    records.reverse()
    sessions = [
        {
            "started_at": record.started_at,
            "exercise": record.exercise,
            "partners": list(record.partners),
            "mode": record.mode,
            "status": record.status,
            "duration_s": record.duration_s,
            "timing_only": record.timing_only,
            "settings": store.settings_of(record.id),
            "events": [event.to_json() for event in store.events(record.id)],
        }
        for record in records
    ]
    document = {"format": FORMAT, "version": VERSION, "sessions": sessions}
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False), len(sessions)


def read_archive(source: Path) -> list[ArchivedSession]:
    """The sessions in the archive at ``source``; ``ArchiveError`` for anything amiss."""
    return parse_archive(_read_bytes(source), str(source))


def read_archive_parts(source: Path) -> ArchiveParts:
    """The usable sessions in the archive at ``source``, and what is wrong with the rest;
    ``ArchiveError`` only when the file as a whole is not a readable archive."""
    return parse_archive_parts(_read_bytes(source), str(source))


def _read_bytes(source: Path) -> bytes:
    try:
        size = source.stat().st_size
        if size > MAX_ARCHIVE_BYTES:
            raise ArchiveError(
                f"{source} is {size // (1024 * 1024)} MB, more than an archive of"
                f" {MAX_ARCHIVE_BYTES // (1024 * 1024)} MB; is it the right file?"
            )
        return source.read_bytes()
    except OSError as e:
        raise ArchiveError(f"cannot read {source} ({e.strerror or e})") from e


def parse_archive(data: bytes, source: str = "the archive") -> list[ArchivedSession]:
    """Check and read an archive's bytes; ``ArchiveError`` names the first problem."""
    parts = parse_archive_parts(data, source)
    if parts.refused:
        raise ArchiveError(f"{source}: {parts.refused[0]}")
    return list(parts.sessions)


def parse_archive_parts(data: bytes, source: str = "the archive") -> ArchiveParts:
    """Check an archive's bytes session by session: one bad session (a name too long,
    a damaged event) costs only itself. ``ArchiveError`` when the file is no archive."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ArchiveError(f"{source} is larger than an archive can be")
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ArchiveError(
            f"{source} is not an attune-voice archive (not JSON: {_short(e)})"
        ) from e
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ArchiveError(f"{source} is not an attune-voice archive (no format mark)")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ArchiveError(f"{source}: the archive version must be a whole number")
    if version > VERSION:
        raise ArchiveError(
            f"{source} was written by a newer attune-voice (archive version {version},"
            f" this one reads up to {VERSION}); upgrade attune-voice to import it"
        )
    items = document.get("sessions")
    if not isinstance(items, list):
        raise ArchiveError(f"{source}: the archive has no sessions list")
    sessions = []
    refused = []
    for number, item in enumerate(items, start=1):
        try:
            sessions.append(_session(item))
        except (ValueError, TypeError, KeyError, RecursionError) as e:
            refused.append(f"session {number} is not valid ({_short(e)})")
    return ArchiveParts(tuple(sessions), tuple(refused))


def import_sessions(store: Store, sessions: list[ArchivedSession]) -> ImportResult:
    """Add ``sessions`` to ``store`` as new sessions, skipping those already there."""
    present = {(r.started_at, r.exercise, r.partners) for r in store.sessions()}
    added = []
    skipped = 0
    for session in sessions:
        key = (session.started_at, session.exercise, session.partners)
        if key in present:
            skipped += 1
            continue
        session_id = store.start_session(
            exercise=session.exercise,
            partners=session.partners,
            mode="import",
            started_at=session.started_at,
            settings=session.settings,
            timing_only=session.timing_only,
        )
        store.append_many(session_id, session.events)
        last_t = max((event.t for event in session.events), default=0.0)
        duration_s = session.duration_s if session.duration_s is not None else last_t
        status = session.status if session.status in FINAL_STATUSES else "interrupted"
        store.finish_session(session_id, status, duration_s)
        present.add(key)
        added.append(session_id)
    return ImportResult(added=tuple(added), skipped=skipped)


def _session(item: Any) -> ArchivedSession:
    if not isinstance(item, dict):
        raise TypeError("a session is a JSON object")
    partners = item["partners"]
    if not (isinstance(partners, list) and len(partners) == 2):
        raise ValueError("partners must be a list of two names")
    duration_s = item.get("duration_s")
    if duration_s is not None:
        duration_s = _number(duration_s, "duration_s")
        if duration_s < 0:
            raise ValueError("duration_s must not be negative")
    timing_only = item.get("timing_only", False)
    if not isinstance(timing_only, bool):
        raise TypeError("timing_only must be true or false")
    settings = item.get("settings", {})
    if not isinstance(settings, Mapping):
        raise TypeError("settings must be an object")
    raw_events = item["events"]
    if not isinstance(raw_events, list):
        raise TypeError("events must be a list")
    events = []
    for index, raw in enumerate(raw_events, start=1):
        try:
            event = event_from_json(raw)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise ValueError(f"event {index}: {_short(e)}") from e
        if not math.isfinite(event.t) or event.t < 0:
            raise ValueError(f"event {index}: t must be a time from the session start")
        if timing_only and carries_words(event):
            raise ValueError(f"event {index} holds words in a timing-only session")
        events.append(event)
    status = _text(item["status"], "status")
    if status not in FINAL_STATUSES | {"running"}:
        raise ValueError(f"unknown status {status!r}")

    return ArchivedSession(
        started_at=utc_iso(_text(item["started_at"], "started_at")),
        exercise=_text(item["exercise"], "exercise"),
        partners=_partners(partners),
        mode=_text(item.get("mode", "import"), "mode"),
        status=status,
        duration_s=duration_s,
        timing_only=timing_only,
        settings=dict(settings),
        events=tuple(events),
    )


def _partners(raw: list[Any]) -> tuple[str, str]:
    names = (_text(raw[0], "a partner"), _text(raw[1], "a partner"))
    problem = partner_names_problem(names)
    if problem is not None:
        raise ValueError(f"partners: {problem}")
    return names


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_CHARS:
        raise ValueError(f"{what} must be a non-empty text of at most {MAX_NAME_CHARS} characters")
    if any(ord(c) < 32 for c in value):
        raise ValueError(f"{what} must not hold control characters")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite")
    return float(value)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _write_private(target: Path, data: bytes) -> None:
    partial = target.with_name(f".{target.name}.part")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        partial.replace(target)
    except OSError as e:
        with suppress(OSError):
            partial.unlink()
        raise ArchiveError(f"cannot write {target} ({e.strerror or e})") from e
