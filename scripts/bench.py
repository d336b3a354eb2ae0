"""Benchmark figures for attune-voice: demo speed, peak memory, turn timing against truth."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from attune_voice.config import RoomConfig
from attune_voice.events import Prompt, Speech
from attune_voice.exercises.library import load_exercise
from attune_voice.listening.listener import Listener
from attune_voice.session.engine import SessionEngine
from attune_voice.session.loop import EventLog, SessionLoop
from attune_voice.simulated.demo import build_room
from attune_voice.voice.player import PromptVoicePlayer
from attune_voice.voice.tts import SpeechRenderer

ROOT = Path(__file__).resolve().parent.parent


def demo_speed(minutes: float) -> dict[str, float]:
    """Run the real command in a fresh process: wall time, CPU time, simulated time,
    peak memory, and the load average when it started.

    Other work on the machine slows the wall clock, not so much the CPU time the run
    itself takes: both are given, with the load next to them.
    """
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, ATTUNE_HOME=home)
        command = [
            sys.executable,
            "-m",
            "attune_voice",
            "demo",
            "--minutes",
            str(minutes),
            "--format",
            "json",
        ]
        load_1min = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    simulated_s = float(json.loads(done.stdout)["duration_s"])
    return {
        "simulated_min": simulated_s / 60,
        "wall_s": wall_s,
        "speed_x": simulated_s / wall_s,
        "cpu_s": cpu_s,
        "cpu_speed_x": simulated_s / cpu_s,
        "peak_mb": after.ru_maxrss / 1024,
        "load_1min": load_1min,
    }


def _overlaps(a0: float, a1: float, b0: float, b1: float) -> bool:
    return a0 < b1 and b0 < a1


def timing_errors(seeds: list[int], microphones: int) -> dict[str, float]:
    """Detected turn edges against the simulated room's truth, over several sessions."""
    starts: list[float] = []
    ends: list[float] = []
    missed = wrong = clean = 0
    with SpeechRenderer() as renderer:
        for seed in seeds:
            exercise = load_exercise("speaker-listener").with_overrides(limit_s=90.0, rounds=1)
            room = build_room(renderer, RoomConfig(seed=seed, microphones=microphones))
            log = EventLog()
            engine = SessionEngine(
                exercise, ("Sam", "Alex"), PromptVoicePlayer(renderer, room), log
            )
            SessionLoop(room, engine, Listener(room.channels)).run()
            speech = [e for e in log.events if isinstance(e, Speech)]
            prompts = [(e.t, e.end_t + 0.3) for e in log.events if isinstance(e, Prompt)]
            for seg in room.truth:
                if any(_overlaps(seg.start_t - 0.05, seg.end_t + 0.05, a, b) for a, b in prompts):
                    continue
                # Speech by anyone within the merge gap joins this segment by design.
                if any(
                    o is not seg
                    and _overlaps(seg.start_t - 0.3, seg.end_t + 0.3, o.start_t, o.end_t)
                    for o in room.truth
                ):
                    continue
                clean += 1
                found = [s for s in speech if _overlaps(s.t, s.end_t, seg.start_t, seg.end_t)]
                if not found:
                    missed += 1
                    continue
                if microphones == 2 and any(s.partner != seg.partner for s in found):
                    wrong += 1
                starts.append(min(s.t for s in found) - seg.start_t)
                ends.append(max(s.end_t for s in found) - seg.end_t)
    start_ms = np.array(starts) * 1000
    end_ms = np.array(ends) * 1000
    return {
        "segments": clean,
        "missed": missed,
        "wrong_partner": wrong,
        "start_median_ms": float(np.median(start_ms)),
        "start_p90_abs_ms": float(np.percentile(np.abs(start_ms), 90)),
        "end_median_ms": float(np.median(end_ms)),
        "end_p90_abs_ms": float(np.percentile(np.abs(end_ms), 90)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()

    speed = demo_speed(args.minutes)
    print(
        f"demo: {speed['simulated_min']:.1f} simulated minutes in {speed['wall_s']:.1f} s "
        f"wall = {speed['speed_x']:.0f}x real time (target >= 60x), "
        f"{speed['cpu_s']:.1f} s CPU = {speed['cpu_speed_x']:.0f}x, "
        f"peak memory {speed['peak_mb']:.0f} MB (target <= 120 MB), "
        f"load average {speed['load_1min']:.2f} at the start"
    )
    for microphones in (2, 1):
        figures = timing_errors(list(range(1, args.seeds + 1)), microphones)
        print(
            f"turn timing, {microphones} microphone{'s' if microphones == 2 else ''}: "
            f"{figures['segments']} clean segments, {figures['missed']} missed, "
            f"{figures['wrong_partner']} attributed to the wrong partner; "
            f"start median {figures['start_median_ms']:+.0f} ms, "
            f"p90 |err| {figures['start_p90_abs_ms']:.0f} ms; "
            f"end median {figures['end_median_ms']:+.0f} ms, "
            f"p90 |err| {figures['end_p90_abs_ms']:.0f} ms (target: median within 50 ms)"
        )


if __name__ == "__main__":
    main()
