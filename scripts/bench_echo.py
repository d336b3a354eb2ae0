"""Echo-cancellation figures: echo removed, prompt time taken for speech, speech over prompts.

    .venv/bin/python scripts/bench_echo.py              # three echo paths, 10 min of prompts
    .venv/bin/python scripts/bench_echo.py --minutes 2  # shorter

The simulated room (one microphone, its noise, the speaker's high-pass, a delay and
reverberation) plays the coach's prompts, with real espeak-ng speech, through the same
listener a session uses (echo canceller, fallback gate, speech detector):

- echo removed: the echo's level in the microphone against what the canceller left,
  in the first 1.5 s of prompt audio and after (and after, by the linear filter alone,
  whose output the detector hears where the partners are heard), with the room's noise
  taken away;
- prompt time counted as speech, with nobody talking, scaled to 10 minutes of prompts;
- partner speech played over prompts: the share of its duration found as speech, the
  speech found beyond it (the echo taken for its continuation, per line), and how late
  its start was found (first onset against the line's first sample);
- fallback gating: prompts during which the echo left was too loud, and the time gated;
- "pause" and "stop" said over a prompt, in six espeak-ng voices the generated test
  model never heard: how many were heard as that command;
- the canceller's CPU time over the audio's time.

Each room starts with 2 s of quiet (the canceller learns the room's noise from it) and
its first 4 s of prompt audio are gated while the canceller converges.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from attune_voice.audio.echo_canceller import EchoCanceller, EchoRemoved, echo_removed
from attune_voice.audio.frames import SAMPLE_RATE_HZ, Pcm
from attune_voice.config import RoomConfig
from attune_voice.listening.asr import CommandParser, Recognizer, SpeechModel
from attune_voice.listening.listener import Listener, Understanding
from attune_voice.listening.subframes import subframe_dbfs
from attune_voice.session.ports import Command, EngineInput, SpeechOnset, SpeechSegment
from attune_voice.simulated.partners import VOICES, PartnerVoice
from attune_voice.simulated.room import SimulatedRoom
from attune_voice.voice.tts import SpeechRenderer

PROMPTS = (
    "Welcome. Today you will take turns to speak and to listen. Take a breath first.",
    "Sam, the floor is yours. Say how you feel about it, a short piece at a time.",
    "Alex, say back what you heard, in your own words.",
    "One minute left. Finish your thought when you are ready.",
    "Did Alex get it right? Say yes, or not quite.",
    "Is there more you would like to say about this?",
    "Thank you both. Now swap: Alex, the floor is yours when you are ready.",
    "Let us take a moment. Breathe in slowly, and breathe out slowly.",
)
LINES = (
    "I think I was just tired that evening.",
    "Sorry, can I say something here?",
    "Wait, that is not what I meant at all.",
    "Yes, I know, I know.",
    "Hang on a second, I want to add one thing to that.",
)
PATHS = ((80.0, -60.0, 5), (80.0, -6.0, 1), (150.0, -10.0, 2), (250.0, -14.0, 3), (600.0, -10.0, 4))
"""(echo delay ms, echo level dB, seed): the echo paths measured."""
GAP_S = (0.8, 2.5)


@dataclass
class RunFigures:
    prompt_s: float
    speech_found_s: float
    fallbacks: int
    gated_s: float
    cpu_share: float
    over_s: float = 0.0
    over_found_s: float = 0.0
    starts_ms: tuple[float, ...] = ()


class TimedCanceller(EchoCanceller):
    """The listener's canceller, with the CPU time it takes."""

    cpu_s = 0.0

    def process(self, heard: Pcm, played: Pcm, speaking: bool = False) -> Pcm:
        started = time.process_time()
        out = super().process(heard, played, speaking)
        self.cpu_s += time.process_time() - started
        return out


def _audible_s(pcm: Pcm) -> float:
    """Where a line's sound starts: its first 10 ms within 40 dB of its loudest."""
    levels = subframe_dbfs(pcm)
    return float(np.argmax(levels >= levels.max() - 40.0)) * 0.01


