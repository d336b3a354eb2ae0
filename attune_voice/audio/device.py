"""The live microphone and speakers: one sounddevice duplex stream behind ``DuplexAudio``."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, Pcm, PromptMeaning
from attune_voice.errors import AudioDeviceError

DeviceKind = Literal["input", "output"]

KeySource = Callable[[], Iterable[str]] | queue.Queue[str] | queue.SimpleQueue[str]
"""Where hand-over keys come from: a poll function (``KeyReader.poll``) or a queue."""

INPUT_RING_S = 10.0
"""How far the reader may fall behind the microphone before blocks are dropped."""

PLAYBACK_RING_S = 60.0
"""Prompt audio that can be queued without ``play`` having to wait for the speakers."""

STALL_TIMEOUT_S = 2.0
"""A stream that delivers nothing for this long is treated as lost (unplugged, server gone)."""

_LIVENESS_CHECK_S = 0.25
"""How often a reader waiting for audio checks whether PortAudio's stream thread died."""

_HINT = (
    "check that PulseAudio or PipeWire is running and a microphone is plugged in; "
    "list devices with: attune-voice devices"
)


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device as ``attune-voice devices`` shows it."""

    index: int
    name: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    """Hz; the device's own rate. Streams here always ask for 16 kHz."""
    is_default_input: bool
    is_default_output: bool
    hostapi: str = ""
    """ALSA, OSS, JACK…: the same card can appear once per host API."""


@dataclass(frozen=True)
class DeviceStats:
    """Health of a running stream; non-zero counts mean audible glitches or lost audio."""

    overflows: int
    """Callbacks where PortAudio reported input lost before we got it."""
    underflows: int
    """Callbacks where the speakers ran dry before our output arrived."""
    dropped_frames: int
    """Microphone frames discarded because the reader fell more than ``INPUT_RING_S`` behind."""
    callbacks: int
    restarts: int
    """Times the stream was restarted after PortAudio's own thread gave up."""
    worst_callback_ms: float
    """Longest time spent inside our callback (a 20 ms frame is the budget)."""
    latency_s: tuple[float, float]
    """(input, output) latency PortAudio reports for the open stream."""


def _sounddevice() -> Any:
    """Import sounddevice on first use, so the rest of the package works without PortAudio."""
    try:
        import sounddevice
    except OSError as e:
        # sounddevice raises OSError when ctypes cannot find libportaudio.so.
        raise AudioDeviceError(
            "the PortAudio library is missing; install it with: sudo apt-get install libportaudio2"
        ) from e
    except ImportError as e:
        raise AudioDeviceError(
            "the sounddevice package is missing; reinstall attune-voice (pip install -e .)"
        ) from e
    return sounddevice


def _describe(e: BaseException) -> str:
    """One line from a PortAudio error, whose text may span lines."""
    return " ".join(str(e).split())


def list_devices() -> list[DeviceInfo]:
    """Every input and output device PortAudio can see, in PortAudio's order."""
    sd = _sounddevice()
    try:
        hostapis = sd.query_hostapis()
        default_api = hostapis[sd.default.hostapi]
        default_input = int(default_api["default_input_device"])
        default_output = int(default_api["default_output_device"])
        raw = sd.query_devices()
    except sd.PortAudioError as e:
        raise AudioDeviceError(f"cannot list audio devices ({_describe(e)}); {_HINT}") from e
    return [
        DeviceInfo(
            index=index,
            name=str(info["name"]),
            max_input_channels=int(info["max_input_channels"]),
            max_output_channels=int(info["max_output_channels"]),
            default_samplerate=float(info["default_samplerate"]),
            is_default_input=index == default_input,
            is_default_output=index == default_output,
            hostapi=str(hostapis[info["hostapi"]]["name"]),
        )
        for index, info in enumerate(raw)
    ]


def _channels(device: DeviceInfo, kind: DeviceKind) -> int:
    return device.max_input_channels if kind == "input" else device.max_output_channels


