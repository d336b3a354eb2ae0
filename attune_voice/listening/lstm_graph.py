"""An ONNX model of stacked LSTM layers, written from their weights in protobuf's wire format.

onnxruntime runs an LSTM layer's whole loop in compiled code: for the voice encoder that
was 1.7 times as fast as a numpy loop over the frames, with the same embeddings to 3e-7.
A layer may keep its weights as 8-bit integers (onnxruntime's ``DynamicQuantizeLSTM``,
which quantizes the layer's input and state to 8 bits as it runs): symmetric, one scale
per gate unit (each column's largest weight is 127), as onnxruntime's own quantizer
writes them. Writing the model needs no ONNX package: it is one graph of a few nodes,
and the subset of the format it uses (varints, length-delimited fields, raw
little-endian tensors) is written here. Field numbers are those of ``onnx.proto``; a
field this writer gets wrong makes onnxruntime refuse the model when it is loaded.

``stacked_lstm_model``'s inputs are ``frames`` (time, batch, features; float32) and
``lengths`` (batch; int32: row i ends after its first ``lengths[i]`` frames); its output
``hidden`` (1, batch, units) is the last layer's state at each row's last frame.
``bidirectional_lstm_model``'s input is ``frames`` (time, batch, features) of rows of one
length; its output ``outputs`` (time, batch, 2 x units) is the last layer's forward and
backward states at every frame, side by side, as torch's bidirectional LSTM gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_OPSET = 14
"""The first opset whose LSTM takes every input used here in its current form."""
_IR_VERSION = 7
"""The ONNX file format that came with opset 14; every onnxruntime this runs on reads it."""
_FLOAT, _INT8, _INT32, _INT64 = 1, 3, 6, 7
"""TensorProto data types."""
_CONTRIB = "com.microsoft"
"""onnxruntime's own operators' domain, where ``DynamicQuantizeLSTM`` is."""
_ATTRIBUTE_INT, _ATTRIBUTE_STRING, _ATTRIBUTE_INTS = 2, 3, 7
"""AttributeProto types of a single integer, a string and a list of integers."""

Float32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LstmLayer:
    """One layer's weights as torch keeps them: gates in the order input, forget, cell,
    output; ``input_weights`` (4 x units, features), ``recurrent_weights`` (4 x units,
    units), the two biases (4 x units) each."""

    input_weights: Float32
    recurrent_weights: Float32
    input_bias: Float32
    recurrent_bias: Float32
    int8: bool = False
    """Run with 8-bit weights, input and state: about twice as fast, for inputs that
    stay within a few units of zero (another layer's output); not for a spectrum's
    powers, which span orders of magnitude that 8 bits of one scale cannot hold."""

    @property
    def units(self) -> int:
        """The layer's hidden size."""
        return int(self.recurrent_weights.shape[1])


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _number(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value)) + value


def _text(field: int, value: str) -> bytes:
    return _bytes(field, value.encode())


_DATA_TYPES = {np.dtype(np.float32): _FLOAT, np.dtype(np.int8): _INT8, np.dtype(np.int64): _INT64}


def _tensor(name: str, array: npt.NDArray[np.generic]) -> bytes:
    data_type = _DATA_TYPES[array.dtype]
    dims = b"".join(_number(1, d) for d in array.shape)
    raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    return dims + _number(2, data_type) + _text(8, name) + _bytes(9, raw)


def _value_info(name: str, elem_type: int, dims: Sequence[int | str]) -> bytes:
    shape = b"".join(_bytes(1, _number(1, d) if isinstance(d, int) else _text(2, d)) for d in dims)
    tensor_type = _number(1, elem_type) + _bytes(2, shape)
    return _text(1, name) + _bytes(2, _bytes(1, tensor_type))


Attribute = int | str | tuple[int, ...]


def _node(
    op: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    domain: str = "",
    attributes: dict[str, Attribute] | None = None,
) -> bytes:
    fields = b"".join(_text(1, name) for name in inputs)
    fields += b"".join(_text(2, name) for name in outputs)
    fields += _text(4, op)
    for key, value in (attributes or {}).items():
        if isinstance(value, str):
            field = _text(4, value) + _number(20, _ATTRIBUTE_STRING)
        elif isinstance(value, tuple):
            field = b"".join(_number(8, v) for v in value) + _number(20, _ATTRIBUTE_INTS)
        else:
            field = _number(3, value) + _number(20, _ATTRIBUTE_INT)
        fields += _bytes(5, _text(1, key) + field)
    if domain:
        fields += _text(7, domain)
    return fields


def _onnx_gates(torch_rows: Float32, units: int) -> Float32:
    """Rows of the four gates from torch's order (input, forget, cell, output) to ONNX's
    (input, output, forget, cell)."""
    i, f, g, o = (torch_rows[k * units : (k + 1) * units] for k in range(4))
    result: Float32 = np.concatenate([i, o, f, g]).astype(np.float32)
    return result


def _int8_columns(weights: Float32) -> tuple[npt.NDArray[np.int8], Float32]:
    """(input, 4 x units) weights as 8-bit integers and each column's scale."""
    scale = (np.abs(weights).max(axis=0) / 127.0).astype(np.float32)
    scale[scale == 0] = 1.0
    values = np.clip(np.round(weights / scale), -127, 127).astype(np.int8)
    return values, scale


