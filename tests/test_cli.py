"""Every command through click's CliRunner, against a real store in a temporary home."""

from __future__ import annotations

import json
import sqlite3
import wave
from pathlib import Path

import pytest
from cli_run import invoke, one_error_line


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ATTUNE_HOME", str(folder))
    return folder


SHORT = ("speaker-listener-easy", "--limit", "30s", "--seed", "4")


def test_demo_plays_a_session_stores_it_and_prints_the_review(home: Path) -> None:
    result = invoke("demo", *SHORT)
    assert result.exit_code == 0, result.output
    assert "Sam" in result.stdout and "Alex" in result.stdout
    assert "(completed)" in result.stdout
    assert "Stored as session 1" in result.stdout
    with sqlite3.connect(home / "attune.db") as db:
        (status,) = db.execute("SELECT status FROM sessions WHERE id = 1").fetchone()
        (count,) = db.execute("SELECT COUNT(*) FROM events WHERE session_id = 1").fetchone()
        (over,) = db.execute("SELECT COUNT(*) FROM events WHERE kind = 'spoken_over'").fetchone()
    assert status == "completed"
    assert count > 20
    # The microphone closes for prompts unless asked to hear through them: the holder who
    # talks over the check-ins (see the hear-through test, same seed) is not heard there.
    assert over == 0


def test_demo_json_is_one_object_on_stdout() -> None:
    result = invoke("demo", *SHORT, "--format", "json", "--partners", "Robin,Kai")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["partners"] == ["Robin", "Kai"]
    assert data["end_reason"] == "completed"
    a, b = data["partners_summary"]
    assert a["talk_s"] > 10 and b["talk_s"] > 10
    # One turn each, what makes sense in the other's, and one appreciation each.
    assert a["floors"] == b["floors"] == 3
    assert abs(a["share"] + b["share"] - 1.0) < 0.01


def test_demo_limit_and_rounds_override_the_exercise() -> None:
    result = invoke("demo", "--limit", "20s", "--rounds", "1", "--format", "json")
    data = json.loads(result.stdout)
    # Sam's turn, what makes sense in Alex's and how Alex may feel, the appreciation.
    assert data["partners_summary"][0]["floors"] == 4
    result = invoke("review", "--format", "json")
    assert json.loads(result.stdout)["duration_s"] == data["duration_s"]


def test_demo_minutes_scales_the_session() -> None:
    # speaker-listener's floors go in pieces, of which the simulated speakers say about
    # two, so longer floors add little: its floors fit 15 minutes (20 as it comes). With
    # the limit set the rounds change: speaker-listener-easy at 30 s floors is one round
    # of about 6 minutes, so 10 minutes are two rounds.
    short = json.loads(invoke("demo", "--minutes", "15", "--format", "json").stdout)
    rounds = ("speaker-listener-easy", "--limit", "30s", "--minutes", "10", "--format", "json")
    longer = json.loads(invoke("demo", *rounds).stdout)
    assert 11 * 60 < short["duration_s"] < 19 * 60
    assert 7.5 * 60 < longer["duration_s"] < 12.5 * 60


def test_demo_saves_the_room_audio(tmp_path: Path) -> None:
    target = tmp_path / "room.wav"
    result = invoke("demo", *SHORT, "--save-audio", str(target))
    assert result.exit_code == 0
    with wave.open(str(target)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 2, 2)
        seconds = wav.getnframes() / 16000
    duration_s = json.loads(invoke("review", "--format", "json").stdout)["duration_s"]
    # The session, then the spoken summary that closes it (a few sentences).
    assert duration_s < seconds < duration_s + 20


@pytest.mark.parametrize("microphones", ["2", "1"])
def test_analyze_of_a_saved_session_agrees_with_its_review(
    tmp_path: Path, microphones: str
) -> None:
    # The saved audio holds the coach's prompts, marked in the file; analyze leaves them
    # out, as the session's listener did, so the talk time is the review's. Before the
    # marks, a 6-minute demo analysed at 3:32 each against the review's 0:49.
    target = tmp_path / "room.wav"
    args = ("--microphones", microphones, "--save-audio", str(target))
    assert invoke("demo", *SHORT, *args).exit_code == 0
    review = json.loads(invoke("review", "--format", "json").stdout)["partners_summary"]
    analysed = json.loads(invoke("analyze", str(target), "--format", "json").stdout)
    assert analysed["coach_s"] > 30
    for partner, row in zip(review, analysed["metrics"]["speakers"], strict=True):
        assert row["talk_s"] == pytest.approx(partner["talk_s"], rel=0.1, abs=1.0)
    if microphones == "2":  # the summary's words are the same either way
        plain = invoke("analyze", str(target)).stdout
        assert "the coach's prompts left out" in plain


