"""The loudness of a rendered prompt, and one level for every prompt whatever the voice."""

from __future__ import annotations

import numpy as np

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ

PROMPT_LOUDNESS_DBFS = -20.0
"""Every prompt is brought to this loudness: loud enough over a fan, with room for the
peaks of a lively voice below full scale."""
PEAK_CEILING_DBFS = -1.0
"""No sample of a normalised prompt goes above this, so the gain never clips."""
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
    """``pcm`` with one gain that brings its loudness to ``target_dbfs``, its peaks kept
    under ``PEAK_CEILING_DBFS`` (a prompt whose peaks would clip comes out a little
    quieter rather than distorted). Silence stays silence."""
    level = loudness_dbfs(pcm)
    if not np.isfinite(level):
        return pcm
    gain_db = min(target_dbfs - level, PEAK_CEILING_DBFS - peak_dbfs(pcm))
    scaled = pcm.astype(np.float64) * 10.0 ** (gain_db / 20.0)
    out: Pcm = np.clip(np.round(scaled), -32768, 32767).astype(np.int16)
    return out
