"""Voice embeddings: resemblyzer's GE2E speaker encoder (the sole reader of its weights).

The network (Wan et al., "Generalized end-to-end loss for speaker verification"; trained
by Resemble AI, Apache-2.0) is three LSTM layers of 256 units over 40 mel bands of 25 ms
windows every 10 ms, then a linear layer, a ReLU and an L2 norm: 256 numbers that lie
close together (cosine near 1) for one voice and further apart for two. It was trained on
1.6 s of speech at a time. The weights come with the ``resemblyzer`` wheel, which is
installed without its dependencies (torch, librosa, webrtcvad): the package itself is
never imported, only its ``pretrained.pt`` is read, with the standard library and numpy,
and checked against its SHA-256 first.

``pretrained.pt`` is torch's legacy format, read by ``listening/weights.py``, which
builds none of the classes the checkpoint names, so the file can never run code.

A voice print computed here is kept in memory by its caller and never written anywhere.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import numpy.typing as npt

from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.errors import ModelError
from attune_voice.listening.lstm_graph import LstmLayer, stacked_lstm_model
from attune_voice.listening.onnx_runtime import one_thread_session
from attune_voice.listening.threads import on_threads
from attune_voice.listening.weights import legacy_checkpoint, tensors, verified_bytes

WEIGHTS_PACKAGE = "resemblyzer"
WEIGHTS_PACKAGE_VERSION = "0.1.4"
"""The PyPI wheel that carries the weights (``resemblyzer/pretrained.pt``, Apache-2.0),
installed with ``--no-deps``: importing the package needs torch and librosa, and fails
with setuptools 81 or later."""
WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
REINSTALL_HINT = (
    f"pip install --no-deps --force-reinstall {WEIGHTS_PACKAGE}=={WEIGHTS_PACKAGE_VERSION}"
)

EMBEDDING_SIZE = 256
MEL_BANDS = 40
FFT_SAMPLES = 400
"""25 ms windows, as the network was trained on."""
HOP_SAMPLES = 160
"""One mel frame every 10 ms."""
TRAINED_FRAMES = 160
"""1.6 s: the length of speech the network was trained to judge."""
_LAYERS = 3
_NORM_TARGET_DBFS = -30.0
"""Quieter speech is raised to this level before it is judged, as resemblyzer does
(louder speech is left as it is)."""
_INT16_MAX = 32767.0

Embeddings = npt.NDArray[np.float32]
"""Shaped (n, 256), each row of unit length."""
Float32 = npt.NDArray[np.float32]


def weights_path() -> Path:
    """Where the installed ``resemblyzer`` wheel keeps the weights (they may be missing)."""
    # find_spec locates the package without running its __init__, which imports torch.
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the voice encoder's weights ({WEIGHTS_PACKAGE} {WEIGHTS_PACKAGE_VERSION}) "
            f"are not installed: {REINSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations)), "pretrained.pt")


# --- reading the weights -------------------------------------------------------------------


def _read_state(data: bytes) -> dict[str, Float32]:
    """The model's tensors by name, from the bytes of ``pretrained.pt``."""
    checkpoint, storages = legacy_checkpoint(data)
    return tensors(checkpoint["model_state"], storages)


# --- the mel spectrogram -------------------------------------------------------------------


def _hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney's mel scale (linear below 1 kHz, logarithmic above), as librosa's default."""
    f_sp = 200.0 / 3
    log_step = np.log(6.4) / 27.0
    min_log_mel = 1000.0 / f_sp
    mel = hz / f_sp
    above = hz >= 1000.0
    mel[above] = min_log_mel + np.log(hz[above] / 1000.0) / log_step
    return mel


def _mel_to_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    f_sp = 200.0 / 3
    log_step = np.log(6.4) / 27.0
    min_log_mel = 1000.0 / f_sp
    hz = mel * f_sp
    above = mel >= min_log_mel
    hz[above] = 1000.0 * np.exp(log_step * (mel[above] - min_log_mel))
    return hz


def mel_filterbank() -> Float32:
    """(40, 201) triangular filters from 0 Hz to 8 kHz, Slaney-normalised: what
    ``librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)`` gives."""
    fft_hz = np.linspace(0.0, SAMPLE_RATE_HZ / 2, 1 + FFT_SAMPLES // 2)
    edges = _mel_to_hz(
        np.linspace(
            _hz_to_mel(np.array([0.0]))[0],
            _hz_to_mel(np.array([SAMPLE_RATE_HZ / 2]))[0],
            MEL_BANDS + 2,
        )
    )
    widths = np.diff(edges)
    ramps = edges[:, np.newaxis] - fft_hz[np.newaxis, :]
    lower = -ramps[:-2] / widths[:-1, np.newaxis]
    upper = ramps[2:] / widths[1:, np.newaxis]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, np.newaxis]
    return weights.astype(np.float32)


_MEL = mel_filterbank()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FFT_SAMPLES) / FFT_SAMPLES)).astype(np.float32)
"""A periodic Hann window, as librosa's STFT uses."""


def frames_of(samples: int) -> int:
    """Mel frames of ``samples`` of audio (centred frames, one per 10 ms, plus one)."""
    return 1 + samples // HOP_SAMPLES


