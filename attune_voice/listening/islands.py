"""Islands: the stretches of sound inside a speech segment, between its short pauses.

The detector merges pauses shorter than 0.3 s into one segment, so a listener's "mm-hm"
said in the speaker's breath between sentences is part of the speaker's segment. Telling
voices apart inside it starts from where the sound stops: a pause is ``ISLAND_PAUSE_S``
or more of 10 ms sub-frames less than ``ISLAND_MARGIN_DB`` above the room's noise (the
``NOISE_PERCENTILE`` of the sub-frame levels heard), and the stretches between pauses
are islands. The live enrolment and ``analyze`` cut speech by this one rule.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from attune_voice.listening.subframes import SUBFRAME_S

Levels = npt.NDArray[np.floating]
"""Sub-frame levels in dBFS (float32 where many are kept)."""

ISLAND_PAUSE_S = 0.08
"""Quiet this long inside a segment separates two islands."""
ISLAND_MARGIN_DB = 12.0
"""A sub-frame is sound when this far above the room's noise."""
NOISE_PERCENTILE = 10.0
"""The room's noise: this percentile of the sub-frame levels heard (speech and silence)."""


def noise_db(levels_db: Levels) -> float:
    """The room's noise level in dBFS, from the sub-frame levels heard."""
    return float(np.percentile(levels_db, NOISE_PERCENTILE))


def islands(
    levels_db: Levels,
    room_noise_db: float,
    pause_s: float = ISLAND_PAUSE_S,
    margin_db: float = ISLAND_MARGIN_DB,
) -> list[tuple[int, int]]:
    """[start, end) sub-frame indexes into ``levels_db`` of its islands, in order: the
    runs of sound (``margin_db`` above ``room_noise_db``) separated by ``pause_s`` or
    more of quiet (a run's own shorter gaps stay inside it)."""
    loud = np.flatnonzero(levels_db > room_noise_db + margin_db)
    if not len(loud):
        return []
    # Two loud sub-frames n apart have n - 1 quiet ones between them.
    breaks = np.flatnonzero(np.diff(loud) > round(pause_s / SUBFRAME_S))
    starts = np.concatenate(([loud[0]], loud[breaks + 1]))
    ends = np.concatenate((loud[breaks], [loud[-1]])) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def cut_at(found: list[tuple[int, int]], cuts: list[int], min_length: int) -> list[tuple[int, int]]:
    """The islands ``found`` ([start, end) sub-frame indexes, in order) cut at those of
    ``cuts`` that fall inside one, where one speaker follows another in a breath the
    room's echo fills (which leaves no pause); a cut that would leave less than
    ``min_length`` sub-frames before it (since the island's start or the cut before)
    or after it (to the island's end) is not made."""
    result: list[tuple[int, int]] = []
    for a, b in found:
        edges = [a]
        for c in sorted(cuts):
            if c - edges[-1] >= min_length and b - c >= min_length:
                edges.append(c)
        result.extend(itertools.pairwise([*edges, b]))
    return result
