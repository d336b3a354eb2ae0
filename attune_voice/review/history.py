"""Sessions over the weeks: one summary per stored session, filtered, with a cache.

Each session's summary is a pure function of its events, and a finished session's
events never change, so the summaries are kept in a small JSON file in the cache
folder, keyed by the session's id, start, status, length and event count. A missing,
stale or unreadable cache only costs time: anything it lacks is computed again from
the events. It is written with the database's privacy (a 0700 folder, a 0600 file).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from attune_voice.errors import StoreError
from attune_voice.review.data import REPORT_SCHEMA_VERSION, summary_from_json
from attune_voice.review.metrics import SessionSummary, summarize
from attune_voice.review.text import clock, percents
from attune_voice.store import paths
from attune_voice.store.database import RUNNING, SessionRecord, Store

CACHE_VERSION = 1
"""Bumped whenever a summary's fields or their definitions change: older caches are
then ignored and rebuilt."""


@dataclass(frozen=True)
class HistoryEntry:
    """One stored session and its summary."""

    record: SessionRecord
    summary: SessionSummary


@dataclass(frozen=True)
class History:
    entries: tuple[HistoryEntry, ...]
    """Oldest first."""
    unreadable: tuple[tuple[int, str], ...]
    """Sessions left out because their events could not be read: (id, why)."""


def cache_path_for(database: Path) -> Path:
    """Where the summaries of ``database``'s sessions are cached."""
    digest = hashlib.sha256(str(database.absolute()).encode("utf-8")).hexdigest()[:16]
    return paths.cache_dir() / "history" / f"{digest}.json"


def load_history(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    exercise: str | None = None,
    cache_path: Path | None = None,
) -> History:
    """The sessions that started in [since, until) and, if given, ran ``exercise``.

    ``since`` and ``until`` must carry a time zone. With ``cache_path`` the summaries
    are read from and saved to that file (see the module's docstring).
    """
    records = store.sessions()
    cached = _read_cache(cache_path) if cache_path is not None else {}
    fresh: dict[str, Any] = {}
    entries = []
    unreadable = []
    for record in reversed(records):
        started = datetime.fromisoformat(record.started_at)
        if since is not None and started < since:
            continue
        if until is not None and started >= until:
            continue
        if exercise is not None and record.exercise != exercise:
            continue
        key = _cache_key(record)
        summary = _cached_summary(cached.get(str(record.id)), key)
        if summary is None:
            try:
                summary = summarize(store.events(record.id))
            except StoreError as e:
                unreadable.append((record.id, str(e)))
                continue
            if record.status != RUNNING:
                fresh[str(record.id)] = {"key": key, "summary": dataclasses.asdict(summary)}
        entries.append(HistoryEntry(record, summary))
    if cache_path is not None and fresh:
        known = {str(record.id) for record in records}
        kept = {sid: item for sid, item in cached.items() if sid in known}
        _write_cache(cache_path, kept | fresh)
    return History(tuple(entries), tuple(unreadable))


def remember(store: Store, session_id: int, summary: SessionSummary, cache_path: Path) -> None:
    """Cache the summary of a session that has just finished, computed from its events.

    Called at the end of a session, it spares ``history`` reading those events again:
    a first history over hundreds of sessions would otherwise take seconds.
    """
    record = store.session(session_id)
    if record.status == RUNNING:
        return
    cached = _read_cache(cache_path)
    cached[str(session_id)] = {"key": _cache_key(record), "summary": dataclasses.asdict(summary)}
    _write_cache(cache_path, cached)


# --- what the history shows -----------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """One session's point on the trend charts."""

    session_id: int
    started_at: datetime
    shares: tuple[float, float]
    """Partner A's and B's share of the talk (both 0 when nobody spoke)."""
    interruptions: int
    """Both partners' interruptions together."""
    confirmed_fraction: float | None
    """Paraphrases confirmed first time out of those begun; None without paraphrases."""


def trend(entry: HistoryEntry) -> Trend:
    a, b = entry.summary.partners_summary
    rounds = a.paraphrase_rounds + b.paraphrase_rounds
    confirmed = a.confirmed_first_time + b.confirmed_first_time
    return Trend(
        session_id=entry.record.id,
        started_at=datetime.fromisoformat(entry.record.started_at),
        shares=(a.share, b.share),
        interruptions=a.interruptions + b.interruptions,
        confirmed_fraction=confirmed / rounds if rounds else None,
    )


def history_header(entries: Sequence[HistoryEntry]) -> tuple[str, ...]:
    """The table's column titles; the balance column (each one's share of the talk) is
    titled with the partners' names when every session has the same two."""
    names = {entry.summary.partners for entry in entries}
    balance = "share of the talk"
    if len(names) == 1:
        a, b = next(iter(names))
        balance = f"{a} · {b}"
    return ("#", "date", "exercise", "length", balance, "interruptions", "confirmed")


