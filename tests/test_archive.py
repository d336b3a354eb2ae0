"""Export and import: a portable archive that comes back whole and never overwrites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from attune_voice.cli.main import cli
from attune_voice.errors import ArchiveError
from attune_voice.events import (
    EndReason,
    Key,
    SessionEnded,
    Transcript,
    WordTime,
)
from attune_voice.store.archive import (
    FORMAT,
    VERSION,
    export_sessions,
    import_sessions,
    parse_archive,
    read_archive,
)
from attune_voice.store.database import Store


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ATTUNE_HOME", str(folder))
    return folder


def fill(store: Store) -> list[int]:
    """Three sessions: completed, timing only, and one still running."""
    ids = []
    for day, (timing_only, status) in enumerate(
        [(False, "completed"), (True, "stopped"), (False, None)], start=1
    ):
        sid = store.start_session(
            exercise="speaker-listener",
            partners=("Ann", "Bo"),
            mode="run",
            started_at=f"2024-05-0{day}T19:30:00Z",
            settings={"limit_s": 90.0, "rounds": day},
            timing_only=timing_only,
        )
        store.append_many(
            sid,
            [
                Key(t=1.5, key="enter"),
                Transcript(
                    t=2.0, end_t=2.5, partner="A", text="hello", words=(WordTime("hello", 2, 2.5),)
                ),
                SessionEnded(t=3.0, reason=EndReason.COMPLETED),
            ],
        )
        if status is not None:
            store.finish_session(sid, status, 3.0)
        ids.append(sid)
    return ids


def contents(store: Store) -> list[tuple[Any, ...]]:
    """Everything about each session but its id and mode, oldest first."""
    return [
        (
            r.started_at,
            r.exercise,
            r.partners,
            r.status,
            r.duration_s,
            r.timing_only,
            store.settings_of(r.id),
            store.events(r.id),
        )
        for r in reversed(store.sessions())
    ]


def test_an_archive_comes_back_whole_in_another_home(tmp_path: Path) -> None:
    archive = tmp_path / "ours.json"
    with Store.open(tmp_path / "one" / "attune.db") as store:
        fill(store)
        store.mark_unfinished_interrupted()
        assert export_sessions(store, archive) == 3
        before = contents(store)
    document = json.loads(archive.read_text(encoding="utf-8"))
    assert (document["format"], document["version"]) == (FORMAT, VERSION)

    with Store.open(tmp_path / "two" / "attune.db") as other:
        result = import_sessions(other, read_archive(archive))
        assert len(result.added) == 3
        assert result.skipped == 0
        assert contents(other) == before
        assert {r.mode for r in other.sessions()} == {"import"}
        # The timing-only session came back without words, as it left.
        assert not [e for e in other.events(result.added[1]) if isinstance(e, Transcript)]


def test_importing_twice_adds_nothing_and_overwrites_nothing(tmp_path: Path) -> None:
    archive = tmp_path / "ours.json"
    with Store.open(tmp_path / "attune.db") as store:
        fill(store)
        export_sessions(store, archive)
        before = contents(store)
        result = import_sessions(store, read_archive(archive))
        assert (result.added, result.skipped) == ((), 3)
        assert contents(store) == before


def good_document() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": 1,
        "sessions": [
            {
                "started_at": "2024-05-01T19:30:00Z",
                "exercise": "speaker-listener",
                "partners": ["Ann", "Bo"],
                "status": "completed",
                "duration_s": 3.0,
                "settings": {},
                "events": [{"kind": "key", "t": 1.0, "key": "enter"}],
            }
        ],
    }


def broken(change: str) -> bytes:
    document = good_document()
    session = document["sessions"][0]
    if change == "newer":
        document["version"] = VERSION + 1
    elif change == "format":
        document["format"] = "something-else"
    elif change == "partners":
        session["partners"] = ["Ann"]
    elif change == "event":
        session["events"].append({"kind": "nonsense", "t": 1.0})
    elif change == "time":
        session["started_at"] = "yesterday"
    elif change == "negative":
        session["events"][0]["t"] = -1.0
    elif change == "words":
        session["timing_only"] = True
        session["events"].append(
            {"kind": "transcript", "t": 1, "end_t": 2, "partner": "A", "text": "hi", "words": []}
        )
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("newer", "written by a newer attune-voice"),
        ("format", "is not an attune-voice archive"),
        ("partners", "session 1 is not valid (partners must be a list of two names)"),
        ("event", "session 1 is not valid (event 2:"),
        ("time", "session 1 is not valid (started_at must be an ISO 8601 time"),
        ("negative", "session 1 is not valid (event 1: t must be a time"),
        ("words", "holds words in a timing-only session"),
    ],
)
def test_a_bad_archive_is_refused_naming_the_problem(change: str, expected: str) -> None:
    parse_archive(broken("none"), "ours.json")
    with pytest.raises(ArchiveError) as error:
        parse_archive(broken(change), "ours.json")
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_export_and_import_from_the_command_line(home: Path, tmp_path: Path) -> None:
    with Store.open() as store:
        fill(store)
    archive = tmp_path / "ours.json"
    runner = CliRunner()
    result = runner.invoke(cli, ["export", str(archive)])
    assert result.output == f"Wrote 3 sessions to {archive} (private: 0600).\n"
    result = runner.invoke(cli, ["import", str(archive)])
    assert result.output == "Imported 0 sessions; 3 already stored, left as they were.\n"
    result = runner.invoke(cli, ["export", str(archive), "--session", "2"])
    assert result.output == f"Wrote 1 session to {archive} (private: 0600).\n"


def test_a_bad_archive_on_the_command_line_is_one_line_and_writes_nothing(
    home: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "notes.json"
    archive.write_text("not json at all", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", str(archive)])
    assert result.exit_code == ArchiveError.exit_code
    assert result.stderr.startswith(f"attune-voice: {archive} is not an attune-voice archive")
    assert len(result.stderr.splitlines()) == 1
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "missing.json")])
    assert "cannot read" in result.stderr
    assert not (home / "attune.db").exists()
