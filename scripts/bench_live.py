"""Live latency figures on real streams: decision to prompt, end of speech to event.

Run it through scripts/bench-live, which starts a private PulseAudio server whose null
sink is the room (its monitor is the microphone). A real session runs on it: the
session engine on a short exercise of floors, the session loop with its listener, and
the prompt player on ``DeviceAudio``, rendering upcoming prompts ahead of time as in
``attune-voice run`` (``--no-prepare`` renders each one when it is said, for
comparison). The partner given the floor is a second process (pacat) saying a sentence
into the sink; then the floor ends by the hand-over key, pressed in the loop as a
clicker would be, or, every other floor, by silence: the coach's check-in, then the
hand-over. Every floor prompt has its own words, so nothing is rendered early by chance.
With ``--stall S`` this process is stopped for S seconds while the fifth prompt plays,
as a starved machine stops it, to show that the session catches up and that the
prompt's echo is still not taken for speech. ``--busy`` makes it a busy home
(``scripts/busy_home.py``): another program plays a notification sound into the room
every 5-10 s, and this process stalls for 150 ms every 4 s. ``--room 48k`` uses the
48 kHz stereo null sink, at the rate a desktop's sound server usually runs, instead of
the 16 kHz mono one. ``--hear-through`` makes the listener hear through the prompts, as
``attune-voice run --hear-through``, and a partner say a line over every other floor
prompt, and "pause" or "stop" over the others but the first, recognised with the
generated test model (``scripts/bench_live_through.py``): its figures are printed too.

For each prompt the engine decides, the time runs from the decision (the player is
asked to say it, before any rendering still needed) to its first sample: handed to
PortAudio (the callback), at the speaker (the callback's time plus PortAudio's output
time for that block), and heard back in the microphone (an upper bound: it adds the
capture path). For each sentence a partner says, from its end in the room to the
speech segment the listener emits. Times come from ``time.perf_counter``, the stream's
callbacks (``DeviceAudio.timing``) and the recording; the figures are printed. So is
how the stream held up: restarts, audio lost (wall time the session's clock did not
count, beyond the stalls), and the lines the sound libraries printed on the terminal
(this process's file descriptor 2 is read for them).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, Pcm
from attune_voice.audio.latency import Latency, parse_latency, stream_latency
from attune_voice.audio.stream import DeviceAudio
from attune_voice.audio.stream_state import BlockTiming, DeviceStats
from attune_voice.config import DetectorConfig
from attune_voice.events import Event, FloorGiven, PromptMeaning
from attune_voice.exercises.model import Exercise, Sounds, Step, StepKind, Who
from attune_voice.listening import asr
from attune_voice.listening.asr import CommandParser, Recognizer, SpeechModel
from attune_voice.listening.listener import Listener, Understanding
from attune_voice.session.engine import SessionEngine
from attune_voice.session.loop import EventLog, SessionLoop
from attune_voice.session.ports import Command, EngineInput, SpeechOnset, SpeechSegment
from attune_voice.voice.player import PromptVoicePlayer
from attune_voice.voice.tts import SpeechRenderer

sys.path.insert(0, str(Path(__file__).parent))
from bench_asr import model_path
from bench_live_report import print_figures  # scripts beside this one, not packages
from bench_live_through import (
    OverPrompts,
    TimedCanceller,
    locate,
    near,
    rendered_lines,
    through_figures,
)
from busy_home import BusyHome

ROOMS = {"16k": "attune_room", "48k": "attune_room48"}
"""The null sinks scripts/_pulse.sh makes: 16 kHz mono and 48 kHz stereo."""
SINK = ROOMS["16k"]
LIBRARY_LINE = re.compile(r"PortAudio|pa_linux_alsa|ALSA lib|Expression '|snd_pcm|PaAlsa")
"""A line on the terminal from PortAudio or alsa-lib."""
QUESTIONS = (
    "What was the best part of your week?",
    "What is something you are looking forward to?",
    "When did you last feel really close to each other?",
    "What would make this weekend feel restful?",
    "What is a small thing that made you smile lately?",
    "Which place would you like to visit together?",
    "What helps you unwind after a long day?",
    "What is a habit of mine that you appreciate?",
)
PARTNER_VOICES = {"A": ("gmw/en-us+m3", 168), "B": ("gmw/en-gb-x-rp+f4", 176)}
SENTENCES = (
    "The best part of my week was the walk by the river.",
    "I liked the dinner with my sister on Friday.",
    "We should plan a quiet morning with no phones.",
    "I felt closest to you on the drive home last night.",
)
STALL_AT_PROMPT = 5
"""With --stall, the machine stalls while this prompt plays."""
REACTION_FRAMES = 40
"""A partner starts 0.8 s after the floor is given."""
KEY_AFTER_FRAMES = 50
"""On a key floor, the hand-over key comes 1 s after the partner's sentence has played."""
STATS_EVERY_FRAMES = 50
START_FRAMES = 100
"""Underflows in the first 2 s are the stream starting, not the machine being busy."""