def mel_frames(audio: Float32) -> Float32:
    """(frames, 40) mel power spectrum of 1-D float audio in full-scale units: centred
    25 ms Hann windows every 10 ms, zero-padded at the ends (librosa 0.10's default,
    which resemblyzer calls); power, not its logarithm, as the network was trained on."""
    padded = np.pad(audio.astype(np.float32), FFT_SAMPLES // 2)
    count = frames_of(len(audio))
    at = np.arange(count)[:, np.newaxis] * HOP_SAMPLES + np.arange(FFT_SAMPLES)
    spectrum = np.fft.rfft(padded[at] * _WINDOW, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    result: Float32 = power @ _MEL.T
    return result


def normalized(pcm: npt.NDArray[np.int16] | Float32) -> Float32:
    """int16 audio in full-scale units, raised to -30 dBFS if it is quieter."""
    audio = np.asarray(pcm, dtype=np.float32)
    if pcm.dtype == np.int16:
        audio = audio / np.float32(32768.0)
    if not len(audio):
        return audio
    rms = float(np.sqrt(np.mean(np.square(audio * _INT16_MAX, dtype=np.float64))))
    if rms <= 0:
        return audio
    change_db = _NORM_TARGET_DBFS - 20 * np.log10(rms / _INT16_MAX)
    if change_db <= 0:
        return audio
    result: Float32 = audio * np.float32(10 ** (change_db / 20))
    return result


# --- the network ---------------------------------------------------------------------------


class SpeakerEncoder:
    """The speaker encoder: its LSTM layers in onnxruntime (the second and third with
    8-bit weights, which puts every embedding within a cosine of 0.999 of the float
    network's), the spectrogram and the last layer in numpy."""

    def __init__(self, path: Path | None = None) -> None:
        """Load and check the weights: a missing or damaged file raises ModelError."""
        path = weights_path() if path is None else path
        data = verified_bytes(path, WEIGHTS_SHA256, "the voice encoder's weights", REINSTALL_HINT)
        try:
            state = _read_state(data)
            layers = [
                LstmLayer(
                    state[f"lstm.weight_ih_l{k}"],
                    state[f"lstm.weight_hh_l{k}"],
                    state[f"lstm.bias_ih_l{k}"],
                    state[f"lstm.bias_hh_l{k}"],
                    # The first layer reads the mel powers, which 8 bits cannot hold.
                    int8=k > 0,
                )
                for k in range(_LAYERS)
            ]
            self._linear = state["linear.weight"].T.copy()
            self._linear_bias = state["linear.bias"]
        except (pickle.UnpicklingError, ValueError, KeyError, EOFError, TypeError) as e:
            raise ModelError(
                f"the voice encoder's weights {path} cannot be read ({e}): {REINSTALL_HINT}"
            ) from e
        self._session = one_thread_session(
            stacked_lstm_model(layers),
            "the voice encoder",
            f"the voice encoder's weights {path}",
            REINSTALL_HINT,
        )

    def embed_mels(self, mels: Float32, lengths: npt.NDArray[np.int64] | None = None) -> Embeddings:
        """Embeddings of a batch of mel spectrograms shaped (batch, frames, 40).

        With ``lengths``, row i ends after its first ``lengths[i]`` frames (the rest is
        padding, which the network never reads).
        """
        batch, frames, _ = mels.shape
        if lengths is None:
            lengths = np.full(batch, frames, dtype=np.int64)
        (hidden,) = self._session.run(
            None,
            {
                "frames": np.ascontiguousarray(mels.transpose(1, 0, 2)),
                "lengths": lengths.astype(np.int32),
            },
        )
        raw = np.maximum(hidden[0] @ self._linear + self._linear_bias, 0.0)
        norm = np.linalg.norm(raw, axis=1, keepdims=True)
        result: Embeddings = (raw / np.maximum(norm, 1e-12)).astype(np.float32)
        return result

    def embed(
        self, clips: list[npt.NDArray[np.int16]], batch: int = 12, threads: int = 1
    ) -> Embeddings:
        """One embedding per clip of 16 kHz int16 audio (any length from 0.1 s; 1.6 s is
        what the network was trained on), each raised to -30 dBFS if quieter.

        ``batch`` bounds memory: onnxruntime keeps every frame's gates of a batch's layer,
        12 x frames x 4 KB (12 windows of 1.5 s: 7.4 MB); 24 took 26 MB more at the
        peak of ``analyze --voices`` on two threads, for no gain in speed. With
        ``threads`` above 1 the batches are shared out between that many threads, each
        running the one session (onnxruntime releases the GIL). The 8-bit layers scale
        their input by the batch's largest value, so a clip's embedding moves a little
        with the clips beside it (a cosine of 0.9997 at least, measured): the same clips
        in the same order give the same embeddings, whatever the threads.
        """
        if not clips:
            return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        frames = np.array([frames_of(len(clip)) for clip in clips], dtype=np.int64)
        order = np.argsort(frames, kind="stable")
        result = np.zeros((len(clips), EMBEDDING_SIZE), dtype=np.float32)

        def run(rows: npt.NDArray[np.int64]) -> None:
            # Each batch's spectrograms are made with it: all of them at once were as
            # large again as a batch's working memory.
            lengths = frames[rows]
            stacked = np.zeros((len(rows), int(lengths.max()), MEL_BANDS), dtype=np.float32)
            for k, r in enumerate(rows):
                stacked[k, : lengths[k]] = mel_frames(normalized(clips[r]))
            result[rows] = self.embed_mels(stacked, lengths)

        # Clips of about the same length go together, so little of a batch is padding.
        batches = [order[start : start + batch] for start in range(0, len(order), batch)]
        on_threads(run, batches, threads)
        return result


def voice_print(embeddings: Embeddings) -> Float32:
    """The mean direction of several embeddings of one voice, of unit length."""
    mean = embeddings.mean(axis=0)
    result: Float32 = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    return result
