"""Speech over the coach's prompts in the live bench (``bench-live --hear-through``).

The session's listener hears through the prompts (``Listener(hear_through=True)``), and a
partner says a short line over every other floor prompt, from partway into it, as a
second process (pacat) into the room's sink. Where each partner sentence is in the
room's recording (``locate``) and which speech segments are its own (``near``) are the
rules the bench's other figures use too. The figures: prompt time taken as speech with
no partner talking (per 10 minutes of prompts), the share of each line over a prompt
found as speech and how late its start was found (as ``scripts/bench_echo.py`` counts
them, on the live recording), the times the microphone was closed for echo, and the
canceller's CPU time over the session's wall time.

Over the other floor prompts but the first (heard while the canceller converges) a
partner says "pause" or "stop", in turn, in the six voices the generated test model was
not trained on (``bench_asr.VOICES``); the listener recognises them with that model, as
``scripts/bench_echo.py`` does offline. The figures: how many were heard as what was
said, and the commands heard that nobody said. The bench keeps the commands from the
engine, so the session goes on as planned.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from bench_asr import VOICES as COMMAND_VOICES
from bench_echo import LINES, _audible_s

from attune_voice.audio.echo_canceller import EchoCanceller
from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, Pcm
from attune_voice.listening.listener import EchoFigures
from attune_voice.voice.tts import SpeechRenderer

PARTNER_MARGIN_S = 0.3
"""A speech segment this close to a partner's sentence is theirs."""
OVER_EVERY = 2
"""A line is said over every second floor prompt: the first is heard while the
canceller still converges (gated), and the others show the prompts' echo alone."""
OVER_INTO_S = (0.6, 1.0, 1.4)
"""How far into a floor prompt's echo each line starts, in turn."""
OVER_EARLIEST_S = 0.5
"""No line starts sooner: the canceller judges the echo afresh over a prompt's first
0.4 s after a quiet, with the microphone closed."""
OVER_BEFORE_END_S = 0.3
"""A line ends at least this long before its prompt, so it never overlaps the floor's
own sentence (said 0.8 s after the prompt ends)."""
BIN_S = 0.01
COMMANDS = ("pause", "stop")
COMMAND_HEARD_WITHIN_S = 2.0
"""A command counts as heard when the listener gives it from its first sound to this
long after its end (it comes once the speech has ended)."""


def locate(recording: np.ndarray, pcm: np.ndarray, from_frame: int) -> tuple[int, int]:
    """Where the partner's sentence is in what the microphone heard (session samples)."""
    first = from_frame * FRAME_SAMPLES
    region = recording[first : first + pcm.shape[0] + 3 * SAMPLE_RATE_HZ]
    template = pcm.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(region.shape[0] + template.shape[0])))
    products = np.fft.irfft(np.fft.rfft(region, size) * np.conj(np.fft.rfft(template, size)), size)
    at = first + int(np.argmax(products[: region.shape[0] - template.shape[0] + 1]))
    return at, at + pcm.shape[0]


def near(start_t: float, end_t: float, span: tuple[int, int]) -> bool:
    """Is speech from ``start_t`` to ``end_t`` (s) a partner's sentence at ``span``
    (session samples), within ``PARTNER_MARGIN_S``?"""
    margin = PARTNER_MARGIN_S * SAMPLE_RATE_HZ
    return end_t * SAMPLE_RATE_HZ > span[0] - margin and start_t * SAMPLE_RATE_HZ < span[1] + margin


class TimedCanceller(EchoCanceller):
    """The listener's canceller, with the time it takes: this thread's CPU time (the
    stream's own threads run meanwhile, so the process's CPU time would count them)."""

    cpu_s = 0.0
    calls = 0

    def process(self, heard: Pcm, played: Pcm, speaking: bool = False) -> Pcm:
        started = time.thread_time()
        out = super().process(heard, played, speaking)
        self.cpu_s += time.thread_time() - started
        self.calls += 1
        return out


class Said(Protocol):
    """A prompt the bench followed (``bench_live.Decision``)."""

    purpose: str
    duration_s: float
    heard_sample: int | None


@dataclass
class OverLine:
    partner: str
    line: int
    prompt: int
    """Its floor prompt's place among the prompts said."""
    started_frame: int
    process: subprocess.Popen[bytes]


@dataclass
class OverCommand:
    word: int
    """Its place in ``COMMANDS``."""
    voice: str
    """Its place in ``COMMAND_VOICES``, as ``commands`` keys it."""
    prompt: int
    started_frame: int
    process: subprocess.Popen[bytes]


def rendered_lines(
    renderer: SpeechRenderer,
    texts: Sequence[str],
    voices: dict[str, tuple[str, int]],
    workdir: Path,
    stem: str,
) -> tuple[dict[str, list[Pcm]], dict[str, list[Path]]]:
    """Each partner's voice saying each text, and the raw files pacat plays them from."""
    lines = {p: [renderer.render(text, *voice) for text in texts] for p, voice in voices.items()}
    paths: dict[str, list[Path]] = {}
    for partner, rendered in lines.items():
        paths[partner] = []
        for number, pcm in enumerate(rendered):
            path = workdir / f"{stem}-{partner}-{number}.raw"
            path.write_bytes(pcm.astype("<i2").tobytes())
            paths[partner].append(path)
    return lines, paths