def test_analyze_of_a_one_microphone_session_finds_the_mm_hms_of_its_review(
    tmp_path: Path,
) -> None:
    # The simulated listener says "mm-hm" in the speaker's breaths: inside the speaker's
    # segment, judged alone by its voice (seed 3: the review counts 3 and 1; before the
    # short parts were judged alone, analyze found 0 and 1).
    target = tmp_path / "room.wav"
    demo = ("speaker-listener-easy", "--limit", "30s", "--seed", "3", "--microphones", "1")
    assert invoke("demo", *demo, "--save-audio", str(target)).exit_code == 0
    review = json.loads(invoke("review", "--format", "json").stdout)["partners_summary"]
    analysed = json.loads(invoke("analyze", str(target), "--format", "json").stdout)
    assert sum(p["backchannels"] for p in review) >= 3
    for partner, row in zip(review, analysed["metrics"]["speakers"], strict=True):
        assert row["backchannels"] == pytest.approx(partner["backchannels"], abs=1)


def test_demo_with_one_microphone() -> None:
    result = invoke("demo", *SHORT, "--microphones", "1", "--format", "json")
    data = json.loads(result.stdout)
    two = json.loads(invoke("demo", *SHORT, "--microphones", "2", "--format", "json").stdout)
    # Told apart by voice, one microphone counts what two microphones count in the same
    # room: the listener's interruptions are no longer the speaker's talk.
    for one_mic, two_mics in zip(data["partners_summary"], two["partners_summary"], strict=True):
        assert one_mic["interruptions"] == pytest.approx(two_mics["interruptions"], abs=1)
        assert one_mic["talk_s"] == pytest.approx(two_mics["talk_s"], rel=0.15)
    assert sum(p["interruptions"] for p in data["partners_summary"]) > 0
    # The partners' voices are learnt as the session goes: speech is told apart by them.
    assert data["voices_told_apart"] is True
    assert 0 < data["unsure_talk_s"] < data["partners_summary"][0]["talk_s"]


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("--limit", "two minutes"), "--limit"),
        (("--limit", "3s"), "too short"),
        (("--rounds", "0"), "--rounds"),
        (("--partners", "Sam"), "two names"),
        (("--minutes", "0"), "--minutes"),
    ],
)
def test_demo_bad_options_give_one_line(args: tuple[str, ...], phrase: str) -> None:
    result = invoke("demo", *args)
    assert result.exit_code == 2
    assert phrase in one_error_line(result)


def test_demo_save_audio_into_a_missing_folder_fails_before_anything(tmp_path: Path) -> None:
    result = invoke("demo", *SHORT, "--save-audio", str(tmp_path / "no" / "room.wav"))
    assert result.exit_code != 0
    assert "room.wav" in one_error_line(result)


def test_unknown_exercise_names_the_ones_there_are() -> None:
    result = invoke("demo", "speaker-lisener")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "speaker-listener" in line


def test_exercises_lists_show_and_json() -> None:
    listing = invoke("exercises")
    assert listing.exit_code == 0
    assert "speaker-listener " in listing.stdout
    rows = json.loads(invoke("exercises", "--format", "json").stdout)
    assert {row["name"] for row in rows} >= {"speaker-listener", "speaker-listener-easy"}
    shown = invoke("exercises", "show", "speaker-listener")
    assert shown.exit_code == 0
    assert "Round" in shown.stdout and "{speaker}" in shown.stdout


def test_exercises_check_good_and_broken_files(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        'name = "mine"\nskill = "empathy"\n[[round]]\nkind = "floor"\ntext = "Go, {speaker}."\n'
    )
    result = invoke("exercises", "check", str(good))
    assert result.exit_code == 0
    assert "ok" in result.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text(
        'name = "mine"\nskill = "empathy"\nlimit = "two minutes"\n'
        '[[round]]\nkind = "flor"\ntext = "Go, {partnr}."\n'
    )
    result = invoke("exercises", "check", str(broken))
    assert result.exit_code == 2
    assert f"{broken}:3:" in result.stderr
    assert f"{broken}:5:" in result.stderr and "floor" in result.stderr
    assert f"{broken}:6:" in result.stderr and "{partner_a}" in result.stderr
    assert "3 problems found" in result.stderr


def test_a_broken_exercise_file_stops_the_demo_with_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "mine"\nskill = "x"\n[[round]]\nkind = "floor"\n')
    result = invoke("demo", str(broken))
    assert result.exit_code == 2
    assert "broken.toml:3: text is missing" in one_error_line(result)


