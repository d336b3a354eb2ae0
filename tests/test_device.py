"""The device adapter on real streams: a private PulseAudio null sink started by scripts/test."""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from attune_voice.audio.device import (
    DeviceAudio,
    DeviceStats,
    MonitorOutput,
    list_devices,
    resolve_device,
)
from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, Pcm
from attune_voice.config import FRAME_MS
from attune_voice.errors import AudioDeviceError

MONITOR = "attune_monitor"
"""The ALSA device scripts/test defines for the null sink's monitor: input hears output."""

SINK = "attune_room"

TONE_HZ = 440.0
TONE_S = 1.0
TONE_AT_FRAME = 10
"""Queue the tone mid-session, as the engine does with prompts, not before the start."""
FRAMES_READ = 150

needs_pulse = pytest.mark.skipif(
    os.environ.get("ATTUNE_TEST_PULSE") != "1",
    reason="needs the private PulseAudio null sink that scripts/test starts "
    "(ATTUNE_TEST_PULSE=1); run ./scripts/test",
)
pytestmark = pytest.mark.pulse


@pytest.fixture(scope="module")
def portaudio() -> None:
    """Skip when PortAudio itself is missing, except under scripts/test, which installs it."""
    try:
        list_devices()
    except AudioDeviceError as e:
        if os.environ.get("ATTUNE_TEST_PULSE") == "1":
            pytest.fail(str(e))
        pytest.skip(str(e))


