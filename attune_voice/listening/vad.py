"""Speech detection and the segmenter state machine (also the sole webrtcvad import).

One detector serves live sessions, the simulated room and ``attune-voice analyze``.
It works on 10 ms sub-frames, each described by a few numbers computed for a whole
block at once (numpy, no per-sample Python loop):

- the level in two bands, the voice band (about 300-900 Hz, where voicing lives and
  rumble, hum and traffic do not) and the presence band (pre-emphasised, mostly above
  1.5 kHz: consonants and whispers), each against its own noise floor, tracked by
  minimum statistics so that the detector adapts to the room instead of trusting one
  fixed threshold;
- periodicity: the normalised autocorrelation of the voice band over 32 ms at 2 kHz,
  searched over pitch periods of 2.5-16 ms (400-62 Hz). Voiced speech is periodic at
  any level and under broadband noise; fans, traffic, clicks and slams are not;
- whether the pitch is *held* as a musical note holds it (a voice glides), and how
  much of the last second's pitched sound was held: music is periodic too;
- webrtcvad's decision, which also hears unvoiced speech (a whisper), asked only for
  sub-frames that are strong, not musical and not the decay of a knock.

A sub-frame is *sound* when either band stands above its floor, and *voiced* when it
is periodic, not held, and its voice band stands above its floor (or webrtcvad hears
speech there). Speech is sound that holds enough voicing; its edges are where that
sound begins and ends (consonants and fading endings included), never padded, and
pauses shorter than ``merge_gap_s`` are merged. With a microphone per partner, a
channel only speaks where it is close to the loudest channel, so crosstalk stays
with the partner who made it.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig

SUBFRAME_SAMPLES = SAMPLE_RATE_HZ // 100
SUBFRAME_S = SUBFRAME_SAMPLES / SAMPLE_RATE_HZ
_SILENT_DBFS = -100.0
_FLOOR_MIN_DBFS = -96.0
"""Digital silence would put the floor at minus infinity; any dither is then "sound"."""

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

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
_MUSIC_SHARE = 0.5
"""Above this share of held pitches over the last second, the sound is music."""
_MUSIC_MEMORY_SUBFRAMES = 500
_FULL_SCALE_POWER = 32768.0 * 32768.0
_LEVEL_SCALE = 1.0 / (SUBFRAME_SAMPLES * _FULL_SCALE_POWER)
_LEVEL_SCALES = (_LEVEL_SCALE, _DECIMATION * _LEVEL_SCALE, _LEVEL_SCALE)
"""Sums of squares to mean powers re full scale: broadband, voice band (at 2 kHz, a
sub-frame has an eighth of the samples), presence band."""
_CUE_FLOOR_DBFS = -55.0
_CUE_MAX_GAIN_DB = 30.0
"""webrtcvad hears best at a talking level: a quiet room is lifted so that its floor
sits near -55 dBFS (never lowered, by 30 dB at most)."""


def _f32(value: float) -> npt.NDArray[np.float32]:
    """A constant for float32 arithmetic, as a 0-d array.

    numpy applies a 0-d array of the operand's own type with less ado than a Python
    float (half the cost of a call on a few values), and with the same result.
    """
    return np.array(value, dtype=np.float32)


def _f64(value: float) -> Floats:
    """A constant for float64 arithmetic, as a 0-d array (see ``_f32``)."""
    return np.array(value, dtype=np.float64)


_F32_PRE_EMPHASIS = _f32(_PRE_EMPHASIS)
_F32_TINY_POWER = _f32(1e-10)
_F32_TINY_ENERGY = _f32(1e-6)
_F32_TEN = _f32(10.0)
_F32_ZERO, _F32_ONE, _F32_TWO, _F32_MINUS_ONE = _f32(0.0), _f32(1.0), _f32(2.0), _f32(-1.0)
_F32_HALF, _F32_EIGHTH, _F32_FLAT = _f32(0.5), _f32(0.125), _f32(-1e-9)
_F32_NEVER = _f32(-np.inf)
_F64_ZERO, _F64_ONE, _F64_TEN = _f64(0.0), _f64(1.0), _f64(10.0)
_F64_TINY_POWER = _f64(1e-10)
_F64_FLOOR_MIN_DBFS = _f64(_FLOOR_MIN_DBFS)
_F64_PITCHED = _f64(_PITCHED)
_F64_HELD_TOLERANCE = _f64(_HELD_TOLERANCE)
_F64_MUSIC_SHARE = _f64(_MUSIC_SHARE)
_AROUND = np.arange(3)[:, None]
"""The lags before, at and after a peak, one row each."""


def _seconds(subframe_index: int) -> float:
    # Computed from samples exactly as Frame.t is, so equal instants compare equal.
    return subframe_index * SUBFRAME_SAMPLES / SAMPLE_RATE_HZ


def _db(power: Floats) -> Floats:
    return np.asarray(10.0 * np.log10(np.maximum(power, 1e-10)), dtype=np.float64)


class VoicingDetector(Protocol):
    """Says which 10 ms sub-frames of 16 kHz int16 audio hold speech."""

    def speech(self, pcm: Pcm) -> Bools:
        """One decision per whole 10 ms sub-frame of the 1-D ``pcm``, in order."""
        ...


class WebRtcVoicing:
    """webrtcvad behind the ``VoicingDetector`` protocol.

    It is fed every sub-frame, quiet ones included: its own noise model adapts to what
    it hears, and it only knows the room if it hears the room. It judges 20 ms at a
    time (a live frame), which halves its cost; one decision covers both sub-frames.
    """

    def __init__(self, aggressiveness: int) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)

    def speech(self, pcm: Pcm) -> Bools:
        data = pcm.tobytes()
        width = 2 * SUBFRAME_SAMPLES
        count = len(data) // width
        is_speech = self._vad.is_speech
        decisions: list[bool] = []
        for k in range(0, count - 1, 2):
            heard = is_speech(data[k * width : (k + 2) * width], SAMPLE_RATE_HZ)
            decisions += (heard, heard)
        if count % 2:
            decisions.append(is_speech(data[(count - 1) * width : count * width], SAMPLE_RATE_HZ))
        return np.array(decisions, dtype=bool)


def subframe_dbfs(pcm: Pcm) -> Floats:
    """RMS level in dBFS of each 10 ms sub-frame of a 1-D int16 block."""
    usable = pcm[: len(pcm) - len(pcm) % SUBFRAME_SAMPLES].astype(np.float32)
    blocks = usable.reshape(-1, SUBFRAME_SAMPLES)
    power = np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64) / SUBFRAME_SAMPLES
    return _db(power / _FULL_SCALE_POWER)


def level_dbfs(pcm: Pcm) -> float:
    """Overall RMS level of a block in dBFS."""
    if pcm.size == 0:
        return _SILENT_DBFS
    samples = pcm.astype(np.float64)
    power = float(np.mean(samples * samples)) / _FULL_SCALE_POWER
    return 10.0 * math.log10(max(power, 1e-10))


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
        self._presence_history = np.full((2, channels), _SILENT_DBFS)
        self._pitched_and_held = _RunningSum(_SHARE_SUBFRAMES, channels, kinds=2)
        self._musical = _RunningSum(_MUSIC_MEMORY_SUBFRAMES, channels)
        self._work = _Workspace(channels, 1)

    def feed(self, pcm: Pcm) -> Features:
        """Features of a block shaped (channels, samples), or (samples,) for one."""
        return self.measure(pcm)[0]

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


# --- the noise floor -------------------------------------------------------------------


class FloorTracker:
    """Noise floors in dBFS for several series at once, by minimum statistics.

    The series are arranged (kinds, channels), and their levels come time in the
    middle, shaped (kinds, n, channels). Each floor follows quieter levels at once and
    rises slowly (``rise_db_per_s``), so speech cannot pull it up within a turn but a
    fan switched on is learnt within seconds. It tracks the level smoothed over
    ``smooth_subframes`` (a power average), which keeps it near the noise's typical
    level rather than its deepest dips.
    """

    def __init__(
        self, series: tuple[int, int], rise_db_per_s: float = 3.0, smooth_subframes: int = 1
    ) -> None:
        kinds, channels = series
        self.dbfs = np.full(series, -60.0)
        self._rise_db = rise_db_per_s * SUBFRAME_S
        self._primed = False
        self._smooth = max(1, smooth_subframes)
        self._recent = np.zeros((kinds, self._smooth - 1, channels))
        """Powers of the last sub-frames, for the running average."""
        self._zeros = np.zeros((kinds, 1, channels))
        self._ramp = np.zeros((kinds, 0, channels))
        """What the floor may rise by, from one to n sub-frames on (kept for the last n)."""

    def track(self, levels_dbfs: Floats) -> Floats:
        """Take levels shaped (kinds, n, channels); return the floor after each."""
        count = levels_dbfs.shape[1]
        if count == 0:
            return np.zeros(levels_dbfs.shape)
        powers = _F64_TEN ** (np.asarray(levels_dbfs, dtype=np.float64) / _F64_TEN)
        if self._smooth > 1:
            if not self._primed:
                self._recent[...] = powers[:, :1]
            # The leading zero makes each window's sum one difference of running sums.
            joined = np.concatenate((self._zeros, self._recent, powers), axis=1)
            self._recent = joined[:, count + 1 :]
            sums = np.add.accumulate(joined, axis=1)
            powers = sums[:, self._smooth :] - sums[:, :count]
            powers /= self._smooth
        smoothed = powers
        np.maximum(smoothed, _F64_TINY_POWER, out=smoothed)
        np.log10(smoothed, out=smoothed)
        smoothed *= _F64_TEN
        np.maximum(smoothed, _F64_FLOOR_MIN_DBFS, out=smoothed)
        if not self._primed:
            self.dbfs = smoothed[:, 0].copy()
            self._primed = True
        # floor[k] = min(level[k], floor[k - 1] + rise): a running minimum of the levels
        # minus a ramp, plus the ramp; the floor before the block starts the minimum.
        if self._ramp.shape != smoothed.shape:
            ramp = self._rise_db * np.arange(1, count + 1)
            self._ramp = np.ascontiguousarray(np.broadcast_to(ramp[:, None], smoothed.shape))
        floors = np.subtract(smoothed, self._ramp, out=smoothed)
        np.minimum(floors[:, 0], self.dbfs, out=floors[:, 0])
        np.minimum.accumulate(floors, axis=1, out=floors)
        floors += self._ramp
        self.dbfs = floors[:, -1].copy()
        return floors


class NoiseFloor:
    """One noise floor (see ``FloorTracker``), fed one level or a run of levels."""

    def __init__(self, rise_db_per_s: float = 3.0, smooth_subframes: int = 1) -> None:
        self._tracker = FloorTracker((1, 1), rise_db_per_s, smooth_subframes)

    @property
    def dbfs(self) -> float:
        return float(self._tracker.dbfs[0, 0])

    def update(self, level_dbfs: float) -> float:
        """Take one sub-frame's level; return the floor after it."""
        return float(self._tracker.track(np.array([[[level_dbfs]]]))[0, 0, 0])

    def track(self, levels_dbfs: Floats) -> Floats:
        """Take consecutive sub-frame levels; return the floor after each."""
        levels = np.asarray(levels_dbfs, dtype=np.float64)[None, :, None]
        floors: Floats = self._tracker.track(levels)[0, :, 0]
        return floors