def run(
    renderer: SpeechRenderer,
    delay_ms: float,
    echo_db: float,
    seed: int,
    minutes: float,
    over: bool,
    noise_dbfs: float = -52.0,
) -> RunFigures:
    """Prompts for ``minutes`` in one room; partner lines over some of them if ``over``."""
    config = RoomConfig(
        seed=seed, microphones=1, echo_delay_ms=delay_ms, echo_db=echo_db, noise_dbfs=noise_dbfs
    )
    rng = np.random.default_rng(seed)
    prompts = [renderer.render(text) for text in PROMPTS]
    voice, rate = VOICES["A"]
    lines = [renderer.render(text, voice, rate) for text in LINES]
    leads_s: list[float] = []
    empty = {"A": PartnerVoice({}), "B": PartnerVoice({})}
    room = SimulatedRoom(empty, config, max_seconds=minutes * 60.0 * 1.6 + 10.0)
    listener = Listener(1, hear_through=True)
    canceller = TimedCanceller(1)
    listener._canceller = canceller

    onsets: list[float] = []
    segments: list[tuple[float, float]] = []
    prompt_s = 0.0
    next_prompt_t = 2.0
    order = 0
    for frame in room.frames():
        if room.queued_s() <= 0.0 and frame.t >= next_prompt_t and prompt_s < minutes * 60:
            pcm = prompts[order % len(prompts)]
            order += 1
            room.play(pcm, None)
            length_s = len(pcm) / SAMPLE_RATE_HZ
            prompt_s += length_s
            next_prompt_t = frame.end_t + length_s + float(rng.uniform(*GAP_S))
            if over and order % 2 == 0:
                line = lines[int(rng.integers(len(lines)))]
                at_s = float(rng.uniform(0.3, max(0.4, length_s - len(line) / SAMPLE_RATE_HZ)))
                room.speak_at("A", line, frame.start_sample + round(at_s * SAMPLE_RATE_HZ))
                leads_s.append(_audible_s(line))
        elif prompt_s >= minutes * 60 and room.queued_s() <= 0.0 and frame.t > next_prompt_t:
            break
        for inp in listener.feed(frame):
            if isinstance(inp, SpeechOnset):
                onsets.append(inp.t)
            elif isinstance(inp, SpeechSegment):
                segments.append((inp.start_t, inp.end_t))
    segments += [
        (s.start_t, s.end_t)
        for s in listener.flush(room.queued_s())
        if isinstance(s, SpeechSegment)
    ]
    audio_s = room._sample / SAMPLE_RATE_HZ
    figures = RunFigures(
        prompt_s=prompt_s,
        speech_found_s=sum(b - a for a, b in segments),
        fallbacks=listener.echo.fallbacks,
        gated_s=listener.echo.gated_s,
        cpu_share=canceller.cpu_s / audio_s,
    )
    if over:
        truth = [(t.start_t, t.end_t) for t in room.truth]
        figures.over_s = sum(b - a for a, b in truth)
        figures.over_found_s = sum(
            max(0.0, min(b, d) - max(a, c)) for a, b in truth for c, d in segments
        )
        starts = []
        for (a, b), lead_s in zip(truth, leads_s, strict=True):
            found = [t for t in onsets if a - 0.3 <= t <= b]
            starts.append((min(found) - a - lead_s) * 1000.0 if found else float("nan"))
        figures.starts_ms = tuple(starts)
    return figures


def removed(renderer: SpeechRenderer, delay_ms: float, echo_db: float, seed: int) -> EchoRemoved:
    """Echo in the microphone against what the canceller left, first 1.5 s and after,
    in a room with no noise (so that the room's noise does not bound the figure)."""
    config = RoomConfig(
        seed=seed, microphones=1, echo_delay_ms=delay_ms, echo_db=echo_db, noise_dbfs=-140.0
    )
    empty = {"A": PartnerVoice({}), "B": PartnerVoice({})}
    room = SimulatedRoom(empty, config, max_seconds=60.0)
    for text in PROMPTS:
        room.play(renderer.render(text), None)
    return echo_removed(room.frames(), EchoCanceller(1))


