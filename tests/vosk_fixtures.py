"""The generated vosk test model (built once, cached by the generator's hash) and test speech.

Vosk's published models cannot be fetched where the tests run, so the tests build a
small model from scratch with ``scripts/make_test_model.py`` (espeak-ng speech, a few
minutes on two cores) and cache it in ``test-output/vosk-model-<hash>/``, keyed by the
generator's own source: change the generator and the next run builds a fresh model.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.voice.tts import SpeechRenderer

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "scripts" / "make_test_model.py"
INFO_FILE = "attune-test-model.json"

TEST_VOICES = (
    ("gmw/en-us+m3", 165),
    ("gmw/en-gb-x-rp+f4", 175),
    ("gmw/en+Annie", 150),
    ("gmw/en-us+Mike", 190),
    ("gmw/en-gb-scotland+sandro", 160),
    ("gmw/en-us+pablo", 200),
)
"""espeak-ng voices whose variants the model never heard in training."""


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_test_model", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_test_model() -> Path:
    """The cached model folder, built first when missing (one builder at a time)."""
    model: Path = _generator().cached_model_dir()
    out = model.parent
    if (model / INFO_FILE).is_file():
        return model
    out.mkdir(exist_ok=True)
    with (out / "vosk-model.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (model / INFO_FILE).is_file():
            done = subprocess.run(
                [sys.executable, str(GENERATOR), str(model)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                pytest.fail(
                    "could not build the vosk test model (needs espeak-ng and the dev "
                    "extra kaldi-native-fbank: pip install -e '.[dev]'):\n"
                    + (done.stderr or done.stdout)[-3000:]
                )
    return model


@pytest.fixture(scope="session")
def vosk_model_path() -> Path:
    return build_test_model()


@pytest.fixture(scope="session")
def model_info(vosk_model_path: Path) -> dict[str, object]:
    info: dict[str, object] = json.loads((vosk_model_path / INFO_FILE).read_text())
    return info


@pytest.fixture(scope="session")
def speech_renderer() -> Iterator[SpeechRenderer]:
    with SpeechRenderer() as renderer:
        yield renderer


@dataclass(frozen=True)
class Said:
    """A phrase placed in a test recording, with its true edges in seconds."""

    text: str
    start_t: float
    end_t: float


def noise(rng: np.random.Generator, samples: int, dbfs: float = -55.0) -> np.ndarray:
    return rng.standard_normal(samples) * (10 ** (dbfs / 20) * 32768)


def recording(
    renderer: SpeechRenderer,
    phrases: Sequence[str],
    voice: tuple[str, int],
    gap_s: float = 1.0,
    seed: int = 0,
    level_dbfs: float = -24.0,
) -> tuple[Pcm, list[Said]]:
    """The phrases spoken one after another with ``gap_s`` of quiet room noise between."""
    rng = np.random.default_rng(seed)
    gap = int(gap_s * SAMPLE_RATE_HZ)
    pieces = [noise(rng, gap)]
    said: list[Said] = []
    position = len(pieces[0])
    for text in phrases:
        speech = renderer.render(text, voice[0], voice[1]).astype(np.float64)
        rms = float(np.sqrt(np.mean(speech**2)))
        speech *= 10 ** (level_dbfs / 20) * 32768 / max(rms, 1.0)
        speech += noise(rng, len(speech))
        pieces.append(speech)
        said.append(
            Said(
                text,
                position / SAMPLE_RATE_HZ,
                (position + len(speech)) / SAMPLE_RATE_HZ,
            )
        )
        position += len(speech)
        pieces.append(noise(rng, gap))
        position += len(pieces[-1])
    pcm = np.clip(np.concatenate(pieces), -32768, 32767).astype(np.int16)
    return pcm, said