# --- the segmenter ------------------------------------------------------------------------


@dataclass(frozen=True)
class Onset:
    """Speech has started (confirmed); ``t`` is its refined start."""

    t: float
    channel: int


@dataclass(frozen=True)
class Segment:
    """One speech segment on one channel, seconds since session start."""

    start_t: float
    end_t: float
    channel: int

    @property
    def duration_s(self) -> float:
        return self.end_t - self.start_t


class SegmenterState(enum.Enum):
    SILENCE = "silence"
    ONSET = "onset"
    SPEECH = "speech"
    HANGOVER = "hangover"


class Segmenter:
    """Turns per-sub-frame evidence (sound, voicing) into segments, for one channel.

    ::

        SILENCE --voiced--> ONSET --voiced for min_speech_s--> SPEECH   (emit Onset)
        ONSET --no voicing for confirm_window_s--> SILENCE  (a click, a bump: dropped)
        SPEECH --quiet--> HANGOVER
        SPEECH --sound but no voicing for merge_gap_s--> SILENCE         (emit Segment)
        HANGOVER --sound within consonant_gap_s, or voicing--> SPEECH   (a short pause)
        HANGOVER --quiet for merge_gap_s--> SILENCE                      (emit Segment)
        any --gate--> SILENCE                                  (emit Segment if open)

    A segment starts where the sound that leads into its voicing begins (a soft
    consonant, at most ``onset_lookback_s`` before the voicing) and ends where its last
    sound stops. Sound further than ``consonant_gap_s`` from speech counts only when
    voicing follows it, so a lone bump in the noise never stretches a segment; and
    sound that goes on without voicing (music or a tap running on after the words)
    ends the speech at its last voicing. Time is the sub-frame index: nothing here
    reads a clock.
    """

    def __init__(self, config: DetectorConfig, channel: int = 0) -> None:
        self.state = SegmenterState.SILENCE
        self._channel = channel
        self._min_voiced = max(1, round(config.min_speech_s / SUBFRAME_S))
        self._confirm_window = max(self._min_voiced, round(config.confirm_window_s / SUBFRAME_S))
        self._merge_gap = max(1, round(config.merge_gap_s / SUBFRAME_S))
        self._lookback = max(0, round(config.onset_lookback_s / SUBFRAME_S))
        self._bridge = max(1, round(config.consonant_gap_s / SUBFRAME_S))
        self._resume_voiced = max(1, round(config.resume_voiced_s / SUBFRAME_S))
        self._start = 0
        """Sub-frame index where the current speech starts."""
        self._last_sound_end = 0
        """Sub-frame index just past the last sound of the current speech."""
        self._last_voiced = 0
        """Sub-frame index just past the last voicing of the current speech."""
        self._tentative: int | None = None
        """Where sound resumed after a pause, too far from the speech to join it alone."""
        self._voiced: deque[int] = deque()
        """Indices of recent voiced sub-frames, while confirming."""
        self._runs: deque[tuple[int, int]] = deque(maxlen=64)
        """Recent finished runs of sound [start, end), to find where an onset began."""
        self._run_start: int | None = None

    def step(self, index: int, sound: bool, voiced: bool) -> tuple[Onset | None, Segment | None]:
        """Advance by the sub-frame ``index``: whether it held sound, and voicing."""
        sound = sound or voiced
        self._remember(index, sound)
        onset: Onset | None = None
        segment: Segment | None = None
        state = self.state
        if state is SegmenterState.SILENCE:
            if voiced:
                self.state = SegmenterState.ONSET
                self._voiced.clear()
                self._voiced.append(index)
                onset = self._confirm()
        elif state is SegmenterState.ONSET:
            if voiced:
                self._voiced.append(index)
                onset = self._confirm()
            elif index - self._voiced[-1] >= self._confirm_window:
                self.state = SegmenterState.SILENCE
        elif state is SegmenterState.SPEECH:
            if voiced:
                self._last_voiced = index + 1
            elif not sound:
                self.state = SegmenterState.HANGOVER
                self._last_sound_end = index
                self._voiced.clear()
                self._tentative = None
            elif index + 1 - self._last_voiced >= self._merge_gap:
                self._last_sound_end = self._last_voiced
                segment = self._close()
        else:  # HANGOVER
            if voiced:
                self._voiced.append(index)
                while self._voiced[0] <= index - self._confirm_window:
                    self._voiced.popleft()
            if len(self._voiced) >= self._resume_voiced:
                self.state = SegmenterState.SPEECH
                self._last_voiced = index + 1
            elif sound and index - self._last_sound_end < self._bridge:
                self.state = SegmenterState.SPEECH
            elif not sound:
                self._tentative = None
                if index + 1 - self._last_sound_end >= self._merge_gap:
                    segment = self._close()
            elif self._tentative is None:
                self._tentative = index
            elif index + 1 - self._tentative >= self._merge_gap:
                # Sound that has not led to voicing in a merge gap is not this speech.
                segment = self._close()
        return onset, segment

    def run(
        self, first_index: int, sound: Bools, voiced: Bools
    ) -> tuple[list[Onset], list[Segment]]:
        """Step through consecutive sub-frames from ``first_index``.

        The result is exactly that of calling ``step`` on each; stretches where the
        state cannot change (silence without voicing, speech without a pause) are
        crossed in one move, which is what makes an hour of audio quick.
        """
        onsets: list[Onset] = []
        segments: list[Segment] = []
        sound = sound | voiced
        if len(sound) <= _STEP_BELOW:
            pairs = zip(sound.tolist(), voiced.tolist(), strict=True)
            for k, (is_sound, is_voiced) in enumerate(pairs):
                onset, segment = self.step(first_index + k, is_sound, is_voiced)
                if onset is not None:
                    onsets.append(onset)
                if segment is not None:
                    segments.append(segment)
            return onsets, segments
        voiced_at = np.flatnonzero(voiced)
        quiet_at = np.flatnonzero(~sound)
        count = len(sound)
        k = 0
        while k < count:
            if self.state is SegmenterState.SILENCE:
                upto = _next(voiced_at, k, count)
            elif self.state is SegmenterState.SPEECH:
                upto = self._speech_until(first_index, k, _next(quiet_at, k, count), voiced_at)
            else:
                upto = k
            if upto > k:
                if self.state is SegmenterState.SPEECH:
                    last = int(np.searchsorted(voiced_at, upto)) - 1
                    if last >= 0 and voiced_at[last] >= k:
                        self._last_voiced = first_index + int(voiced_at[last]) + 1
                self._remember_span(first_index + k, sound[k:upto])
                k = upto
                continue
            onset, segment = self.step(first_index + k, bool(sound[k]), bool(voiced[k]))
            if onset is not None:
                onsets.append(onset)
            if segment is not None:
                segments.append(segment)
            k += 1
        return onsets, segments

    def _speech_until(
        self, first_index: int, k: int, quiet: int, voiced_at: npt.NDArray[np.intp]
    ) -> int:
        """Where speech next needs a step: its next quiet sub-frame, or the first one
        after voicing has been missing for a merge gap (indices relative to the block)."""
        voicing = voiced_at[np.searchsorted(voiced_at, k) : np.searchsorted(voiced_at, quiet)]
        after = np.concatenate(([self._last_voiced - first_index], voicing + 1))
        following = np.concatenate((voicing, [quiet + self._merge_gap]))
        long_gaps = np.flatnonzero(following - after >= self._merge_gap)
        timeout = int(after[long_gaps[0]]) + self._merge_gap - 1
        return min(quiet, max(timeout, k))

    def gate(self, index: int) -> Segment | None:
        """The microphone is gated from sub-frame ``index``: close any open segment."""
        segment: Segment | None = None
        if self.state is SegmenterState.SPEECH:
            self._last_sound_end = index
            segment = self._close()
        elif self.state is SegmenterState.HANGOVER:
            segment = self._close()
        self.state = SegmenterState.SILENCE
        self._runs.clear()
        self._run_start = None
        return segment

    def _confirm(self) -> Onset | None:
        while self._voiced[0] <= self._voiced[-1] - self._confirm_window:
            self._voiced.popleft()
        if len(self._voiced) < self._min_voiced:
            return None
        self.state = SegmenterState.SPEECH
        self._start = self._onset_start(self._voiced[0])
        self._last_voiced = self._voiced[-1] + 1
        return Onset(_seconds(self._start), self._channel)

    def _close(self) -> Segment:
        self.state = SegmenterState.SILENCE
        return Segment(_seconds(self._start), _seconds(self._last_sound_end), self._channel)

    def _remember(self, index: int, sound: bool) -> None:
        if sound and self._run_start is None:
            self._run_start = index
        elif not sound and self._run_start is not None:
            self._runs.append((self._run_start, index))
            self._run_start = None

    def _remember_span(self, first_index: int, sound: Bools) -> None:
        """``_remember`` for each of a stretch of sub-frames, at once."""
        was_open = self._run_start is not None
        edges = np.diff(np.concatenate(([was_open], sound)).astype(np.int8))
        starts = (np.flatnonzero(edges == 1) + first_index).tolist()
        ends = (np.flatnonzero(edges == -1) + first_index).tolist()
        if was_open and ends:
            assert self._run_start is not None
            starts.insert(0, self._run_start)
        elif was_open:
            return
        kept = self._runs.maxlen or 0
        # The last run may still be open: it has a start and no end yet.
        pairs = list(zip(starts, ends, strict=False))[-kept:]
        self._runs.extend(pairs)
        self._run_start = starts[-1] if len(starts) > len(ends) else None

    def _onset_start(self, first_voiced: int) -> int:
        # Walk back from the first voicing over the sound before it, across gaps
        # shorter than a consonant gap, but no further than the lookback.
        earliest = first_voiced - self._lookback
        start = first_voiced
        if self._run_start is not None and self._run_start <= first_voiced:
            start = self._run_start
        for run_start, run_end in reversed(self._runs):
            if run_start >= start:
                continue
            if start - run_end >= self._bridge or run_end <= earliest:
                break
            start = run_start
        return max(start, earliest)


