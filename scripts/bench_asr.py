"""Speech-recognition figures: real-time factor on one core, command latency, accuracy.

    .venv/bin/python scripts/bench_asr.py                 # the generated test model
    .venv/bin/python scripts/bench_asr.py --model PATH    # any vosk model folder

Runs pinned to one CPU core (like ``taskset -c 0``). The stream is what a session's
listener is fed: quiet room noise, commands and ordinary sentences in espeak-ng
voices the generated model never heard, frame by frame through the same listener
(speech detector, pause detector, recogniser) a session uses.

- real-time factor: processing time over audio time, for the whole listener and for
  the recogniser alone;
- command latency: from the end of a spoken command to the Command input, on the
  session clock (the pause that ends the utterance) plus the compute time of the frame
  that delivered it (what a live session adds on top);
- accuracy: commands understood, and commands heard in sentences that held none.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from attune_voice.audio.frames import FRAME_SAMPLES, Frame, Pcm
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.events import CommandWord
from attune_voice.listening.asr import (
    COMMAND_PHRASES,
    DEFAULT_HANDOVER_PHRASES,
    CommandParser,
    Recognizer,
    SpeechModel,
    Utterance,
)
from attune_voice.listening.listener import Listener, Understanding
from attune_voice.session.ports import Command
from attune_voice.voice.tts import SpeechRenderer

HERE = Path(__file__).resolve().parent

COMMANDS = {
    **COMMAND_PHRASES,
    **{phrase: CommandWord.HANDOVER for phrase in DEFAULT_HANDOVER_PHRASES},
}
"""Every phrase the coach understands out of the box: the commands and the hand-overs."""
SENTENCES = (
    "I can't stop thinking about it.",
    "When I came home on Tuesday, I felt tired and a bit invisible.",
    "We should pause and think about the weekend.",
    "That is not quite what I meant to say.",
    "I would love it if we could take a short walk after dinner.",
    "Give me a little more time to think.",
)
VOICES = (
    ("gmw/en-us+m3", 165),
    ("gmw/en-gb-x-rp+f4", 175),
    ("gmw/en+Annie", 150),
    ("gmw/en-us+Mike", 190),
    ("gmw/en-gb-scotland+sandro", 160),
    ("gmw/en-us+pablo", 200),
)
"""Voice variants the generated model was not trained on."""


class TimedRecognizer:
    """The real recogniser, with the time spent in it counted."""

    def __init__(self, inner: Recognizer) -> None:
        self.inner = inner
        self.spent_s = 0.0

    def accept(self, pcm: Pcm, t: float) -> list[Utterance]:
        started = time.perf_counter()
        try:
            return self.inner.accept(pcm, t)
        finally:
            self.spent_s += time.perf_counter() - started

    def finish(self) -> list[Utterance]:
        started = time.perf_counter()
        try:
            return self.inner.finish()
        finally:
            self.spent_s += time.perf_counter() - started


def stream(
    renderer: SpeechRenderer, rng: np.random.Generator, repeats: int
) -> tuple[Pcm, list[tuple[str, float, float]]]:
    """Commands and sentences in every voice, 0.8-2 s apart, in -55 dBFS noise."""
    pieces: list[np.ndarray] = []
    truth: list[tuple[str, float, float]] = []
    position = 0

    def quiet(seconds: float) -> None:
        nonlocal position
        n = int(seconds * SAMPLE_RATE_HZ)
        pieces.append(rng.standard_normal(n) * 10 ** (-55 / 20) * 32768)
        position += n

    quiet(1.0)
    for _ in range(repeats):
        for voice in VOICES:
            texts = [*COMMANDS, *SENTENCES]
            for index in rng.permutation(len(texts)):
                text = texts[int(index)]
                speech = renderer.render(text, *voice).astype(np.float64)
                speech *= 10 ** (-24 / 20) * 32768 / max(float(np.sqrt(np.mean(speech**2))), 1)
                # A microphone never hears digital silence: the room's noise runs on.
                speech += rng.standard_normal(len(speech)) * 10 ** (-55 / 20) * 32768
                pieces.append(speech)
                end = position + len(speech)
                truth.append((text, position / SAMPLE_RATE_HZ, end / SAMPLE_RATE_HZ))
                position += len(speech)
                quiet(float(rng.uniform(0.8, 2.0)))
    pcm = np.clip(np.concatenate(pieces), -32768, 32767).astype(np.int16)
    return pcm, truth


def model_path(given: Path | None) -> Path:
    if given is not None:
        return given
    sys.path.insert(0, str(HERE))
    import make_test_model

    folder: Path = make_test_model.cached_model_dir()
    if not (folder / make_test_model.INFO_FILE).is_file():
        print(f"building the test model in {folder} (a few minutes)", flush=True)
        subprocess.run([sys.executable, str(HERE / "make_test_model.py"), str(folder)], check=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a vosk model folder")
    parser.add_argument("--repeats", type=int, default=2, help="passes over every phrase")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = model_path(args.model)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    with SpeechRenderer() as renderer:
        pcm, truth = stream(renderer, np.random.default_rng(args.seed), args.repeats)
    audio_s = len(pcm) / SAMPLE_RATE_HZ
    model = SpeechModel(folder)
    phrases = CommandParser()
    recognizer = TimedRecognizer(Recognizer(model, phrases.phrases))
    understanding = Understanding(recognizer, phrases)
    listener = Listener(1, understanding=understanding)

    found: list[tuple[Command, float]] = []
    started = time.perf_counter()
    for start in range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        frame_started = time.perf_counter()
        inputs = listener.feed(Frame(pcm[np.newaxis, start : start + FRAME_SAMPLES], start))
        frame_s = time.perf_counter() - frame_started
        found.extend((i, frame_s) for i in inputs if isinstance(i, Command))
    total_s = time.perf_counter() - started

    said = [(text, a, b) for text, a, b in truth if text in COMMANDS]
    latencies: list[float] = []
    compute_ms: list[float] = []
    for text, _, end_t in said:
        near = [(c, s) for c, s in found if end_t <= c.t <= end_t + 0.6]
        if len(near) == 1 and near[0][0].word is COMMANDS[text]:
            latencies.append(near[0][0].t - end_t)
            compute_ms.append(near[0][1] * 1000)
    sentences = [(a, b) for text, a, b in truth if text not in COMMANDS]
    false = sum(1 for c, _ in found if any(a <= c.t <= b + 0.6 for a, b in sentences))
    total_latency = np.array(latencies) + np.array(compute_ms) / 1000

    print(f"model: {folder}")
    size_mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    print(f"  {size_mb:.1f} MB on disk; runtime grammar: {model.supports_grammar}")
    print(f"audio: {audio_s:.0f} s, {len(said)} commands and {len(sentences)} sentences")
    print(f"  in {len(VOICES)} voices the generated model never heard; one core")
    print(f"real-time factor, whole listener: {total_s / audio_s:.3f}")
    print(f"real-time factor, recogniser alone: {recognizer.spent_s / audio_s:.3f}")
    print(
        f"commands understood: {len(latencies)}/{len(said)} "
        f"({100 * len(latencies) / max(len(said), 1):.0f}%)"
    )
    print(f"commands heard in sentences without one: {false} of {len(sentences)}")
    if latencies:
        session = np.array(latencies) * 1000
        print(
            "latency, end of phrase to Command input (session clock): "
            f"median {np.median(session):.0f} ms, 90% {np.percentile(session, 90):.0f} ms, "
            f"max {session.max():.0f} ms"
        )
        print(
            "compute of the frame that delivered it: "
            f"median {np.median(compute_ms):.1f} ms, max {max(compute_ms):.1f} ms"
        )
        print(
            "latency a live session sees (both): "
            f"median {np.median(total_latency) * 1000:.0f} ms, "
            f"max {total_latency.max() * 1000:.0f} ms (target <= 300 ms)"
        )
    if args.model is None:
        print(
            "note: the generated test model is tiny (a few dozen whole-word states); the "
            "published vosk-model-small-en-us-0.15 is heavier and could not be measured "
            "here, where it cannot be downloaded"
        )


if __name__ == "__main__":
    main()
