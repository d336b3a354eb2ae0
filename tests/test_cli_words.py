"""What the command line says: honest figures, one word per thing, messages that say what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_run import invoke, one_error_line

from attune_voice.audio.wav import write_wav


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ATTUNE_HOME", str(folder))
    return folder


def quiet_wav(path: Path, seconds: float = 1.0) -> Path:
    import numpy as np

    write_wav(path, np.zeros(int(16000 * seconds), dtype=np.int16), 16000)
    return path


@pytest.mark.parametrize("command", ["analyze", "demo"])
def test_transcripts_without_a_model_say_what_is_missing_and_how_to_get_it(
    tmp_path: Path, command: str
) -> None:
    args = [str(quiet_wav(tmp_path / "talk.wav"))] if command == "analyze" else []
    result = invoke(command, *args, "--transcripts")
    assert result.exit_code != 0
    line = one_error_line(result)
    assert "--transcripts needs a speech model to recognise the words" in line
    assert "attune-voice models download vosk-model-small-en-us-0.15" in line
    assert "floor" not in line


def test_analyze_reads_a_telephone_mu_law_recording(tmp_path: Path) -> None:
    import subprocess

    spoken = spoken_wav(
        tmp_path, "I felt tired when I came home, and a bit invisible.", "en-us", "s.wav"
    )
    phone = tmp_path / "phone.wav"
    subprocess.run(["sox", str(spoken), "-r", "8000", "-e", "mu-law", str(phone)], check=True)
    result = invoke("analyze", str(phone), "--format", "json")
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert data["segments"], data
    assert data["metrics"]["speech_s"] > 1.0


# --- stored sessions, made through import -----------------------------------------------


def archive(tmp_path: Path, *sessions: dict[str, object]) -> Path:
    import json

    path = tmp_path / "ours.json"
    data = {"format": "attune-voice-archive", "version": 1, "sessions": list(sessions)}
    path.write_text(json.dumps(data))
    return path


def stored(
    partners: tuple[str, str],
    events: list[dict[str, object]],
    *,
    minute: int = 1,
    status: str = "completed",
    duration_s: float = 60.0,
) -> dict[str, object]:
    """One archived session: its start, ``events``, and its end when ``status`` is final."""
    start = {
        "kind": "session_started",
        "t": 0.0,
        "exercise": "speaker-listener",
        "partners": list(partners),
        "settings": {"limit_s": 60.0},
    }
    end = (
        []
        if status == "interrupted"
        else [{"kind": "session_ended", "t": duration_s, "reason": status}]
    )
    return {
        "started_at": f"2024-05-01T19:{minute:02d}:00Z",
        "exercise": "speaker-listener",
        "partners": list(partners),
        "status": status,
        "duration_s": duration_s,
        "settings": {},
        "events": [start, *events, *end],
    }


def floor(t: float, partner: str, end_t: float, overtime_s: float = 0.0) -> list[dict[str, object]]:
    return [
        {
            "kind": "floor_given",
            "t": t,
            "partner": partner,
            "role": "speak",
            "limit_s": 60.0,
            "attempt": 1,
        },
        {
            "kind": "floor_ended",
            "t": end_t,
            "partner": partner,
            "role": "speak",
            "reason": "handover_key",
            "held_s": end_t - t,
            "overtime_s": overtime_s,
        },
    ]


def said(
    t: float, end_t: float, partner: str, by: str = "floor", kind: str = "turn"
) -> dict[str, object]:
    return {
        "kind": "speech",
        "t": t,
        "end_t": end_t,
        "partner": partner,
        "speech_kind": kind,
        "attributed_by": by,
    }


def one_microphone_session() -> list[dict[str, object]]:
    return [
        *floor(1.0, "A", 20.0),
        said(1.5, 18.0, "A"),
        *floor(21.0, "B", 40.0),
        said(22.0, 39.0, "B"),
    ]


def test_the_history_table_lines_up_chinese_and_korean_names(tmp_path: Path) -> None:
    from rich.cells import cell_len

    path = archive(
        tmp_path,
        stored(("김민지", "王小明"), one_microphone_session(), minute=1),
        stored(("Sam", "Alex"), one_microphone_session(), minute=2),
    )
    assert invoke("import", str(path)).exit_code == 0
    lines = invoke("history").stdout.splitlines()
    table = lines[: lines.index(next(line for line in lines if line.startswith("names:")))]
    assert any("王小明" in line for line in table)
    # Every column ends at the same terminal column on every line: the last one too.
    assert len({cell_len(line) for line in table}) == 1, table


def spoken_wav(tmp_path: Path, text: str, voice: str, name: str) -> Path:
    import shutil
    import subprocess

    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng and sox make the recording")
    path = tmp_path / name
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    return path


def two_microphones_wav(tmp_path: Path) -> Path:
    """Two partners, one after the other, each on their own channel."""
    import subprocess

    first = spoken_wav(
        tmp_path, "I felt tired when I came home, and a bit invisible.", "en-us", "a.wav"
    )
    second = spoken_wav(
        tmp_path, "I think I wanted someone to ask me how my day went.", "en-gb+f4", "b.wav"
    )
    subprocess.run(["sox", str(first), str(tmp_path / "a2.wav"), "pad", "0", "4"], check=True)
    subprocess.run(["sox", str(second), str(tmp_path / "b2.wav"), "pad", "4", "0"], check=True)
    both = tmp_path / "two.wav"
    subprocess.run(
        ["sox", "-M", str(tmp_path / "a2.wav"), str(tmp_path / "b2.wav"), str(both)], check=True
    )
    return both


def test_the_analysis_table_and_timeline_line_up_chinese_names(tmp_path: Path) -> None:
    from rich.cells import cell_len

    result = invoke("analyze", str(two_microphones_wav(tmp_path)), "--partners", "美玲,Bo")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rows = [line for line in lines if line.endswith("|")]
    assert [row.split()[0] for row in rows] == ["美玲", "Bo"]
    assert cell_len(rows[0]) == cell_len(rows[1])
    table = [line for line in lines if line.startswith(("美玲 ", "Bo "))][:2]
    assert cell_len(table[0]) == cell_len(table[1]), table


# --- help ---------------------------------------------------------------------------------


@pytest.mark.parametrize("group", [[], ["sessions"], ["models"], ["exercises"]])
def test_help_lists_every_command_in_whole_words(group: list[str]) -> None:
    result = invoke(*group, "--help")
    assert result.exit_code == 0
    listed = result.stdout.split("Commands:")[1].splitlines()
    described = [line for line in listed if line.strip()]
    assert described
    for line in described:
        assert not line.endswith("..."), line
        assert line.rstrip()[-1] in ".)", line


def test_one_spelling_of_analyze_and_repeatable_options_say_so() -> None:
    top = invoke("--help").stdout
    assert "nalyse" not in top and "nalysing" not in top
    assert "nalyse" not in invoke("analyze", "--help").stdout
    export = " ".join(invoke("export", "--help").stdout.split())
    assert "--session N Only session N; repeat it for more: --session 3 --session 5." in export


# --- figures that were not measured say so -------------------------------------------------


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_one_microphone_figures_say_not_recorded_in_every_report(tmp_path: Path) -> None:
    import json

    path = archive(tmp_path, stored(("Ann", "Bo"), one_microphone_session()))
    assert invoke("import", str(path)).exit_code == 0
    page = tmp_path / "review.html"
    review = invoke("review", "--html", str(page))
    assert review.exit_code == 0, review.output
    rows = {line.split("  ")[0]: line for line in review.stdout.splitlines()}
    for label in ("interruptions", "mm-hms", "started over the other"):
        assert rows[label].split()[-4:] == ["not", "recorded", "not", "recorded"], rows[label]
    assert "0 of" not in review.stdout
    html = page.read_text()
    assert html.count("not recorded") >= 6
    history = invoke("history", "--html", str(tmp_path / "weeks.html"))
    assert "not recorded" in history.stdout.splitlines()[2]
    assert (
        "Interruptions (not recorded with one microphone" in (tmp_path / "weeks.html").read_text()
    )
    data = json.loads(invoke("history", "--format", "json").stdout)["sessions"][0]
    assert (data["interruptions_a"], data["backchannels_b"]) == (None, None)
    chart = tmp_path / "weeks.png"
    assert invoke("history", "--png", str(chart)).exit_code == 0
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_a_turn_never_outlasts_the_talk_time_and_overtime_under_a_second_is_none(
    tmp_path: Path,
) -> None:
    import json

    events = [
        *floor(1.0, "A", 60.0, overtime_s=0.3),
        # Ten seconds, a long thinking pause, then ten more: 20 s of talk in one turn.
        said(2.0, 12.0, "A", by="channel"),
        said(45.0, 55.0, "A", by="channel"),
        *floor(61.0, "B", 70.0),
        said(62.0, 66.0, "B", by="channel"),
    ]
    path = archive(tmp_path, stored(("Ann", "Bo"), events, duration_s=75.0))
    assert invoke("import", str(path)).exit_code == 0
    text = invoke("review").stdout
    rows = {line.split("  ")[0]: line.split() for line in text.splitlines()}
    assert rows["talk time"][-2:] == ["0:20", "0:04"]
    assert rows["longest turn"][-2:] == ["0:20", "0:04"]
    assert rows["over the time limit"][-2:] == ["0:00", "0:00"]
    assert "(1 turn)" not in text
    data = json.loads(invoke("review", "--format", "json").stdout)
    for partner in data["partners_summary"]:
        assert partner["longest_monologue_s"] <= partner["talk_s"]


# --- one word per thing -----------------------------------------------------------------------


def test_an_interrupted_session_is_interrupted_everywhere(tmp_path: Path, utc: None) -> None:
    path = archive(tmp_path, stored(("Ann", "Bo"), one_microphone_session(), status="interrupted"))
    assert invoke("import", str(path)).exit_code == 0
    sessions = invoke("sessions").stdout.splitlines()
    assert sessions[1].split() == [
        "1", "2024-05-01", "19:01", "speaker-listener",
        "Ann", "&", "Bo", "1:00", "import", "interrupted",
    ]  # fmt: skip
    review = invoke("review").stdout.splitlines()
    assert review[0] == "Session 1: speaker-listener: 0:40 (interrupted)"
    assert review[1].startswith("2024-05-01 19:01")
    history = invoke("history").stdout.splitlines()
    assert history[2].split()[1:4] == ["2024-05-01", "19:01", "speaker-listener"]


def test_demo_and_review_use_the_same_words(tmp_path: Path) -> None:
    demo = invoke("demo", "--limit", "20s", "--rounds", "1")
    assert demo.exit_code == 0, demo.output
    review = invoke("review")
    page = tmp_path / "r.html"
    assert invoke("review", "--html", str(page)).exit_code == 0
    import re

    shown = re.sub(r"<[^>]*>", " ", page.read_text())
    for text in (demo.stdout, review.stdout, shown):
        for word in ("talk time", "longest turn", "mm-hms", "interruptions"):
            assert word in text
        for other in ("talking stretch", "backchannels", "unfinished", "longest stretch"):
            assert other not in text


# --- progress ---------------------------------------------------------------------------------


def test_piped_output_carries_no_progress(tmp_path: Path) -> None:
    demo = invoke("demo", "--limit", "20s", "--rounds", "1")
    assert demo.exit_code == 0
    analysis = invoke("analyze", str(two_microphones_wav(tmp_path)))
    assert analysis.exit_code == 0
    for result in (demo, analysis):
        assert "\r" not in result.output and "\x1b" not in result.output
        assert "simulat" not in result.stderr and "analyzing" not in result.stderr


def test_on_a_terminal_the_demo_shows_a_bar_with_what_remains(home: Path) -> None:
    """The real command with its stderr on a pseudo-terminal, as a person sees it."""
    import os
    import pty
    import select
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    env = {**os.environ, "ATTUNE_HOME": str(home), "COLUMNS": "100"}
    command = [sys.executable, "-m", "attune_voice", "demo", "--limit", "20s", "--rounds", "1"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL, env=env
    )
    os.close(terminal)
    seen = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    assert process.stdout is not None
    with process.stdout:
        stdout = process.stdout.read().decode()
    assert process.wait() == 0
    os.close(controller)
    drawn = seen.decode(errors="replace")
    assert "simulating" in drawn and "━" in drawn
    assert " left" in drawn and "of about" in drawn
    # The review on stdout stays plain.
    assert stdout.startswith("speaker-listener: ") and "\x1b" not in stdout


def test_a_hand_over_nobody_answered_has_no_gap_to_show(tmp_path: Path) -> None:
    events = [*floor(1.0, "A", 20.0), said(1.5, 18.0, "A", by="channel"), *floor(21.0, "B", 40.0)]
    path = archive(tmp_path, stored(("Ann", "Bo"), events))
    assert invoke("import", str(path)).exit_code == 0
    lines = invoke("review").stdout.splitlines()
    gap = next(line for line in lines if line.startswith("response gap"))
    assert gap.split()[-4:] == ["not", "recorded", "not", "recorded"]
    assert "hand-overs: 1, median response gap not recorded" in lines
    confirmed = next(line for line in lines if line.startswith("confirmed first time"))
    assert confirmed.split()[-2:] == ["none", "none"]


def test_the_history_chart_marks_a_measured_nought_and_leaves_out_what_was_not_recorded(
    tmp_path: Path,
) -> None:
    import numpy as np
    from PIL import Image

    two_microphones = [
        *floor(1.0, "A", 20.0),
        said(1.5, 18.0, "A", by="channel"),
        *floor(21.0, "B", 40.0),
        said(22.0, 39.0, "B", by="channel"),
    ]
    grey = np.array([0x6B, 0x74, 0x80])

    def grey_columns(*sessions: dict[str, object]) -> set[int]:
        folder = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        path = archive(folder, *sessions)
        assert invoke("import", str(path)).exit_code == 0
        chart = folder / "weeks.png"
        assert invoke("history", "--png", str(chart)).exit_code == 0
        pixels = np.asarray(Image.open(chart).convert("RGB")).astype(int)
        assert invoke("sessions", "delete", "--all", "--yes").exit_code == 0
        middle = pixels[pixels.shape[0] * 3 // 8 : pixels.shape[0] * 5 // 8]
        found = np.all(np.abs(middle - grey) < 6, axis=2)
        return set(np.flatnonzero(found.any(axis=0)).tolist())

    one_mic = stored(("Ann", "Bo"), one_microphone_session(), minute=1)
    measured = stored(("Ann", "Bo"), two_microphones, minute=2)
    both = grey_columns(one_mic, measured)
    # The second session's nought is marked, in the right half; the first shows nothing.
    assert both and min(both) > 600
    assert grey_columns(stored(("Ann", "Bo"), one_microphone_session())) == set()
