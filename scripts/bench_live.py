"""Live latency figures on a real duplex stream: prompt start, end-of-speech event, echo.

Run it through scripts/bench-live, which starts a private PulseAudio server whose null
sink is the room (its monitor is the microphone). Each round, the coach says a prompt
through ``DeviceAudio``; once its echo has gone, a second process (pacat) plays a
partner's sentence into the same sink, and the session's own ``Listener`` turns what the
microphone hears into speech segments, as in a session. Times come from the stream's
callbacks (``DeviceAudio.timing``) and the reader; the figures are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from attune_voice.audio.device import DeviceAudio, DeviceStats
from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ
from attune_voice.config import DetectorConfig
from attune_voice.engine import SpeechSegment
from attune_voice.session import Listener
from attune_voice.voice import SpeechRenderer

SINK = "attune_room"
PROMPTS = (
    "Sam, you have the floor. What was the best part of your week?",
    "Alex, your turn now. Take your time.",
    "Thank you. Sam, what did you hear Alex say?",
    "Alex, did Sam get it right? Say yes, or not quite.",
)
PARTNER_VOICE = ("gmw/en-us+m3", 168)
SENTENCES = (
    "The best part of my week was the walk by the river.",
    "I liked the dinner with my sister on Friday.",
    "You said the walk by the river was the best part.",
    "Yes, that is right, thank you.",
)
REACTION_FRAMES = 40
"""A partner starts 0.8 s after the prompt's echo has gone."""
QUIET_FRAMES = 75
"""1.5 s of quiet after a partner's sentence before the next prompt."""
PROMPT_START_TARGET_MS = 100.0
EVENT_MARGIN_TARGET_MS = 40.0


@dataclass
class Round:
    prompt: int
    say_s: float
    """perf_counter when the prompt was asked for, before it was rendered."""
    play_s: float = 0.0
    """perf_counter when play() was called."""
    position: int = 0
    """Playback position where the prompt starts."""
    handed_s: float | None = None
    """perf_counter of the callback that sent its first sample out."""
    heard_sample: int | None = None
    """Session sample where its first sample came back into the microphone."""
    gated: bool = False
    partner_frame: int | None = None
    """Frame at which the partner's pacat was started."""
    partner: subprocess.Popen[bytes] | None = None
    quiet: int = 0
    segments: list[tuple[SpeechSegment, float]] = field(default_factory=list)
    """The listener's speech segments with the perf_counter time they came out."""


def run(rounds: int, latency: float | str) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="attune-bench-live-"))
    config = DetectorConfig()
    arrived_s: list[float] = []
    heard: list[np.ndarray] = []
    done: list[Round] = []
    prompt_speech_s = 0.0
    with SpeechRenderer() as renderer:
        sentences = []
        for number, text in enumerate(SENTENCES):
            pcm = renderer.render(text, *PARTNER_VOICE)
            path = workdir / f"partner-{number}.raw"
            path.write_bytes(pcm.astype("<i2").tobytes())
            sentences.append((path, pcm))
        audio = DeviceAudio(latency=latency)
        listener = Listener(audio.channels, config)
        current: Round | None = None
        try:
            for number, frame in enumerate(audio.frames()):
                timing = audio.timing(frame.start_sample)
                assert timing is not None
                arrived_s.append(timing[0])
                heard.append(frame.pcm[0])
                if current is None:
                    if len(done) == rounds:
                        break
                    current = _say(audio, renderer, len(done))
                _follow_prompt(current, frame.start_sample, frame.pcm[0], timing, frame.playing)
                emitted_s = time.perf_counter()
                for heard_input in listener.feed(frame):
                    if isinstance(heard_input, SpeechSegment):
                        if current.partner is None:
                            prompt_speech_s += heard_input.end_t - heard_input.start_t
                        else:
                            current.segments.append((heard_input, emitted_s))
                if _step(current, number, sentences[len(done) % len(sentences)][0]):
                    done.append(current)
                    current = None
            stats = audio.stats()
        finally:
            audio.close()
            for finished in [*done, *([current] if current else [])]:
                if finished.partner is not None:
                    finished.partner.wait()
    recording = np.concatenate(heard).astype(np.float64)
    return _figures(done, recording, sentences, arrived_s, stats, prompt_speech_s, config, latency)


