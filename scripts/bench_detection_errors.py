"""Where speech detection's frame errors on the real recordings lie, and what the labels allow.

Beside ``scripts/bench_detection.py`` (the same recordings, labels, 10 ms frames and
detectors), for each labelled recording:

- the kinds of error, in frames: speech missed as a whole labelled segment, at a
  labelled edge (within 0.2 s of it, or further in), or as a pause inside a labelled
  turn (by the pause's length); non-speech found at an edge (within 0.2 s, or
  further out), across a whole labelled gap, or far from any labelled speech;
- the same errors split by what the audio holds there: silence (a 10 ms level within
  10 dB of the recording's quietest 5%) or sound;
- a ceiling: the F1 of a detector right on every frame with sound that follows the
  detector's own rules (pauses of ``merge_gap_s`` or more are pauses; edges within
  30 ms of a start and 50 ms of an end, the synthetic targets), whose only errors are
  the labelled frames of silence it must leave out; and the F1 of the labels against
  themselves with every labelled edge moved inward by 0.1 and 0.2 s.

    .venv/bin/python scripts/bench_detection_errors.py
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from bench_detection import REAL, Case, Detector, counts, f1, mask, merge, ours, real_cases, silero

from attune_voice.config import DetectorConfig

Mask = npt.NDArray[np.bool_]
KINDS = (
    "miss whole",
    "miss edge<=.2",
    "miss edge>.2",
    "pause<.3",
    "pause.3-.5",
    "pause.5-1",
    "pause>=1",
    "false edge<=.2",
    "false edge>.2",
    "false gap",
    "false far",
)
NEAR_FRAMES = 20
"""0.2 s: how close to a labelled edge an error counts as one of the edge's."""
SILENCE_MARGIN_DB = 10.0
"""A 10 ms frame this close to the recording's quietest 5% of frames is silence."""
START_TOLERANCE_FRAMES = 3
END_TOLERANCE_FRAMES = 5
"""The synthetic targets' median edge errors (30 ms at a start, 50 ms at an end)."""
_PAUSES = (("pause<.3", 0.3), ("pause.3-.5", 0.5), ("pause.5-1", 1.0), ("pause>=1", np.inf))
"""A missed pause inside a labelled turn, by its length in seconds (below each top)."""
ALIGNED = {"read-8629-261140-0016", "read-8629-261140-0020", "read-librivox-0870"}
"""Labels from forced alignment of words; the others are hand-made or merged turns."""