@dataclass
class OverPrompts:
    """A frame sink: a partner says a line over every ``OVER_EVERY``-th floor prompt, and
    a command over each of the others but the first."""

    prompts: Sequence[Said]
    lines: dict[str, list[Pcm]]
    paths: dict[str, list[Path]]
    commands: dict[str, list[Pcm]]
    """Each of ``COMMAND_VOICES`` (keyed by its place) saying each of ``COMMANDS``."""
    command_paths: dict[str, list[Path]]
    speak: Callable[[Path], subprocess.Popen[bytes]]
    frames: int = 0
    floors: int = 0
    said: list[OverLine] = field(default_factory=list)
    commands_said: list[OverCommand] = field(default_factory=list)
    due: list[tuple[int, str, int, int]] = field(default_factory=list)
    """(frame, partner, line, prompt) still to start."""
    commands_due: list[tuple[int, int, str, int]] = field(default_factory=list)
    """(frame, word, voice, prompt) still to start."""
    _planned: set[int] = field(default_factory=set)

    @classmethod
    def render(
        cls,
        renderer: SpeechRenderer,
        voices: dict[str, tuple[str, int]],
        workdir: Path,
        prompts: Sequence[Said],
        speak: Callable[[Path], subprocess.Popen[bytes]],
    ) -> OverPrompts:
        lines, paths = rendered_lines(renderer, LINES, voices, workdir, "over")
        speakers = {str(number): voice for number, voice in enumerate(COMMAND_VOICES)}
        commands, command_paths = rendered_lines(renderer, COMMANDS, speakers, workdir, "command")
        return cls(prompts, lines, paths, commands, command_paths, speak)

    def __call__(self, frame: Frame) -> None:
        # A prompt's echo is placed once it is heard back (bench_live's Conductor, the
        # sink before this one, finds it); one never played (dropped by a barge-in) is
        # passed over, not waited for.
        for number, said in enumerate(self.prompts):
            if number not in self._planned and said.heard_sample is not None:
                self._planned.add(number)
                self._plan(number)
        for entry in [d for d in self.due if d[0] <= self.frames]:
            self.due.remove(entry)
            _, partner, line, prompt = entry
            process = self.speak(self.paths[partner][line])
            self.said.append(OverLine(partner, line, prompt, self.frames, process))
        for command in [d for d in self.commands_due if d[0] <= self.frames]:
            self.commands_due.remove(command)
            _, word, voice, prompt = command
            process = self.speak(self.command_paths[voice][word])
            self.commands_said.append(OverCommand(word, voice, prompt, self.frames, process))
        self.frames += 1

    def _plan(self, number: int) -> None:
        prompt = self.prompts[number]
        if prompt.purpose != "floor":
            return
        self.floors += 1
        if self.floors % OVER_EVERY:
            if self.floors > 1:
                self._plan_command(number)
            return
        count = len(self.due) + len(self.said)
        partner = "AB"[count % 2]
        line = count % len(LINES)
        line_s = len(self.lines[partner][line]) / SAMPLE_RATE_HZ
        at = self._into(prompt, count, line_s)
        if at is not None:
            self.due.append((at, partner, line, number))

    def _plan_command(self, number: int) -> None:
        count = len(self.commands_due) + len(self.commands_said)
        word = count % len(COMMANDS)
        voice = str(count % len(COMMAND_VOICES))
        word_s = len(self.commands[voice][word]) / SAMPLE_RATE_HZ
        at = self._into(self.prompts[number], count, word_s)
        if at is not None:
            self.commands_due.append((at, word, voice, number))

    def _into(self, prompt: Said, count: int, length_s: float) -> int | None:
        """The frame to start speech of ``length_s`` at over ``prompt``, or None when
        the prompt is too short for it."""
        latest_s = prompt.duration_s - length_s - OVER_BEFORE_END_S
        into_s = min(OVER_INTO_S[count % len(OVER_INTO_S)], latest_s)
        if into_s < OVER_EARLIEST_S:
            return None
        assert prompt.heard_sample is not None
        return prompt.heard_sample // FRAME_SAMPLES + round(into_s * SAMPLE_RATE_HZ / FRAME_SAMPLES)

    def wait(self) -> None:
        for line in self.said:
            line.process.wait()
        for command in self.commands_said:
            command.process.wait()


def _mask(spans: list[tuple[float, float]], bins: int) -> np.ndarray:
    """Which ``BIN_S`` bins the spans (s) cover."""
    mask = np.zeros(bins, dtype=bool)
    for a, b in spans:
        mask[max(0, int(a / BIN_S)) : max(0, int(np.ceil(b / BIN_S)))] = True
    return mask