def _say(audio: DeviceAudio, renderer: SpeechRenderer, number: int) -> Round:
    item = Round(prompt=number % len(PROMPTS), say_s=time.perf_counter())
    # Rendered afresh each time, as prompts are whose words depend on the moment.
    renderer.close()
    pcm = renderer.render(PROMPTS[item.prompt])
    item.position = audio.play_position()
    item.play_s = time.perf_counter()
    audio.play(pcm)
    return item


def _follow_prompt(
    item: Round, start: int, pcm: np.ndarray, timing: tuple[float, int, int], playing: bool
) -> None:
    arrived, position, taken = timing
    if item.handed_s is None and taken and position <= item.position < position + taken:
        item.handed_s = arrived
    if item.handed_s is not None and item.heard_sample is None:
        # The room is digital silence but for what is played into it.
        sound = np.flatnonzero(pcm != 0)
        if sound.size:
            item.heard_sample = start + int(sound[0])
    item.gated = item.gated or playing
    if item.gated and not playing and item.partner_frame is None:
        item.partner_frame = -1  # the echo has gone; the partner will answer


def _step(item: Round, number: int, sentence: Path) -> bool:
    """Move the round on after frame ``number``; True once it is over."""
    if item.partner_frame == -1:
        item.partner_frame = number + REACTION_FRAMES
    if item.partner is None:
        if item.partner_frame is not None and number >= item.partner_frame:
            item.partner = subprocess.Popen(
                [
                    "pacat",
                    f"--device={SINK}",
                    "--raw",
                    "--format=s16le",
                    f"--rate={SAMPLE_RATE_HZ}",
                    "--channels=1",
                    str(sentence),
                ]
            )
        return False
    if item.partner.poll() is None:
        return False
    item.quiet += 1
    return item.quiet >= QUIET_FRAMES


def _captured_s(arrived_s: list[float], sample: int) -> float:
    """When session ``sample`` was taken in, as near as the callbacks tell: its block
    arrived at ``arrived_s``, and it is (block length - its place) older than that."""
    block = sample // FRAME_SAMPLES
    return arrived_s[block] - (FRAME_SAMPLES - sample % FRAME_SAMPLES) / SAMPLE_RATE_HZ


def _locate(recording: np.ndarray, pcm: np.ndarray, from_frame: int) -> tuple[int, int]:
    """Where the partner's sentence is in what the microphone heard (session samples)."""
    first = from_frame * FRAME_SAMPLES
    region = recording[first : first + pcm.shape[0] + 3 * SAMPLE_RATE_HZ]
    template = pcm.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(region.shape[0] + template.shape[0])))
    products = np.fft.irfft(np.fft.rfft(region, size) * np.conj(np.fft.rfft(template, size)), size)
    at = first + int(np.argmax(products[: region.shape[0] - template.shape[0] + 1]))
    return at, at + pcm.shape[0]


def _figures(
    done: list[Round],
    recording: np.ndarray,
    sentences: list[tuple[Path, np.ndarray]],
    arrived_s: list[float],
    stats: DeviceStats,
    prompt_speech_s: float,
    config: DetectorConfig,
    latency: float | str,
) -> dict[str, Any]:
    render_ms, handed_ms, heard_ms = [], [], []
    event_ms, detected_event_ms, start_err_ms, end_err_ms = [], [], [], []
    for number, item in enumerate(done):
        render_ms.append((item.play_s - item.say_s) * 1000)
        if item.handed_s is not None:
            handed_ms.append((item.handed_s - item.play_s) * 1000)
        if item.heard_sample is not None:
            heard_ms.append((_captured_s(arrived_s, item.heard_sample) - item.play_s) * 1000)
        if item.partner_frame is None or not item.segments:
            continue
        start, end = _locate(recording, sentences[number % len(sentences)][1], item.partner_frame)
        first, last = item.segments[0][0], item.segments[-1][0]
        start_err_ms.append((first.start_t * SAMPLE_RATE_HZ - start) / 16)
        end_err_ms.append((last.end_t * SAMPLE_RATE_HZ - end) / 16)
        emitted_s = item.segments[-1][1]
        event_ms.append((emitted_s - _captured_s(arrived_s, end)) * 1000)
        detected_end = round(last.end_t * SAMPLE_RATE_HZ)
        detected_event_ms.append((emitted_s - _captured_s(arrived_s, detected_end)) * 1000)
    gaps_ms = np.diff(np.array(arrived_s)) * 1000 if len(arrived_s) > 1 else np.zeros(1)
    return {
        "latency_setting": latency,
        "rounds": len(done),
        "render_ms": render_ms,
        "play_to_output_ms": handed_ms,
        "play_to_heard_ms": heard_ms,
        "speech_end_to_event_ms": event_ms,
        "detected_end_to_event_ms": detected_event_ms,
        "hangover_ms": config.merge_gap_s * 1000,
        "segment_start_error_ms": start_err_ms,
        "segment_end_error_ms": end_err_ms,
        "prompt_speech_s": prompt_speech_s,
        "longest_callback_gap_ms": float(gaps_ms.max()),
        "stats": asdict(stats),
    }


