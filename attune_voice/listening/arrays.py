"""Array types and 0-d constants for the detector's numpy arithmetic."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


def scalar_f32(value: float) -> npt.NDArray[np.float32]:
    """A constant for float32 arithmetic, as a 0-d array.

    numpy applies a 0-d array of the operand's own type with less ado than a Python
    float (half the cost of a call on a few values), and with the same result.
    """
    return np.array(value, dtype=np.float32)


def scalar_f64(value: float) -> Floats:
    """A constant for float64 arithmetic, as a 0-d array (see ``scalar_f32``)."""
    return np.array(value, dtype=np.float64)
