"""The couple's data stays theirs: private files, no network, deletion for good, full disks."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from click.testing import CliRunner

# Imported for what it registers on the group: the analyze command.
from attune_voice.cli.main import cli
from attune_voice.errors import StoreError
from attune_voice.events import Key, Prompt, Speech, SpeechKind, Transcript
from attune_voice.session.consent import (
    Answer,
    Logging,
    answer_from_key,
    answer_from_words,
    decide,
    timing_only,
)
from attune_voice.store import paths
from attune_voice.store.database import Store

QUICK_DEMO = ["demo", "--limit", "20s", "--rounds", "1", "speaker-listener-easy"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ATTUNE_HOME", str(folder))
    return folder


def invoke(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=stdin)


def one_line_error(result: Any) -> str:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("attune-voice: ")
    assert "Traceback" not in result.output
    return str(lines[0])


# --- no network ----------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail on any attempt to open a socket in this process.

    A guard on Python's socket module, not a real sandbox (a network namespace needs
    privileges the suite cannot count on): everything the tool does in-process goes
    through ``socket``, and espeak-ng, the only program it starts, is a local renderer.
    """
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        attempts.append(repr(args))
        pytest.fail(f"network access attempted: {args!r}")

    class RefusedSocket(socket.socket):
        # A class, not a function: modules imported later may subclass socket.socket.
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            refuse(*args, **kwargs)

    monkeypatch.setattr(socket, "socket", RefusedSocket)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts
    assert attempts == []


def test_session_review_and_analysis_never_touch_the_network(
    home: Path, tmp_path: Path, no_network: list[str]
) -> None:
    result = invoke(*QUICK_DEMO)
    assert result.exit_code == 0, result.output
    html = tmp_path / "review.html"
    result = invoke("review", "--html", str(html))
    assert result.exit_code == 0, result.output
    assert html.stat().st_size > 0
    # A real recording, made now, analysed from its file.
    wav = tmp_path / "talk.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "I would like us to talk more."], check=True)
    result = invoke("analyze", str(wav))
    assert result.exit_code == 0, result.output
    result = invoke("export", str(tmp_path / "all.json"))
    assert result.exit_code == 0, result.output


# --- private files ---------------------------------------------------------------------


