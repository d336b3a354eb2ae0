"""Noise floors by minimum statistics, so that the detector adapts to the room."""

from __future__ import annotations

import numpy as np

from attune_voice.listening.arrays import Floats, scalar_f64
from attune_voice.listening.subframes import SUBFRAME_S

_FLOOR_MIN_DBFS = -96.0
"""Digital silence would put the floor at minus infinity; any dither is then "sound"."""

_F64_TEN = scalar_f64(10.0)
_F64_TINY_POWER = scalar_f64(1e-10)
_F64_FLOOR_MIN_DBFS = scalar_f64(_FLOOR_MIN_DBFS)


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