def through_figures(
    recording: np.ndarray,
    over: OverPrompts,
    partner_spans: list[tuple[int, int]],
    segments: list[tuple[float, float]],
    onsets: list[float],
    commands: list[tuple[float, str]],
    transcripts: list[tuple[float, str]],
    echo: EchoFigures,
    canceller: TimedCanceller | None,
    wall_s: float,
) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """The figures of speech over prompts, and where each line and command over a
    prompt was. ``commands``: (when it was given, its word) for each the listener gave;
    ``transcripts``: the same for every utterance the recogniser heard, with its words."""
    length_s = recording.shape[0] / SAMPLE_RATE_HZ
    heard = [p for p in over.prompts if p.heard_sample is not None]
    starts_s = [(p.heard_sample or 0) / SAMPLE_RATE_HZ for p in heard]
    prompt_spans = [
        (a, min(length_s, a + p.duration_s)) for a, p in zip(starts_s, heard, strict=True)
    ]
    over_spans, timed, starts_ms, beyond_s = [], [], [], []
    for line in over.said:
        pcm = over.lines[line.partner][line.line]
        span = locate(recording, pcm, line.started_frame)
        over_spans.append(span)
        a, b = span[0] / SAMPLE_RATE_HZ, span[1] / SAMPLE_RATE_HZ
        timed.append(sum(max(0.0, min(b, d) - max(a, c)) for c, d in segments) / (b - a))
        # The line's own segments beyond it: the echo after it taken as its continuation.
        own = [(c, d) for c, d in segments if near(c, d, span)]
        beyond_s.append(sum(max(0.0, a - c) + max(0.0, d - b) for c, d in own))
        found = [t for t in onsets if a - PARTNER_MARGIN_S <= t <= b]
        true_start_s = a + _audible_s(pcm)
        starts_ms.append((min(found) - true_start_s) * 1000.0 if found else float("nan"))
    command_spans, heard_as = [], []
    unmatched = list(commands)
    for said in over.commands_said:
        span = locate(recording, over.commands[said.voice][said.word], said.started_frame)
        command_spans.append(span)
        a, b = span[0] / SAMPLE_RATE_HZ, span[1] / SAMPLE_RATE_HZ
        given = [c for c in unmatched if a <= c[0] <= b + COMMAND_HEARD_WITHIN_S]
        for c in given:
            unmatched.remove(c)
        words = [text for t, text in transcripts if a <= t <= b + COMMAND_HEARD_WITHIN_S]
        heard_as.append(" ".join(word for _, word in given) or f"-({' / '.join(words)})")
    bins = int(np.ceil(length_s / BIN_S))
    theirs = [
        (a / SAMPLE_RATE_HZ - PARTNER_MARGIN_S, b / SAMPLE_RATE_HZ + PARTNER_MARGIN_S)
        for a, b in [*partner_spans, *over_spans, *command_spans]
    ]
    prompt_only = _mask(prompt_spans, bins) & ~_mask(theirs, bins)
    prompt_s = sum(b - a for a, b in prompt_spans)
    taken = prompt_only & _mask(segments, bins)
    taken_s = float(np.sum(taken)) * BIN_S
    # Which prompts' echo was taken, and how far into each it began.
    taken_in = []
    for p, (a, b) in zip(heard, prompt_spans, strict=True):
        inside = np.flatnonzero(taken[int(a / BIN_S) : int(np.ceil(b / BIN_S))])
        if inside.size:
            taken_in.append((p.purpose, inside.size * BIN_S, inside[0] * BIN_S, a))
    over_s = [(b - a) / SAMPLE_RATE_HZ for a, b in over_spans]
    figures = {
        "prompts": len(prompt_spans),
        "prompt_s": prompt_s,
        "prompt_only_s": float(np.sum(prompt_only)) * BIN_S,
        "prompt_only_speech_s": taken_s,
        "prompt_only_speech_per_10_min_s": taken_s * 600.0 / max(prompt_s, 1e-9),
        "prompt_only_speech_in": taken_in,
        "over_lines": len(over_spans),
        "over_s": sum(over_s),
        "over_timed_s": sum(t * s for t, s in zip(timed, over_s, strict=True)),
        "over_timed_per_line": timed,
        "over_start_ms": starts_ms,
        "over_beyond_s": beyond_s,
        "commands_said": [COMMANDS[c.word] for c in over.commands_said],
        "commands_heard_as": heard_as,
        "commands_unsaid": [(round(t, 2), word) for t, word in unmatched],
        "echo_summary": echo.summary(),
        "fallbacks": echo.fallbacks,
        "gated_s": echo.gated_s,
        "heard_through_s": echo.cancelled_frames * FRAME_SAMPLES / SAMPLE_RATE_HZ,
        "canceller_cpu_s": None if canceller is None else canceller.cpu_s,
        "canceller_calls": 0 if canceller is None else canceller.calls,
        "canceller_wall_s": wall_s,
    }
    return figures, [*over_spans, *command_spans]
