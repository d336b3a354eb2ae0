"""Soft chimes that mark session events, made from sine partials at 16 kHz.

Each chime is one or two strikes of a few sine partials. A strike rises over a few
milliseconds (a raised cosine, so there is no click) and dies away exponentially, the
higher partials faster, as struck metal or wood does. The chimes differ in pitch and
in shape, so that each event is known by ear: a single high bell for a time cue, two
falling notes for the end of a floor, a low slow bowl at the time limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ

NO_SOUND = "none"
"""The name that means no sound: ``chime(NO_SOUND)`` is empty."""

_FADE_S = 0.05
"""Every chime fades to silence over its last 50 ms, so it never ends in a click."""


@dataclass(frozen=True)
class _Partial:
    ratio: float
    """Frequency as a multiple of the strike's fundamental."""
    gain: float
    decay_s: float
    """Time for the partial to fall to 1/e of its level."""


@dataclass(frozen=True)
class _Strike:
    start_s: float
    frequency_hz: float
    partials: tuple[_Partial, ...]


@dataclass(frozen=True)
class _Recipe:
    strikes: tuple[_Strike, ...]
    length_s: float
    attack_s: float
    peak_dbfs: float


_BELL = (_Partial(1.0, 1.0, 0.45), _Partial(2.0, 0.3, 0.25), _Partial(3.0, 0.12, 0.15))
_TONE = (_Partial(1.0, 1.0, 0.5), _Partial(2.0, 0.25, 0.25), _Partial(3.0, 0.08, 0.15))
# A singing bowl's partials are not whole multiples; the pair a few hertz apart beats
# slowly, which is what makes a bowl sound warm rather than electronic.
_BOWL = (
    _Partial(1.0, 1.0, 1.2),
    _Partial(1.004, 0.6, 1.2),
    _Partial(2.76, 0.45, 0.8),
    _Partial(5.40, 0.2, 0.5),
)
_WOOD = (_Partial(1.0, 1.0, 0.06), _Partial(2.32, 0.45, 0.035), _Partial(4.1, 0.15, 0.02))

_C5_HZ, _G5_HZ, _C6_HZ, _D4_HZ, _E5_HZ = 523.25, 783.99, 1046.50, 293.66, 659.26

_RECIPES: dict[str, _Recipe] = {
    "bell": _Recipe((_Strike(0.0, _C6_HZ, _BELL),), 1.2, 0.006, -14.0),
    "bowl": _Recipe((_Strike(0.0, _D4_HZ, _BOWL),), 2.6, 0.04, -12.0),
    "fall": _Recipe((_Strike(0.0, _G5_HZ, _TONE), _Strike(0.3, _C5_HZ, _TONE)), 1.7, 0.008, -12.0),
    "rise": _Recipe((_Strike(0.0, _C5_HZ, _TONE), _Strike(0.3, _G5_HZ, _TONE)), 1.7, 0.008, -12.0),
    "wood": _Recipe((_Strike(0.0, _E5_HZ, _WOOD),), 0.35, 0.004, -14.0),
}


def chime_names() -> tuple[str, ...]:
    """The names ``chime`` knows, besides ``NO_SOUND``."""
    return tuple(_RECIPES)


def _strike(strike: _Strike, count: int, attack_s: float) -> npt.NDArray[np.float64]:
    start = round(strike.start_s * SAMPLE_RATE_HZ)
    t_s = np.arange(count - start) / SAMPLE_RATE_HZ
    attack = np.ones_like(t_s)
    rising = t_s < attack_s
    attack[rising] = 0.5 - 0.5 * np.cos(np.pi * t_s[rising] / attack_s)
    sound = np.zeros_like(t_s)
    for partial in strike.partials:
        phase = 2.0 * np.pi * strike.frequency_hz * partial.ratio * t_s
        sound += partial.gain * np.exp(-t_s / partial.decay_s) * np.sin(phase)
    out = np.zeros(count)
    out[start:] = sound * attack
    return out


def chime(name: str) -> Pcm:
    """Mono 16 kHz int16 audio of chime ``name`` (empty for ``NO_SOUND``).

    Raises ``ValueError`` for a name it does not know; exercise scripts are checked
    against ``chime_names()`` when they load, so a session never asks for one.
    """
    if name == NO_SOUND:
        return np.zeros(0, dtype=np.int16)
    recipe = _RECIPES.get(name)
    if recipe is None:
        known = ", ".join(_RECIPES)
        raise ValueError(f"no chime called {name!r}; the chimes are {known} and {NO_SOUND!r}")
    count = round(recipe.length_s * SAMPLE_RATE_HZ)
    mix = sum(
        (_strike(strike, count, recipe.attack_s) for strike in recipe.strikes),
        start=np.zeros(count),
    )
    fade = round(_FADE_S * SAMPLE_RATE_HZ)
    mix[-fade:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    peak = 10.0 ** (recipe.peak_dbfs / 20.0) * 32767.0
    mix *= peak / max(float(np.max(np.abs(mix))), 1e-12)
    return np.round(mix).astype(np.int16)