def test_the_data_folder_and_files_are_private_after_a_session(home: Path, tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        assert invoke(*QUICK_DEMO).exit_code == 0
        assert invoke("export", str(tmp_path / "all.json")).exit_code == 0
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in ("attune.db", "attune.db-wal", "attune.db-shm"):
        file = home / name
        if file.exists():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, name
    assert stat.S_IMODE((tmp_path / "all.json").stat().st_mode) == 0o600


def test_a_data_folder_others_can_read_is_warned_about(home: Path) -> None:
    with Store.open():
        pass
    home.chmod(0o755)
    result = invoke("sessions")
    assert result.exit_code == 0
    assert f"warning: others can read {home}" in result.stderr
    assert f"chmod -R go-rwx {home}" in result.stderr
    home.chmod(0o700)
    assert "warning" not in invoke("sessions").stderr


# --- the sessions group ----------------------------------------------------------------


def add_sessions(count: int) -> list[int]:
    with Store.open() as store:
        ids = []
        for day in range(count):
            sid = store.start_session(
                exercise="speaker-listener",
                partners=("Ann", "Bo"),
                mode="demo",
                started_at=f"2024-05-{day + 1:02d}T19:30:00Z",
                settings={},
            )
            store.append(sid, Key(t=1.0, key="enter"))
            store.finish_session(sid, "completed", 2.0)
            ids.append(sid)
    return ids


def test_sessions_lists_by_default_and_as_json(home: Path) -> None:
    assert invoke("sessions").output.startswith("No sessions yet.")
    first, second = add_sessions(2)
    header, *listed = invoke("sessions").output.splitlines()
    assert header.split()[0] == "session"
    assert [int(line.split()[0]) for line in listed] == [second, first]
    result = invoke("sessions", "--format", "json")
    assert '"timing_only": false' in result.output
    assert result.output.index(f'"session": {second}') < result.output.index(f'"session": {first}')


def test_delete_one_session_with_its_recording(home: Path) -> None:
    first, second = add_sessions(2)
    audio = paths.audio_dir()
    audio.mkdir(parents=True)
    (audio / f"session-{second}.wav").write_bytes(b"RIFF")
    (audio / f"session-{first}.wav").write_bytes(b"RIFF")

    result = invoke("sessions", "delete", str(second), "--yes")

    assert result.exit_code == 0, result.output
    assert result.output == "Deleted 1 session and 1 recording.\n"
    with Store.open() as store:
        assert [r.id for r in store.sessions()] == [first]
    assert sorted(p.name for p in audio.iterdir()) == [f"session-{first}.wav"]


def test_delete_all_after_a_typed_confirmation(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_sessions(3)
    # CliRunner's stdin is not a terminal; the question is only asked on one.
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    refused = CliRunner().invoke(cli, ["sessions", "delete", "--all"], input="n\n")
    assert refused.exit_code != 0
    with Store.open() as store:
        assert len(store.sessions()) == 3
    result = invoke("sessions", "delete", "--all", "--yes")
    assert result.output == "Deleted 3 sessions.\n"
    with Store.open() as store:
        assert store.sessions() == []
    assert not (home / "attune.db-wal").exists() or (home / "attune.db-wal").stat().st_size == 0


def test_delete_refuses_unclear_requests_in_one_line(home: Path) -> None:
    add_sessions(1)
    assert "add --yes to confirm" in one_line_error(invoke("sessions", "delete", "1"))
    assert "not both" in one_line_error(invoke("sessions", "delete", "1", "--all"))
    assert "not both" in one_line_error(invoke("sessions", "delete"))
    assert "no session 7" in one_line_error(invoke("sessions", "delete", "7", "--yes"))
    with Store.open() as store:
        assert len(store.sessions()) == 1


# --- a full disk ---------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB file system of its own, so filling it harms nothing else."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr!r}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_stops_writes_with_one_line_and_keeps_the_file_whole(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = small_disk / "attune.db"
    with Store.open(path) as store:
        sid = store.start_session(
            exercise="speaker-listener",
            partners=("Ann", "Bo"),
            mode="demo",
            started_at="2024-05-01T19:30:00Z",
            settings={},
        )
        written = 0
        with pytest.raises(StoreError) as error:
            for written in range(100_000):
                store.append(sid, Key(t=float(written), key="x" * 500))
        message = str(error.value)
        assert "\n" not in message
        assert "the disk is full" in message
        assert written > 10
        kept = store.events(sid)
    assert len(kept) == written
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        connection.close()

    # Through the command line: the same one line and the store's exit code.
    monkeypatch.setenv("ATTUNE_HOME", str(small_disk))
    result = invoke(*QUICK_DEMO)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    line = one_line_error(result)
    assert "full" in line or "No space left" in line, line


# --- consent -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heard", "answer"),
    [
        ("yes", Answer.YES),
        ("Yeah, sure.", Answer.YES),
        ("no", Answer.NO),
        ("yes... no, I don't want that", Answer.NO),
        ("I'd rather not", Answer.NO),
        ("", Answer.SILENT),
        ("maybe later", Answer.SILENT),
    ],
)
def test_spoken_answers(heard: str, answer: Answer) -> None:
    assert answer_from_words(heard) is answer


def test_key_answers_agree_only_with_y() -> None:
    assert answer_from_key("y") is Answer.YES
    assert answer_from_key("Y") is Answer.YES
    assert answer_from_key("enter") is Answer.NO
    assert answer_from_key("n") is Answer.NO
    assert answer_from_key(None) is Answer.SILENT


@pytest.mark.parametrize(
    ("answers", "logging"),
    [
        ((Answer.YES, Answer.YES), Logging.FULL),
        ((Answer.YES, Answer.NO), Logging.TIMING_ONLY),
        ((Answer.NO, Answer.YES), Logging.TIMING_ONLY),
        ((Answer.YES, Answer.SILENT), Logging.TIMING_ONLY),
        ((Answer.SILENT, Answer.SILENT), Logging.TIMING_ONLY),
        ((), Logging.TIMING_ONLY),
    ],
)
def test_only_two_yeses_keep_words(answers: tuple[Answer, ...], logging: Logging) -> None:
    assert decide(answers) is logging


def test_a_timing_only_log_keeps_every_time_and_no_word() -> None:
    said = Transcript(t=2.0, end_t=3.0, partner="A", text="private", words=())
    turn = Speech(t=2.0, end_t=3.0, partner="A", speech_kind=SpeechKind.TURN, attributed_by="floor")
    prompt = Prompt(t=0.0, end_t=1.0, text="Ann, you have the floor.", purpose="floor")
    assert timing_only([prompt, turn, said, Key(t=4.0, key="enter")]) == [
        prompt,
        turn,
        Key(t=4.0, key="enter"),
    ]
