"""Band-limited rational resampling (Kaiser-windowed sinc, polyphase) and PCM conversions."""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import numpy.typing as npt

FloatPcm = npt.NDArray[np.float32]
"""Float samples, nominally in [-1, 1); 1-D for one channel or (channels, samples)."""

PASSBAND_EDGE = 0.88
"""Fraction of the lower Nyquist frequency kept flat (7.04 kHz when the lower rate is
16 kHz): all of speech, with room for a filter short enough to run fast."""

STOPBAND_EDGE = 0.98
"""Fraction of the lower Nyquist frequency where the stopband begins. Below 1.0, so that
nothing near Nyquist aliases back into the band (an 8.1 kHz tone going to 16 kHz does not
come out at 7.9 kHz) and a tone just under Nyquist is removed rather than half-kept."""

STOPBAND_DB = 80.0
"""Stopband attenuation; below the 16-bit noise floor for any speech level."""

_BLOCK_SAMPLES = 1 << 16
"""Input samples per channel handled at once: bounds the temporaries to a few MB."""

_MAX_POLYPHASE_TABLE = 1 << 21
"""Largest polyphase table (phases x taps) worth building. Rates with no small common
ratio (44101 -> 16000 has 16000 phases) use the interpolated table instead."""

_TABLE_STEPS_PER_SAMPLE = 1024
"""Resolution of the interpolated kernel table: linear interpolation at this step is
accurate to about -120 dB, far below the stopband."""

_INT16_SCALE = 32768.0


def output_length(n_samples: int, from_hz: int, to_hz: int) -> int:
    """Samples that ``n_samples`` at ``from_hz`` become at ``to_hz``: round(n * to / from)."""
    return round(Fraction(n_samples * to_hz, from_hz))


def resample(x: FloatPcm, from_hz: int, to_hz: int) -> FloatPcm:
    """Resample ``x`` (channels, n) or (n,) from ``from_hz`` to ``to_hz``.

    The output has ``output_length(n, from_hz, to_hz)`` samples, is aligned in time with
    the input (the filter is linear-phase and centred, so no delay), and holds no energy
    above the lower rate's Nyquist frequency. Equal rates return a copy. Memory beyond the
    input and the output stays a few MB whatever the length: the work goes in blocks.
    """
    samples = _as_float32(x)
    one_channel = samples.ndim == 1
    planar = samples.reshape(1, -1) if one_channel else samples
    channels, n_samples = planar.shape
    out = np.empty((channels, output_length(n_samples, from_hz, to_hz)), dtype=np.float32)
    resampler = Resampler(from_hz, to_hz, channels)
    written = 0
    for start in range(0, n_samples, _BLOCK_SAMPLES):
        block = resampler.process(planar[:, start : start + _BLOCK_SAMPLES])
        out[:, written : written + block.shape[1]] = block
        written += block.shape[1]
    tail = resampler.flush()
    out[:, written : written + tail.shape[1]] = tail
    return out[0] if one_channel else out