def _spread(values: list[float]) -> str:
    if not values:
        return "none measured"
    array = np.array(values)
    return (
        f"median {np.median(array):6.0f} ms   95% {np.percentile(array, 95):6.0f} ms   "
        f"max {array.max():6.0f} ms   (n={array.size})"
    )


def _print(figures: dict[str, Any]) -> None:
    stats = figures["stats"]
    echo = stats["echo"] or {}
    hangover_ms = figures["hangover_ms"]
    latency_in_ms, latency_out_ms = (x * 1000 for x in stats["latency_s"])
    print(
        f"attune-voice live figures: PulseAudio null sink, stream latency setting "
        f"{figures['latency_setting']}, {figures['rounds']} rounds"
    )
    print("prompt start")
    print(f"  say -> play() (espeak-ng render)    {_spread(figures['render_ms'])}")
    print(f"  play() -> first sample sent out     {_spread(figures['play_to_output_ms'])}")
    print(f"  play() -> first sample heard back   {_spread(figures['play_to_heard_ms'])}")
    print(
        f"  (target: audio starts within {PROMPT_START_TARGET_MS:.0f} ms of the decision; "
        f"stream reports {latency_out_ms:.0f} ms out, {latency_in_ms:.0f} ms in)"
    )
    print("end of speech")
    print(f"  speech end -> segment event         {_spread(figures['speech_end_to_event_ms'])}")
    print(f"  detected end -> segment event       {_spread(figures['detected_end_to_event_ms'])}")
    print(
        f"  (target: within the hang-over {hangover_ms:.0f} ms + {EVENT_MARGIN_TARGET_MS:.0f} ms "
        f"= {hangover_ms + EVENT_MARGIN_TARGET_MS:.0f} ms)"
    )
    print(f"  turn start vs played speech         {_spread(figures['segment_start_error_ms'])}")
    print(f"  turn end vs played speech           {_spread(figures['segment_end_error_ms'])}")
    delay = echo.get("delay_ms")
    print("echo")
    if delay is None:
        print("  not heard")
    else:
        leak = echo["leak_db"]
        print(
            f"  delay {echo['delay_min_ms']:.0f}-{echo['delay_max_ms']:.0f} ms (last {delay:.0f}), "
            f"gain {echo['gain_db']:.1f} dB, {echo['measurements']} measurements"
        )
        print(
            "  leaked past the gate: "
            + ("none" if leak is None else f"{leak:.1f} dB of the echo, {echo['leaked_ms']:.0f} ms")
        )
    print(f"  prompts taken for speech: {figures['prompt_speech_s']:.2f} s")
    print("stream")
    print(
        f"  callbacks {stats['callbacks']}, worst callback {stats['worst_callback_ms']:.2f} ms, "
        f"longest gap between callbacks {figures['longest_callback_gap_ms']:.0f} ms"
    )
    print(
        f"  input overflows {stats['overflows']}, output underflows {stats['underflows']}, "
        f"dropped frames {stats['dropped_frames']}, restarts {stats['restarts']}, "
        f"alsa-lib messages {stats['alsa_messages']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="Prompt-and-answer rounds.")
    parser.add_argument("--latency", default="0.1", help="PortAudio latency: seconds, low or high.")
    parser.add_argument("--json", action="store_true", help="Print the raw figures as JSON.")
    args = parser.parse_args()
    latency: float | str = args.latency
    with contextlib.suppress(ValueError):
        latency = float(args.latency)
    figures = run(args.rounds, latency)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        _print(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
