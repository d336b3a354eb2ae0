"""The ONNX model written by hand: it loads in onnxruntime and computes torch's LSTM."""

from __future__ import annotations

import numpy as np
import pytest
from lstm_reference import bidirectional_states, last_states

from attune_voice.errors import ModelError
from attune_voice.listening.lstm_graph import (
    LstmLayer,
    bidirectional_lstm_model,
    stacked_lstm_model,
)
from attune_voice.listening.onnx_runtime import one_thread_session


def _layers(int8: bool) -> list[LstmLayer]:
    rng = np.random.default_rng(3)

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    sizes = [(5, 16), (16, 16), (16, 8)]
    return [
        LstmLayer(
            weights(4 * n, m),
            weights(4 * n, n),
            weights(4 * n),
            weights(4 * n),
            int8=k > 0 and int8,
        )
        for k, (m, n) in enumerate(sizes)
    ]


def _run(layers: list[LstmLayer], frames: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    session = one_thread_session(stacked_lstm_model(layers), "a test", "the model", "-")
    (hidden,) = session.run(
        None,
        {
            "frames": np.ascontiguousarray(frames.transpose(1, 0, 2)),
            "lengths": lengths.astype(np.int32),
        },
    )
    result: np.ndarray = hidden[0]
    return result


def test_the_float_graph_is_torchs_lstm_and_stops_at_each_rows_length() -> None:
    layers = _layers(int8=False)
    frames = np.random.default_rng(4).standard_normal((3, 30, 5)).astype(np.float32)
    full = _run(layers, frames, np.array([30, 30, 30]))
    assert np.abs(full - last_states(layers, frames)).max() < 1e-5
    # Rows ending early: their state is that of their own frames, the padding unread.
    padded = frames.copy()
    padded[1, 12:] = 50.0
    short = _run(layers, padded, np.array([30, 12, 30]))
    assert np.abs(short[1] - last_states(layers, frames[1:2, :12])[0]).max() < 1e-5
    assert np.abs(short[[0, 2]] - full[[0, 2]]).max() < 1e-6


def test_int8_layers_are_stored_as_int8_and_stay_close_to_the_float_network() -> None:
    floats, int8 = _layers(int8=False), _layers(int8=True)
    # The two later layers' 2816 weights take a byte each, not four (less their scales).
    saved = len(stacked_lstm_model(floats)) - len(stacked_lstm_model(int8))
    assert saved > 2 * (64 * 16 + 64 * 16 + 32 * 16 + 32 * 8)
    frames = np.random.default_rng(5).standard_normal((4, 40, 5)).astype(np.float32)
    lengths = np.array([40, 40, 25, 40])
    exact = _run(floats, frames, lengths)
    close = _run(int8, frames, lengths)
    assert 0 < np.abs(close - exact).max() < 0.05
    cosine = (close * exact).sum(1) / np.linalg.norm(close, axis=1) / np.linalg.norm(exact, axis=1)
    assert cosine.min() > 0.995


def test_a_model_onnxruntime_refuses_gives_one_model_error() -> None:
    model = stacked_lstm_model(_layers(int8=False))
    broken = model[: len(model) // 2]
    with pytest.raises(ModelError, match=r"^the model cannot be loaded \(.*\): reinstall it$"):
        one_thread_session(broken, "a test", "the model", "reinstall it")


def test_the_bidirectional_graph_is_torch_s_bidirectional_lstm() -> None:
    # Each layer's backward direction reads the frames last to first; the next layer
    # reads both directions' states side by side (as the segmentation network's does).
    rng = np.random.default_rng(4)

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    def direction(m: int, n: int) -> LstmLayer:
        return LstmLayer(weights(4 * n, m), weights(4 * n, n), weights(4 * n), weights(4 * n))

    layers = [(direction(5, 8), direction(5, 8)), (direction(16, 8), direction(16, 8))]
    frames = weights(3, 11, 5)
    session = one_thread_session(bidirectional_lstm_model(layers), "a test", "the model", "-")
    (outputs,) = session.run(None, {"frames": np.ascontiguousarray(frames.transpose(1, 0, 2))})
    assert outputs.shape == (11, 3, 16)
    expected = bidirectional_states(layers, frames)
    assert np.abs(outputs.transpose(1, 0, 2) - expected).max() < 1e-5