def commands_heard(
    renderer: SpeechRenderer,
    model: SpeechModel,
    voices: tuple[tuple[str, int], ...],
    delay_ms: float,
    echo_db: float,
    seed: int,
) -> tuple[int, int]:
    """ "pause" and "stop" over the middle of a prompt 10 s into the prompts, each voice."""
    prompts = [renderer.render(text) for text in PROMPTS[:4]]
    heard = said = 0
    empty = {"A": PartnerVoice({}), "B": PartnerVoice({})}
    for voice, rate in voices:
        for word in ("pause", "stop"):
            config = RoomConfig(seed=seed, microphones=1, echo_delay_ms=delay_ms, echo_db=echo_db)
            room = SimulatedRoom(empty, config, max_seconds=40.0)
            parser = CommandParser(())
            recognizer = Recognizer(model, parser.phrases)
            listener = Listener(
                1, understanding=Understanding(recognizer, parser), hear_through=True
            )
            inputs: list[EngineInput] = []
            at = 0
            for frame in room.frames():
                if frame.start_sample == 2 * SAMPLE_RATE_HZ:
                    for pcm in prompts:
                        room.play(pcm, None)
                    at = (
                        frame.start_sample + sum(len(p) for p in prompts[:3]) + len(prompts[3]) // 2
                    )
                    room.speak_at("A", renderer.render(word, voice, rate), at)
                inputs += listener.feed(frame)
                if at and room.queued_s() <= 0.0 and not frame.playing:
                    break
            inputs += listener.flush(room.queued_s())
            words = [i.word.value for i in inputs if isinstance(i, Command)]
            said += 1
            heard += words == [word]
    return heard, said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="prompt time per echo path")
    args = parser.parse_args()
    renderer = SpeechRenderer()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    # The voices the generated test model never heard, as the recognition benchmark uses.
    from bench_asr import VOICES as COMMAND_VOICES
    from bench_asr import model_path

    model = SpeechModel(model_path(None))
    print("echo cancellation (simulated room, one microphone, espeak-ng prompts)")
    print(
        f"{'delay':>6} {'echo':>5} {'removed 1st 1.5 s':>17} {'after':>6} {'linear':>8} "
        f"{'speech in prompts /10 min':>25} {'fallbacks':>9} {'gated':>7} "
        f"{'over: timed':>11} {'beyond/line':>11} {'start median/max':>17} {'commands':>8} "
        f"{'CPU':>6}"
    )
    for delay_ms, echo_db, seed in PATHS:
        echo = removed(renderer, delay_ms, echo_db, seed)
        quiet = run(renderer, delay_ms, echo_db, seed, args.minutes, over=False)
        over = run(renderer, delay_ms, echo_db, seed, args.minutes / 2, over=True)
        heard, said = commands_heard(renderer, model, COMMAND_VOICES, delay_ms, echo_db, seed)
        per_10 = quiet.speech_found_s * 600.0 / max(quiet.prompt_s, 1e-9)
        starts = np.array(over.starts_ms)
        found = starts[np.isfinite(starts)]
        print(
            f"{delay_ms:4.0f}ms {echo_db:4.0f}dB {echo.first_db:15.1f}dB {echo.later_db:4.1f}dB "
            f"{echo.linear_db:6.1f}dB "
            f"{per_10:21.2f} s   {quiet.fallbacks + over.fallbacks:9d} "
            f"{quiet.gated_s + over.gated_s:5.1f} s "
            f"{100 * over.over_found_s / max(over.over_s, 1e-9):10.1f}% "
            f"{(over.speech_found_s - over.over_found_s) / max(starts.size, 1):9.2f} s "
            f"{np.median(found) if found.size else float('nan'):7.0f}/"
            f"{found.max() if found.size else float('nan'):.0f} ms "
            f"({found.size}/{starts.size}) {heard:3d} of {said:2d} {100 * quiet.cpu_share:5.2f}%"
        )


if __name__ == "__main__":
    main()