def _layer(
    k: int, directions: Sequence[LstmLayer], given: str, outputs: list[str], lengths: str
) -> tuple[bytes, list[bytes]]:
    """The node of layer ``k`` (one direction, or forward and backward) reading ``given``
    (and each row's length from ``lengths``, unless it is ""), and its weights as tensors."""
    n = directions[0].units
    w = np.stack([_onnx_gates(d.input_weights, n) for d in directions])
    r = np.stack([_onnx_gates(d.recurrent_weights, n) for d in directions])
    bias = np.stack(
        [
            np.concatenate([_onnx_gates(d.input_bias, n), _onnx_gates(d.recurrent_bias, n)])
            for d in directions
        ]
    )
    tensors = [_tensor(f"B{k}", bias)]
    attributes: dict[str, Attribute] = {"hidden_size": n}
    if len(directions) == 2:
        attributes["direction"] = "bidirectional"
    if not directions[0].int8:
        tensors += [_tensor(f"W{k}", w), _tensor(f"R{k}", r)]
        inputs = [given, f"W{k}", f"R{k}", f"B{k}", *([lengths] if lengths else [])]
        return _node("LSTM", inputs, outputs, attributes=attributes), tensors
    inputs = [given, f"W{k}", f"R{k}", f"B{k}", lengths, "", "", ""]
    for name, rows in ((f"W{k}", w), (f"R{k}", r)):
        # This operator takes each matrix as (input, 4 x units): each direction's rows
        # transposed.
        pairs = [_int8_columns(direction.T) for direction in rows]
        scale = np.stack([c for _, c in pairs])
        tensors += [
            _tensor(name, np.stack([v for v, _ in pairs])),
            _tensor(f"{name}_scale", scale),
            _tensor(f"{name}_zero", np.zeros(scale.shape, dtype=np.int8)),
        ]
        inputs += [f"{name}_scale", f"{name}_zero"]
    node = _node("DynamicQuantizeLSTM", inputs, outputs, _CONTRIB, attributes)
    return node, tensors


def _model(
    name: str,
    nodes: Sequence[bytes],
    weights: Sequence[bytes],
    values: Sequence[tuple[int, bytes]],
    int8: bool,
) -> bytes:
    """The serialized model of a graph: its nodes, its weights, its inputs and outputs
    (``values``: 11 for an input, 12 for an output, with its value info)."""
    graph = b"".join(_bytes(1, node) for node in nodes)
    graph += _text(2, name)
    graph += b"".join(_bytes(5, w) for w in weights)
    graph += b"".join(_bytes(field, info) for field, info in values)
    opsets = _bytes(8, _text(1, "") + _number(2, _OPSET))
    if int8:
        opsets += _bytes(8, _text(1, _CONTRIB) + _number(2, 1))
    return _number(1, _IR_VERSION) + _bytes(7, graph) + opsets


def stacked_lstm_model(layers: Sequence[LstmLayer]) -> bytes:
    """The serialized ONNX model of ``layers`` run one after the other."""
    nodes: list[bytes] = []
    weights: list[bytes] = [_tensor("drop_direction", np.array([1], dtype=np.int64))]
    features = int(layers[0].input_weights.shape[1])
    units = layers[-1].units
    given = "frames"
    for k, layer in enumerate(layers):
        last = k == len(layers) - 1
        # Y (time, 1 direction, batch, units) feeds the next layer; only the last
        # layer's final state Y_h is wanted from the last.
        outputs = ["", "hidden"] if last else [f"Y{k}"]
        node, tensors = _layer(k, [layer], given, outputs, "lengths")
        nodes.append(node)
        weights += tensors
        if not last:
            nodes.append(_node("Squeeze", [f"Y{k}", "drop_direction"], [f"X{k + 1}"]))
            given = f"X{k + 1}"
    values = [
        (11, _value_info("frames", _FLOAT, ["time", "batch", features])),
        (11, _value_info("lengths", _INT32, ["batch"])),
        (12, _value_info("hidden", _FLOAT, [1, "batch", units])),
    ]
    return _model("stacked_lstm", nodes, weights, values, any(la.int8 for la in layers))


def bidirectional_lstm_model(layers: Sequence[tuple[LstmLayer, LstmLayer]]) -> bytes:
    """The serialized ONNX model of bidirectional ``layers`` (each the forward and the
    backward direction's weights; both of a layer in float, or both in 8 bits) run one
    after the other."""
    nodes: list[bytes] = []
    weights: list[bytes] = [_tensor("side_by_side", np.array([0, 0, -1], dtype=np.int64))]
    features = int(layers[0][0].input_weights.shape[1])
    units = layers[-1][0].units
    given = "frames"
    for k, directions in enumerate(layers):
        node, tensors = _layer(k, directions, given, [f"Y{k}"], "")
        nodes.append(node)
        weights += tensors
        # Y (time, 2 directions, batch, units) -> (time, batch, 2 x units).
        nodes.append(_node("Transpose", [f"Y{k}"], [f"T{k}"], attributes={"perm": (0, 2, 1, 3)}))
        given = "outputs" if k == len(layers) - 1 else f"X{k + 1}"
        nodes.append(_node("Reshape", [f"T{k}", "side_by_side"], [given]))
    values = [
        (11, _value_info("frames", _FLOAT, ["time", "batch", features])),
        (12, _value_info("outputs", _FLOAT, ["time", "batch", 2 * units])),
    ]
    int8 = any(d.int8 for directions in layers for d in directions)
    return _model("bidirectional_lstm", nodes, weights, values, int8)