def bench_exercise(floors: int) -> Exercise:
    """Floors that alternate between the partners, each prompt in its own words."""
    steps: list[Step] = []
    for number in range(floors):
        if number:
            steps.append(Step(StepKind.SWAP))
        question = QUESTIONS[number % len(QUESTIONS)]
        round_words = "" if number < len(QUESTIONS) else f" Round {number // len(QUESTIONS) + 1}."
        steps.append(
            Step(
                StepKind.FLOOR,
                text=f"{{speaker}}, you have the floor.{round_words} {question}",
                who=Who.SPEAKER,
            )
        )
    return Exercise(
        name="bench-live",
        title="Live latency",
        goal="measure",
        skill="none",
        limit_s=60.0,
        cues_s=(),
        round=tuple(steps),
        closing=(Step(StepKind.SAY, text="Thank you both. That is all for now."),),
        # The chimes would sound before each prompt: the prompts' own start is measured.
        sounds=Sounds(silent=True),
    )


@dataclass
class Decision:
    """One prompt the engine decided to say, followed to its first sample."""

    text: str
    decided_s: float
    """perf_counter when the player was asked to say it."""
    frame_arrived_s: float | None
    """perf_counter when the callback delivered the frame whose handling decided it."""
    position: int
    """Playback position of its first sample."""
    prepared: bool
    played_s: float = 0.0
    """perf_counter when it was queued (after any rendering)."""
    handed_s: float | None = None
    """When its first sample was handed to PortAudio (the callback's time, plus its
    place in the block)."""
    dac_s: float | None = None
    """When its first sample reached the speaker, by PortAudio's output time."""
    heard_sample: int | None = None
    """Session sample where its first sample came back into the microphone."""
    purpose: str = ""
    duration_s: float = 0.0


class NotedRecognizer(Recognizer):
    """The recogniser, noting what it heard (when the utterance ended, its words)."""

    def __init__(self, model: SpeechModel, grammar: Sequence[str]) -> None:
        super().__init__(model, grammar)
        self.heard: list[tuple[float, str]] = []

    def accept(self, pcm: Pcm, t: float) -> list[asr.Utterance]:
        return self._noted(super().accept(pcm, t))

    def finish(self) -> list[asr.Utterance]:
        return self._noted(super().finish())

    def _noted(self, utterances: list[asr.Utterance]) -> list[asr.Utterance]:
        self.heard += [(u.end_t, u.text) for u in utterances if u.words]
        return utterances


class TimedListener(Listener):
    """The session's listener, noting which frame is being handled and when each speech
    segment came out. With a speech ``model`` it recognises commands too, and keeps
    them from the engine (a "stop" would end the bench's session)."""

    def __init__(
        self,
        channels: int,
        config: DetectorConfig,
        hear_through: bool,
        model: SpeechModel | None = None,
    ) -> None:
        self.recognizer: NotedRecognizer | None = None
        understanding = None
        if model is not None:
            parser = CommandParser(())
            self.recognizer = NotedRecognizer(model, parser.phrases)
            understanding = Understanding(self.recognizer, parser)
        super().__init__(channels, config, understanding=understanding, hear_through=hear_through)
        self.frame: Frame | None = None
        self.segments: list[tuple[SpeechSegment, float]] = []
        self.onsets: list[float] = []
        self.commands: list[tuple[float, str]] = []

    def feed(self, frame: Frame) -> list[EngineInput]:
        self.frame = frame
        inputs = super().feed(frame)
        emitted_s = time.perf_counter()
        self.segments += [(i, emitted_s) for i in inputs if isinstance(i, SpeechSegment)]
        self.onsets += [i.t for i in inputs if isinstance(i, SpeechOnset)]
        self.commands += [(i.t, i.word.value) for i in inputs if isinstance(i, Command)]
        return [i for i in inputs if not isinstance(i, Command)]


