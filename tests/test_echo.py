"""Hearing through prompts: the echo canceller, the fallback gate, speech and commands over them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from vosk_fixtures import TEST_VOICES, vosk_model_path

from attune_voice.audio.echo_canceller import EchoCanceller, echo_removed
from attune_voice.audio.echo_gate import EchoGate
from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, Pcm
from attune_voice.config import RoomConfig
from attune_voice.events import CommandWord, Event, PromptMeaning, SpokenOver
from attune_voice.listening.asr import CommandParser, Recognizer, SpeechModel
from attune_voice.listening.listener import Listener, Understanding
from attune_voice.listening.subframes import subframe_dbfs
from attune_voice.session.barge_in import SpokenOverWatch
from attune_voice.session.ports import Command, EngineInput, SpeechOnset, SpeechSegment, Tick
from attune_voice.simulated.partners import VOICES, PartnerVoice
from attune_voice.simulated.room import SimulatedRoom
from attune_voice.voice.player import PromptVoicePlayer
from attune_voice.voice.tts import PROMPT_RATE_WPM, PROMPT_VOICE, SpeechRenderer

__all__ = ["vosk_model_path"]  # a fixture, used by name

PROMPTS = (
    "Welcome. Today you will take turns to speak and to listen. Take a breath first.",
    "Sam, the floor is yours. Say how you feel about it, a short piece at a time.",
    "Alex, say back what you heard, in your own words.",
    "Take your time, Sam. There is no rush. When you have finished, press the button.",
)
LINES = (
    "Hang on a second, I want to add one thing to that.",
    "Wait, that is not what I meant at all.",
)
VOICE = 0
NOBODY = {"A": PartnerVoice({}), "B": PartnerVoice({})}


@pytest.fixture(scope="module")
def renderer() -> SpeechRenderer:
    return SpeechRenderer()


_RENDER = """
import json, sys
import numpy as np
from attune_voice.voice.tts import SpeechRenderer
items = json.loads(sys.argv[1])
with SpeechRenderer() as renderer:
    np.savez(sys.argv[2], *[renderer.render(text, voice, rate) for text, voice, rate in items])
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[Pcm]:
    """The prompts, then the partner's lines, rendered in a process of their own.

    espeak-ng times a text differently depending on everything it rendered before in
    the process, and the figures here depend on the exact audio: with the prompts
    rendered after another test file's texts in the same worker, the echo removed in
    the first 1.5 s at 80 ms measured 19.5 dB in one run and 36.0 dB in another (26.7
    dB rendered afresh), and the 1.2 s-off reference let two onsets through after
    test_enrolment.py. The same audio whichever tests ran first keeps each figure the
    one measured here; how much the canceller's first seconds vary with the audio is
    in docs/architecture.md.
    """
    voice, rate = VOICES["A"]
    items = [(text, PROMPT_VOICE, PROMPT_RATE_WPM) for text in PROMPTS]
    items += [(text, voice, rate) for text in LINES]
    out = tmp_path_factory.mktemp("rendered") / "rendered.npz"
    env = os.environ | {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.run(
        [sys.executable, "-c", _RENDER, json.dumps(items), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    with np.load(out) as saved:
        return [saved[f"arr_{k}"] for k in range(len(items))]


@pytest.fixture(scope="module")
def prompts(rendered: list[Pcm]) -> list[Pcm]:
    return rendered[: len(PROMPTS)]


def _audible_s(pcm: Pcm) -> float:
    levels = subframe_dbfs(pcm)
    return float(np.argmax(levels >= levels.max() - 40.0)) * 0.01


@pytest.mark.parametrize("delay_ms", [80.0, 600.0])
def test_the_canceller_takes_out_the_prompts_echo(prompts: list[Pcm], delay_ms: float) -> None:
    # No room noise, so that the figure is the echo's and not the noise's; a 600 ms
    # path works only because the room pre-aligns the reference as the device does.
    config = RoomConfig(microphones=1, echo_delay_ms=delay_ms, echo_db=-10.0, noise_dbfs=-140.0)
    room = SimulatedRoom(NOBODY, config, max_seconds=40.0)
    for pcm in prompts:
        room.play(pcm, None)
    echo = echo_removed(room.frames(), EchoCanceller(1))
    assert echo.echo_s > 15.0
    assert echo.first_db >= 20.0
    assert echo.later_db >= 30.0
    # The linear filter alone leaves more (AEC3's suppressor takes the rest, and the
    # figure counts the seconds it learns in); the detector hears it only where AEC3's
    # output says the partners are heard.
    assert echo.linear_db >= 8.0


QUIET_S = 2.0
"""The room before the first prompt: the canceller learns the room's noise from it."""


def _quiet(room: SimulatedRoom, listener: Listener) -> int:
    """Listen to the room before any prompt; returns where the prompts start."""
    frames = room.frames()
    while (frame := next(frames)).end_t < QUIET_S:
        assert listener.feed(frame) == []
    return round(QUIET_S * SAMPLE_RATE_HZ)


def _listen(room: SimulatedRoom, listener: Listener) -> list[EngineInput]:
    inputs: list[EngineInput] = []
    for frame in room.frames():
        inputs += listener.feed(frame)
        if room.queued_s() <= 0.0 and not frame.playing and frame.t > 1.0:
            break
    return inputs + listener.flush(room.queued_s())


# The room's usual echo, and none at all (headphones): a partner heard over a prompt is
# not echo left, and does not close the microphone.
@pytest.mark.parametrize("echo_db", [RoomConfig().echo_db, -60.0])
def test_prompts_are_not_speech_and_speech_over_them_is_timed(
    rendered: list[Pcm], prompts: list[Pcm], echo_db: float
) -> None:
    config = RoomConfig(microphones=1, seed=2, echo_db=echo_db)
    room = SimulatedRoom(NOBODY, config, max_seconds=90.0)
    lines = rendered[len(PROMPTS) :]
    starts_s: list[float] = []
    listener = Listener(1, hear_through=True)
    sample = _quiet(room, listener)
    for round_ in range(3):
        for k, pcm in enumerate(prompts):
            room.play(pcm, None)
            # Over every other prompt once the canceller is trusted (the first round).
            if round_ > 0 and k % 2 == 1:
                line = lines[(k // 2) % len(lines)]
                at = sample + len(pcm) // 3
                room.speak_at("A", line, at)
                starts_s.append(at / SAMPLE_RATE_HZ + _audible_s(line))
            sample += len(pcm)
    inputs = _listen(room, listener)
    segments = [(s.start_t, s.end_t) for s in inputs if isinstance(s, SpeechSegment)]
    onsets = [o.t for o in inputs if isinstance(o, SpeechOnset)]
    truth = [(t.start_t, t.end_t) for t in room.truth]
    assert len(truth) == 4
    # Nothing but the partner is speech: the prompts' echo never is.
    for a, b in segments:
        assert any(min(b, d) - max(a, c) > 0 for c, d in truth), (a, b)
    found_s = 0.0
    for (c, d), start_s in zip(truth, starts_s, strict=True):
        found = sum(max(0.0, min(b, d) - max(a, c)) for a, b in segments)
        assert found >= 0.8 * (d - c)
        found_s += found
        first = min(t for t in onsets if c - 0.3 <= t <= d)
        assert abs(first - start_s) <= 0.1
    # The target, 90%: where the partners are heard the detector hears the linear
    # canceller's output, not AEC3's muffled voice (with AEC3's alone, 86% was found).
    assert found_s >= 0.9 * sum(d - c for c, d in truth)
    # Past the first prompt the canceller had converged: the rest was heard through.
    assert listener.echo.fallbacks == 1
    assert listener.echo.cancelled_frames > 0.8 * listener.echo.prompt_frames


def test_a_reference_that_is_not_the_echo_closes_the_microphone(prompts: list[Pcm]) -> None:
    # The echo comes 1.2 s after the reference says (a Bluetooth speaker's buffer the
    # sound server does not report): the canceller cannot find it, so the gate closes.
    room = SimulatedRoom(NOBODY, RoomConfig(microphones=1), max_seconds=60.0)
    listener = Listener(1, hear_through=True)
    _quiet(room, listener)
    for pcm in prompts:
        room.play(pcm, None)
    inputs: list[EngineInput] = []
    played: list[Pcm] = []
    for frame in room.frames():
        assert frame.played is not None
        played.append(frame.played)
        early = played[-60] if len(played) >= 60 else np.zeros(FRAME_SAMPLES, np.int16)
        inputs += listener.feed(Frame(frame.pcm, frame.start_sample, frame.playing, played=early))
        if room.queued_s() <= 0.0 and not frame.playing:
            break
    assert not [i for i in inputs if isinstance(i, (SpeechOnset, SpeechSegment))]
    assert listener.echo.fallbacks >= 1
    assert listener.echo.gated_frames == listener.echo.prompt_frames


def _moving_loopback(
    order: list[Pcm], delays: Callable[[int, int], list[tuple[int, int]]]
) -> tuple[list[EngineInput], EchoGate, Listener]:
    """The prompts of ``order`` played 3 s apart into an exact loopback (as a null sink
    returns them: no noise, no room), heard through the real echo gate and listener.
    ``delays(k, start)`` gives, for the prompt played from sample ``start``, the
    (sample, delay in samples) from which the echo comes back that late."""
    gap = 3 * SAMPLE_RATE_HZ
    total = sum(len(pcm) for pcm in order) + gap * (len(order) + 1)
    total = -(-total // FRAME_SAMPLES) * FRAME_SAMPLES
    played = np.zeros(total, np.int16)
    delay = np.zeros(total, np.int64)
    spans = []
    at = gap
    for k, pcm in enumerate(order):
        played[at : at + len(pcm)] = pcm
        for sample, samples in delays(k, at):
            delay[sample:] = samples
        spans.append((at, at + len(pcm)))
        at = -(-(at + len(pcm) + gap) // FRAME_SAMPLES) * FRAME_SAMPLES
    source = np.arange(total) - delay
    heard = np.where(source >= 0, played[np.clip(source, 0, None)], 0).astype(np.int16)
    gate = EchoGate()
    listener = Listener(1, hear_through=True)
    inputs: list[EngineInput] = []
    for start in range(0, total, FRAME_SAMPLES):
        block = heard[np.newaxis, start : start + FRAME_SAMPLES]
        taken = max(
            (min(b, start + FRAME_SAMPLES) - start for a, b in spans if a <= start < b), default=0
        )
        gated = gate.push(block, played[start : start + FRAME_SAMPLES], taken)
        reference = gate.reference()
        frame = Frame(block, start, gated, played=reference, echo_moved=gate.echo_move)
        inputs += listener.feed(frame)
    return inputs + listener.flush(total / SAMPLE_RATE_HZ), gate, listener


@pytest.mark.parametrize("first_ms", [20, 40], ids=["sooner first", "later first"])
def test_an_echo_that_moves_a_block_between_prompts_is_still_cancelled(
    prompts: list[Pcm], first_ms: int
) -> None:
    # Live through a null sink (the prompts come back exactly, with no noise), the
    # echo came 20 and 40 ms after its pairing, in turn from one prompt to the next.
    # With the reference led by 40 ms wherever the delay allowed it, the canceller saw
    # its delay change at each prompt and let 0.4-1.8 s of it through as speech. Where
    # the later came first, the lead shortens once, at the first sooner echo, and the
    # canceller has a new delay to learn (closed for 0.5 s, 0.2 and 0.6 s leaked).
    order = [prompts[k % len(prompts)] for k in range(6)]
    half_gap = 3 * SAMPLE_RATE_HZ // 2
    sooner, later = 320, 640
    first, second = (sooner, later) if first_ms == 20 else (later, sooner)
    # Where the later comes first, two prompts at it: the canceller has converged.
    settled = 1 if first_ms == 20 else 2

    def delays(k: int, start: int) -> list[tuple[int, int]]:
        return [(start - half_gap, first if k < settled or k % 2 == 0 else second)]

    inputs, gate, listener = _moving_loopback(order, delays)
    assert not [i for i in inputs if isinstance(i, (SpeechOnset, SpeechSegment))]
    # Both delays were measured (a voice's pitch period may read a few ms off).
    report = gate.report()
    assert (report.delay_min_ms, report.delay_max_ms) == pytest.approx((20.0, 40.0), abs=10.0)
    # Heard through, past the canceller's first seconds.
    assert listener.echo.cancelled_frames > 0.6 * listener.echo.prompt_frames


def test_an_echo_that_moves_mid_prompt_closes_the_microphone_while_it_is_learnt(
    prompts: list[Pcm],
) -> None:
    # Live, the sound server also moved the echo by a block in the middle of a prompt.
    # The canceller needs a moment for the new delay, and in it, the prompt read as
    # speech: in this loopback, 0.1-2.6 s at each move (moves of 10 and 20 ms, either
    # way, 1 or 2.3 s into the prompt). The gate measures a move once its window holds
    # the new delay, so what began since then is dropped and the microphone closes.
    order = [prompts[k % len(prompts)] for k in range(6)]
    # From 40 ms, the echo moves on to 60, back to 40, then on to 50 ms, mid-prompt.
    moves = {1: (1.0, 960), 3: (2.3, 640), 5: (1.6, 800)}

    def delays(k: int, start: int) -> list[tuple[int, int]]:
        if k == 0:
            return [(0, 640)]
        if k not in moves:
            return []
        into_s, samples = moves[k]
        return [(start + round(into_s * SAMPLE_RATE_HZ), samples)]

    inputs, gate, listener = _moving_loopback(order, delays)
    assert not [i for i in inputs if isinstance(i, (SpeechOnset, SpeechSegment))]
    assert listener.echo.moves == 3
    assert "microphone closed for echo 1 time, and 3 times as the echo moved" in (
        listener.echo.summary()
    )
    report = gate.report()
    assert (report.delay_min_ms, report.delay_max_ms) == pytest.approx((40.0, 60.0), abs=2.0)
    # Closed at each move for about half a second, and heard through otherwise.
    assert listener.echo.cancelled_frames > 0.6 * listener.echo.prompt_frames


@pytest.mark.parametrize("word", ["pause", "stop"])
def test_a_command_said_over_a_prompt_is_heard(
    renderer: SpeechRenderer, prompts: list[Pcm], vosk_model_path: Path, word: str
) -> None:
    room = SimulatedRoom(NOBODY, RoomConfig(microphones=1, seed=3), max_seconds=40.0)
    parser = CommandParser(())
    understanding = Understanding(Recognizer(SpeechModel(vosk_model_path), parser.phrases), parser)
    listener = Listener(1, understanding=understanding, hear_through=True)
    start = _quiet(room, listener)
    for pcm in prompts[:3]:
        room.play(pcm, None)
    voice, rate = TEST_VOICES[VOICE]
    said = renderer.render(word, voice, rate)
    # Over the middle of the third prompt, long after the canceller converged.
    at = start + len(prompts[0]) + len(prompts[1]) + len(prompts[2]) // 2
    room.speak_at("A", said, at)
    inputs = _listen(room, listener)
    commands = [i for i in inputs if isinstance(i, Command)]
    assert [c.word for c in commands] == [CommandWord(word)]
    assert at / SAMPLE_RATE_HZ < commands[0].t < at / SAMPLE_RATE_HZ + len(said) / 16000 + 0.6


def test_talking_over_a_reminder_stops_it_but_a_step_line_is_said_to_the_end(
    renderer: SpeechRenderer,
) -> None:
    room = SimulatedRoom(NOBODY, RoomConfig(microphones=1), max_seconds=40.0)
    player = PromptVoicePlayer(renderer, room)
    log: list[Event] = []
    watch = SpokenOverWatch(frozenset({"check_in"}), player, log.append)
    frames = room.frames()
    for purpose in ("step", "check_in"):
        start_t = next(frames).t
        length_s = player.say(PROMPTS[3], PromptMeaning(purpose))
        busy_t = start_t + length_s
        watch.said(start_t, busy_t, purpose)
        watch.hear(SpeechOnset(start_t + 0.4, "A"), busy_t)
        for t in np.arange(start_t + 0.42, start_t + 1.0, 0.02):
            busy_t = watch.hear(Tick(float(t)), busy_t)
        watch.hear(SpeechSegment(start_t + 0.4, start_t + 1.0, "A"), busy_t)
        if purpose == "step":
            # A step's line (a safety line among them) is said to its end.
            assert busy_t == pytest.approx(start_t + length_s)
            assert room.queued_s() > length_s - 1.0
            while room.queued_s() > 0.0:
                next(frames)
        else:
            assert busy_t == pytest.approx(start_t + 0.9, abs=0.03)
            assert room.queued_s() <= 0.08
    assert [(e.partner, e.purpose, e.cut) for e in log if isinstance(e, SpokenOver)] == [
        ("A", "step", False),
        ("A", "check_in", True),
    ]


def test_without_hearing_through_every_prompt_is_gated(prompts: list[Pcm]) -> None:
    # The default: the reference is there, but no canceller runs and the microphone is
    # closed for every prompt and its echo, as before there was a canceller.
    room = SimulatedRoom(NOBODY, RoomConfig(microphones=1, seed=2), max_seconds=40.0)
    listener = Listener(1)
    _quiet(room, listener)
    for pcm in prompts[:2]:
        room.play(pcm, None)
    inputs = _listen(room, listener)
    assert not [i for i in inputs if isinstance(i, (SpeechOnset, SpeechSegment))]
    assert listener.echo.prompt_frames > 0
    assert listener.echo.cancelled_frames == 0 and listener.echo.fallbacks == 0
    assert listener.echo.gated_frames == listener.echo.prompt_frames
