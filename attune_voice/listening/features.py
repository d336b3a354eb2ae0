"""What the detector measures in each 10 ms sub-frame: band levels, periodicity, held pitch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import Pcm
from attune_voice.listening.arrays import Bools, Floats, scalar_f32, scalar_f64
from attune_voice.listening.subframes import FULL_SCALE_POWER, SILENT_DBFS, SUBFRAME_SAMPLES

# --- the voice band at 2 kHz -------------------------------------------------------

_DECIMATION = 8
"""16 kHz to 2 kHz by averaging 8 samples: a low-pass with its null at 2 kHz."""
_BAND_SAMPLES = SUBFRAME_SAMPLES // _DECIMATION
_HIGHPASS_TAPS = 4
"""Subtracting a 4-sample running mean at 2 kHz removes what lies below about 300 Hz."""
_BAND_TAPS = _DECIMATION * _HIGHPASS_TAPS
_BAND_FILTER = np.array(
    [-1.0] * (_BAND_TAPS - _DECIMATION) + [_HIGHPASS_TAPS - 1.0] * _DECIMATION, dtype=np.float32
) / np.float32(_BAND_TAPS)
"""Both steps as one filter on the 16 kHz samples: a band sample is the mean of its 8
samples less the mean of the last four such means, so (3 x[8j..8j+7] - x[8j-24..8j-1])
summed and divided by 32. From int16 samples every product and partial sum is a
multiple of 1/32 below 2^16, exact in float32, so any order of summing gives the same
band as averaging first and filtering after."""
_KEPT_SAMPLES = _BAND_TAPS - _DECIMATION
"""Samples of the block before that the first band sample reaches back to."""
_WINDOW = 64
"""32 ms at 2 kHz: two periods of the lowest pitch searched."""
_KEPT_BAND = _WINDOW - _BAND_SAMPLES
"""Band samples of the block before that the first periodicity window reaches back to."""
_MIN_LAG = 5
_MAX_LAG = 32
"""Pitch periods searched, in 2 kHz samples: 2.5-16 ms (400-62 Hz)."""
_LAGS = np.arange(_MIN_LAG - 1, _MAX_LAG + 2)
_PEAK_LAGS = _LAGS[1:-1].astype(np.float64)
"""The lag of each interior point of the correlation, where a peak can be."""
_PRE_EMPHASIS = 0.95
_HELD_SUBFRAMES = 5
_HELD_TOLERANCE = 0.01
"""A pitch is held when it is within 1% of the pitch 50 ms before."""
_PITCHED = 0.5
"""Periodicity from which a pitch period is meaningful enough to compare."""
_SHARE_SUBFRAMES = 100
MUSIC_SHARE = 0.5
"""Above this share of held pitches over the last second, the sound is music."""
_MUSIC_MEMORY_SUBFRAMES = 500
_LEVEL_SCALE = 1.0 / (SUBFRAME_SAMPLES * FULL_SCALE_POWER)
_LEVEL_SCALES = (_LEVEL_SCALE, _DECIMATION * _LEVEL_SCALE, _LEVEL_SCALE)
"""Sums of squares to mean powers re full scale: broadband, voice band (at 2 kHz, a
sub-frame has an eighth of the samples), presence band."""

_F32_PRE_EMPHASIS = scalar_f32(_PRE_EMPHASIS)
_F32_TINY_POWER = scalar_f32(1e-10)
_F32_TINY_ENERGY = scalar_f32(1e-6)
_F32_TEN = scalar_f32(10.0)
_F32_ZERO, _F32_ONE = scalar_f32(0.0), scalar_f32(1.0)
_F32_TWO, _F32_MINUS_ONE = scalar_f32(2.0), scalar_f32(-1.0)
_F32_HALF, _F32_EIGHTH, _F32_FLAT = scalar_f32(0.5), scalar_f32(0.125), scalar_f32(-1e-9)
_F32_NEVER = scalar_f32(-np.inf)
_F64_ZERO, _F64_ONE = scalar_f64(0.0), scalar_f64(1.0)
_F64_PITCHED = scalar_f64(_PITCHED)
_F64_HELD_TOLERANCE = scalar_f64(_HELD_TOLERANCE)
_F64_MUSIC_SHARE = scalar_f64(MUSIC_SHARE)
_AROUND = np.arange(3)[:, None]
"""The lags before, at and after a peak, one row each."""


# --- features ------------------------------------------------------------------------


@dataclass(frozen=True)
class Features:
    """What the detector knows about each 10 ms sub-frame; arrays shaped (channels, n)."""

    level_dbfs: Floats
    """Broadband RMS level."""
    voice_dbfs: Floats
    """Level of the voice band (about 300-900 Hz)."""
    presence_dbfs: Floats
    """Level of the pre-emphasised signal (mostly above 1.5 kHz)."""
    periodicity: Floats
    """Peak normalised autocorrelation of the voice band over pitch periods, 0 to 1."""
    held_pitch: Bools
    """The pitch period is the same (within 1%) as 50 ms before: a held musical note.
    A speaking voice glides, so this holds for few of its voiced sub-frames."""
    held_share: Floats
    """Of the pitched sub-frames in the last second, the share with a held pitch:
    above one half it is music, not a voice."""
    music_heard: Bools
    """Music has been heard (``held_share`` above one half) in the last 5 seconds."""
    fading: Bools
    """The presence band is lower than 20 ms before: the decay after a knock or a
    slam (or the end of a word)."""


class FeatureExtractor:
    """Computes ``Features`` for consecutive blocks of audio, all channels at once.

    Blocks may be any whole number of sub-frames; the few samples and values each
    step needs from the previous block are kept, so a stream cut into 20 ms frames
    gives the features of the same stream in one piece.

    A live 20 ms frame holds two sub-frames, so what it costs is the number of numpy
    calls and how much each has to set up, not the arithmetic. So each call covers
    every channel (and, where it can, every level); the working arrays are kept from
    one block to the next of the same length; and per-sub-frame values are laid out
    time first, (n, channels), so that joining them to the history of the block
    before and slicing them by time gives contiguous arrays (``Features`` shows them
    transposed, (channels, n)).
    """

    def __init__(self, channels: int = 1) -> None:
        self.channels = channels
        self._period_history = np.zeros((_HELD_SUBFRAMES, channels))
        self._presence_history = np.full((2, channels), SILENT_DBFS)
        self._pitched_and_held = _RunningSum(_SHARE_SUBFRAMES, channels, kinds=2)
        self._musical = _RunningSum(_MUSIC_MEMORY_SUBFRAMES, channels)
        self._work = _Workspace(channels, 1)

    def feed(self, pcm: Pcm) -> Features:
        """Features of a block shaped (channels, samples), or (samples,) for one."""
        return self.measure(pcm)[0]

    def levels(self, pcm: Pcm) -> Floats:
        """The three levels of each sub-frame of a (channels, samples) block, time first:
        shaped (3, n, channels), broadband, voice band and presence band; nothing else
        is measured (a stream is measured either this way or by ``measure``)."""
        channels = self.channels
        x = pcm.reshape(channels, -1)
        count = x.shape[1] // SUBFRAME_SAMPLES
        if count == 0:
            return np.zeros((3, 0, channels))
        if count != self._work.count:
            self._work = _Workspace(channels, count, self._work)
        return self._levels(x[:, : count * SUBFRAME_SAMPLES])[0]

    def measure(self, pcm: Pcm) -> tuple[Features, Floats]:
        """``feed``, and the three levels of each sub-frame, time first: shaped
        (3, n, channels) for the broadband, voice band and presence band levels."""
        channels = self.channels
        x = pcm.reshape(channels, -1)
        count = x.shape[1] // SUBFRAME_SAMPLES
        if count == 0:
            nothing = np.zeros((channels, 0))
            none = np.zeros((channels, 0), dtype=bool)
            features = Features(nothing, nothing, nothing, nothing, none, nothing, none, none)
            return features, np.zeros((3, 0, channels))
        if count != self._work.count:
            self._work = _Workspace(channels, count, self._work)
        levels_dbfs, fading = self._levels(x[:, : count * SUBFRAME_SAMPLES])
        return self._pitch(levels_dbfs, fading), levels_dbfs

    def _levels(self, x: Pcm) -> tuple[Floats, Bools]:
        """The levels and whether the presence band fades, time first; leaves the
        voice band in the workspace for the pitch analysis."""
        work = self._work
        work.signal[...] = x
        # Each channel's samples follow the end of its block before, so one call on the
        # flat buffer pre-emphasises all of them (what it leaves before each channel's
        # samples is never read).
        emphasised = work.flat_emphasised[1:]
        np.multiply(work.flat_signal[:-1], _F32_PRE_EMPHASIS, out=emphasised)
        np.subtract(work.flat_signal[1:], emphasised, out=emphasised)
        powers = work.powers
        np.einsum("acki,acki->akc", work.frames, work.frames, out=powers[0::2])
        work.voice_band[...] = np.dot(work.taps, _BAND_FILTER)
        np.einsum("cki,cki->kc", work.voice, work.voice, out=powers[1])
        work.kept[...] = work.signal[:, work.signal.shape[1] - _KEPT_SAMPLES :]

        powers *= work.scales
        np.maximum(powers, _F32_TINY_POWER, out=powers)
        np.log10(powers, out=powers)
        powers *= _F32_TEN
        levels_dbfs = powers.astype(np.float64)
        recent = np.concatenate((self._presence_history, levels_dbfs[2]))
        self._presence_history = recent[work.count :]
        return levels_dbfs, recent[2:] < recent[:-2]

    def _pitch(self, levels_dbfs: Floats, fading: Bools) -> Features:
        work = self._work
        count, channels = work.count, self.channels
        strength, period = _periodicity(work)
        periodicity = strength.reshape(count, channels)
        pitched_period = np.where(
            periodicity >= _F64_PITCHED, period.reshape(count, channels), _F64_ZERO
        )

        periods = np.concatenate((self._period_history, pitched_period))
        self._period_history = periods[count:]
        pitched = periods > _F64_ZERO
        now, before = periods[_HELD_SUBFRAMES:], periods[:count]
        held = pitched[:count] & pitched[_HELD_SUBFRAMES:]
        held &= np.abs(now - before) < _F64_HELD_TOLERANCE * now
        marks = work.marks
        marks[0] = pitched[_HELD_SUBFRAMES:]
        marks[1] = held
        counts = self._pitched_and_held.add(marks)
        held_share = counts[1] / np.maximum(counts[0], _F64_ONE)
        musical = (held_share > _F64_MUSIC_SHARE).astype(np.float64)
        music_heard = self._musical.add(musical) > _F64_ZERO
        return Features(
            level_dbfs=levels_dbfs[0].T,
            voice_dbfs=levels_dbfs[1].T,
            presence_dbfs=levels_dbfs[2].T,
            periodicity=periodicity.T,
            held_pitch=held.T,
            held_share=held_share.T,
            music_heard=music_heard.T,
            fading=fading.T,
        )


class _Workspace:
    """The working arrays of ``FeatureExtractor`` for blocks of ``count`` sub-frames,
    and the strided views into them that let one numpy call do what would otherwise
    take a loop.

    The signal and the voice band each start with what their first values need from
    the block before (the samples the first band sample is filtered from, the band
    that the first periodicity window reaches back to), moved to the front once a
    block is done; a workspace for another block length takes them over.
    """

    def __init__(self, channels: int, count: int, before: _Workspace | None = None) -> None:
        self.count = count
        samples = count * SUBFRAME_SAMPLES
        band_samples = count * _BAND_SAMPLES
        f32 = np.float32
        step = np.dtype(f32).itemsize
        # The signal and its pre-emphasised version side by side: one call measures both.
        signals = np.zeros((2, channels, _KEPT_SAMPLES + samples), dtype=f32)
        self.flat_signal = signals[0].reshape(-1)
        self.flat_emphasised = signals[1].reshape(-1)
        self.kept = signals[0, :, :_KEPT_SAMPLES]
        self.signal = signals[0, :, _KEPT_SAMPLES:]
        self.frames = signals[:, :, _KEPT_SAMPLES:].reshape(2, channels, count, SUBFRAME_SAMPLES)
        self.powers = np.zeros((3, count, channels), dtype=f32)
        """Sums of squares, then levels in dBFS: broadband, voice band, presence band."""
        self.scales = np.empty_like(self.powers)
        for kind, scale in enumerate(_LEVEL_SCALES):
            self.scales[kind] = scale
        self.taps = _view(
            signals,
            (channels, band_samples, _BAND_TAPS),
            (signals.strides[1], _DECIMATION * step, step),
        )
        """What each voice band sample is filtered from."""
        self.band = np.zeros((channels, _KEPT_BAND + band_samples), dtype=f32)
        """The voice band at 2 kHz."""
        self.voice_band = self.band[:, _KEPT_BAND:]
        self.voice = self.voice_band.reshape(channels, count, _BAND_SAMPLES)
        # Each sub-frame's periodicity looks at the 32 ms that end with it.
        self.windows = _view(
            self.band,
            (channels, count, _WINDOW),
            (self.band.strides[0], _BAND_SAMPLES * step, step),
        ).transpose(1, 0, 2)
        rows = count * channels
        self.heads = np.zeros((count, channels, _WINDOW), dtype=f32)
        """The windows, one row each, time first."""
        self.rows = self.heads.reshape(rows, _WINDOW)
        # Zero padding makes every lag one slice of a single view: one call for all lags.
        padded = np.zeros((rows, _WINDOW + _LAGS[-1] + 1), dtype=f32)
        self.padded = padded[:, :_WINDOW]
        self.shifted = _view(
            padded, (rows, len(_LAGS), _WINDOW), (padded.strides[0], step, step), int(_LAGS[0])
        )
        starts = np.arange(rows)[:, None] * _WINDOW
        self.energy_at = np.stack(
            (
                starts + _WINDOW - 1 - _LAGS,
                starts + _LAGS - 1,
                np.broadcast_to(starts + _WINDOW - 1, (rows, len(_LAGS))),
            )
        )
        """Where the running energy of each window gives, for each lag, the energy of
        its head, what lies before its tail, and the whole window's."""
        lags = len(_LAGS)
        self.row_starts = np.arange(rows) * lags
        self.peaks = np.zeros(rows * lags, dtype=bool)
        self.falls = np.zeros(rows * lags, dtype=bool)
        self.candidates = np.zeros(rows * lags, dtype=f32)
        """Interior peaks of the correlations, each row's laid out as its correlation's
        lags are, so one call compares every row; the last two places of each row are
        not interior points."""
        self.marks = np.zeros((2, count, channels))
        """Pitched and held sub-frames, for their running counts."""
        if before is not None:
            self.kept[...] = before.kept
            self.band[:, :_KEPT_BAND] = before.band[:, :_KEPT_BAND]


