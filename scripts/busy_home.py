"""A busy home around a live session: another program's notification sounds, and stalls.

``BusyHome`` runs one helper process next to the session. Every 5-10 s it plays a
short two-tone sound into the room's sink through ``paplay``, as a phone or a desktop
notification does (a second client of the sound server starting and stopping), and
every ``stall_every_s`` it stops the session's process for ``stall_ms`` (SIGSTOP, then
SIGCONT), as a starved machine stops it: PortAudio's threads stop with it, so the
speakers run dry and the microphone's audio waits in the sound server. What it did is
read back when it stops: how many sounds, how many stalls and how long they really were.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

NOTIFY_RATE_HZ = 44_100
"""Neither room's rate: the sound server resamples it, as it does a phone's sound."""

_HELPER = r"""
import json, os, signal, subprocess, sys, time
pid, sink, wav = int(sys.argv[1]), sys.argv[2], sys.argv[3]
stall_every_s, stall_s = float(sys.argv[4]), float(sys.argv[5])
def stop(*_):
    raise SystemExit(0)
signal.signal(signal.SIGTERM, stop)
start = time.monotonic()
gaps = [5.0, 8.0, 6.0, 10.0, 7.0, 9.0]
next_sound = start + 3.0
next_stall = start + stall_every_s if stall_every_s > 0 else float("inf")
players = []
sounds = 0
try:
    while True:
        now = time.monotonic()
        if now >= next_sound:
            players.append(subprocess.Popen(["paplay", f"--device={sink}", wav]))
            sounds += 1
            next_sound = now + gaps[sounds % len(gaps)]
            print(json.dumps({"sound": now - start}), flush=True)
        if now >= next_stall:
            os.kill(pid, signal.SIGSTOP)
            try:
                time.sleep(stall_s)
            finally:
                os.kill(pid, signal.SIGCONT)
            print(json.dumps({"stall": time.monotonic() - now}), flush=True)
            next_stall = now + stall_every_s
        players = [p for p in players if p.poll() is None]
        time.sleep(max(0.0, min(next_sound, next_stall) - time.monotonic()))
finally:
    # Never leave the session stopped, whatever ended this.
    os.kill(pid, signal.SIGCONT)
    for p in players:
        p.wait()
"""


def notification_wav(path: Path) -> Path:
    """A 0.25 s two-tone chime at -18 dBFS, stereo, written as a WAV file."""
    t_s = np.arange(round(0.25 * NOTIFY_RATE_HZ)) / NOTIFY_RATE_HZ
    tone = np.where(t_s < 0.12, np.sin(2 * np.pi * 1318.5 * t_s), np.sin(2 * np.pi * 987.8 * t_s))
    fade = np.minimum(1.0, np.minimum(t_s, t_s[-1] - t_s) / 0.01)
    mono = (0.125 * 32767 * tone * fade).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(NOTIFY_RATE_HZ)
        out.writeframes(np.repeat(mono, 2).tobytes())
    return path


@dataclass
class BusyHome:
    """Notification sounds into ``sink`` and stalls of this process while entered."""

    sink: str
    workdir: Path
    stall_every_s: float = 4.0
    """0: no stalls, sounds only."""
    stall_ms: float = 150.0
    sounds: int = 0
    stalls_s: tuple[float, ...] = ()
    """How long each stall really was (the helper's clock)."""
    _process: subprocess.Popen[str] | None = None

    def __enter__(self) -> BusyHome:
        wav = notification_wav(self.workdir / "notification.wav")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _HELPER,
                str(os.getpid()),
                self.sink,
                str(wav),
                str(self.stall_every_s),
                str(self.stall_ms / 1000),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        out, _ = process.communicate()
        stalls = []
        for line in out.splitlines():
            record = json.loads(line)
            self.sounds += "sound" in record
            if "stall" in record:
                stalls.append(float(record["stall"]))
        self.stalls_s = tuple(stalls)


def describe_busy_home(figures: dict[str, Any]) -> str:
    """The busy home's lines of scripts/bench-live's figures."""
    wall_s, session_s = figures["wall_s"], figures["session_s"]
    drift = (wall_s / session_s - 1) * 100 if session_s else 0.0
    return (
        f"busy home\n  sink {figures['sink']}: {figures['notification_sounds']} notification "
        f"sounds from another client, {figures['stalls']} stalls of this process "
        f"({figures['stalled_s']:.2f} s in all)\n"
        f"  after the first 2 s: wall {wall_s:.2f} s, session {session_s:.2f} s "
        f"({drift:+.1f}%), audio lost {figures['lost_audio_s']:.2f} s; sound-library lines "
        f"on the terminal: {figures['terminal_lines']}"
    )