class TimedPlayer:
    """The session's prompt player, noting each decision as it is asked to say a prompt."""

    def __init__(self, inner: PromptVoicePlayer, audio: DeviceAudio, listener: TimedListener):
        self.inner = inner
        self._audio = audio
        self._listener = listener
        self.decisions: list[Decision] = []

    def prepare(self, texts: Iterable[str], most: int | None = None) -> int:
        return self.inner.prepare(texts, most)

    def chime(self, name: str) -> float:
        return self.inner.chime(name)

    def say(self, text: str, meaning: PromptMeaning) -> float:
        decided_s = time.perf_counter()
        frame = self._listener.frame
        timing = None if frame is None else self._audio.timing(frame.start_sample)
        on_demand = self.inner.said_on_demand
        decision = Decision(
            text=text,
            decided_s=decided_s,
            frame_arrived_s=None if timing is None else timing.arrived_s,
            position=self._audio.play_position(),
            prepared=True,
            purpose=meaning.purpose,
        )
        duration_s = decision.duration_s = self.inner.say(text, meaning)
        decision.played_s = time.perf_counter()
        decision.prepared = self.inner.said_on_demand == on_demand
        self.decisions.append(decision)
        return duration_s


@dataclass
class Utterance:
    partner: str
    sentence: int
    started_frame: int
    process: subprocess.Popen[bytes]
    ended_frame: int | None = None


@dataclass
class Conductor:
    """The partners: whoever is given the floor speaks; the key or silence ends it."""

    audio: DeviceAudio
    player: TimedPlayer
    log: EventLog
    sentences: dict[str, list[Path]]
    """Each partner's sentences, as raw files for pacat."""
    frames: int = 0
    floors_seen: int = 0
    due: list[tuple[int, str]] = field(default_factory=list)
    """(frame, action) still to come: "speak A", "speak B" or "key"."""
    speaking: Utterance | None = None
    said: list[Utterance] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    arrived_s: list[float] = field(default_factory=list)
    heard: list[np.ndarray] = field(default_factory=list)
    output_delays_s: list[float] = field(default_factory=list)
    input_ages_s: list[float | None] = field(default_factory=list)
    """Each block's input age (``BlockTiming.input_age_s``), in step with ``arrived_s``."""
    underflow_frames: list[int] = field(default_factory=list)
    """The frame (counted once a second) by which each output underflow had happened."""
    stall_s: float = 0.0
    stopper: subprocess.Popen[bytes] | None = None
    sink: str = SINK
    read_s: list[float] = field(default_factory=list)
    """perf_counter when the loop handled each frame."""
    _following: list[Decision] = field(default_factory=list)

    def __call__(self, frame: Frame) -> None:
        self.read_s.append(time.perf_counter())
        timing = self.audio.timing(frame.start_sample)
        assert timing is not None
        self.arrived_s.append(timing.arrived_s)
        if timing.output_delay_s is not None:
            self.output_delays_s.append(timing.output_delay_s)
        self.input_ages_s.append(timing.input_age_s)
        self.heard.append(frame.pcm[0].copy())
        self._follow(frame, timing)
        self._act()
        if self.frames % STATS_EVERY_FRAMES == 0:
            underflows = self.audio.stats().underflows
            self.underflow_frames += [self.frames] * (underflows - len(self.underflow_frames))
        self.frames += 1

    def _follow(self, frame: Frame, timing: BlockTiming) -> None:
        self._following += self.player.decisions[len(self._following) :]
        for decision in self._following:
            if decision.handed_s is None:
                start = timing.playback_position
                handed_s = timing.handed_s
                if (
                    handed_s is not None
                    and timing.prompt_samples
                    and start <= decision.position < start + timing.prompt_samples
                ):
                    # When the speakers' callback wrote the block, not when the
                    # microphone's block paired with it arrived.
                    into_s = (decision.position - start) / SAMPLE_RATE_HZ
                    decision.handed_s = handed_s + into_s
                    if timing.output_delay_s is not None:
                        decision.dac_s = handed_s + timing.output_delay_s + into_s
            if decision.handed_s is not None and decision.heard_sample is None:
                # The room is digital silence but for what is played into it, and the
                # partners are quiet when a prompt is decided.
                sound = np.flatnonzero(frame.pcm[0] != 0)
                if sound.size:
                    decision.heard_sample = frame.start_sample + int(sound[0])

    def _act(self) -> None:
        floors = [e for e in self.log.events if isinstance(e, FloorGiven)]
        for floor in floors[self.floors_seen :]:
            self.due.append((self.frames + REACTION_FRAMES, f"speak {floor.partner}"))
        self.floors_seen = len(floors)
        if self.stall_s and self.stopper is None and len(self.player.decisions) >= STALL_AT_PROMPT:
            pid = os.getpid()
            self.stopper = subprocess.Popen(
                ["sh", "-c", f"sleep 0.3; kill -STOP {pid}; sleep {self.stall_s}; kill -CONT {pid}"]
            )
        if self.speaking is not None and self.speaking.process.poll() is not None:
            self.speaking.ended_frame = self.frames
            if len(self.said) % 2:
                # Every other floor ends by the key; the others by silence.
                self.due.append((self.frames + KEY_AFTER_FRAMES, "key"))
            self.speaking = None
        for entry in [d for d in self.due if d[0] <= self.frames]:
            self.due.remove(entry)
            if entry[1] == "key":
                self.keys.append("enter")
            else:
                self._speak(entry[1].split()[1])

    def _speak(self, partner: str) -> None:
        number = len(self.said) % len(SENTENCES)
        process = self.play(self.sentences[partner][number])
        self.speaking = Utterance(partner, number, self.frames, process)
        self.said.append(self.speaking)

    def play(self, path: Path) -> subprocess.Popen[bytes]:
        """A partner says the sentence in ``path`` (raw audio) into the room."""
        raw = ["--raw", "--format=s16le", f"--rate={SAMPLE_RATE_HZ}", "--channels=1"]
        return subprocess.Popen(["pacat", f"--device={self.sink}", *raw, str(path)])

    def take_keys(self) -> list[str]:
        keys, self.keys = self.keys, []
        return keys