LEFT_ALIGNED = frozenset({1, 2})
"""Columns of text rather than numbers in ``history_row``."""


def history_row(
    entry: HistoryEntry, tz: tzinfo | None, *, with_names: bool = False
) -> tuple[str, ...]:
    """One session as the table shows it, in the zone ``tz`` (None: this computer's).

    ``confirmed`` is paraphrases confirmed first time out of those begun.
    """
    summary = entry.summary
    a, b = summary.partners_summary
    share_a, share_b = percents(summary)
    balance = f"{share_a}% · {share_b}%"
    if with_names:
        balance = f"{a.name} {share_a}% · {b.name} {share_b}%"
    started = datetime.fromisoformat(entry.record.started_at).astimezone(tz)
    return (
        str(entry.record.id),
        started.strftime("%Y-%m-%d %H:%M"),
        entry.record.exercise,
        clock(entry.record.duration_s if entry.record.duration_s else summary.duration_s),
        balance,
        str(a.interruptions + b.interruptions),
        f"{a.confirmed_first_time + b.confirmed_first_time}"
        f" of {a.paraphrase_rounds + b.paraphrase_rounds}",
    )


def history_table(
    entries: Sequence[HistoryEntry], tz: tzinfo | None
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The header and rows of the history table (see ``history_header``, ``history_row``)."""
    with_names = len({entry.summary.partners for entry in entries}) > 1
    return history_header(entries), [
        history_row(entry, tz, with_names=with_names) for entry in entries
    ]


def format_history(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The history table as plain text: text columns to the left, numbers to the right.

    Plain rather than drawn with a table library, which takes half a second for five
    hundred rows.
    """
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.ljust(width) if i in LEFT_ALIGNED else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("─" * width for width in widths))
    return "\n".join(lines) + "\n"


HISTORY_COLUMNS = (
    "session",
    "started_at",
    "exercise",
    "mode",
    "status",
    "duration_s",
    "partner_a",
    "partner_b",
    "talk_a_s",
    "talk_b_s",
    "share_a",
    "share_b",
    "interruptions_a",
    "interruptions_b",
    "backchannels_a",
    "backchannels_b",
    "paraphrase_rounds",
    "confirmed_first_time",
    "second_tries",
    "handovers",
    "median_response_gap_s",
    "time_outs",
    "pauses",
)


def history_record(entry: HistoryEntry) -> dict[str, Any]:
    """One session as flat JSON-able values (the JSON and CSV forms); seconds, fractions."""
    record, summary = entry.record, entry.summary
    a, b = summary.partners_summary
    values: dict[str, Any] = {
        "session": record.id,
        "started_at": record.started_at,
        "exercise": record.exercise,
        "mode": record.mode,
        "status": record.status,
        "duration_s": record.duration_s if record.duration_s is not None else summary.duration_s,
        "partner_a": record.partners[0],
        "partner_b": record.partners[1],
        "talk_a_s": a.talk_s,
        "talk_b_s": b.talk_s,
        "share_a": a.share,
        "share_b": b.share,
        "interruptions_a": a.interruptions,
        "interruptions_b": b.interruptions,
        "backchannels_a": a.backchannels,
        "backchannels_b": b.backchannels,
        "paraphrase_rounds": a.paraphrase_rounds + b.paraphrase_rounds,
        "confirmed_first_time": a.confirmed_first_time + b.confirmed_first_time,
        "second_tries": summary.second_tries,
        "handovers": len(summary.handovers),
        "median_response_gap_s": summary.median_response_gap_s,
        "time_outs": summary.time_outs,
        "pauses": summary.pauses,
    }
    return {
        key: round(value, 3) if isinstance(value, float) else value for key, value in values.items()
    }


def history_json(entries: Sequence[HistoryEntry]) -> dict[str, Any]:
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "sessions": [history_record(entry) for entry in entries],
    }


# --- the cache --------------------------------------------------------------------------------


def _cache_key(record: SessionRecord) -> list[Any]:
    return [record.started_at, record.status, record.duration_s, record.event_count]


def _cached_summary(item: Any, key: list[Any]) -> SessionSummary | None:
    if not isinstance(item, dict) or item.get("key") != key:
        return None
    try:
        return summary_from_json(item.get("summary"))
    except ValueError:
        return None


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    sessions = data.get("sessions")
    return sessions if isinstance(sessions, dict) else {}


def _write_cache(path: Path, sessions: dict[str, Any]) -> None:
    """Replace the cache file whole, so a reader never sees half of one."""
    text = json.dumps({"version": CACHE_VERSION, "sessions": sessions}, separators=(",", ":"))
    try:
        paths.ensure_private_dir(path.parent)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".history-", suffix=".json")
    except OSError:
        # A cache that cannot be written only costs time on the next run.
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        Path(temporary).replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
