"""What the detector measures in each 10 ms sub-frame: its level in three bands."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import Pcm
from attune_voice.listening.arrays import Floats, scalar_f32
from attune_voice.listening.subframes import FULL_SCALE_POWER, SUBFRAME_SAMPLES

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
_PRE_EMPHASIS = 0.95
_LEVEL_SCALE = 1.0 / (SUBFRAME_SAMPLES * FULL_SCALE_POWER)
_LEVEL_SCALES = (_LEVEL_SCALE, _DECIMATION * _LEVEL_SCALE, _LEVEL_SCALE)
"""Sums of squares to mean powers re full scale: broadband, voice band (at 2 kHz, a
sub-frame has an eighth of the samples), presence band."""

_F32_PRE_EMPHASIS = scalar_f32(_PRE_EMPHASIS)
_F32_TINY_POWER = scalar_f32(1e-10)
_F32_TEN = scalar_f32(10.0)


class LevelMeter:
    """The level of each 10 ms sub-frame in three bands, for consecutive blocks of
    audio, all channels at once: broadband; the voice band (about 300-900 Hz, where
    voicing lives and rumble, hum and traffic do not); and the presence band
    (pre-emphasised, mostly above 1.5 kHz: consonants and whispers).

    Blocks may be any whole number of sub-frames; the few samples each band needs from
    the previous block are kept, so a stream cut into 20 ms frames gives the levels of
    the same stream in one piece. A live frame holds two sub-frames, so what it costs
    is the number of numpy calls, not the arithmetic: each call covers every channel,
    and the working arrays are kept from one block to the next of the same length.
    """

    def __init__(self, channels: int = 1) -> None:
        self.channels = channels
        self._work = _Workspace(channels, 1)

    def levels(self, pcm: Pcm) -> Floats:
        """The levels in dBFS of each sub-frame of a (channels, samples) block, or
        (samples,) for one channel, time first: shaped (3, n, channels) for the
        broadband, voice band and presence band levels."""
        channels = self.channels
        x = pcm.reshape(channels, -1)
        count = x.shape[1] // SUBFRAME_SAMPLES
        if count == 0:
            return np.zeros((3, 0, channels))
        if count != self._work.count:
            self._work = _Workspace(channels, count, self._work)
        work = self._work
        work.signal[...] = x[:, : count * SUBFRAME_SAMPLES]
        # Each channel's samples follow the end of its block before, so one call on the
        # flat buffer pre-emphasises all of them (what it leaves before each channel's
        # samples is never read).
        emphasised = work.flat_emphasised[1:]
        np.multiply(work.flat_signal[:-1], _F32_PRE_EMPHASIS, out=emphasised)
        np.subtract(work.flat_signal[1:], emphasised, out=emphasised)
        powers = work.powers
        np.einsum("acki,acki->akc", work.frames, work.frames, out=powers[0::2])
        voice = np.dot(work.taps, _BAND_FILTER).reshape(channels, count, _BAND_SAMPLES)
        np.einsum("cki,cki->kc", voice, voice, out=powers[1])
        work.kept[...] = work.signal[:, work.signal.shape[1] - _KEPT_SAMPLES :]

        powers *= work.scales
        np.maximum(powers, _F32_TINY_POWER, out=powers)
        np.log10(powers, out=powers)
        powers *= _F32_TEN
        levels: Floats = powers.astype(np.float64)
        return levels


class _Workspace:
    """The working arrays of ``LevelMeter`` for blocks of ``count`` sub-frames, and the
    strided views into them that let one numpy call do what would otherwise take a
    loop. The signal starts with the samples its first band sample is filtered from
    (the end of the block before); a workspace for another block length takes them
    over."""

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
        if before is not None:
            self.kept[...] = before.kept


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