def run(
    floors: int,
    latency: Latency,
    prepare: bool,
    load: int,
    stall_s: float,
    busy_home: bool,
    hear_through: bool = False,
) -> dict[str, Any]:
    config = DetectorConfig()
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
    try:
        with (
            tempfile.TemporaryDirectory(prefix="attune-bench-live-") as folder,
            SpeechRenderer() as renderer,
        ):
            workdir = Path(folder)
            voices, sentences = rendered_lines(
                renderer, SENTENCES, PARTNER_VOICES, workdir, "partner"
            )
            audio = DeviceAudio(latency=latency)
            model = SpeechModel(model_path(None)) if hear_through else None
            listener = TimedListener(audio.channels, config, hear_through, model)
            canceller = TimedCanceller(audio.channels) if hear_through else None
            # Set before the first frame, the listener uses it as its own.
            listener._canceller = canceller
            log = EventLog()
            player = TimedPlayer(PromptVoicePlayer(renderer, audio), audio, listener)
            engine = SessionEngine(bench_exercise(floors), ("Sam", "Alex"), player, log)
            loop = SessionLoop(audio, engine, listener, prepare_ahead=prepare)
            sink = os.environ.get("PULSE_SINK", SINK)
            conductor = Conductor(audio, player, log, sentences, stall_s=stall_s, sink=sink)
            loop.frame_sinks.append(conductor)
            over = None
            if hear_through:
                args = (PARTNER_VOICES, workdir, player.decisions, conductor.play)
                over = OverPrompts.render(renderer, *args)
                loop.frame_sinks.append(over)
            home = BusyHome(sink, workdir, stall_every_s=4.0 if busy_home else 0.0)
            try:
                if busy_home:
                    with home:
                        loop.run(extra_keys=conductor.take_keys)
                else:
                    loop.run(extra_keys=conductor.take_keys)
                stats = audio.stats()
            finally:
                audio.close()
                for utterance in conductor.said:
                    utterance.process.wait()
                if over is not None:
                    over.wait()
                if conductor.stopper is not None:
                    conductor.stopper.wait()
    finally:
        for process in busy:
            process.terminate()
            process.wait()
    figures = _figures(
        conductor,
        listener,
        voices,
        log.events,
        player,
        stats,
        config,
        latency,
        prepare,
        load,
        over,
        canceller,
    )
    # After the stream's first 2 s, as after the consent question in a session.
    read_s = conductor.read_s[START_FRAMES:]
    wall_s = read_s[-1] - read_s[0] if len(read_s) > 1 else 0.0
    session_s = (len(read_s) - 1) * FRAME_SAMPLES / SAMPLE_RATE_HZ
    figures.update(
        sink=sink,
        notification_sounds=home.sounds,
        stalls=len(home.stalls_s),
        stalled_s=sum(home.stalls_s),
        wall_s=wall_s,
        session_s=session_s,
        lost_audio_s=wall_s - session_s,
    )
    return figures