class _RunningSum:
    """Sums over the last ``window`` sub-frames, ending at each one, across blocks.

    Values are shaped (n, channels), or (kinds, n, channels) for several ``kinds``,
    and are counts: whole numbers, so every way of summing them is exact. A block
    shorter than the window (a live frame) updates the previous sums by what enters
    and what leaves, which keeps its cost from growing with the window; a longer one
    sums afresh.
    """

    def __init__(self, window: int, channels: int, kinds: int | None = None) -> None:
        lead = () if kinds is None else (kinds,)
        self._window = window
        self._ring = np.zeros((*lead, window, channels))
        """The last ``window`` values, the oldest at ``_oldest`` and on (wrapping)."""
        self._oldest = 0
        self._sum = np.zeros((*lead, 1, channels))

    def add(self, values: Floats) -> Floats:
        count = values.shape[-2]
        oldest = self._oldest
        if oldest + count <= self._window:
            leaving = self._ring[..., oldest : oldest + count, :]
            sums = values - leaving
            np.add.accumulate(sums, axis=-2, out=sums)
            sums += self._sum
            leaving[...] = values
            self._oldest = (oldest + count) % self._window
        else:
            ring = self._ring
            history = np.concatenate((ring[..., oldest:, :], ring[..., :oldest, :]), axis=-2)
            joined = np.concatenate((history, values), axis=-2)
            running = np.add.accumulate(joined, axis=-2)
            sums = running[..., self._window :, :] - running[..., :count, :]
            self._ring = joined[..., count:, :].copy()
            self._oldest = 0
        self._sum = sums[..., count - 1 :, :].copy()
        return sums


