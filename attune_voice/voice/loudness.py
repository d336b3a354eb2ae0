"""The loudness of a rendered prompt, and one level for every prompt whatever the voice."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ

PROMPT_LOUDNESS_DBFS = -20.0
"""Every prompt is brought to this loudness: loud enough over a fan, with room for the
peaks of a lively voice below full scale."""
PEAK_CEILING_DBFS = -1.0
"""No sample of a normalised prompt goes above this: the neural voice's crest factor
reaches 21 dB, so at the common loudness a few of its peaks would clip."""
_BLOCK_S = 0.05
"""Loudness is measured on 50 ms blocks: long enough to hold a pitch period or two of
any voice, short enough that the pauses between words are blocks of their own."""
_ACTIVE_WITHIN_DB = 30.0
"""A block counts as sounding when it is within this of the loudest block: the pauses
between words and the breath at either end do not water down a prompt's loudness, so a
prompt with long pauses is not pushed louder than one said in one breath."""
_SILENCE_DBFS = -70.0
"""Blocks quieter than this never count, however quiet the loudest block is."""
_FULL_SCALE = 32768.0


def _db(power: float) -> float:
    return 10.0 * float(np.log10(max(power, 1e-20)))


def loudness_dbfs(pcm: Pcm) -> float:
    """Loudness of ``pcm`` in dBFS: the RMS over its sounding 50 ms blocks (-inf when
    nothing sounds), the same measure for a voice and for a chime."""
    block = round(_BLOCK_S * SAMPLE_RATE_HZ)
    count = len(pcm) // block
    if count == 0:
        if len(pcm) == 0:
            return float("-inf")
        count, block = 1, len(pcm)
    x = pcm[: count * block].astype(np.float64).reshape(count, block) / _FULL_SCALE
    powers = np.mean(x * x, axis=1)
    loudest_db = _db(float(powers.max()))
    floor_db = max(loudest_db - _ACTIVE_WITHIN_DB, _SILENCE_DBFS)
    active = powers[10.0 * np.log10(np.maximum(powers, 1e-20)) >= floor_db]
    if active.size == 0:
        return float("-inf")
    return _db(float(active.mean()))


def peak_dbfs(pcm: Pcm) -> float:
    """The loudest sample of ``pcm`` in dBFS (-inf when it is silent or empty)."""
    if len(pcm) == 0:
        return float("-inf")
    peak = float(np.max(np.abs(pcm.astype(np.int32)))) / _FULL_SCALE
    return 20.0 * float(np.log10(peak)) if peak > 0 else float("-inf")


def normalised(pcm: Pcm, target_dbfs: float = PROMPT_LOUDNESS_DBFS) -> Pcm:
    """``pcm`` with one gain that brings its loudness to ``target_dbfs``, the few peaks
    that would then pass ``PEAK_CEILING_DBFS`` brought under it by a short, smooth dip
    (not a lower gain for the whole prompt, which would make it a jump quieter than the
    others; not clipping, which distorts). Silence stays silence."""
    level = loudness_dbfs(pcm)
    if not np.isfinite(level):
        return pcm
    scaled = pcm.astype(np.float64) * 10.0 ** ((target_dbfs - level) / 20.0)
    ceiling = 10.0 ** (PEAK_CEILING_DBFS / 20.0) * _FULL_SCALE
    out: Pcm = np.clip(np.round(_limited(scaled, ceiling)), -32768, 32767).astype(np.int16)
    return out


_HOLD_S = 0.005
"""A peak's dip holds its depth this long either side of it, and its edges are smoothed
over half that: at 5 ms the dip is too short to hear as a change of level, and long
enough that its edges add no click."""


def _limited(x: npt.NDArray[np.float64], ceiling: float) -> npt.NDArray[np.float64]:
    """``x`` with every sample above ``ceiling`` brought down to it by a smooth dip in
    gain around it."""
    over = np.flatnonzero(np.abs(x) > ceiling)
    if over.size == 0:
        return x
    hold = round(_HOLD_S * SAMPLE_RATE_HZ)
    held = np.ones_like(x)
    for index, need in zip(over, ceiling / np.abs(x[over]), strict=True):
        window = held[max(int(index) - hold, 0) : int(index) + hold + 1]
        np.minimum(window, need, out=window)
    # A kernel half as wide as the hold: at each peak it averages gains that are all at
    # most the peak's own, so the peak still ends under the ceiling.
    kernel = np.hanning(hold + 3)[1:-1]
    gain = np.convolve(held, kernel / kernel.sum(), mode="same")
    return x * np.minimum(gain, 1.0)