def _tone() -> Pcm:
    t_s = np.arange(round(TONE_S * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    return (0.3 * 32767 * np.sin(2 * np.pi * TONE_HZ * t_s)).astype(np.int16)


@dataclass(frozen=True)
class Session:
    frames: list[Frame]
    stats: DeviceStats
    queued_at_play_s: float
    queued_at_end_s: float
    after_close: Frame | None
    play_after_close: AudioDeviceError | None


@pytest.fixture(scope="module")
def session(portaudio: None) -> Session:
    """One real duplex session: the monitor as microphone, a 1 s tone played mid-way."""
    keys: queue.SimpleQueue[str] = queue.SimpleQueue()
    keys.put("pagedown")
    audio = DeviceAudio(input_device=MONITOR, key_source=keys)
    frames: list[Frame] = []
    queued_at_play_s = 0.0
    stream = audio.frames()
    try:
        for frame in stream:
            frames.append(frame)
            if len(frames) == TONE_AT_FRAME:
                audio.play(_tone())
                queued_at_play_s = audio.queued_s()
            if len(frames) == FRAMES_READ:
                break
        queued_at_end_s = audio.queued_s()
        stats = audio.stats()
    finally:
        audio.close()
    play_error = None
    try:
        audio.play(_tone())
    except AudioDeviceError as e:
        play_error = e
    return Session(
        frames=frames,
        stats=stats,
        queued_at_play_s=queued_at_play_s,
        queued_at_end_s=queued_at_end_s,
        after_close=next(stream, None),
        play_after_close=play_error,
    )


def _rms(frame: Frame) -> float:
    return float(np.sqrt(np.mean(frame.pcm.astype(np.float64) ** 2)))


def _peak_hz(frames: list[Frame]) -> float:
    heard = np.concatenate([f.pcm[0] for f in frames]).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(heard * np.hanning(heard.shape[0])))
    return float(np.argmax(spectrum)) * SAMPLE_RATE_HZ / len(heard)


@needs_pulse
def test_lists_inputs_outputs_and_one_default_each(portaudio: None) -> None:
    devices = list_devices()
    assert any(d.max_input_channels > 0 for d in devices)
    assert any(d.max_output_channels > 0 for d in devices)
    assert MONITOR in {d.name for d in devices}
    (default_input,) = [d for d in devices if d.is_default_input]
    (default_output,) = [d for d in devices if d.is_default_output]
    assert default_input.max_input_channels > 0
    assert default_output.max_output_channels > 0
    assert [d.index for d in devices] == list(range(len(devices)))


@needs_pulse
def test_resolves_indexes_and_name_fragments(portaudio: None) -> None:
    monitor = next(d for d in list_devices() if d.name == MONITOR)
    assert resolve_device(None, "input") is None
    assert resolve_device(str(monitor.index), "input") == monitor.index
    assert resolve_device("ATTUNE_MON", "input") == monitor.index
    # An exact name wins over longer names containing it ("default" vs "sysdefault").
    default = next(d for d in list_devices() if d.name == "default")
    assert resolve_device(" DEFAULT ", "output") == default.index


def test_unknown_device_is_one_clear_line(portaudio: None) -> None:
    with pytest.raises(AudioDeviceError) as raised:
        resolve_device("no-such-device", "input")
    assert str(raised.value) == (
        "no input device matches 'no-such-device'; list them with: attune-voice devices"
    )
    with pytest.raises(AudioDeviceError, match=r"^no output device matches 'nope'"):
        resolve_device("nope", "output")
    with pytest.raises(AudioDeviceError, match=r"^there is no input device with index 9999;"):
        resolve_device("9999", "input")


@needs_pulse
def test_opening_an_unknown_device_fails_before_any_stream(portaudio: None) -> None:
    with pytest.raises(AudioDeviceError, match=r"^no output device matches 'no-such-speaker'"):
        DeviceAudio(output_device="no-such-speaker")


@needs_pulse
def test_frames_follow_the_sample_clock(session: Session) -> None:
    frames = session.frames
    assert len(frames) == FRAMES_READ
    assert [f.start_sample for f in frames] == [i * FRAME_SAMPLES for i in range(FRAMES_READ)]
    assert all(f.pcm.shape == (1, FRAME_SAMPLES) and f.pcm.dtype == np.int16 for f in frames)
    # Each frame owns its samples: the ring slot they came from is reused later.
    assert not any(np.shares_memory(a.pcm, b.pcm) for a, b in itertools.pairwise(frames))


@needs_pulse
def test_playing_marks_the_frames_the_tone_was_played_in(session: Session) -> None:
    playing = [i for i, f in enumerate(session.frames) if f.playing]
    assert 40 <= len(playing) <= 60
    # One prompt is one unbroken run of frames, starting no earlier than play().
    assert playing == list(range(playing[0], playing[0] + len(playing)))
    assert playing[0] >= TONE_AT_FRAME
    assert session.queued_at_play_s == pytest.approx(TONE_S, abs=FRAME_MS / 1000)
    assert session.queued_at_end_s == 0.0


@needs_pulse
def test_the_monitor_hears_the_tone(session: Session) -> None:
    frames = session.frames
    first_playing = next(i for i, f in enumerate(frames) if f.playing)
    loud = [i for i, f in enumerate(frames) if _rms(f) > 1000.0]
    # Before play() the null sink is silent; the tone's echo arrives after it starts,
    # late by the output plus input latency, and lasts as long as the tone.
    assert all(_rms(f) < 10.0 for f in frames[:TONE_AT_FRAME])
    assert 40 <= len(loud) <= 60
    assert first_playing <= loud[0] <= first_playing + 25
    assert _peak_hz([frames[i] for i in loud]) == pytest.approx(TONE_HZ, abs=5.0)


@needs_pulse
def test_keys_ride_on_the_next_frame(session: Session) -> None:
    assert session.frames[0].keys == ("pagedown",)
    assert all(f.keys == () for f in session.frames[1:])


@needs_pulse
def test_stats_count_callbacks_and_glitches(session: Session) -> None:
    stats = session.stats
    assert stats.callbacks >= FRAMES_READ
    assert stats.dropped_frames == 0
    assert stats.overflows >= 0
    assert stats.underflows >= 0
    # The callback only copies; taking anywhere near a whole frame would mean glitches.
    assert 0.0 < stats.worst_callback_ms < FRAME_MS
    assert all(latency_s > 0.0 for latency_s in stats.latency_s)


@needs_pulse
def test_close_ends_frames_and_refuses_to_play(session: Session) -> None:
    assert session.after_close is None
    assert session.play_after_close is not None
    assert "closed" in str(session.play_after_close)


@pytest.fixture
def suspendable_sink() -> Iterator[str]:
    """The null sink, resumed afterwards whatever the test did to it."""
    pactl = shutil.which("pactl")
    if pactl is None:
        pytest.skip("pactl (pulseaudio-utils) is not installed")
    yield pactl
    subprocess.run([pactl, "suspend-sink", SINK, "0"], check=True)


@needs_pulse
def test_a_stalled_stream_is_an_error_not_a_hang(portaudio: None, suspendable_sink: str) -> None:
    with DeviceAudio(input_device=MONITOR) as audio:
        stream = audio.frames()
        next(stream)
        # Suspending the sink stops the stream for real, as an unplugged device would.
        subprocess.run([suspendable_sink, "suspend-sink", SINK, "1"], check=True)
        with pytest.raises(AudioDeviceError, match=r"^the microphone stopped delivering audio"):
            for _ in stream:
                pass


@needs_pulse
def test_monitor_output_plays_frames_through_the_speakers(portaudio: None) -> None:
    # The demo hands over float frames at int16 scale, one per 20 ms step.
    chunks = _tone().astype(np.float32).reshape(-1, FRAME_SAMPLES)
    heard: list[Frame] = []
    with DeviceAudio(input_device=MONITOR) as audio, MonitorOutput() as monitor:
        for frame in audio.frames():
            heard.append(frame)
            if len(heard) <= len(chunks):
                monitor.write(chunks[len(heard) - 1])
            monitor.write(None)
            if len(heard) == FRAMES_READ:
                break
    loud = [f for f in heard if _rms(f) > 1000.0]
    assert 40 <= len(loud) <= 60
    assert _peak_hz(loud) == pytest.approx(TONE_HZ, abs=5.0)
    assert not any(f.playing for f in heard)


@needs_pulse
def test_a_stream_portaudio_gave_up_on_is_restarted(portaudio: None) -> None:
    frames: list[Frame] = []
    with DeviceAudio(input_device=MONITOR) as audio:
        for frame in audio.frames():
            frames.append(frame)
            if len(frames) == 10:
                # What PortAudio 19.6 does after some ALSA xruns: its stream thread ends
                # and the stream reports itself inactive. There is no public way to make
                # PortAudio fail, hence the private attribute.
                audio._stream.abort()
            if len(frames) == 60:
                break
        stats = audio.stats()
    assert stats.restarts == 1
    assert [f.start_sample for f in frames] == [i * FRAME_SAMPLES for i in range(60)]