def _view(
    base: npt.NDArray[np.float32],
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    first: int = 0,
) -> npt.NDArray[np.float32]:
    """A read-only strided view of a C-contiguous array, from its element ``first``.

    The same as numpy's ``as_strided``, at a fraction of its cost per call.
    """
    view: npt.NDArray[np.float32] = np.ndarray(
        shape, dtype=base.dtype, buffer=base, offset=first * base.itemsize, strides=strides
    )
    view.flags.writeable = False
    return view


def _periodicity(work: _Workspace) -> tuple[Floats, Floats]:
    """Peak normalised autocorrelation over the pitch lags, and the pitch period there
    (in 2 kHz samples, interpolated), for each window of the voice band in ``work``,
    flattened over (sub-frames, channels).

    Each lag compares the window's head with its tail (both of length 64 - lag),
    normalised by both energies, so a pure periodic signal scores 1 whatever its level
    and noise scores near 0. Only interior peaks count: a correlation that merely falls
    from lag 0 (low-pass noise, rumble) has none.
    """
    work.heads[...] = work.windows
    # The windows are copied out: the band's end can move to the front for the next block.
    work.band[:, :_KEPT_BAND] = work.band[:, work.band.shape[1] - _KEPT_BAND :]
    work.padded[...] = work.rows
    # float32 throughout: twice as fast as float64 and ample for a correlation.
    products = np.einsum("rn,rkn->rk", work.rows, work.shifted)
    squares = np.multiply(work.rows, work.rows)
    np.add.accumulate(squares, axis=1, out=squares)
    head, before_tail, whole = squares.take(work.energy_at)
    energies = np.subtract(whole, before_tail, out=whole)
    np.multiply(head, energies, out=energies)
    np.maximum(energies, _F32_TINY_ENERGY, out=energies)
    np.sqrt(energies, out=energies)
    corr = np.divide(products, energies, out=products)

    # Every row's interior peaks in one pass over all rows laid end to end; where a
    # comparison straddles two rows it lands on a row's last two places, never chosen.
    flat, peaks, candidates = corr.reshape(-1), work.peaks[:-2], work.candidates
    np.greater(flat[1:-1], flat[:-2], out=peaks)
    np.greater_equal(flat[1:-1], flat[2:], out=work.falls[:-2])
    peaks &= work.falls[:-2]
    candidates[...] = _F32_MINUS_ONE
    np.copyto(candidates[:-2], flat[1:-1], where=peaks)
    by_row = candidates.reshape(corr.shape)
    by_row[:, -2:] = _F32_NEVER
    best = by_row.argmax(axis=1)
    peak_at = work.row_starts + best
    found = candidates.take(peak_at) > _F32_ZERO
    before, at, after = flat.take(peak_at + _AROUND)
    # The true peak usually falls between two lags at 2 kHz: fit a parabola through it.
    curve = before - _F32_TWO * at + after
    bent = curve < _F32_FLAT
    safe = np.where(bent, curve, _F32_MINUS_ONE)
    spread = before - after
    top = np.where(bent, at - _F32_EIGHTH * np.square(spread) / safe, at)
    offset = np.where(bent, _F32_HALF * spread / safe, _F32_ZERO)
    np.maximum(top, _F32_ZERO, out=top)
    np.minimum(top, _F32_ONE, out=top)
    strength: Floats = np.where(found, top, _F32_ZERO).astype(np.float64)
    period: Floats = np.where(found, _PEAK_LAGS.take(best) + offset, _F64_ZERO)
    return strength, period