def runs(m: Mask) -> list[tuple[int, int]]:
    """The [start, end) frame index pairs of each run of True."""
    edges = np.diff(np.concatenate(([0], m.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()
    return list(zip(starts, ends, strict=True))


def error_kinds(reference: Mask, found: Mask) -> dict[str, int]:
    """Frames of each kind of error (see the module's docstring)."""
    out = dict.fromkeys(KINDS, 0)
    for a, b in runs(reference):
        if not found[a:b].any():
            out["miss whole"] += b - a
            continue
        for s, e in runs(reference[a:b] & ~found[a:b]):
            if s == 0 or e == b - a:
                out["miss edge<=.2"] += min(e - s, NEAR_FRAMES)
                out["miss edge>.2"] += max(0, e - s - NEAR_FRAMES)
            else:
                pause_s = (e - s) / 100
                kind = next(k for k, top in _PAUSES if pause_s < top)
                out[kind] += e - s
    for s, e in runs(found & ~reference):
        before = s > 0 and bool(reference[s - 1])
        after = e < len(reference) and bool(reference[e])
        if before and after:
            out["false gap"] += e - s
        elif before or after:
            out["false edge<=.2"] += min(e - s, NEAR_FRAMES)
            out["false edge>.2"] += max(0, e - s - NEAR_FRAMES)
        else:
            out["false far"] += e - s
    return out


def silent_frames(case: Case, frames: int) -> Mask:
    x = case.pcm.mean(axis=0)[: frames * 160].astype(np.float64).reshape(frames, 160)
    level_db = 10 * np.log10(np.mean((x / 32768) ** 2, axis=1) + 1e-12)
    result: Mask = level_db < np.percentile(level_db, 5) + SILENCE_MARGIN_DB
    return result


def unavoidable(reference: Mask, silent: Mask, pause_frames: int) -> int:
    """Labelled frames of silence that a detector following the sound must leave out."""
    missed = 0
    for a, b in runs(reference):
        for s, e in runs(silent[a:b]):
            if s == 0 and e == b - a:
                missed += e - s
            elif s == 0:
                missed += max(0, e - s - START_TOLERANCE_FRAMES)
            elif e == b - a:
                missed += max(0, e - s - END_TOLERANCE_FRAMES)
            elif e - s >= pause_frames:
                missed += e - s
    return missed


def moved_in(case: Case, by_s: float, frames: int) -> Mask:
    """The recording's own labels, every labelled turn shortened by ``by_s`` each side."""
    spans = []
    for line in (REAL / f"{case.name}.rttm").read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, length = float(fields[3]), float(fields[4])
            if length > 2 * by_s:
                spans.append((start + by_s, start + length - by_s))
    return mask(merge(spans), frames)


def main() -> None:
    cases = real_cases()
    detectors: dict[str, Detector] = {"analyze": ours, "Silero VAD": silero}
    pause_frames = round(DetectorConfig().merge_gap_s * 100)
    width = max(len(c.name) for c in cases) + 2
    print("error frames (10 ms) by kind; missed = labelled speech not found")
    print(f"  {'recording':<{width}}{'':>11}{'F1':>6}" + "".join(f"{k:>15}" for k in KINDS))
    by_sound = {name: np.zeros(5, dtype=np.int64) for name in detectors}
    ceiling = np.zeros(3, dtype=np.int64)
    shifted = {by_s: np.zeros(3, dtype=np.int64) for by_s in (0.1, 0.2)}
    totals = {name: dict.fromkeys(KINDS, 0) for name in detectors}
    pooled = {name: np.zeros(3, dtype=np.int64) for name in detectors}
    lines = []
    for case in cases:
        frames = case.pcm.shape[1] // 160
        reference = mask(merge([(a, b) for a, b, _ in case.truth]), frames)
        silent = silent_frames(case, frames)
        split = []
        for name, detector in detectors.items():
            found = mask([(a, b) for a, b, _ in detector(case.pcm)], frames)
            c = counts(reference, found)
            pooled[name] += c
            kinds = error_kinds(reference, found)
            for k in KINDS:
                totals[name][k] += kinds[k]
            label = case.name if name == "analyze" else ""
            print(
                f"  {label:<{width}}{name:>11}{f1(c):6.3f}"
                + "".join(f"{kinds[k]:15d}" for k in KINDS)
            )
            missed, false = reference & ~found, found & ~reference
            sound = np.array(
                [
                    c[0],
                    np.sum(missed & silent),
                    np.sum(missed & ~silent),
                    np.sum(false & silent),
                    np.sum(false & ~silent),
                ]
            )
            by_sound[name] += sound
            split.append(_sound_row(sound))
        left_out = unavoidable(reference, silent, pause_frames)
        bound = np.array([int(reference.sum()) - left_out, 0, left_out])
        ceiling += bound
        moved = []
        if (REAL / f"{case.name}.rttm").exists():
            for by_s in shifted:
                c = counts(reference, moved_in(case, by_s, frames))
                shifted[by_s] += c
                moved.append(f"{f1(c):.3f}")
        kind = "aligned" if case.name in ALIGNED else "turns"
        lines.append(
            f"  {case.name:<{width}}{kind:>8}  "
            + "   ".join(split)
            + f"   {left_out:6d} {f1(bound):.3f}   {' '.join(moved) or '(no labels file)'}"
        )
    for name in detectors:
        print(
            f"  {'pooled':<{width}}{name:>11}{f1(pooled[name]):6.3f}"
            + "".join(f"{totals[name][k]:15d}" for k in KINDS)
        )
    print(
        f"\nerrors on silence (within {SILENCE_MARGIN_DB:g} dB of the quietest 5%) and on sound:"
        " missed silent/sound, false silent/sound (F1 counting only errors on sound) for"
        " analyze, then Silero VAD; the labelled silence a detector that follows the sound"
        " must leave out, and the ceiling F1 that leaves; the labels against themselves"
        " moved inward by 0.1 and 0.2 s"
    )
    for line in lines:
        print(line)
    print(
        f"  {'pooled':<{width}}{'':>8}  "
        + "   ".join(_sound_row(v) for v in by_sound.values())
        + f"   {int(ceiling[2]):6d} {f1(ceiling):.3f}   "
        + " ".join(f"{f1(v):.3f}" for v in shifted.values())
    )


def _sound_row(v: Sequence[int] | npt.NDArray[np.int64]) -> str:
    tp, missed_silent, missed_sound, false_silent, false_sound = (int(x) for x in v)
    on_sound = 2 * tp / max(1, 2 * tp + missed_sound + false_sound)
    return (
        f"{missed_silent:5d}/{missed_sound:4d} {false_silent:4d}/{false_sound:4d} ({on_sound:.3f})"
    )


if __name__ == "__main__":
    main()
