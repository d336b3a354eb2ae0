"""The detector's 10 ms sub-frames: their size, their time and their level in dBFS."""

from __future__ import annotations

import math

import numpy as np

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.listening.arrays import Floats

SUBFRAME_SAMPLES = SAMPLE_RATE_HZ // 100
SUBFRAME_S = SUBFRAME_SAMPLES / SAMPLE_RATE_HZ
SILENT_DBFS = -100.0
FULL_SCALE_POWER = 32768.0 * 32768.0


def subframe_t(subframe_index: int) -> float:
    """Seconds from the stream's start to the start of sub-frame ``subframe_index``."""
    # Computed from samples exactly as Frame.t is, so equal instants compare equal.
    return subframe_index * SUBFRAME_SAMPLES / SAMPLE_RATE_HZ


def _db(power: Floats) -> Floats:
    return np.asarray(10.0 * np.log10(np.maximum(power, 1e-10)), dtype=np.float64)


def subframe_dbfs(pcm: Pcm) -> Floats:
    """RMS level in dBFS of each 10 ms sub-frame of a 1-D int16 block."""
    usable = pcm[: len(pcm) - len(pcm) % SUBFRAME_SAMPLES].astype(np.float32)
    blocks = usable.reshape(-1, SUBFRAME_SAMPLES)
    power = np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64) / SUBFRAME_SAMPLES
    return _db(power / FULL_SCALE_POWER)


def level_dbfs(pcm: Pcm) -> float:
    """Overall RMS level of a block in dBFS."""
    if pcm.size == 0:
        return SILENT_DBFS
    samples = pcm.astype(np.float64)
    power = float(np.mean(samples * samples)) / FULL_SCALE_POWER
    return 10.0 * math.log10(max(power, 1e-10))
