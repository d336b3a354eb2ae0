"""torch's LSTM equations written out frame by frame in numpy: what the ONNX graph must compute."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from attune_voice.listening.lstm_graph import LstmLayer

Float32 = npt.NDArray[np.float32]


def _sigmoid(x: Float32) -> Float32:
    result: Float32 = 0.5 * (np.tanh(0.5 * x) + 1.0)  # no overflow for large -x
    return result


def last_states(layers: Sequence[LstmLayer], frames: Float32) -> Float32:
    """The last layer's state after every frame of ``frames`` (batch, time, features),
    from zero states; shaped (batch, units)."""
    x = frames
    h = np.zeros((len(frames), 0), dtype=np.float32)
    for layer in layers:
        bias = layer.input_bias + layer.recurrent_bias
        h = np.zeros((len(frames), layer.units), dtype=np.float32)
        c = np.zeros_like(h)
        out = np.zeros((len(frames), frames.shape[1], layer.units), dtype=np.float32)
        for t in range(frames.shape[1]):
            gates = x[:, t] @ layer.input_weights.T + h @ layer.recurrent_weights.T + bias
            i, f, g, o = np.split(gates, 4, axis=1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            out[:, t] = h
        x = out
    return h