_STEP_BELOW = 16
"""Blocks this short (a live 20 ms frame is two sub-frames) are simply stepped through."""


def _next(indices: npt.NDArray[np.intp], k: int, count: int) -> int:
    """The first of the sorted ``indices`` at or after ``k``, else ``count``."""
    at = int(np.searchsorted(indices, k))
    return int(indices[at]) if at < len(indices) else count


# --- channels -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Limits:
    """The detector's thresholds from its configuration, as 0-d arrays (see ``_f32``)."""

    voice_sound_db: Floats
    sound_db: Floats
    voiced_db: Floats
    music_voice_db: Floats
    periodicity: Floats
    energy_db: Floats
    channel_db: Floats

    @classmethod
    def of(cls, config: DetectorConfig) -> _Limits:
        return cls(
            voice_sound_db=_f64(config.voice_sound_margin_db),
            sound_db=_f64(config.sound_margin_db),
            voiced_db=_f64(config.voiced_margin_db),
            music_voice_db=_f64(config.music_voice_margin_db),
            periodicity=_f64(config.periodicity_min),
            energy_db=_f64(config.energy_margin_db),
            channel_db=_f64(config.channel_margin_db),
        )


class ChannelDetector:
    """Speech decisions and segments for every channel of a stream of frames.

    With several channels (one microphone per partner), a channel counts as speaking
    only where it is within ``channel_margin_db`` of the loudest channel, so that a
    partner's voice leaking into the other microphone is not taken for the other
    partner.
    """

    def __init__(
        self,
        config: DetectorConfig,
        channels: int,
        voicing: list[VoicingDetector] | None = None,
    ) -> None:
        self._config = config
        self.channels = channels
        if voicing is None and config.webrtcvad_cue:
            voicing = [WebRtcVoicing(config.aggressiveness) for _ in range(channels)]
        self._voicing = voicing
        self._features = FeatureExtractor(channels)
        # Series: the broadband, voice-band and presence-band levels of each channel.
        self._floors = FloorTracker((3, channels), config.noise_rise_db_per_s, smooth_subframes=5)
        self._limits = _Limits.of(config)
        self._segmenters = [Segmenter(config, channel) for channel in range(channels)]
        self._index = 0
        """Sub-frames consumed: the detector's clock."""

    @property
    def t(self) -> float:
        return _seconds(self._index)

    def noise_floor_dbfs(self, channel: int = 0) -> float:
        """The broadband noise floor of a channel."""
        return float(self._floors.dbfs[0, channel])

    def evidence(self, pcm: Pcm) -> tuple[Bools, Bools]:
        """Sound and voicing of each sub-frame of a (channels, samples) block, shaped
        (channels, sub-frames); advances the features and floors, not the segmenters."""
        limits = self._limits
        features, levels = self._features.measure(pcm)
        # Time first from here on, as the extractor works (see FeatureExtractor).
        periodicity, held_pitch = features.periodicity.T, features.held_pitch.T
        held_share, music_heard = features.held_share.T, features.music_heard.T
        floors = self._floors.track(levels)
        broadband, voice, presence = levels - floors
        sound = voice >= limits.voice_sound_db
        sound |= presence >= limits.sound_db
        # Where music plays, its note changes look like a voice for a moment; a voice
        # over music stands well above it (the floor has learnt the music).
        voice_needed = np.where(music_heard, limits.music_voice_db, limits.voiced_db)
        unmusical = held_share < _F64_MUSIC_SHARE
        unmusical &= ~held_pitch
        voiced = periodicity >= limits.periodicity
        voiced &= voice >= voice_needed
        voiced &= unmusical
        if self._voicing is not None:
            # webrtcvad hears unvoiced speech (a whisper) too; it is asked only where
            # the sound is strong, not musical and not the decay of a knock.
            eligible = broadband >= limits.energy_db
            eligible &= presence >= limits.energy_db
            eligible &= unmusical
            eligible &= ~features.fading.T
            voiced |= self._cue(pcm.reshape(self.channels, -1), eligible, floors[0])
        sound |= voiced
        if self.channels > 1:
            level = levels[0]
            loudest = np.maximum.reduce(level, axis=1, keepdims=True)
            own = level >= loudest - limits.channel_db
            sound &= own
            voiced &= own
        return sound.T, voiced.T

    def _cue(self, pcm: Pcm, eligible: Bools, floor_dbfs: Floats) -> Bools:
        """webrtcvad's decisions where ``eligible`` (time first); it hears every
        sub-frame regardless."""
        assert self._voicing is not None
        count, channels = eligible.shape
        samples = pcm[:, : count * SUBFRAME_SAMPLES]
        if count and np.minimum.reduce(floor_dbfs, axis=None) < _CUE_FLOOR_DBFS:
            # A gain of exactly 1 leaves int16 samples as they are, so lifting every
            # channel gives what lifting only the quiet ones would.
            gain_db = np.clip(_CUE_FLOOR_DBFS - floor_dbfs, 0.0, _CUE_MAX_GAIN_DB)
            gain = (10.0 ** (gain_db / 20.0)).T[:, :, None].astype(np.float32)
            lifted = samples.reshape(channels, count, SUBFRAME_SAMPLES) * gain
            np.clip(lifted, -32768, 32767, out=lifted)
            samples = lifted.astype(np.int16).reshape(channels, -1)
        decisions = np.empty((count, channels), dtype=bool)
        for channel in range(channels):
            decisions[:, channel] = self._voicing[channel].speech(samples[channel])
        decisions &= eligible
        return decisions

    def feed(self, pcm: Pcm) -> tuple[list[Onset], list[Segment]]:
        """Process a (channels, samples) block whose length is a multiple of 10 ms."""
        onsets: list[Onset] = []
        segments: list[Segment] = []
        sound, voiced = self.evidence(pcm)
        count = sound.shape[1]
        for channel in range(self.channels):
            found = self._segmenters[channel].run(self._index, sound[channel], voiced[channel])
            onsets.extend(found[0])
            segments.extend(found[1])
        self._index += count
        onsets.sort(key=lambda o: o.t)
        segments.sort(key=lambda s: s.end_t)
        return onsets, segments

    def skip(self, samples: int) -> list[Segment]:
        """Gated audio (a prompt playing): close open segments and advance the clock."""
        segments = [s for s in (seg.gate(self._index) for seg in self._segmenters) if s is not None]
        self._index += samples // SUBFRAME_SAMPLES
        return segments

    def flush(self) -> list[Segment]:
        """End of stream: close any open segment."""
        return [s for s in (seg.gate(self._index) for seg in self._segmenters) if s is not None]
