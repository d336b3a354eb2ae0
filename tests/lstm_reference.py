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


def _states(layer: LstmLayer, x: Float32) -> Float32:
    """One layer's state after every frame of ``x`` (batch, time, features), from zero
    states: (batch, time, units)."""
    bias = layer.input_bias + layer.recurrent_bias
    h = np.zeros((len(x), layer.units), dtype=np.float32)
    c = np.zeros_like(h)
    out = np.zeros((len(x), x.shape[1], layer.units), dtype=np.float32)
    for t in range(x.shape[1]):
        gates = x[:, t] @ layer.input_weights.T + h @ layer.recurrent_weights.T + bias
        i, f, g, o = np.split(gates, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        out[:, t] = h
    return out


def last_states(layers: Sequence[LstmLayer], frames: Float32) -> Float32:
    """The last layer's state after every frame of ``frames`` (batch, time, features),
    from zero states; shaped (batch, units)."""
    x = frames
    for layer in layers:
        x = _states(layer, x)
    result: Float32 = x[:, -1]
    return result


def bidirectional_states(layers: Sequence[tuple[LstmLayer, LstmLayer]], frames: Float32) -> Float32:
    """torch's bidirectional LSTM: each layer's forward states and its backward ones (run
    from the last frame to the first, then put back in time order) side by side, fed to
    the next; the last layer's, shaped (batch, time, 2 x units)."""
    x = frames
    for forward, backward in layers:
        x = np.concatenate([_states(forward, x), _states(backward, x[:, ::-1])[:, ::-1]], axis=2)
    return x
