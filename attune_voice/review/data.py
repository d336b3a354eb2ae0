"""A session's review as data for other tools: JSON with a schema version, and CSV.

The JSON carries the summary's fields at the top level (as the end-of-session review
prints them), the session's record and the whole event log; the CSV comes as two
tables, the metrics (one row per partner) and the events (one row per event), each
of which reads back into what it was made from. The summary's own JSON form reads back
into a summary too, which is how the history keeps its cache.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from attune_voice.events import EVENT_TYPES, SCHEMA_VERSION, Event, event_from_json
from attune_voice.review.metrics import Handover, PartnerSummary, SessionSummary
from attune_voice.store.database import SessionRecord

REPORT_SCHEMA_VERSION = 2
"""Version of the review's JSON form (not of the events): 2 added turns, talking
stretches, hand-overs, overlaps, pauses and time-outs to version 1's fields."""


def summary_to_json(summary: SessionSummary) -> dict[str, Any]:
    """The summary as JSON-able values; times in seconds to the millisecond."""
    data: dict[str, Any] = {"schema_version": REPORT_SCHEMA_VERSION}
    data.update(_rounded(dataclasses.asdict(summary)))
    return data


def summary_from_json(data: Any) -> SessionSummary:
    """Rebuild a summary from ``summary_to_json`` or ``dataclasses.asdict`` form.

    Raises ``ValueError`` for anything that is not such a summary.
    """
    try:
        fields = {f.name for f in dataclasses.fields(SessionSummary)}
        values = {key: data[key] for key in fields}
        a, b = (PartnerSummary(**p) for p in values["partners_summary"])
        values["partners_summary"] = (a, b)
        values["partners"] = (str(values["partners"][0]), str(values["partners"][1]))
        values["handovers"] = tuple(Handover(**h) for h in values["handovers"])
        return SessionSummary(**values)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ValueError(f"not a session summary ({e})") from e


def review_json(
    summary: SessionSummary, events: Sequence[Event], record: SessionRecord | None = None
) -> dict[str, Any]:
    """The summary (``summary_to_json``), the session's record and every event.

    ``schema_version`` is the review's (``REPORT_SCHEMA_VERSION``);
    ``event_schema_version`` is that of the events' own JSON form.
    """
    data = summary_to_json(summary)
    data["session"] = record.id if record is not None else None
    data["started_at"] = record.started_at if record is not None else None
    data["mode"] = record.mode if record is not None else None
    data["status"] = record.status if record is not None else None
    data["event_schema_version"] = SCHEMA_VERSION
    data["events"] = [event.to_json() for event in events]
    return data


def events_from_review_json(data: Mapping[str, Any]) -> list[Event]:
    """The events of a ``review_json`` document; ``ValueError`` for a malformed one."""
    items = data.get("events")
    if not isinstance(items, list):
        raise ValueError("a review document has an events list")
    return [event_from_json(item) for item in items]


SESSION_COLUMNS = ("session", "started_at", "exercise", "duration_s", "end_reason")
PARTNER_COLUMNS = tuple(f.name for f in dataclasses.fields(PartnerSummary))
METRICS_COLUMNS = SESSION_COLUMNS + PARTNER_COLUMNS


def metrics_csv(summary: SessionSummary, record: SessionRecord | None = None) -> str:
    """One row per partner: the session's columns, then every PartnerSummary field.

    Times are seconds to the millisecond, shares fractions of 1; a measure that does
    not apply (a response gap with no hand-over) is an empty cell.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(METRICS_COLUMNS)
    session_cells = (
        record.id if record is not None else "",
        record.started_at if record is not None else "",
        summary.exercise,
        _cell(summary.duration_s),
        summary.end_reason,
    )
    for partner in summary.partners_summary:
        values = dataclasses.asdict(partner)
        writer.writerow([*session_cells, *(_cell(values[name]) for name in PARTNER_COLUMNS)])
    return out.getvalue()


def events_csv(events: Iterable[Event]) -> str:
    """One row per event: ``t``, ``kind``, then the union of every kind's fields.

    Text is written as it is, numbers as numbers, a missing partner as an empty cell,
    and the few nested values (the partners' names, the settings) as JSON.
    """
    events = list(events)
    columns = ["t", "kind"]
    for cls in [*EVENT_TYPES.values(), *(type(e) for e in events)]:
        for f in dataclasses.fields(cls):
            if f.name not in columns:
                columns.append(f.name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for event in events:
        data = event.to_json()
        writer.writerow([_cell(data[name]) if name in data else "" for name in columns])
    return out.getvalue()


def events_from_csv(text: str) -> list[Event]:
    """Read ``events_csv`` back; ``ValueError`` for a row that is not a known event."""
    result = []
    try:
        # newline="" lets the csv module see a stray carriage return as data.
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise ValueError(f"not a readable CSV file ({e})") from e
    for number, row in enumerate(rows, start=2):
        kind = row.get("kind") or ""
        cls = EVENT_TYPES.get(kind)
        if cls is None:
            raise ValueError(f"line {number}: unknown event kind {kind!r}")
        hints = typing.get_type_hints(cls)
        data: dict[str, Any] = {"kind": kind}
        try:
            for f in dataclasses.fields(cls):
                cell = row.get(f.name) or ""
                if cell == "" and f.default is not dataclasses.MISSING:
                    continue
                data[f.name] = _parse_cell(cell, hints[f.name])
            result.append(event_from_json(data))
        except ValueError as e:
            raise ValueError(f"line {number}: {e}") from e
    return result


def _cell(value: Any) -> Any:
    """A CSV cell: floats to the millisecond, None empty, true or false, nested values
    as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _parse_cell(cell: str, hint: Any) -> Any:
    """The value a cell written by ``_cell`` stands for, given the field's type."""
    if hint is bool:
        if cell not in ("true", "false"):
            raise ValueError(f"{cell!r} is neither true nor false")
        return cell == "true"
    if hint is float:
        return float(cell)
    if hint is int:
        return int(cell)
    if isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint):
        return cell or None
    if isinstance(hint, type) and issubclass(hint, str):
        # str itself and the StrEnum fields, which event_from_json converts.
        return cell
    return json.loads(cell)


def _rounded(value: Any) -> Any:
    """``value`` with every float rounded to 3 places and tuples made lists."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(item) for item in value]
    return value