def _captured_s(arrived_s: list[float], sample: int) -> float:
    """When session ``sample`` reached the callback, as near as the callbacks tell: its
    block arrived at ``arrived_s``, and it is (block length - its place) older than that."""
    block = sample // FRAME_SAMPLES
    return arrived_s[block] - (FRAME_SAMPLES - sample % FRAME_SAMPLES) / SAMPLE_RATE_HZ


def _adc_s(arrived_s: list[float], ages_s: list[float | None], sample: int) -> float | None:
    """When session ``sample`` was captured, as PortAudio tells: its block's first
    sample was ``ages_s`` old when the callback began, and it is its place later.

    Through PulseAudio that age is an estimate, at times younger than the block
    itself (15 ms for a 20 ms block), which no block can be: it is taken as at least
    the block's length, so this is never earlier than ``_captured_s``."""
    block = sample // FRAME_SAMPLES
    age_s = ages_s[block]
    if age_s is None:
        return None
    age_s = max(age_s, FRAME_SAMPLES / SAMPLE_RATE_HZ)
    return arrived_s[block] - age_s + (sample % FRAME_SAMPLES) / SAMPLE_RATE_HZ


def _figures(
    conductor: Conductor,
    listener: TimedListener,
    voices: dict[str, list[Pcm]],
    events: list[Event],
    player: TimedPlayer,
    stats: DeviceStats,
    config: DetectorConfig,
    latency: Latency,
    prepare: bool,
    load: int,
    over: OverPrompts | None,
    canceller: TimedCanceller | None,
) -> dict[str, Any]:
    arrived_s = conductor.arrived_s
    recording = np.concatenate(conductor.heard).astype(np.float64)
    # The first prompt is decided as the stream starts, with the whole pipeline still
    # filling: the rest are decided mid-session, as they are in a session.
    decisions = player.decisions[1:]
    render_ms, handed_ms, dac_ms, heard_ms, lag_ms, clocks_ms = [], [], [], [], [], []
    for d in decisions:
        render_ms.append((d.played_s - d.decided_s) * 1000)
        if d.frame_arrived_s is not None:
            lag_ms.append((d.decided_s - d.frame_arrived_s) * 1000)
        if d.handed_s is not None:
            handed_ms.append((d.handed_s - d.decided_s) * 1000)
        if d.dac_s is not None:
            dac_ms.append((d.dac_s - d.decided_s) * 1000)
        if d.heard_sample is not None and d.heard_sample // FRAME_SAMPLES < len(arrived_s):
            heard_ms.append((_captured_s(arrived_s, d.heard_sample) - d.decided_s) * 1000)
            heard_adc_s = _adc_s(arrived_s, conductor.input_ages_s, d.heard_sample)
            if heard_adc_s is not None and d.dac_s is not None:
                clocks_ms.append((heard_adc_s - d.dac_s) * 1000)
    event_ms, adc_event_ms, detected_event_ms, start_err_ms, end_err_ms = [], [], [], [], []
    partner_spans: list[tuple[int, int]] = []
    ages = [age for age in conductor.input_ages_s if age is not None]
    input_age_s = float(np.median(ages)) if ages else None
    for utterance in conductor.said:
        if utterance.ended_frame is None:
            continue
        pcm = voices[utterance.partner][utterance.sentence]
        start, end = locate(recording, pcm, utterance.started_frame)
        partner_spans.append((start, end))
        mine = [
            (s, at_s) for s, at_s in listener.segments if near(s.start_t, s.end_t, (start, end))
        ]
        if not mine:
            continue
        first, last = mine[0][0], mine[-1][0]
        emitted_s = mine[-1][1]
        start_err_ms.append((first.start_t * SAMPLE_RATE_HZ - start) / 16)
        end_err_ms.append((last.end_t * SAMPLE_RATE_HZ - end) / 16)
        event_ms.append((emitted_s - _captured_s(arrived_s, end)) * 1000)
        captured_s = _adc_s(arrived_s, conductor.input_ages_s, end)
        if captured_s is not None:
            adc_event_ms.append((emitted_s - captured_s) * 1000)
        detected_end = round(last.end_t * SAMPLE_RATE_HZ)
        detected_event_ms.append((emitted_s - _captured_s(arrived_s, detected_end)) * 1000)
    through: dict[str, Any] = {}
    if over is not None:
        # Speech over the prompts is a partner's too, in the figure below.
        segments = [(seg.start_t, seg.end_t) for seg, _ in listener.segments]
        wall_s = conductor.read_s[-1] - conductor.read_s[0] if conductor.read_s else 0.0
        heard = [] if listener.recognizer is None else listener.recognizer.heard
        args = (over, partner_spans, segments, listener.onsets, listener.commands, heard)
        through, over_spans = through_figures(recording, *args, listener.echo, canceller, wall_s)
        partner_spans += over_spans
    not_partner_s = sum(
        seg.end_t - seg.start_t
        for seg, _ in listener.segments
        if not any(near(seg.start_t, seg.end_t, span) for span in partner_spans)
    )
    gaps_ms = np.diff(np.array(arrived_s)) * 1000 if len(arrived_s) > 1 else np.zeros(1)
    return {
        "latency_setting": latency if not isinstance(latency, tuple) else list(latency),
        "prepare": prepare,
        "busy_loops": load,
        "stall_s": conductor.stall_s if conductor.stopper is not None else 0.0,
        "floors": sum(isinstance(e, FloorGiven) for e in events),
        "decisions": len(decisions),
        "prepared": sum(d.prepared for d in decisions),
        "decision_to_play_ms": render_ms,
        "decision_to_output_ms": handed_ms,
        "decision_to_dac_ms": dac_ms,
        "decision_to_heard_ms": heard_ms,
        "capture_minus_output_ms": clocks_ms,
        "frame_to_decision_ms": lag_ms,
        "speech_end_to_event_ms": event_ms,
        "speech_end_adc_to_event_ms": adc_event_ms,
        "detected_end_to_event_ms": detected_event_ms,
        "hangover_ms": config.merge_gap_s * 1000,
        "segment_start_error_ms": start_err_ms,
        "segment_end_error_ms": end_err_ms,
        "not_partner_speech_s": not_partner_s,
        "output_delay_ms": float(np.median(conductor.output_delays_s)) * 1000
        if conductor.output_delays_s
        else None,
        "input_age_ms": None if input_age_s is None else input_age_s * 1000,
        "longest_callback_gap_ms": float(gaps_ms.max()),
        "underflows_at_start": sum(f <= START_FRAMES for f in conductor.underflow_frames),
        "stats": asdict(stats),
        **({"hear_through": through} if through else {}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floors", type=int, default=12, help="Floors given (half end by key).")
    parser.add_argument(
        "--latency",
        help="PortAudio latency: seconds, an input,output pair of seconds, low or high "
        "(default: what run uses, $ATTUNE_AUDIO_LATENCY or the built-in setting).",
    )
    parser.add_argument(
        "--no-prepare", action="store_true", help="Render each prompt when it is said."
    )
    parser.add_argument("--load", type=int, default=0, help="Busy-loop processes to run meanwhile.")
    parser.add_argument(
        "--stall",
        type=float,
        default=0.0,
        metavar="S",
        help=f"Stop this process for S seconds while prompt {STALL_AT_PROMPT} plays.",
    )
    parser.add_argument(
        "--room", choices=sorted(ROOMS), default="16k", help="The null sink to run in."
    )
    parser.add_argument(
        "--busy",
        action="store_true",
        help="Another client plays a sound every 5-10 s; this process stalls 150 ms every 4 s.",
    )
    parser.add_argument(
        "--hear-through",
        action="store_true",
        help="Hear through the prompts (as run --hear-through); a partner talks over some.",
    )
    parser.add_argument("--json", action="store_true", help="Print the raw figures as JSON.")
    args = parser.parse_args()
    latency = stream_latency() if args.latency is None else parse_latency(args.latency)
    # Read by PulseAudio's client library when PortAudio opens the default device.
    os.environ["PULSE_SINK"] = ROOMS[args.room]
    os.environ["PULSE_SOURCE"] = f"{ROOMS[args.room]}.monitor"
    with tempfile.TemporaryFile() as terminal:
        # What would reach the terminal is kept, counted, and passed on at the end.
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(terminal.fileno(), 2)
        try:
            prepare = not args.no_prepare
            args_run = (args.floors, latency, prepare, args.load, args.stall, args.busy)
            figures = run(*args_run, args.hear_through)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        terminal.seek(0)
        lines = terminal.read().decode(errors="replace").splitlines()
    figures["terminal_lines"] = sum(bool(LIBRARY_LINE.search(line)) for line in lines)
    for line in lines:
        if not LIBRARY_LINE.search(line):
            print(line, file=sys.stderr)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_figures(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
