"""The session database against real SQLite files, and where those files live."""

from __future__ import annotations

import os
import random
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from attune_voice.errors import StoreError
from attune_voice.events import (
    EVENT_TYPES,
    CheckIn,
    CommandWord,
    Confirmation,
    Cue,
    EndReason,
    Event,
    FloorEnded,
    FloorEndReason,
    FloorGiven,
    FloorRole,
    Key,
    More,
    Overtime,
    Paraphrase,
    Paused,
    Prompt,
    Readiness,
    Resumed,
    SessionEnded,
    SessionStarted,
    Speech,
    SpeechKind,
    SpokenOver,
    StepStarted,
    TimeOut,
    Transcript,
    VoiceCommand,
    WordTime,
    dumps,
)
from attune_voice.store import paths
from attune_voice.store.database import SCHEMA_VERSION, SessionRecord, Store, backup_path

STARTED_AT = "2024-05-01T19:30:00Z"
STARTED_AT_STORED = "2024-05-01T19:30:00+00:00"


def every_kind_of_event() -> list[Event]:
    """One event of every kind, with times to the millisecond as they are stored."""
    return [
        SessionStarted(
            t=0.0,
            exercise="speaker-listener",
            partners=("Ann", "Bo"),
            settings={"limit_s": 90.0, "rounds": 2},
        ),
        StepStarted(t=0.0, index=0, step="say", round=0),
        Prompt(t=0.0, end_t=3.25, text="Ann, you have the floor.", purpose="floor"),
        FloorGiven(t=3.5, partner="A", role=FloorRole.SPEAK, limit_s=90.0),
        Speech(
            t=4.125,
            end_t=20.5,
            partner="A",
            speech_kind=SpeechKind.TURN,
            attributed_by="floor",
        ),
        Speech(
            t=21.0,
            end_t=21.75,
            partner=None,
            speech_kind=SpeechKind.ASIDE,
            attributed_by="floor",
        ),
        Cue(t=63.5, partner="A", remaining_s=30.0),
        CheckIn(t=70.0, partner="A", silence_s=4.0),
        Overtime(t=93.5, partner="A"),
        Key(t=94.0, key="enter"),
        FloorEnded(
            t=94.0,
            partner="A",
            role=FloorRole.SPEAK,
            reason=FloorEndReason.HANDOVER_KEY,
            held_s=90.5,
            overtime_s=0.5,
        ),
        FloorGiven(t=95.0, partner="B", role=FloorRole.PARAPHRASE, limit_s=60.0, attempt=2),
        Paraphrase(t=120.0, partner="B", attempt=2),
        Confirmation(t=125.0, partner="A", answer="yes", attempt=2),
        VoiceCommand(t=126.0, word=CommandWord.PAUSE, partner="B", applied=True),
        Paused(t=126.0),
        Resumed(t=127.5, paused_s=1.5),
        TimeOut(t=128.0, break_s=60.0),
        Readiness(t=1.0, partner="A", answer="yes", by="key"),
        More(t=126.0, partner="A", answer="yes", left_s=62.5),
        SpokenOver(t=127.0, partner="B", purpose="check_in", cut=True),
        Transcript(
            t=129.0,
            end_t=129.75,
            partner="A",
            text="thank you",
            words=(WordTime(w="thank", start=129.0, end=129.25), WordTime("you", 129.25, 129.75)),
        ),
        SessionEnded(t=130.0, reason=EndReason.COMPLETED),
    ]


