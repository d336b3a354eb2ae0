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