class Resampler:
    """Streaming form of :func:`resample`: feed blocks with ``process``, end with ``flush``.

    The concatenated outputs equal ``resample`` of the concatenated inputs, so a long
    recording can be converted while it is read. ``flush`` ends the stream.
    """

    def __init__(
        self, from_hz: int, to_hz: int, channels: int, *, build_filters: bool = True
    ) -> None:
        if from_hz <= 0 or to_hz <= 0:
            raise ValueError(f"sample rates must be positive, got {from_hz} -> {to_hz} Hz")
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        self.from_hz = from_hz
        self.to_hz = to_hz
        self.channels = channels
        common = math.gcd(from_hz, to_hz)
        self._up = to_hz // common
        """Output samples per ``_down`` input samples (the reduced ratio)."""
        self._down = from_hz // common
        self._n_in = 0
        self._n_out = 0
        self._flushed = False

        lower_hz = min(from_hz, to_hz)
        cutoff_hz = 0.25 * (PASSBAND_EDGE + STOPBAND_EDGE) * lower_hz
        transition = 0.5 * (STOPBAND_EDGE - PASSBAND_EDGE)  # cycles per lower-rate sample
        # Kaiser's estimate of the filter order for this attenuation and transition width.
        order = (STOPBAND_DB - 7.95) / (2.285 * 2.0 * math.pi * transition)
        self._cutoff = cutoff_hz / from_hz
        """Cut-off in cycles per input sample."""
        self._half_width = 0.5 * order * from_hz / lower_hz
        """Half the kernel's length, in input samples."""
        self._beta = 0.1102 * (STOPBAND_DB - 8.7)
        self._reach = math.ceil(self._half_width)
        """Input samples the kernel reaches on either side of an output instant."""

        # Buffered input is held with ``_reach`` zeros in front: the signal is taken as
        # silent before its start, so the first output needs no special case.
        self._buffer: FloatPcm = np.zeros((channels, self._reach), dtype=np.float32)
        self._buffer_start = 0
        """Padded-input index of the buffer's first sample."""

        # Grouping the ratio G times makes each period at least as long as the kernel,
        # so a period's outputs depend on exactly two consecutive input blocks.
        group = max(1, math.ceil(2 * self._reach / self._down))
        self._period_in = self._down * group
        self._period_out = self._up * group
        self._polyphase: list[FloatPcm] | None = None
        self._table: npt.NDArray[np.float32] | None = None
        if from_hz == to_hz or not build_filters:
            return
        if self._period_out * 2 * self._period_in <= _MAX_POLYPHASE_TABLE:
            self._polyphase = _polyphase_taps(from_hz, to_hz)
        else:
            self._table = self._build_table()

    def process(self, x: FloatPcm) -> FloatPcm:
        """Take the next input block (channels, n); return the output samples now complete."""
        if self._flushed:
            raise ValueError("this Resampler was flushed; make a new one for a new stream")
        samples = _as_float32(x)
        if samples.ndim != 2 or samples.shape[0] != self.channels:
            raise ValueError(
                f"expected shape ({self.channels}, n), got {samples.shape}",
            )
        self._n_in += samples.shape[1]
        if self.from_hz == self.to_hz:
            self._n_out += samples.shape[1]
            copied: FloatPcm = samples.copy()
            return copied
        pieces = [
            self._push(samples[:, start : start + _BLOCK_SAMPLES])
            for start in range(0, samples.shape[1], _BLOCK_SAMPLES)
        ]
        if len(pieces) == 1:
            return pieces[0]
        joined: FloatPcm = np.concatenate(pieces, axis=1) if pieces else self._empty()
        return joined

    def flush(self) -> FloatPcm:
        """End the stream: return the last samples, reading silence after the input."""
        if self._flushed:
            return self._empty()
        self._flushed = True
        remaining = output_length(self._n_in, self.from_hz, self.to_hz) - self._n_out
        if self.from_hz == self.to_hz or remaining <= 0:
            return self._empty()
        # Enough silence for the kernel to reach past the last output instant, and for
        # the polyphase path to complete the period that holds it.
        last_instant = (self._n_out + remaining) * self._down // self._up + 1
        whole_periods = 2 * self._period_in if self._polyphase is not None else 0
        needed = last_instant + 2 * self._reach + whole_periods
        padding = max(0, needed - (self._buffer_start + self._buffer.shape[1]))
        tail = self._push(np.zeros((self.channels, padding), dtype=np.float32))
        return tail[:, :remaining]

    def _empty(self) -> FloatPcm:
        return np.zeros((self.channels, 0), dtype=np.float32)

    def _push(self, block: FloatPcm) -> FloatPcm:
        self._buffer = np.concatenate((self._buffer, block), axis=1)
        if self._polyphase is not None:
            out = self._run_polyphase(self._polyphase)
        else:
            out = self._run_table()
        self._n_out += out.shape[1]
        return out

    def _kernel(self, offset: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The Kaiser-windowed sinc at ``offset`` input samples from the output instant."""
        relative = offset / self._half_width
        inside = np.abs(relative) < 1.0
        window = np.zeros_like(offset)
        window[inside] = np.i0(self._beta * np.sqrt(1.0 - relative[inside] ** 2)) / np.i0(
            self._beta,
        )
        return 2.0 * self._cutoff * np.sinc(2.0 * self._cutoff * offset) * window

    def _normalised(self, taps: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # Each phase sums to exactly one: otherwise the small DC ripple between phases
        # would come out as a faint tone at the phase period.
        result: npt.NDArray[np.float64] = taps / taps.sum(axis=-1, keepdims=True)
        return result

    def _build_polyphase(self) -> list[FloatPcm]:
        """Taps for one period: output r of the period reads padded inputs [0, 2 * period_in).

        Returned as two (period_in, period_out) matrices, one per input block, so that a
        run of periods is two matrix products over the buffer viewed as rows of blocks.
        """
        phase = np.arange(self._period_out, dtype=np.float64)[:, None] * self._down / self._up
        column = np.arange(2 * self._period_in, dtype=np.float64)[None, :]
        taps = self._normalised(self._kernel(phase + self._reach - column))
        return [
            np.ascontiguousarray(taps[:, : self._period_in].T, dtype=np.float32),
            np.ascontiguousarray(taps[:, self._period_in :].T, dtype=np.float32),
        ]

    def _run_polyphase(self, blocks: list[FloatPcm]) -> FloatPcm:
        width = self._buffer.shape[1]
        periods = max(0, width // self._period_in - 1)
        out = np.empty((self.channels, periods * self._period_out), dtype=np.float32)
        if periods == 0:
            return out
        used = (periods + 1) * self._period_in
        for channel in range(self.channels):
            # A row of a contiguous buffer reshapes to a view: BLAS reads it in place.
            rows = self._buffer[channel, :used].reshape(periods + 1, self._period_in)
            product = rows[:-1] @ blocks[0]
            product += rows[1:] @ blocks[1]
            out[channel] = product.reshape(-1)
        consumed = periods * self._period_in
        self._buffer = self._buffer[:, consumed:]
        self._buffer_start += consumed
        return out

    def _build_table(self) -> npt.NDArray[np.float32]:
        """Kernel taps for output instants at fractions 0, 1/S, ..., 1 of an input sample.

        Row f holds the taps for padded inputs [floor(t) + 1, floor(t) + 1 + 2 * reach)
        when t - floor(t) = f / S.
        """
        steps = _TABLE_STEPS_PER_SAMPLE
        fraction = np.arange(steps + 1, dtype=np.float64)[:, None] / steps
        tap = np.arange(2 * self._reach, dtype=np.float64)[None, :]
        taps = self._normalised(self._kernel(fraction + self._reach - 1 - tap))
        return np.ascontiguousarray(taps, dtype=np.float32)

    def _run_table(self) -> FloatPcm:
        assert self._table is not None
        span = 2 * self._reach
        # Output k reads padded inputs from floor(k * down / up) + 1; keep those in the buffer.
        last_start = self._buffer_start + self._buffer.shape[1] - span
        if last_start < 1:
            return self._empty()
        end = max(self._n_out, (last_start * self._up - 1) // self._down + 1)
        chunk = max(1, _BLOCK_SAMPLES // 8)
        pieces = [
            self._table_outputs(first, min(first + chunk, end))
            for first in range(self._n_out, end, chunk)
        ]
        keep_from = end * self._down // self._up + 1
        drop = max(0, keep_from - self._buffer_start)
        self._buffer = self._buffer[:, drop:]
        self._buffer_start += drop
        joined: FloatPcm = np.concatenate(pieces, axis=1) if pieces else self._empty()
        return joined

    def _table_outputs(self, first: int, end: int) -> FloatPcm:
        assert self._table is not None
        steps = _TABLE_STEPS_PER_SAMPLE
        numerator = np.arange(first, end, dtype=np.int64) * self._down
        start = numerator // self._up + 1 - self._buffer_start
        position = (numerator % self._up).astype(np.float64) * (steps / self._up)
        row = position.astype(np.int64)
        weight = (position - row).astype(np.float32)[:, None]
        taps = self._table[row] * (1.0 - weight) + self._table[row + 1] * weight
        windows = np.lib.stride_tricks.sliding_window_view(self._buffer, 2 * self._reach, axis=1)[
            :, start
        ]
        result: FloatPcm = np.einsum("cnt,nt->cn", windows, taps)
        return result


@functools.lru_cache(maxsize=16)
def _polyphase_taps(from_hz: int, to_hz: int) -> list[FloatPcm]:
    # The taps depend on the two rates alone and cost far more to build (Bessel
    # windows over a whole period) than a short prompt costs to filter: build them once
    # per rate pair. Resamplers only read them.
    return Resampler(from_hz, to_hz, 1, build_filters=False)._build_polyphase()


def to_int16(x: FloatPcm) -> npt.NDArray[np.int16]:
    """Float samples to 16-bit PCM: scaled by 32768, rounded, clipped; NaN becomes 0."""
    scaled: FloatPcm = np.asarray(x, dtype=np.float32) * np.float32(_INT16_SCALE)
    np.nan_to_num(scaled, copy=False, nan=0.0)
    np.clip(scaled, -_INT16_SCALE, _INT16_SCALE - 1.0, out=scaled)
    np.rint(scaled, out=scaled)
    pcm: npt.NDArray[np.int16] = scaled.astype(np.int16)
    return pcm


def to_float32(pcm: npt.NDArray[np.int16]) -> FloatPcm:
    """16-bit PCM to float samples in [-1, 1): the exact inverse of :func:`to_int16`."""
    result: FloatPcm = np.asarray(pcm, dtype=np.float32) * np.float32(1.0 / _INT16_SCALE)
    return result


def _as_float32(x: npt.ArrayLike) -> FloatPcm:
    samples: FloatPcm = np.asarray(x, dtype=np.float32)
    if samples.ndim not in (1, 2):
        raise ValueError(f"expected samples shaped (n,) or (channels, n), got {samples.shape}")
    return samples


__all__ = [
    "PASSBAND_EDGE",
    "STOPBAND_DB",
    "STOPBAND_EDGE",
    "FloatPcm",
    "Resampler",
    "output_length",
    "resample",
    "to_float32",
    "to_int16",
]