def start(store: Store, *, started_at: str = STARTED_AT, exercise: str = "speaker-listener") -> int:
    return store.start_session(
        exercise=exercise,
        partners=("Ann", "Bo"),
        mode="demo",
        started_at=started_at,
        settings={"limit_s": 90.0},
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "attune.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path) as opened:
        yield opened


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection beside the store, to see what is really in the file."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


def make_real_database(path: Path) -> bytes:
    with Store.open(path) as store:
        session_id = start(store)
        store.append_many(session_id, every_kind_of_event() * 20)
    return path.read_bytes()


def assert_one_line(error: pytest.ExceptionInfo[StoreError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# --- events in and out ---------------------------------------------------------------


def test_every_event_kind_comes_back_as_appended_after_reopening(db_path: Path) -> None:
    events = every_kind_of_event()
    assert {str(e.kind) for e in events} == set(EVENT_TYPES)
    with Store.open(db_path) as store:
        session_id = start(store)
        for event in events[:5]:
            store.append(session_id, event)
        store.append_many(session_id, events[5:])

    with Store.open(db_path) as store:
        assert store.events(session_id) == events
        assert store.session(session_id).event_count == len(events)


def test_append_is_committed_before_it_returns(store: Store) -> None:
    session_id = start(store)
    store.append(session_id, Key(t=1.5, key="enter"))
    # A second connection sees the row while the store is still open: nothing waits
    # for close, so a crash now would lose nothing.
    with raw(store.path) as other:
        rows = other.execute("SELECT session_id, seq, t, kind FROM events").fetchall()
    assert rows == [(session_id, 1, 1.5, "key")]


def test_events_of_sessions_stay_apart_and_in_order(store: Store) -> None:
    first, second = start(store), start(store)
    store.append(first, Key(t=1.0, key="a"))
    store.append(second, Key(t=2.0, key="b"))
    store.append(first, Key(t=0.5, key="c"))
    assert store.events(first) == [Key(t=1.0, key="a"), Key(t=0.5, key="c")]
    assert store.events(second) == [Key(t=2.0, key="b")]
    assert store.events(start(store)) == []


def test_a_damaged_event_row_is_a_store_error(store: Store) -> None:
    session_id = start(store)
    store.append_many(session_id, [Key(t=1.0, key="a"), Key(t=2.0, key="b")])
    with raw(store.path) as other:
        other.execute("UPDATE events SET data = '[1, 2]' WHERE seq = 2")
    with pytest.raises(StoreError) as error:
        store.events(session_id)
    assert f"event 2 of session {session_id}" in assert_one_line(error)


# --- sessions --------------------------------------------------------------------------


def test_sessions_are_listed_newest_first(store: Store) -> None:
    middle = start(store, started_at="2024-05-02T08:00:00Z", exercise="middle")
    newest = start(store, started_at="2024-05-03T01:00:00+02:00", exercise="newest")
    oldest = start(store, started_at="2024-05-01T23:59:59.500000+00:00", exercise="oldest")
    store.append_many(middle, [Key(t=1.0, key="a"), Key(t=2.0, key="b")])
    store.finish_session(middle, "completed", 12.5)

    listed = store.sessions()
    assert [s.id for s in listed] == [newest, middle, oldest]
    assert listed[1] == SessionRecord(
        id=middle,
        started_at="2024-05-02T08:00:00+00:00",
        exercise="middle",
        partners=("Ann", "Bo"),
        mode="demo",
        status="completed",
        duration_s=12.5,
        event_count=2,
    )
    # Stored in UTC, so the +02:00 start sorts by the moment it names.
    assert listed[0].started_at == "2024-05-02T23:00:00+00:00"
    assert listed[0].status == "running"
    assert listed[0].duration_s is None
    assert store.latest_session_id() == newest


def test_an_empty_database_has_no_sessions(store: Store) -> None:
    assert store.sessions() == []
    assert store.latest_session_id() is None


def test_unknown_sessions_name_the_command_that_lists_them(store: Store) -> None:
    expected = "no session 42; list them with: attune-voice sessions"
    with pytest.raises(StoreError, match=f"^{expected}$"):
        store.session(42)
    with pytest.raises(StoreError, match=f"^{expected}$"):
        store.events(42)
    with pytest.raises(StoreError, match=f"^{expected}$"):
        store.append(42, Key(t=1.0, key="enter"))
    with pytest.raises(StoreError, match=f"^{expected}$"):
        store.finish_session(42, "stopped", 1.0)


def test_bad_arguments_are_value_errors(store: Store) -> None:
    with pytest.raises(ValueError, match="mode"):
        store.start_session(
            exercise="x", partners=("A", "B"), mode="live", started_at=STARTED_AT, settings={}
        )
    with pytest.raises(ValueError, match="UTC offset"):
        store.start_session(
            exercise="x",
            partners=("A", "B"),
            mode="run",
            started_at="2024-05-01T19:30:00",
            settings={},
        )
    with pytest.raises(ValueError, match="JSON"):
        store.start_session(
            exercise="x",
            partners=("A", "B"),
            mode="run",
            started_at=STARTED_AT,
            settings={"limit_s": float("nan")},
        )
    with pytest.raises(ValueError, match="finite"):
        store.append(start(store), Key(t=float("nan"), key="enter"))
    with pytest.raises(ValueError, match="status"):
        store.finish_session(start(store), "running", 1.0)
    assert [s.event_count for s in store.sessions()] == [0, 0]


def test_unfinished_sessions_become_interrupted_at_their_last_event(store: Store) -> None:
    crashed = start(store)
    # Speech is logged when it ends, with t at its start: the latest t is not the last row.
    store.append_many(crashed, [Key(t=30.0, key="a"), Key(t=12.5, key="b")])
    finished = start(store)
    store.append(finished, Key(t=3.0, key="a"))
    store.finish_session(finished, "completed", 4.0)
    silent = start(store)

    assert store.mark_unfinished_interrupted() == [crashed, silent]
    assert (store.session(crashed).status, store.session(crashed).duration_s) == (
        "interrupted",
        30.0,
    )
    assert (store.session(silent).status, store.session(silent).duration_s) == (
        "interrupted",
        0.0,
    )
    assert (store.session(finished).status, store.session(finished).duration_s) == (
        "completed",
        4.0,
    )
    assert store.mark_unfinished_interrupted() == []


def test_settings_are_kept_and_replaced(db_path: Path) -> None:
    with Store.open(db_path) as store:
        assert store.get_setting("voice") is None
        store.set_setting("voice", "en-gb")
        store.set_setting("voice", "en-us")
        store.set_setting("limit_s", "120")
    with Store.open(db_path) as store:
        assert store.get_setting("voice") == "en-us"
        assert store.get_setting("limit_s") == "120"


def test_a_closed_store_refuses_work(db_path: Path) -> None:
    with Store.open(db_path) as store:
        pass
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.sessions()


# --- the file ------------------------------------------------------------------------


def test_the_database_is_in_wal_mode_at_the_current_schema(store: Store) -> None:
    start(store)
    with raw(store.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert other.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_file_and_folder_are_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "home" / "attune.db"
    previous = os.umask(0)
    try:
        with Store.open(path) as store:
            store.append(start(store), Key(t=1.0, key="enter"))
            # The write-ahead log holds recent events until a checkpoint: private too.
            wal_mode = stat.S_IMODE(path.with_name("attune.db-wal").stat().st_mode)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert wal_mode == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    Store.open(folder / "attune.db").close()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_opening_twice_keeps_everything(db_path: Path) -> None:
    with Store.open(db_path) as store:
        session_id = start(store)
        store.append(session_id, Key(t=1.0, key="enter"))
    with Store.open(db_path) as store, Store.open(db_path) as second:
        assert second.events(session_id) == store.events(session_id) == [Key(t=1.0, key="enter")]


def corrupt_random(path: Path, real: bytes) -> None:
    path.write_bytes(random.Random(7).randbytes(len(real)))


def corrupt_truncated(path: Path, real: bytes) -> None:
    path.write_bytes(real[: len(real) // 2])


def corrupt_header_only(path: Path, real: bytes) -> None:
    path.write_bytes(real[:50])


def corrupt_text(path: Path, real: bytes) -> None:
    path.write_text("limit_s = 90\n")


@pytest.mark.parametrize(
    "corrupt", [corrupt_random, corrupt_truncated, corrupt_header_only, corrupt_text]
)
def test_a_damaged_file_is_refused_untouched(
    tmp_path: Path, corrupt: Callable[[Path, bytes], None]
) -> None:
    path = tmp_path / "attune.db"
    real = make_real_database(tmp_path / "real.db")
    corrupt(path, real)
    before = path.read_bytes()

    with pytest.raises(StoreError) as error:
        Store.open(path)

    message = assert_one_line(error)
    assert message.startswith(f"{path} is not a readable attune-voice database (")
    assert message.endswith("move it aside or restore a backup; nothing was changed")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attune.db", "real.db"]


def test_a_newer_schema_is_refused_untouched(db_path: Path) -> None:
    make_real_database(db_path)
    with raw(db_path) as other:
        other.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = db_path.read_bytes()

    with pytest.raises(StoreError) as error:
        Store.open(db_path)

    message = assert_one_line(error)
    assert f"was written by a newer attune-voice (schema {SCHEMA_VERSION + 1}" in message
    assert "upgrade attune-voice" in message
    assert db_path.read_bytes() == before


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    with raw(path) as other:
        other.execute("CREATE TABLE notes (body TEXT)")
    before = path.read_bytes()

    with pytest.raises(StoreError) as error:
        Store.open(path)

    assert "of another program" in assert_one_line(error)
    assert path.read_bytes() == before


def test_a_file_where_the_folder_should_be_is_a_store_error(tmp_path: Path) -> None:
    # Works as root too, unlike a chmod: nobody can create a folder inside a file.
    blocker = tmp_path / "home"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError) as error:
        Store.open(blocker / "attune.db")
    assert assert_one_line(error).startswith(f"cannot create the folder {blocker} (")


def test_a_folder_where_the_file_should_be_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as error:
        Store.open(tmp_path)
    assert "is a folder, not a database file" in assert_one_line(error)


def test_an_unwritable_folder_is_a_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        # Root (CAP_DAC_OVERRIDE) writes into a 0500 folder anyway: ask the system.
        if os.access(folder, os.W_OK):
            pytest.skip(
                "this user can write into a 0500 folder (root); the file-as-folder test covers it"
            )
        with pytest.raises(StoreError) as error:
            Store.open(folder / "attune.db")
    finally:
        folder.chmod(0o700)
    assert assert_one_line(error) == (
        f"cannot create {folder / 'attune.db'} (Permission denied);"
        " check that its folder is writable"
    )


def test_a_full_disk_is_a_store_error_and_loses_no_earlier_event(store: Store) -> None:
    session_id = start(store)
    store.append(session_id, Key(t=1.0, key="kept"))
    # SQLite's own page limit fails a write exactly as a full disk does (SQLITE_FULL),
    # without filling a real disk.
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    burst = [Key(t=float(i), key="x" * 200) for i in range(200)]

    with pytest.raises(StoreError) as error:
        store.append_many(session_id, burst)

    message = assert_one_line(error)
    assert message.startswith(f"cannot write to {store.path}: the disk is full (")
    assert message.endswith("free some space and try again")
    assert store.events(session_id) == [Key(t=1.0, key="kept")]


# --- where the files live ------------------------------------------------------------


def test_the_default_database_follows_attune_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "attune" / "home"
    monkeypatch.setenv("ATTUNE_HOME", str(home))
    # ATTUNE_HOME itself is made, never its missing parents (a mistyped path).
    with pytest.raises(StoreError, match="its parent folder does not exist"):
        Store.open()
    assert not home.parent.exists()
    home.parent.mkdir()
    with Store.open() as store:
        start(store)
    assert store.path == home / "attune.db"
    assert (home / "attune.db").is_file()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_folders_follow_attune_home_then_xdg_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("ATTUNE_HOME", str(tmp_path / "attune"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert paths.data_dir() == tmp_path / "attune"
    assert paths.database_path() == tmp_path / "attune" / "attune.db"
    assert paths.cache_dir() == tmp_path / "attune" / "cache"

    monkeypatch.delenv("ATTUNE_HOME")
    assert paths.data_dir() == tmp_path / "data" / "attune-voice"
    assert paths.cache_dir() == tmp_path / "cache" / "attune-voice"

    # The XDG spec: empty or relative values are ignored.
    monkeypatch.setenv("XDG_DATA_HOME", "")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert paths.data_dir() == tmp_path / "user" / ".local" / "share" / "attune-voice"
    assert paths.cache_dir() == tmp_path / "user" / ".cache" / "attune-voice"
    assert not (tmp_path / "user").exists()


def test_ensure_private_dir_makes_parents_and_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    assert paths.ensure_private_dir(target) == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert paths.ensure_private_dir(target) == target
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError):
        paths.ensure_private_dir(tmp_path / "file")


# --- schema versions -------------------------------------------------------------------

# The version-1 schema exactly as it was shipped: migrations must take it forward.
SCHEMA_1_DDL = (
    "PRAGMA application_id = 1635021942",
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
    """CREATE TABLE events (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        t REAL NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID""",
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "PRAGMA user_version = 1",
)


def dump(path: Path) -> list[str]:
    """The file's schema version and contents as SQL, to compare two files' data."""
    with raw(path) as connection:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        return [f"user_version {version}", *connection.iterdump()]


def make_schema_1_database(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with raw(path) as old:
        for statement in SCHEMA_1_DDL:
            old.execute(statement)
        old.execute(
            "INSERT INTO sessions (started_at, exercise, partner_a, partner_b, mode, status,"
            " duration_s, settings) VALUES (?, 'speaker-listener', 'Ann', 'Bo', 'run',"
            " 'completed', 130.0, '{\"limit_s\": 90.0}')",
            (STARTED_AT_STORED,),
        )
        old.executemany(
            "INSERT INTO events (session_id, seq, t, kind, data) VALUES (1, ?, ?, ?, ?)",
            [(i + 1, e.t, str(e.kind), dumps(e)) for i, e in enumerate(every_kind_of_event())],
        )


def test_every_earlier_schema_is_upgraded_keeping_its_sessions(db_path: Path) -> None:
    assert SCHEMA_VERSION == 2, "add the previous version's DDL here and test it too"
    make_schema_1_database(db_path)
    original = dump(db_path)

    with Store.open(db_path) as store:
        (record,) = store.sessions()
        assert record.timing_only is False
        assert record.status == "completed"
        assert store.events(record.id) == every_kind_of_event()
        assert store.settings_of(record.id) == {"limit_s": 90.0}

    with raw(db_path) as after:
        assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # The copy made before the upgrade holds the version-1 file's every row, and is private.
    copy = backup_path(db_path, 1)
    assert dump(copy) == original
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600


def test_a_new_database_is_made_at_the_current_schema_without_a_copy(db_path: Path) -> None:
    with Store.open(db_path):
        pass
    assert sorted(p.name for p in db_path.parent.iterdir() if ".bak" in p.name) == []


# --- consent: timing only ----------------------------------------------------------------


def test_a_timing_only_session_never_stores_words(db_path: Path) -> None:
    with Store.open(db_path) as store:
        session_id = store.start_session(
            exercise="speaker-listener",
            partners=("Ann", "Bo"),
            mode="run",
            started_at=STARTED_AT,
            settings={},
            timing_only=True,
        )
        store.append_many(session_id, every_kind_of_event())
    with Store.open(db_path) as store:
        kept = store.events(session_id)
        assert store.session(session_id).timing_only is True
    assert not [e for e in kept if isinstance(e, Transcript)]
    assert len(kept) == len(every_kind_of_event()) - 1
    for file in db_path.parent.iterdir():
        assert b"thank" not in file.read_bytes(), file.name


# --- deleting for good -------------------------------------------------------------------


def test_deleted_sessions_leave_no_trace_in_the_database_or_its_log(db_path: Path) -> None:
    secret = "our-private-words-" * 4
    with Store.open(db_path) as store:
        kept = start(store)
        store.append(kept, Key(t=1.0, key="enter"))
        gone = start(store, started_at="2024-05-02T19:30:00Z")
        store.append(gone, Transcript(t=1.0, end_t=2.0, partner="A", text=secret, words=()))
        assert secret.encode() in db_path.with_name("attune.db-wal").read_bytes()

        assert store.delete_sessions([gone, 999]) == [gone]

        assert [r.id for r in store.sessions()] == [kept]
        assert store.events(kept) == [Key(t=1.0, key="enter")]
        with pytest.raises(StoreError):
            store.events(gone)
        assert db_path.with_name("attune.db-wal").stat().st_size == 0
    for file in db_path.parent.iterdir():
        assert secret.encode() not in file.read_bytes(), file.name
    with raw(db_path) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_deleting_everything_keeps_the_saved_settings(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.set_setting("partners", "Ann,Bo")
        ids = [start(store), start(store)]
        assert store.delete_all_sessions() == ids
        assert store.sessions() == []
        assert store.get_setting("partners") == "Ann,Bo"


def test_a_delete_while_another_reader_holds_the_log_says_so(db_path: Path) -> None:
    with Store.open(db_path) as store, Store.open(db_path) as other:
        session_id = start(store)
        store.append(session_id, Key(t=1.0, key="enter"))
        other._conn.execute("BEGIN")
        other._conn.execute("SELECT COUNT(*) FROM events").fetchone()
        with pytest.raises(StoreError) as error:
            store.delete_sessions([session_id])
        assert "still holds its log open" in assert_one_line(error)
        other._conn.execute("COMMIT")
        assert store.sessions() == []


def test_files_readable_by_others_are_named(db_path: Path) -> None:
    with Store.open(db_path) as store:
        assert store.readable_by_others() == []
        db_path.chmod(0o644)
        db_path.parent.chmod(0o750)
        assert store.readable_by_others() == [db_path.parent, db_path]
