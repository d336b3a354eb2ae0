"""Careless and hostile values at the command line: one line, a non-zero exit, nothing kept."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from cli_run import invoke, one_error_line

from attune_voice.bounds import BREAK_S, DEMO_MINUTES, FLOOR_LIMIT_S, MAX_ATTEMPTS, ROUNDS, SEED

DOCS = Path(__file__).resolve().parent.parent / "docs" / "exercises.md"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ATTUNE_HOME", str(folder))
    return folder


def stored_sessions(home: Path) -> int:
    database = home / "attune.db"
    if not database.exists():
        return 0
    with sqlite3.connect(database) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM sessions").fetchone()
    return int(count)


def refused(home: Path, *args: str) -> str:
    """Run ``attune-voice ARGS``, which must fail fast in one line and keep no session."""
    started = time.monotonic()
    result = invoke(*args)
    elapsed_s = time.monotonic() - started
    assert result.exit_code != 0, result.output
    line = one_error_line(result)
    assert elapsed_s < 5.0, f"{args} took {elapsed_s:.1f}s"
    assert stored_sessions(home) == 0
    return line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("demo", "--seed", "-1"), "--seed -1 is out of range; use 0 to 4294967295"),
        (("demo", "--seed", "99999999999999999999"), "use 0 to 4294967295"),
        (("demo", "--minutes", "nan"), "--minutes nan is out of range; use 1 to 180"),
        (("demo", "--minutes", "inf"), "--minutes inf is out of range; use 1 to 180"),
        (("demo", "--minutes", "1e308"), "--minutes 1e308 is out of range; use 1 to 180"),
        (("demo", "--minutes", "100000"), "--minutes 100000 is out of range; use 1 to 180"),
        (("demo", "--minutes", "0"), "--minutes 0 is out of range; use 1 to 180"),
        (("demo", "--minutes", "soon"), "--minutes takes a number, 1 to 180; not soon"),
        (("demo", "--rounds", "99999999"), "--rounds 99999999 is out of range; use 1 to 20"),
        (("demo", "--rounds", "0"), "--rounds 0 is out of range; use 1 to 20"),
        (("demo", "--rounds", "two"), "--rounds takes a whole number, 1 to 20; not two"),
        (("demo", "--limit", "9999h"), "--limit 9999h is too long for a turn; use 10s to 30m"),
        (("demo", "--limit", "3s"), "--limit 3s is too short for a turn; use 10s to 30m"),
        (("demo", "--limit", "9" * 400 + "s"), "is too long to be a duration"),
        (("exercises", "show", "tolerance", "--rounds", "21"), "use 1 to 20"),
        (("exercises", "show", "tolerance", "--limit", "31m"), "use 10s to 30m"),
        (
            ("review", "99999999999999999999999"),
            "no session 99999999999999999999999; list them with: attune-voice sessions",
        ),
        (
            ("sessions", "delete", "99999999999999999999999", "--yes"),
            "no session 99999999999999999999999; list them with: attune-voice sessions",
        ),
        (("export", "x.json", "--session", "99999999999999999999999"), "no session 9999"),
        (("demo", "--bogus"), "No such option '--bogus'"),
        (("demo", "--rounds"), "Option '--rounds' requires an argument"),
        (("no-such-command",), "No such command 'no-such-command' (see: attune-voice --help)"),
    ],
)
def test_bad_values_fail_in_one_line_and_keep_nothing(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert message in refused(home, *args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--minutes", "1"), "speaker-listener takes at least about 6 minutes"),
        (("--minutes", "4"), "speaker-listener takes at least about 6 minutes"),
        (("--minutes", "180"), "speaker-listener lasts at most about"),
        (("--minutes", "6", "--limit", "30s", "--rounds", "2"), "leave one of them out"),
        (("--minutes", "2", "--limit", "2m"), "with its rounds as short as they go"),
    ],
)
def test_minutes_the_exercise_cannot_fit_are_refused_with_the_reason(
    home: Path, args: tuple[str, ...], message: str
) -> None:
    line = refused(home, "demo", *args)
    assert line.startswith(f"attune-voice: --minutes {args[1]}: ")
    assert message in line


def test_minutes_with_a_limit_keeps_the_limit_and_fits_the_rounds(home: Path) -> None:
    result = invoke("demo", "--minutes", "9", "--limit", "30s", "--format", "json")
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    # speaker-listener: two floors a round at 30s, so 9 minutes takes several rounds.
    assert data["partners_summary"][0]["floors"] > 2
    assert 6 * 60 < data["duration_s"] < 12 * 60


def test_help_is_h_too_and_says_every_range() -> None:
    result = invoke("demo", "-h")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for said in (ROUNDS.said(), FLOOR_LIMIT_S.said(), DEMO_MINUTES.said(), SEED.said()):
        assert said in text
    assert invoke("-h").exit_code == 0
    assert ROUNDS.said() in " ".join(invoke("exercises", "show", "-h").stdout.split())


def test_the_exercise_format_doc_says_the_ranges_the_checker_uses() -> None:
    doc = DOCS.read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in doc.splitlines() if line.startswith("| `")}
    assert f"1 to {ROUNDS.show(ROUNDS.high)}" in rows["`rounds`"]
    assert MAX_ATTEMPTS.said() in rows["`max_attempts`"]
    assert BREAK_S.said() in rows["`break`"]
    for key in ("`limit`", "`paraphrase_limit`", "`confirm_limit`"):
        assert FLOOR_LIMIT_S.said() in rows[key]
    assert f"--minutes` ({DEMO_MINUTES.said()})" in doc


def test_exercises_check_refuses_out_of_range_values_at_once(tmp_path: Path) -> None:
    script = tmp_path / "huge.toml"
    script.write_text(
        'name = "huge"\nskill = "awareness"\n'
        "rounds = 99999999999999999999\n"
        "max_attempts = 100000000000000000000\n"
        'limit = "9999h"\n'
        "paraphrase_limit = 99999999999999999999999999999999999999999999999999999\n"
        'break = "99h"\n'
        '[[round]]\nkind = "floor"\ntext = "Speak."\nlimit = "1s"\n',
        encoding="utf-8",
    )
    started = time.monotonic()
    result = invoke("exercises", "check", str(script))
    assert time.monotonic() - started < 5.0
    assert result.exit_code == 2
    problems = result.stderr.splitlines()
    assert f"{script}:3: rounds is 999999999...; write rounds = 1 to 20" in problems
    assert f"{script}:4: max_attempts is 100000000...; write max_attempts = 1 to 10" in problems
    assert f'{script}:5: limit "9999h" is too long; a limit is 10s to 30m' in problems
    assert any(p.startswith(f"{script}:6: limit ") and "too long" in p for p in problems)
    assert f"{script}:7: a break of 5940m is too long; a time-out lasts 20m to 120m" in problems
    assert f'{script}:11: limit "1s" is too short; a limit is 10s to 30m' in problems
    assert problems[-1] == f"attune-voice: {script}: 6 problems found"


def test_exercises_check_takes_values_at_the_edges(tmp_path: Path) -> None:
    script = tmp_path / "edges.toml"
    script.write_text(
        'name = "edges"\nskill = "awareness"\nrounds = 20\nmax_attempts = 10\n'
        'limit = "30m"\nbreak = "2h"\n[[round]]\nkind = "floor"\ntext = "Speak."\n'
        'limit = "10s"\n',
        encoding="utf-8",
    )
    result = invoke("exercises", "check", str(script))
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partners", "message"),
    [
        ("Sam,sam", "--partners: the two names are the same (Sam); give each partner their own"),
        (" ALEX , alex ", "--partners: the two names are the same (ALEX)"),
        ("a" * 201 + ",Bo", "--partners: a name is at most 200 characters, not 201"),
        ("Sam\x1b[31m,Alex", "--partners: the name 'Sam\\x1b[31m' holds a control character"),
        ("Sa\u2028m,Alex", "holds a control character"),
        ("Sam", '--partners takes two names separated by a comma, like "Sam,Alex"'),
        ("Sam,Alex,Kai", "--partners takes two names separated by a comma"),
    ],
)
def test_unusable_partner_names_are_refused_where_they_enter(
    home: Path, partners: str, message: str
) -> None:
    assert message in refused(home, "demo", "--partners", partners)


def test_unusable_remembered_names_are_refused_before_the_devices(home: Path) -> None:
    from attune_voice.store.database import Store

    with Store.open() as store:
        store.set_setting("partners", "Sam,SAM")
    line = refused(home, "run", "--input", "no-such-microphone")
    assert line == (
        'attune-voice: the remembered names (give new ones with --partners "A,B"): '
        "the two names are the same (Sam); give each partner their own"
    )


def test_a_name_of_200_characters_is_taken(home: Path) -> None:
    result = invoke("demo", "--limit", "20s", "--rounds", "1", "--partners", "n" * 200 + ",Bo")
    assert result.exit_code == 0, result.output
    assert stored_sessions(home) == 1


def _archive(sessions: list[dict[str, object]]) -> bytes:
    import json

    return json.dumps(
        {"format": "attune-voice-archive", "version": 1, "sessions": sessions}
    ).encode()


def _archived(partners: list[str], minute: int) -> dict[str, object]:
    return {
        "started_at": f"2024-05-01T19:{minute:02d}:00Z",
        "exercise": "speaker-listener",
        "partners": partners,
        "status": "completed",
        "duration_s": 3.0,
        "settings": {},
        "events": [{"kind": "key", "t": 1.0, "key": "enter"}],
    }


def test_import_takes_the_valid_sessions_and_reports_the_rest(home: Path, tmp_path: Path) -> None:
    archive = tmp_path / "ours.json"
    archive.write_bytes(
        _archive(
            [
                _archived(["Ann", "Bo"], 1),
                _archived(["A" * 500, "Bo"], 2),
                _archived(["Ann", "Bo"], 3),
                _archived(["Ann", "ann"], 4),
            ]
        )
    )
    result = invoke("import", str(archive))
    assert result.exit_code == 0, result.output
    assert result.stdout == "Imported 2 sessions; 2 left out (above).\n"
    assert result.stderr.splitlines() == [
        f"attune-voice: {archive}: session 2 is not valid (a partner must be a non-empty text"
        " of at most 200 characters); left out",
        f"attune-voice: {archive}: session 4 is not valid (partners: the two names are the same"
        " (Ann); give each partner their own); left out",
    ]
    assert stored_sessions(home) == 2


def test_import_of_an_archive_with_no_usable_session_fails_in_one_line(
    home: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "bad.json"
    archive.write_bytes(_archive([_archived(["A" * 500, "Bo"], 1)]))
    result = invoke("import", str(archive))
    assert result.exit_code == 8
    assert result.stderr.splitlines()[-1] == (
        f"attune-voice: {archive}: none of its 1 sessions can be imported"
    )
    assert stored_sessions(home) == 0


def test_text_tables_line_up_wide_characters(home: Path, tmp_path: Path) -> None:
    from rich.cells import cell_len

    archive = tmp_path / "ours.json"
    archive.write_bytes(
        _archive([_archived(["김민지", "王小明"], 1), _archived(["Sam", "Alex"], 2)])
    )
    assert invoke("import", str(archive)).exit_code == 0
    header, *rows = invoke("sessions").stdout.splitlines()
    assert len(rows) == 2
    # The length column ends at the same terminal column on every line.
    ends = {cell_len(line[: line.index("3s") + 2]) for line in rows}
    assert len(ends) == 1
    assert cell_len(header[: header.index("length") + len("length")]) in ends


# --- nothing half-made --------------------------------------------------------------------


def test_save_audio_to_a_missing_folder_is_refused_before_the_session(
    home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "nonexistent" / "x.wav"
    line = refused(home, "demo", "--limit", "20s", "--rounds", "1", "--save-audio", str(target))
    assert line == (
        f"attune-voice: {target}: cannot write: the folder {target.parent} does not exist"
    )
    assert not target.parent.exists()


def test_a_session_that_fails_before_its_clock_moves_is_not_kept(home: Path) -> None:
    from attune_voice.events import EndReason, SessionStarted
    from attune_voice.exercises.library import load_exercise
    from attune_voice.session.wiring import recording

    with (
        pytest.raises(RuntimeError),
        recording(load_exercise("tolerance"), ("Ann", "Bo"), "demo", warn=print) as (append, _),
    ):
        append(SessionStarted(t=0.0, exercise="tolerance", partners=("Ann", "Bo"), settings={}))
        raise RuntimeError("the command failed here")
    assert stored_sessions(home) == 0
    # Once the couple has done something, a failure keeps what was stored.
    with recording(load_exercise("tolerance"), ("Ann", "Bo"), "demo", warn=print) as (
        append,
        finish,
    ):
        append(SessionStarted(t=0.0, exercise="tolerance", partners=("Ann", "Bo"), settings={}))
        finish(EndReason.STOPPED, 0.0)
    assert stored_sessions(home) == 1


def test_exercises_new_does_not_make_folders_for_output(tmp_path: Path, home: Path) -> None:
    target = tmp_path / "nonexistent" / "dir" / "z.toml"
    line = refused(home, "exercises", "new", "zed", "--output", str(target))
    assert line == (
        f"attune-voice: cannot write {target}: the folder {target.parent} does not exist"
    )
    assert not (tmp_path / "nonexistent").exists()


def test_attune_home_makes_only_the_data_folder_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nonexistent-root" / "x"
    monkeypatch.setenv("ATTUNE_HOME", str(missing))
    result = invoke("demo", "--limit", "20s", "--rounds", "1")
    assert result.exit_code == 6
    assert one_error_line(result) == (
        f"attune-voice: cannot create the folder {missing} (its parent folder does not exist);"
        " check that it is a writable folder"
    )
    assert not missing.parent.exists()
    monkeypatch.setenv("ATTUNE_HOME", str(tmp_path / "fresh"))
    assert invoke("exercises", "show", "tolerance").exit_code == 0
    assert invoke("demo", "--limit", "20s", "--rounds", "1").exit_code == 0
    assert (tmp_path / "fresh" / "attune.db").exists()


def test_an_empty_attune_home_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTUNE_HOME", "")
    for args in (("sessions",), ("demo", "--limit", "20s", "--rounds", "1")):
        result = invoke(*args)
        assert result.exit_code == 6
        assert one_error_line(result) == (
            "attune-voice: ATTUNE_HOME is set but empty; name a folder, or unset it to use"
            " the usual one"
        )


@pytest.mark.parametrize(
    "args",
    [
        ("sessions",),
        ("sessions", "--format", "json"),
        ("review",),
        ("review", "3"),
        ("history",),
        ("history", "--format", "json"),
        ("sessions", "delete", "1", "--yes"),
        ("sessions", "delete", "--all", "--yes"),
        ("export", "-"),
    ],
)
def test_read_only_commands_create_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATTUNE_HOME", "relative-home")
    invoke(*args)
    assert list(tmp_path.iterdir()) == []


# --- private by default -------------------------------------------------------------------


def test_every_file_the_cli_writes_is_owner_only(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.chdir(tmp_path)
    # The usual umask, which would leave a plainly created file readable by all.
    previous = os.umask(0o022)
    try:
        _write_everything(home, tmp_path)
    finally:
        os.umask(previous)


def _write_everything(home: Path, tmp_path: Path) -> None:
    import stat

    out = tmp_path / "out"
    out.mkdir()
    # A file that is already there, readable by all, is made private when overwritten.
    (out / "room.wav").write_bytes(b"old")
    (out / "room.wav").chmod(0o644)
    written = {
        out / "room.wav": ("demo", "--limit", "20s", "--rounds", "1", "--save-audio"),
        out / "session.html": ("review", "--html"),
        out / "session.png": ("review", "--png"),
        out / "history.html": ("history", "--html"),
        out / "history.png": ("history", "--png"),
        out / "ours.json": ("export",),
        out / "mine.toml": ("exercises", "new", "mine", "--output"),
    }
    for path, args in written.items():
        result = invoke(*args, str(path))
        assert result.exit_code == 0, (args, result.output)
    result = invoke("exercises", "new", "ours")
    assert result.exit_code == 0, result.output
    written[next(home.glob("**/ours.toml"), home / "missing")] = ()
    written[home / "attune.db"] = ()
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_export_dash_writes_the_archive_to_standard_output(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.chdir(tmp_path)
    assert invoke("demo", "--limit", "20s", "--rounds", "1").exit_code == 0
    result = invoke("export", "-")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["format"] == "attune-voice-archive"
    assert len(document["sessions"]) == 1
    assert result.stderr == "attune-voice: wrote 1 session to standard output\n"
    assert not (tmp_path / "-").exists()


# --- what reads wrong -----------------------------------------------------------------------


def _readme_commands() -> list[list[str]]:
    import shlex

    readme = (DOCS.parent.parent / "README.md").read_text(encoding="utf-8")
    commands = []
    in_code = False
    for line in readme.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif in_code and line.startswith("attune-voice "):
            words = shlex.split(line.split("  #")[0], comments=True)
            commands.append(words[1:])
    return commands


def test_readme_commands_name_real_commands_and_options() -> None:
    import click

    from attune_voice.cli.main import cli

    commands = _readme_commands()
    assert len(commands) > 20
    for words in commands:
        command: click.Command = cli
        rest = list(words)
        while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
            found = command.get_command(click.Context(command), rest.pop(0))
            assert found is not None, words
            command = found
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in known, (words, word)


def test_list_aliases_and_every_option_has_help() -> None:
    import click

    from attune_voice.cli.main import cli

    assert invoke("exercises", "list").stdout == invoke("exercises").stdout
    assert invoke("sessions", "list").stdout == invoke("sessions").stdout

    def walk(command: click.Command, path: str) -> None:
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in {"help", "version"}:
                assert param.help, f"{path} {param.opts[0]} has no help"
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    walk(cli, "attune-voice")


def test_sessions_json_names_the_session_number_as_everywhere_else() -> None:
    import json

    assert invoke("demo", "--limit", "20s", "--rounds", "1").exit_code == 0
    (row,) = json.loads(invoke("sessions", "--format", "json").stdout)
    assert row["session"] == 1 and "id" not in row
