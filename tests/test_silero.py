"""The neural voicing source with the real Silero model: loading, streaming, batching."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from attune_voice.errors import ModelError
from attune_voice.listening.silero import (
    MODEL_PACKAGE,
    SUBFRAME_SAMPLES,
    WINDOW_SAMPLES,
    SileroBatch,
    SileroModel,
    SileroStream,
    Slicing,
    file_probabilities,
    model_path,
    stream_probabilities,
    subframe_probabilities,
)
from attune_voice.voice.tts import SpeechRenderer

RATE = 16000
VOICE = ("gmw/en-us+f2", 160)


@pytest.fixture(scope="module")
def model() -> SileroModel:
    return SileroModel()


@pytest.fixture(scope="module")
def speech() -> Iterator[npt.NDArray[np.int16]]:
    """Two sentences at -26 dBFS with 1.5 s of faint noise before, between and after."""
    rng = np.random.default_rng(3)
    with SpeechRenderer() as renderer:
        lines = [
            renderer.render(text, *VOICE).astype(np.float64)
            for text in ("I felt tired when I came home.", "Can we talk on Sunday morning?")
        ]
    pause = int(1.5 * RATE)
    parts: list[npt.NDArray[np.float64]] = []
    for line in lines:
        parts += [np.zeros(pause), line * (0.05 * 32768 / np.sqrt(np.mean(line**2)))]
    parts.append(np.zeros(pause))
    audio = np.concatenate(parts) + rng.standard_normal(sum(len(p) for p in parts)) * 10.0
    yield np.clip(np.rint(audio), -32768, 32767).astype(np.int16)


def test_a_damaged_model_names_the_package_to_reinstall(tmp_path: Path) -> None:
    damaged = tmp_path / "silero_vad.onnx"
    data = bytearray(model_path().read_bytes())
    data[1000] ^= 1
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=f"damaged.*pip install --force-reinstall {MODEL_PACKAGE}"):
        SileroModel(damaged)


def test_a_missing_model_names_the_package_to_reinstall(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=f"cannot be read.*{MODEL_PACKAGE}") as caught:
        SileroModel(tmp_path / "silero_vad.onnx")
    assert "\n" not in str(caught.value)


def test_speech_is_probable_and_quiet_is_not(
    model: SileroModel, speech: npt.NDArray[np.int16]
) -> None:
    windows = stream_probabilities(model, speech)
    t_s = windows.start_sample / RATE
    assert np.all(windows.probability[t_s < 1.3] < 0.1)
    talking = windows.probability[(t_s > 1.7) & (t_s < 2.5)]
    assert np.median(talking) > 0.9


def test_streaming_does_not_depend_on_the_block_size(
    model: SileroModel, speech: npt.NDArray[np.int16]
) -> None:
    whole = stream_probabilities(model, speech)
    frames = stream_probabilities(model, speech, (320,))
    odd = stream_probabilities(model, speech, (1, 777, 160, 5000, 320))
    assert np.array_equal(whole.start_sample, frames.start_sample)
    assert np.array_equal(whole.probability, frames.probability)
    assert np.array_equal(whole.probability, odd.probability)


def test_live_sub_frames_match_the_whole_file_mapping(
    model: SileroModel, speech: npt.NDArray[np.int16]
) -> None:
    stream = SileroStream(model)
    live = np.concatenate(
        [stream.feed_subframes(speech[at : at + 320]) for at in range(0, len(speech), 320)]
    )
    whole = subframe_probabilities(stream_probabilities(model, speech), len(live))
    assert np.array_equal(live, whole)


def test_a_sub_frame_takes_the_latest_window_complete_by_its_end(
    model: SileroModel, speech: npt.NDArray[np.int16]
) -> None:
    windows = stream_probabilities(model, speech)
    per_subframe = subframe_probabilities(windows, 40)
    # Nothing is known before the first window ends (512 samples, sub-frame 3's end is 640).
    assert np.all(per_subframe[:3] == 0.0)
    for j in range(3, 40):
        k = (j + 1) * SUBFRAME_SAMPLES // WINDOW_SAMPLES - 1
        assert per_subframe[j] == windows.probability[k]


@pytest.mark.parametrize("threads", [1, 2])
def test_batched_slices_stay_close_to_one_stream(
    model: SileroModel, speech: npt.NDArray[np.int16], threads: int
) -> None:
    whole = stream_probabilities(model, speech)
    batch = file_probabilities(model, speech, Slicing(slice_s=2.0, warmup_s=1.0, threads=threads))
    assert np.array_equal(batch.start_sample, whole.start_sample)
    first_slice = round(2.0 * RATE / WINDOW_SAMPLES)
    # The first slice is the stream itself; the others start afresh a second early.
    assert np.array_equal(batch.probability[:first_slice], whole.probability[:first_slice])
    assert np.mean(np.abs(batch.probability - whole.probability)) < 0.02
    assert np.mean((batch.probability >= 0.5) == (whole.probability >= 0.5)) > 0.98


def test_a_recording_judged_a_part_at_a_time_is_judged_as_in_one_piece(
    model: SileroModel, speech: npt.NDArray[np.int16]
) -> None:
    # Parts of whole slices: each part's first slice warms up on the part before, as
    # every slice of the whole does on the audio before it.
    slicing = Slicing(slice_s=2.048, warmup_s=1.024, threads=2)
    part = round(2.048 * RATE)
    batch = SileroBatch(model, slicing)
    parts = np.concatenate(
        [batch.feed_subframes(speech[at : at + part]) for at in range(0, len(speech), part)]
    )
    whole = subframe_probabilities(file_probabilities(model, speech, slicing), len(parts))
    np.testing.assert_allclose(parts, whole, atol=1e-5)
