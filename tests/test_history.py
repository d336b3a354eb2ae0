"""Sessions over time: filters, the summary cache, and the history's table, JSON, CSV, charts."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cli_run import invoke, one_error_line
from test_reports import (
    OUTPUT,
    chromium,
    colour_pixels,
    needs_chromium,
    parse,
    png_size,
    read_png,
)
from test_review import even_session, full_session, stopped_early

from attune_voice.events import Event, SessionEnded, SessionStarted
from attune_voice.review.history import (
    CACHE_VERSION,
    cache_path_for,
    history_json,
    history_table,
    load_history,
    remember,
    trend,
)
from attune_voice.review.html import history_html
from attune_voice.review.metrics import summarize
from attune_voice.review.png import history_png
from attune_voice.review.text import PARTNER_COLOURS
from attune_voice.store.database import Store
from attune_voice.store.paths import database_path

UTC = timezone.utc


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ATTUNE_HOME", str(folder))
    return folder


def stored(events: list[Event], day: str, exercise: str = "speaker-listener") -> int:
    """Keep ``events`` as a session started at noon (UTC) on ``day``; return its id.

    Noon keeps the day the same in any time zone the tests may run in.
    """
    first = next(e for e in events if isinstance(e, SessionStarted))
    last = next((e for e in reversed(events) if isinstance(e, SessionEnded)), None)
    with Store.open() as store:
        session_id = store.start_session(
            exercise=exercise,
            partners=first.partners,
            mode="demo",
            started_at=f"{day}T12:00:00Z",
            settings={},
        )
        store.append_many(session_id, events)
        if last is not None:
            store.finish_session(session_id, str(last.reason), last.t)
    return session_id


def four_weeks() -> None:
    stored(full_session(), "2024-05-01")
    stored(even_session(), "2024-05-08", exercise="speaker-listener-easy")
    stored(stopped_early(), "2024-05-15")
    stored(even_session(), "2024-05-22")


def test_sessions_oldest_first_filtered_by_day_and_exercise() -> None:
    four_weeks()
    with Store.open() as store:
        everything = load_history(store)
        from_second = load_history(store, since=datetime(2024, 5, 8, tzinfo=UTC))
        before_third = load_history(store, until=datetime(2024, 5, 15, 12, tzinfo=UTC))
        easy = load_history(store, exercise="speaker-listener-easy")
    assert [e.record.id for e in everything.entries] == [1, 2, 3, 4]
    assert [e.record.id for e in from_second.entries] == [2, 3, 4]
    assert [e.record.id for e in before_third.entries] == [1, 2]
    assert [e.record.id for e in easy.entries] == [2]
    assert everything.unreadable == ()
    points = [trend(entry) for entry in everything.entries]
    assert [p.confirmed_fraction for p in points] == [0.5, 1.0, None, 1.0]
    assert [p.interruptions for p in points] == [1, 0, 0, 0]
    assert points[0].shares == (88 / 145, 57 / 145)
    assert points[2].shares == (0.0, 0.0)
    assert points[0].started_at == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_the_table_in_the_terminal() -> None:
    empty = invoke("history")
    assert empty.exit_code == 0 and "No sessions yet" in empty.stdout
    four_weeks()
    result = invoke("history")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "#",
        "date",
        "exercise",
        "length",
        "Ann",
        "·",
        "Bo",
        "interruptions",
        "confirmed",
    ]
    rows = [line.split() for line in lines[2:6]]
    assert [row[0] for row in rows] == ["1", "2", "3", "4"]
    assert rows[0][4:] == ["3:00", "61%", "·", "39%", "1", "1", "of", "2"]
    assert rows[2][4:] == ["0:03", "0%", "·", "0%", "0", "0", "of", "0"]
    assert "confirmed first time" in lines[6]


def test_filters_on_the_command_line() -> None:
    four_weeks()
    result = invoke("history", "--since", "2024-05-08", "--until", "2024-05-15")
    ids = [line.split()[0] for line in result.stdout.splitlines()[2:4]]
    assert ids == ["2", "3"]
    assert len(result.stdout.splitlines()) == 5
    none = invoke("history", "--exercise", "dreams-within-conflict")
    assert none.stdout == "No sessions match.\n"
    bad = invoke("history", "--since", "1 May")
    assert bad.exit_code == 2
    assert "--since takes a day like 2024-05-01" in one_error_line(bad)
    backwards = invoke("history", "--since", "2024-05-09", "--until", "2024-05-08")
    assert backwards.exit_code == 2
    assert "after --until" in one_error_line(backwards)


def test_json_and_csv() -> None:
    four_weeks()
    data = json.loads(invoke("history", "--format", "json").stdout)
    assert data["schema_version"] == 2
    first = data["sessions"][0]
    assert (first["session"], first["started_at"], first["duration_s"]) == (
        1,
        "2024-05-01T12:00:00+00:00",
        180.0,
    )
    assert (first["share_a"], first["share_b"], first["interruptions_b"]) == (0.607, 0.393, 1)
    assert (first["paraphrase_rounds"], first["confirmed_first_time"]) == (2, 1)
    assert (first["handovers"], first["median_response_gap_s"]) == (7, 2.5)
    assert data["sessions"][2]["median_response_gap_s"] is None

    rows = list(csv.DictReader(io.StringIO(invoke("history", "--format", "csv").stdout)))
    assert [row["session"] for row in rows] == ["1", "2", "3", "4"]
    assert rows[1]["exercise"] == "speaker-listener-easy"
    assert (rows[0]["talk_a_s"], rows[0]["share_a"]) == ("88.0", "0.607")
    assert rows[2]["median_response_gap_s"] == ""
    with Store.open() as store:
        entries = load_history(store).entries
    assert data == json.loads(json.dumps(history_json(entries)))


def test_summaries_come_from_the_cache_until_the_session_changes() -> None:
    four_weeks()
    cache = cache_path_for(database_path())
    with Store.open() as store:
        load_history(store, cache_path=cache)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    content = json.loads(cache.read_text())
    assert content["version"] == CACHE_VERSION
    assert sorted(content["sessions"]) == ["1", "2", "3", "4"]

    # What the cache says is what history shows, as long as the session is unchanged.
    content["sessions"]["1"]["summary"]["exercise"] = "as cached"
    cache.write_text(json.dumps(content))
    with Store.open() as store:
        assert load_history(store, cache_path=cache).entries[0].summary.exercise == "as cached"
        store.append(1, stopped_early()[-1])  # one more event: the key no longer matches
        assert load_history(store, cache_path=cache).entries[0].summary.exercise == (
            "speaker-listener"
        )

    cache.write_text("{ not json")
    with Store.open() as store:
        assert len(load_history(store, cache_path=cache).entries) == 4
    assert sorted(json.loads(cache.read_text())["sessions"]) == ["1", "2", "3", "4"]


def test_a_session_remembered_as_it_ends_is_not_read_again(home: Path) -> None:
    events = full_session()
    session_id = stored(events, "2024-05-01")
    cache = cache_path_for(database_path())
    with Store.open() as store:
        remember(store, session_id, summarize(events), cache)
    # Its events can no longer be read, yet its summary is there.
    with sqlite3.connect(home / "attune.db") as db:
        db.execute("UPDATE events SET data = 'unreadable' WHERE session_id = ?", (session_id,))
    with Store.open() as store:
        found = load_history(store, cache_path=cache)
        running = stored(full_session()[:10], "2024-05-02")
        remember(store, running, summarize(full_session()[:10]), cache)
    assert found.unreadable == ()
    assert found.entries[0].summary == summarize(events)
    assert sorted(json.loads(cache.read_text())["sessions"]) == [str(session_id)]


def test_a_running_session_is_shown_but_not_cached() -> None:
    stored(full_session(), "2024-05-01")
    running = stored(full_session()[:10], "2024-05-02")
    cache = cache_path_for(database_path())
    with Store.open() as store:
        entries = load_history(store, cache_path=cache).entries
    assert [(e.record.id, e.record.status) for e in entries] == [(1, "completed"), (2, "running")]
    assert entries[1].summary.end_reason == "unfinished"
    assert str(running) not in json.loads(cache.read_text())["sessions"]


def test_an_unreadable_session_is_left_out_and_said_so(home: Path) -> None:
    four_weeks()
    with sqlite3.connect(home / "attune.db") as db:
        db.execute('UPDATE events SET data = \'{"kind": "nonsense"}\' WHERE session_id = 2')
    result = invoke("history")
    assert result.exit_code == 0
    assert "attune-voice: session 2 left out: event 1 of session 2" in result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[2:5]] == ["1", "3", "4"]


def test_the_history_page_and_picture(tmp_path: Path) -> None:
    four_weeks()
    with Store.open() as store:
        entries = load_history(store).entries
    html = history_html(entries, UTC)
    for outside in ("http:", "https:", "<script", "<link", " src=", "url("):
        assert outside not in html
    page = parse(html)
    assert len(page.having("svg", "trend")) == 3
    # Shares: two stacked bars for each session in which anyone spoke (not the third).
    bars = page.having("rect", "bar")
    assert len(bars) == 3 * 2 + 4 + 3  # shares, interruptions, confirmations
    assert len([t for t, _ in page.tags if t == "tr"]) == 1 + 4
    header, rows = history_table(entries, UTC)
    assert header[4] == "Ann · Bo"
    assert rows[0][1] == "2024-05-01 12:00"
    assert "61% · 39%" in page.text

    data = history_png(entries, UTC)
    assert png_size(data) == (1200, 720)
    image = read_png(data)
    for colour in PARTNER_COLOURS:
        assert colour_pixels(image, colour).sum() > 1000
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "history.png").write_bytes(data)


def test_different_couples_are_named_in_each_row() -> None:
    stored(full_session(), "2024-05-01")
    events = even_session()
    events[0] = SessionStarted(
        t=0.0, exercise="speaker-listener", partners=("Kai", "Robin"), settings={}
    )
    stored(events, "2024-05-02")
    with Store.open() as store:
        header, rows = history_table(load_history(store).entries, UTC)
    assert header[4] == "share of the talk"
    assert [row[4] for row in rows] == ["Ann 61% · Bo 39%", "Kai 50% · Robin 50%"]


@needs_chromium
def test_the_history_page_on_a_phone(tmp_path: Path) -> None:
    four_weeks()
    page_path = tmp_path / "history.html"
    picture = tmp_path / "history.png"
    result = invoke("history", "--html", str(page_path), "--png", str(picture))
    assert result.exit_code == 0
    assert png_size(picture.read_bytes()) == (1200, 720)
    dom = parse(chromium(tmp_path / "profile", "--dump-dom", page_path.as_uri()).stdout)
    assert len(dom.having("svg", "trend")) == 3
    assert len(dom.having("table", "history")) == 1
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "history-390.png"
    chromium(
        tmp_path / "profile", f"--screenshot={shot}", "--window-size=390,844", page_path.as_uri()
    )
    image = read_png(shot.read_bytes())
    for colour in PARTNER_COLOURS:
        assert colour_pixels(image, colour).sum() > 100