def test_sessions_and_review() -> None:
    empty = invoke("sessions")
    assert "No sessions yet" in empty.stdout
    assert invoke("review").exit_code == 1
    invoke("demo", *SHORT)
    invoke("demo", *SHORT, "--seed", "9")
    rows = json.loads(invoke("sessions", "--format", "json").stdout)
    assert [row["session"] for row in rows] == [2, 1]
    assert rows[0]["status"] == "completed" and rows[0]["mode"] == "demo"
    text = invoke("sessions").stdout
    assert "speaker-listener-easy" in text
    first = invoke("review", "1")
    assert first.exit_code == 0 and "Sam" in first.stdout
    missing = invoke("review", "99")
    assert missing.exit_code != 0
    assert "no session 99" in one_error_line(missing)


def test_a_corrupt_database_gives_one_line_and_is_left_alone(home: Path) -> None:
    home.mkdir(parents=True)
    database = home / "attune.db"
    database.write_bytes(b"this is not a database" * 100)
    before = database.read_bytes()
    result = invoke("sessions")
    assert result.exit_code != 0
    assert "attune.db" in one_error_line(result)
    assert database.read_bytes() == before


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and "attune-voice" in result.stdout


def test_run_with_a_missing_device_gives_one_line() -> None:
    # Works with or without a sound server: either no device matches the name, or
    # there are no devices at all; both are one line and exit code 4.
    result = invoke("run", "--partners", "Sam,Alex", "--input", "no-such-microphone")
    assert result.exit_code == 4
    line = one_error_line(result)
    assert "no-such-microphone" in line or "device" in line
    # Nothing was recorded for a session that never started.
    assert "No sessions yet" in invoke("sessions").stdout


def test_run_leaves_a_room_check_made_with_another_microphone_aside(home: Path) -> None:
    # The check's levels and the microphones' balance belong to the microphone it heard
    # through: another one says so before the devices open (here they then fail).
    from attune_voice.session.room_check import SETTING_KEY, RoomCheckResult
    from attune_voice.store.database import Store

    check = {
        "version": 1,
        "noise_dbfs": -60.0,
        "noise_peak_dbfs": -57.0,
        "partners": [
            {"name": name, "heard_s": 3.0, "level_dbfs": -25.0, "peak_dbfs": -6.0}
            for name in ("Sam", "Alex")
        ],
        "prompt_speech_s": 0.0,
        "echo": None,
        "input_device": "no-such-usb-microphone",
    }
    with Store.open() as store:
        store.set_setting(SETTING_KEY, RoomCheckResult.from_json(check).dumps())
    other = invoke("run", "--partners", "Sam,Alex", "--input", "no-such-microphone")
    assert other.exit_code == 4
    assert "The last room check was made with another microphone" in other.stderr
    same = invoke("run", "--partners", "Sam,Alex", "--input", "no-such-usb-microphone")
    assert same.exit_code == 4
    assert "another microphone" not in same.stderr


def test_hearing_through_prompts_is_off_unless_switched_on(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attune_voice.cli.app import session_hear_through
    from attune_voice.errors import UsageError
    from attune_voice.store.settings_file import Settings, load_settings, save_settings

    monkeypatch.delenv("ATTUNE_HEAR_THROUGH", raising=False)
    assert session_hear_through(None) is False
    assert session_hear_through(True) is True
    save_settings(Settings(voice="heart", hear_through=True))
    assert "hear_through = true" in (home / "config.toml").read_text(encoding="utf-8")
    assert load_settings() == Settings(voice="heart", hear_through=True)
    assert session_hear_through(None) is True
    monkeypatch.setenv("ATTUNE_HEAR_THROUGH", "0")
    assert session_hear_through(None) is False
    assert session_hear_through(True) is True
    monkeypatch.setenv("ATTUNE_HEAR_THROUGH", "yes")
    with pytest.raises(UsageError, match="ATTUNE_HEAR_THROUGH=yes"):
        session_hear_through(None)
    (home / "config.toml").write_text('[audio]\nhear_through = "on"\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"audio\.hear_through must be true or false"):
        load_settings()


def test_demo_hears_through_prompts_when_asked(home: Path) -> None:
    result = invoke("demo", *SHORT, "--hear-through", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["check_ins"] == 2
    # The simulated holder talks over a check-in half the time (both, with this seed):
    # heard through, each is logged as spoken over, and the check-in, which may be cut,
    # stops. With the microphone closed for prompts nothing is heard over one.
    with sqlite3.connect(home / "attune.db") as db:
        rows = db.execute("SELECT data FROM events WHERE kind = 'spoken_over'").fetchall()
    spoken_over = [json.loads(data) for (data,) in rows]
    assert [(e["partner"], e["purpose"], e["cut"]) for e in spoken_over] == [
        ("A", "check_in", True),
        ("A", "check_in", True),
    ]