def resolve_device(spec: str | None, kind: DeviceKind) -> int | None:
    """Turn a device index or a case-insensitive name fragment into a PortAudio index.

    ``None`` (or an empty string) keeps the system default, which is what most rooms
    want: PulseAudio or PipeWire then decides, and resamples to 16 kHz for us.
    """
    if spec is None or not spec.strip():
        return None
    wanted = spec.strip()
    devices = [d for d in list_devices() if _channels(d, kind) > 0]
    if wanted.isdigit():
        index = int(wanted)
        for device in devices:
            if device.index == index:
                return index
        raise AudioDeviceError(
            f"there is no {kind} device with index {index}; list them with: attune-voice devices"
        )
    fragment = wanted.casefold()
    exact = [d for d in devices if d.name.casefold() == fragment]
    if exact:
        return exact[0].index
    matches = [d for d in devices if fragment in d.name.casefold()]
    if len(matches) == 1:
        return matches[0].index
    if not matches:
        raise AudioDeviceError(
            f"no {kind} device matches '{wanted}'; list them with: attune-voice devices"
        )
    names = ", ".join(f"{d.index} {d.name}" for d in matches)
    raise AudioDeviceError(
        f"'{wanted}' matches several {kind} devices ({names}); give the index instead"
    )


class DeviceAudio:
    """Microphone frames and prompt playback from one duplex PortAudio stream.

    The stream is opened by the constructor, so a wrong device fails at once, and
    started by the first call to ``frames()``: the session clock (samples consumed)
    starts when the engine starts reading. Prompts queued with ``play()`` before that
    start with the first frame.

    Threads: the PortAudio callback is the only writer of the input ring and the only
    reader of the playback ring; ``frames()`` and ``play()`` are their counterparts.
    Each side publishes progress by rebinding a plain int counter, which is atomic
    under the GIL, so the callback never takes a lock the other side could hold.
    """

    def __init__(
        self,
        input_device: str | None = None,
        output_device: str | None = None,
        channels: int = 1,
        key_source: KeySource | None = None,
        latency: float | str = "low",
    ) -> None:
        if channels < 1:
            raise AudioDeviceError(f"channels must be 1 or more, not {channels}")
        self.channels = channels
        self._key_source = key_source

        ring_blocks = round(INPUT_RING_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self._in_ring: npt.NDArray[np.int16] = np.zeros(
            (ring_blocks, channels, FRAME_SAMPLES), dtype=np.int16
        )
        self._in_playing: npt.NDArray[np.bool_] = np.zeros(ring_blocks, dtype=np.bool_)
        self._in_written = 0
        """Blocks the callback has stored; only the callback rebinds it."""
        self._in_read = 0
        """Blocks ``frames()`` has taken; only the reader rebinds it."""
        self._input_ready = threading.Event()

        self._out_ring: npt.NDArray[np.int16] = np.zeros(
            round(PLAYBACK_RING_S * SAMPLE_RATE_HZ), dtype=np.int16
        )
        self._out_written = 0
        """Samples ``play()`` has queued since the start; only ``play()`` rebinds it."""
        self._out_read = 0
        """Samples the callback has sent to the speakers; only the callback rebinds it."""
        self._output_space = threading.Event()
        self._play_lock = threading.Lock()
        """Serialises producers only; the callback never touches it."""

        self._overflows = 0
        self._underflows = 0
        self._dropped = 0
        self._callbacks = 0
        self._restarts = 0
        self._callbacks_at_restart = 0
        self._worst_callback_s: npt.NDArray[np.float64] = np.zeros(1, dtype=np.float64)

        self._consumed_samples = 0
        self._started = False
        self._closed = threading.Event()
        """Set by close(); an Event because other threads poll it."""
        self._stream = self._open(input_device, output_device, latency)

    # -- opening ---------------------------------------------------------------------

    def _open(self, input_spec: str | None, output_spec: str | None, latency: float | str) -> Any:
        sd = _sounddevice()
        devices = list_devices()
        if not any(d.max_input_channels > 0 for d in devices):
            raise AudioDeviceError(f"no microphone found; {_HINT}")
        if not any(d.max_output_channels > 0 for d in devices):
            raise AudioDeviceError(f"no speaker found; {_HINT}")
        input_index = resolve_device(input_spec, "input")
        output_index = resolve_device(output_spec, "output")
        input_info = _pick(devices, input_index, "input")
        output_info = _pick(devices, output_index, "output")
        if input_info.max_input_channels < self.channels:
            raise AudioDeviceError(
                f"the input device '{input_info.name}' has {input_info.max_input_channels} "
                f"channel(s), not {self.channels}; pick another with --input "
                "(list them with: attune-voice devices)"
            )
        _check_settings(sd, input_info, "input", self.channels)
        _check_settings(sd, output_info, "output", 1)
        try:
            return sd.Stream(
                samplerate=SAMPLE_RATE_HZ,
                # A fixed block size makes PortAudio call us with exactly one frame each
                # time, so one callback is one Frame and one `playing` flag.
                blocksize=FRAME_SAMPLES,
                device=(input_info.index, output_info.index),
                channels=(self.channels, 1),
                dtype="int16",
                latency=latency,
                callback=self._callback,
            )
        except (sd.PortAudioError, ValueError) as e:
            raise AudioDeviceError(
                f"cannot open '{input_info.name}' and '{output_info.name}' "
                f"({_describe(e)}); {_HINT}"
            ) from e

    # -- the real-time side ----------------------------------------------------------

    def _callback(
        self,
        indata: npt.NDArray[np.int16],
        outdata: npt.NDArray[np.int16],
        frames: int,
        time_info: Any,
        status: Any,
    ) -> None:
        # Contract: this runs on PortAudio's audio thread every 20 ms. It only copies
        # between PortAudio's buffers and rings allocated up front, and bumps counters.
        # No buffer allocation, no logging or printing, no file or network I/O, no lock
        # held for longer than an Event.set(), nothing that can raise: a slow callback
        # is an audible glitch and an exception ends the stream. `frames` is always
        # FRAME_SAMPLES because the stream was opened with that fixed block size.
        started_s = time.perf_counter()
        if status:
            if status.input_overflow:
                self._overflows += 1
            if status.output_underflow:
                self._underflows += 1

        ring = self._out_ring
        capacity = ring.shape[0]
        start = self._out_read % capacity
        take = min(frames, self._out_written - self._out_read)
        first = min(take, capacity - start)
        outdata[:first, 0] = ring[start : start + first]
        outdata[first:take, 0] = ring[: take - first]
        outdata[take:, 0] = 0
        if take:
            self._out_read += take
            self._output_space.set()

        if self._in_written - self._in_read < self._in_ring.shape[0]:
            slot = self._in_written % self._in_ring.shape[0]
            self._in_ring[slot] = indata.T
            self._in_playing[slot] = take > 0
            self._in_written += 1
            self._input_ready.set()
        else:
            self._dropped += 1

        self._callbacks += 1
        elapsed_s = time.perf_counter() - started_s
        self._worst_callback_s[0] = max(self._worst_callback_s[0], elapsed_s)

    # -- the DuplexAudio side --------------------------------------------------------

    def _start(self) -> None:
        if self._started:
            return
        sd = _sounddevice()
        try:
            self._stream.start()
        except sd.PortAudioError as e:
            raise AudioDeviceError(
                f"cannot start the audio stream ({_describe(e)}); {_HINT}"
            ) from e
        self._started = True

    def frames(self) -> Iterator[Frame]:
        """Yield the microphone's frames in order until ``close()``; starts the stream."""
        self._start()
        while not self._closed.is_set():
            if not self._wait_for_input():
                return
            slot = self._in_read % self._in_ring.shape[0]
            pcm = self._in_ring[slot].copy()
            playing = bool(self._in_playing[slot])
            self._in_read += 1
            start_sample = self._consumed_samples
            self._consumed_samples += FRAME_SAMPLES
            yield Frame(pcm=pcm, start_sample=start_sample, playing=playing, keys=self._keys())

    def _wait_for_input(self) -> bool:
        """Block until the callback has stored a block; False once closed."""
        deadline_s = time.monotonic() + STALL_TIMEOUT_S
        while self._in_written == self._in_read:
            if self._closed.is_set():
                return False
            # Clear, then re-check, then wait: a set() between the check and the
            # clear would otherwise be lost and cost a whole timeout.
            self._input_ready.clear()
            if self._in_written != self._in_read:
                break
            remaining_s = deadline_s - time.monotonic()
            if remaining_s > 0 and self._input_ready.wait(min(remaining_s, _LIVENESS_CHECK_S)):
                continue
            if self._closed.is_set():
                return False
            if self._revive():
                deadline_s = time.monotonic() + STALL_TIMEOUT_S
            elif time.monotonic() >= deadline_s:
                raise AudioDeviceError(
                    f"the microphone stopped delivering audio for {STALL_TIMEOUT_S:g} s "
                    "(unplugged, or the sound server stopped?); check it with: "
                    "attune-voice devices"
                )
        return not self._closed.is_set()

    def _revive(self) -> bool:
        """Restart a stream whose PortAudio thread gave up; True if it was restarted.

        PortAudio 19.6's ALSA duplex code (Debian 12, Raspberry Pi OS) can end its
        callback thread after an xrun on the output side ("Expression 'err' failed in
        pa_linux_alsa.c", PortAudio issue #758) while the device itself is fine. That
        stream reports itself inactive; a stalled but active stream (an unplugged
        microphone, a suspended server) is left alone and times out. The samples missed
        meanwhile are simply not in the session: the clock counts what was heard.
        """
        if self._stream.active:
            return False
        if self._restarts and self._callbacks == self._callbacks_at_restart:
            # Restarted already and not one callback since: the device is really gone.
            return False
        sd = _sounddevice()
        try:
            self._stream.stop(ignore_errors=True)
            self._stream.start()
        except sd.PortAudioError as e:
            raise AudioDeviceError(
                f"the audio stream stopped and could not be restarted ({_describe(e)}); {_HINT}"
            ) from e
        self._restarts += 1
        self._callbacks_at_restart = self._callbacks
        return True

    def _keys(self) -> tuple[str, ...]:
        source = self._key_source
        if source is None:
            return ()
        if isinstance(source, (queue.Queue, queue.SimpleQueue)):
            keys: list[str] = []
            while True:
                try:
                    keys.append(source.get_nowait())
                except queue.Empty:
                    return tuple(keys)
        return tuple(source())

    def play(self, pcm: Pcm, meaning: PromptMeaning | None = None) -> None:
        """Queue mono 16 kHz audio after what is queued; waits only if 60 s are queued.

        ``meaning`` is for simulated listeners; a real room hears the words instead.
        """
        del meaning
        samples = np.asarray(pcm)
        if samples.ndim != 1 or samples.dtype != np.int16:
            raise AudioDeviceError(
                f"play() takes mono int16 samples, not {samples.dtype} of shape {samples.shape}"
            )
        with self._play_lock:
            done = 0
            while done < samples.shape[0]:
                if self._closed.is_set():
                    raise AudioDeviceError("cannot play: the audio device is closed")
                free = self._out_ring.shape[0] - (self._out_written - self._out_read)
                if free == 0:
                    self._wait_for_space()
                    continue
                done += self._write_out(samples[done : done + free])

    def _write_out(self, chunk: Pcm) -> int:
        """Copy into the free part of the playback ring, then publish it."""
        ring = self._out_ring
        capacity = ring.shape[0]
        start = self._out_written % capacity
        first = min(chunk.shape[0], capacity - start)
        ring[start : start + first] = chunk[:first]
        ring[: chunk.shape[0] - first] = chunk[first:]
        # Publish after the copy: the callback reads only below _out_written.
        self._out_written += chunk.shape[0]
        return int(chunk.shape[0])

    def _wait_for_space(self) -> None:
        if not self._started:
            raise AudioDeviceError(
                f"more than {PLAYBACK_RING_S:g} s of prompt audio queued before the "
                "stream started; read frames() first"
            )
        self._output_space.clear()
        if self._out_written - self._out_read < self._out_ring.shape[0]:
            return
        if not self._output_space.wait(STALL_TIMEOUT_S):
            raise AudioDeviceError(
                f"the speakers stopped taking audio for {STALL_TIMEOUT_S:g} s "
                "(unplugged, or the sound server stopped?); check them with: "
                "attune-voice devices"
            )

    def queued_s(self) -> float:
        """Seconds of prompt audio queued and not yet handed to the speakers."""
        return (self._out_written - self._out_read) / SAMPLE_RATE_HZ

    def stats(self) -> DeviceStats:
        """Glitch counters and the callback's worst duration so far."""
        latency = self._stream.latency
        return DeviceStats(
            overflows=self._overflows,
            underflows=self._underflows,
            dropped_frames=self._dropped,
            callbacks=self._callbacks,
            restarts=self._restarts,
            worst_callback_ms=float(self._worst_callback_s[0]) * 1000.0,
            latency_s=(float(latency[0]), float(latency[1])),
        )

    def close(self) -> None:
        """Stop the stream now (queued prompt audio is dropped); safe to call twice."""
        if self._closed.is_set():
            return
        self._closed.set()
        # Wake a reader or a player waiting on the other thread so it sees _closed.
        self._input_ready.set()
        self._output_space.set()
        self._stream.close(ignore_errors=True)

    def __enter__(self) -> DeviceAudio:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class MonitorOutput:
    """Plays a stream of frames through the speakers in real time (``demo --play``).

    Unlike ``DeviceAudio`` this is PortAudio's blocking mode: ``write`` waits while the
    device buffer is full, and that wait is what paces a simulation that would
    otherwise run as fast as the CPU allows. ``close`` lets what is queued play out.
    """

    def __init__(self, output_device: str | None = None) -> None:
        sd = _sounddevice()
        info = _pick(list_devices(), resolve_device(output_device, "output"), "output")
        _check_settings(sd, info, "output", 1)
        self.underflows = 0
        """Writes that found the speakers had already run dry (the producer was late)."""
        self._closed = False
        try:
            self._stream = sd.OutputStream(
                samplerate=SAMPLE_RATE_HZ,
                blocksize=FRAME_SAMPLES,
                device=info.index,
                channels=1,
                dtype="int16",
                # Smooth playback matters here, not latency: nothing listens back.
                latency="high",
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as e:
            raise AudioDeviceError(f"cannot open '{info.name}' ({_describe(e)}); {_HINT}") from e

    def write(self, pcm: npt.NDArray[Any] | None) -> None:
        """Play mono samples at int16 scale (int or float; several channels are mixed).

        ``None`` (a frame with nothing to monitor) plays nothing.
        """
        if pcm is None or self._closed:
            return
        samples = np.asarray(pcm)
        if samples.ndim == 2:
            samples = samples.mean(axis=0)
        mono = np.clip(np.rint(samples), -32768, 32767).astype(np.int16)
        sd = _sounddevice()
        try:
            if self._stream.write(mono.reshape(-1, 1)):
                self.underflows += 1
        except sd.PortAudioError as e:
            raise AudioDeviceError(
                f"the speakers stopped taking audio ({_describe(e)}); check them with: "
                "attune-voice devices"
            ) from e

    def close(self) -> None:
        """Play out what is queued, then release the device; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._stream.stop(ignore_errors=True)
        finally:
            self._stream.close(ignore_errors=True)

    def __enter__(self) -> MonitorOutput:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _check_settings(sd: Any, info: DeviceInfo, kind: DeviceKind, channels: int) -> None:
    """Fail with a useful line when a device cannot do 16 kHz 16-bit, before opening it."""
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=info.index, channels=channels, dtype="int16", samplerate=SAMPLE_RATE_HZ)
    except (sd.PortAudioError, ValueError) as e:
        raise AudioDeviceError(
            f"the {kind} device '{info.name}' cannot run at {SAMPLE_RATE_HZ} Hz, 16-bit "
            f"({_describe(e)}); use 'default' or 'pulse', which resample "
            "(list devices with: attune-voice devices)"
        ) from e


def _pick(devices: list[DeviceInfo], index: int | None, kind: DeviceKind) -> DeviceInfo:
    """The chosen device, or the system default for ``None``."""
    if index is None:
        defaults = [
            d for d in devices if (d.is_default_input if kind == "input" else d.is_default_output)
        ]
        if not defaults:
            raise AudioDeviceError(f"there is no default {kind} device; {_HINT}")
        return defaults[0]
    return next(d for d in devices if d.index == index)


__all__ = [
    "DeviceAudio",
    "DeviceInfo",
    "DeviceStats",
    "MonitorOutput",
    "list_devices",
    "resolve_device",
]
