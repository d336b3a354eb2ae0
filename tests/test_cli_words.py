"""What the command line says: honest figures, one word per thing, messages that say what to do."""

from __future__ import annotations

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


def test_analyze_transcripts_without_a_model_says_what_is_missing_and_how_to_get_it(
    tmp_path: Path,
) -> None:
    result = invoke("analyze", str(quiet_wav(tmp_path / "talk.wav")), "--transcripts")
    assert result.exit_code != 0
    line = one_error_line(result)
    assert "--transcripts needs a speech model to recognise the words" in line
    assert "attune-voice models download vosk-model-small-en-us-0.15" in line
    assert "floor" not in line


def test_analyze_reads_a_telephone_mu_law_recording(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("sox") is None or shutil.which("espeak-ng") is None:
        pytest.skip("sox and espeak-ng make the recording")
    spoken = tmp_path / "spoken.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(spoken), "I felt tired when I came home, and a bit invisible."],
        check=True,
    )
    phone = tmp_path / "phone.wav"
    subprocess.run(["sox", str(spoken), "-r", "8000", "-e", "mu-law", str(phone)], check=True)
    result = invoke("analyze", str(phone), "--format", "json")
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert data["segments"], data
    assert data["metrics"]["speech_s"] > 1.0
