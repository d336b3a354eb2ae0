"""The live microphone and speakers: one PortAudio duplex stream behind ``DuplexAudio``."""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from attune_voice.audio.devices import DEVICE_HINT, open_duplex_stream, refresh_devices
from attune_voice.audio.echo_gate import EchoGate
from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, Pcm, PromptMeaning
from attune_voice.audio.latency import Latency, stream_latency
from attune_voice.audio.monitor import play_alone
from attune_voice.audio.portaudio import (
    START_TIMEOUT_S,
    alsa_message_count,
    describe,
    input_latency_s,
    load_sounddevice,
    start_within,
    stderr_silenced,
)
from attune_voice.audio.stream_state import (
    BEHIND_BLOCKS,
    BEHIND_LIMIT_S,
    LOST_TIMEOUT_S,
    RETRY_S,
    STALL_TIMEOUT_S,
    BlockTiming,
    DeviceChange,
    DeviceState,
    DeviceStats,
    DeviceStatus,
    next_state,
    wait_words,
)
from attune_voice.errors import AudioDeviceError

KeySource = Callable[[], Iterable[str]] | queue.Queue[str] | queue.SimpleQueue[str]
"""Where hand-over keys come from: a poll function (``KeyReader.poll``) or a queue."""

INPUT_RING_S = 10.0
"""How far the reader may fall behind the microphone before blocks are dropped."""

PLAYBACK_RING_S = 60.0
"""Prompt audio that can be queued without ``play`` having to wait for the speakers."""

_LIVENESS_CHECK_S = 0.25
"""How often a reader waiting for audio checks whether PortAudio's stream thread died."""

_log = logging.getLogger(__name__)


class DeviceAudio:
    """Microphone frames and prompt playback from one duplex PortAudio stream.

    The stream is opened by the constructor, so a wrong device fails at once, and
    started by the first call to ``frames()``: the session clock (samples consumed)
    starts when the engine starts reading. Prompts queued with ``play()`` before that
    start with the first frame.

    ``Frame.playing`` comes from the ``EchoGate``: it is True while a prompt or its
    echo is in the microphone, following the measured delay between the two.

    ``latency`` is what PortAudio buffers in each direction (see ``Latency``); None
    takes the couple's setting (``stream_latency``). The output side is most of the
    time from ``play()`` to the speakers.

    Faults: input overflows and output underflows are counted (``stats()``), never
    fatal. A stream whose PortAudio thread gave up is restarted. A device that stops
    delivering audio is lost: ``frames()`` then yields nothing (the engine, whose
    clock is the samples consumed, simply pauses), ``on_status`` is told, and the
    device is reopened every ``RETRY_S`` until it delivers again, when ``on_status``
    hears it is back and frames continue on the same clock. After ``lost_timeout_s``
    ``frames()`` raises ``AudioDeviceError`` instead.

    Threads: the PortAudio callback is the only writer of the input ring and the only
    reader of the playback ring; ``frames()`` and ``play()`` are their counterparts.
    Each side publishes progress by rebinding a plain int counter, which is atomic
    under the GIL, so the callback never takes a lock the other side could hold.
    """

    real_time = True
    """Frames come at the pace of the sound card: what can be done ahead of time
    (rendering the next prompts, ``SessionLoop``) should be, between decisions."""

    def __init__(
        self,
        input_device: str | None = None,
        output_device: str | None = None,
        channels: int = 1,
        key_source: KeySource | None = None,
        latency: Latency | None = None,
        stall_timeout_s: float = STALL_TIMEOUT_S,
        lost_timeout_s: float = LOST_TIMEOUT_S,
        on_status: Callable[[DeviceStatus], None] | None = None,
    ) -> None:
        if channels < 1:
            raise AudioDeviceError(f"channels must be 1 or more, not {channels}")
        self.channels = channels
        self.on_status = on_status
        """Told when the device is lost and when it is back; called from ``frames()``."""
        self._key_source = key_source
        self._specs = (input_device, output_device)
        self._latency = stream_latency() if latency is None else latency
        self._stall_timeout_s = stall_timeout_s
        self._lost_timeout_s = lost_timeout_s

        ring_blocks = round(INPUT_RING_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self._in_ring: npt.NDArray[np.int16] = np.zeros(
            (ring_blocks, channels, FRAME_SAMPLES), dtype=np.int16
        )
        self._in_played: npt.NDArray[np.int16] = np.zeros(
            (ring_blocks, FRAME_SAMPLES), dtype=np.int16
        )
        """What was written to the speakers in the callback that stored each input block."""
        self._in_taken: npt.NDArray[np.int32] = np.zeros(ring_blocks, dtype=np.int32)
        """How many of those samples were prompt (the rest is silence)."""
        self._in_out_pos: npt.NDArray[np.int64] = np.zeros(ring_blocks, dtype=np.int64)
        """Playback position (samples queued before) at the start of each such block."""
        self._in_wall_s: npt.NDArray[np.float64] = np.zeros(ring_blocks, dtype=np.float64)
        """``time.perf_counter()`` when each block arrived, for latency measurements."""
        self._in_times: npt.NDArray[np.float64] = np.zeros((ring_blocks, 3), dtype=np.float64)
        """PortAudio's stream times of each callback: (now, when the input block was
        captured, when the output block will be played), for latency measurements."""
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
        """Samples the callback has sent to the speakers; only the callback rebinds it
        (and the reader, while no stream is running)."""
        self._output_space = threading.Event()
        self._play_lock = threading.Lock()
        """Serialises producers only; the callback never touches it."""

        self._overflows = 0
        self._underflows = 0
        self._dropped = 0
        self._callbacks = 0
        self._restarts = 0
        self._catch_ups = 0
        self._behind_blocks = 0
        """Blocks in a row, up to the one last read, that arrived over the limit late."""
        self._may_catch_up = False
        """True once a block of the current stream arrived in time. A new stream
        hands over its first second or so late (0.6 s late on PulseAudio after a
        reopening) and soon catches up by itself; and a host API that always reports
        late audio is not reopened over and over."""
        self._callbacks_at_restart = 0
        self._restart_failed_at = -1
        """Callback count when restarting failed; no second try until audio flowed again."""
        self._generation = 0
        """Which stream the callback serves; a stream left behind keeps an old number."""
        self._losses = 0
        self._worst_callback_s: npt.NDArray[np.float64] = np.zeros(1, dtype=np.float64)
        self._alsa_at_open = 0
        self._logged = (0, 0, 0, 0)
        """(overflows, underflows, dropped, alsa messages) already logged."""

        self._echo = EchoGate()
        self._consumed_samples = 0
        self._state = DeviceState.OPEN
        self._closed = threading.Event()
        """Set by close(); an Event because other threads poll it."""
        self._stream: Any = self._open()
        self._input_latency_s = input_latency_s(self._stream)
        """The input latency PortAudio reports for the current stream."""
        self._alsa_at_open = alsa_message_count()

    @property
    def state(self) -> DeviceState:
        return self._state

    def _change(self, change: DeviceChange) -> None:
        self._state = next_state(self._state, change)

    # -- opening ---------------------------------------------------------------------

    def _open(self) -> Any:
        input_spec, output_spec = self._specs
        return open_duplex_stream(
            input_spec,
            output_spec,
            self.channels,
            self._latency,
            functools.partial(self._callback, self._generation),
        )

    # -- the real-time side ----------------------------------------------------------

    def _callback(
        self,
        generation: int,
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
        if generation != self._generation:
            # A stream given up on that came to life after all: it must not write.
            outdata.fill(0)
            return
        if status:
            if status.input_overflow:
                self._overflows += 1
            if status.output_underflow:
                self._underflows += 1

        ring = self._out_ring
        capacity = ring.shape[0]
        position = self._out_read
        start = position % capacity
        take = min(frames, self._out_written - position)
        first = min(take, capacity - start)
        outdata[:first, 0] = ring[start : start + first]
        outdata[first:take, 0] = ring[: take - first]
        outdata[take:, 0] = 0
        if take:
            self._out_read = position + take
            self._output_space.set()

        if self._in_written - self._in_read < self._in_ring.shape[0]:
            slot = self._in_written % self._in_ring.shape[0]
            self._in_ring[slot] = indata.T
            self._in_played[slot] = outdata[:, 0]
            self._in_taken[slot] = take
            self._in_out_pos[slot] = position
            self._in_wall_s[slot] = started_s
            self._in_times[slot, 0] = time_info.currentTime
            self._in_times[slot, 1] = time_info.inputBufferAdcTime
            self._in_times[slot, 2] = time_info.outputBufferDacTime
            self._in_written += 1
            self._input_ready.set()
        else:
            self._dropped += 1

        self._callbacks += 1
        elapsed_s = time.perf_counter() - started_s
        self._worst_callback_s[0] = max(self._worst_callback_s[0], elapsed_s)

    # -- the DuplexAudio side --------------------------------------------------------

    def _start(self) -> None:
        if self._state is not DeviceState.OPEN:
            return
        sd = load_sounddevice()
        try:
            started = self._start_stream(self._stream)
        except sd.PortAudioError as e:
            raise AudioDeviceError(
                f"cannot start the audio stream ({describe(e)}); {DEVICE_HINT}"
            ) from e
        if not started:
            raise AudioDeviceError(f"the audio stream did not start; {DEVICE_HINT}")
        self._callbacks_at_restart = self._callbacks
        self._change(DeviceChange.START)

    def _start_stream(self, stream: Any) -> bool:
        """Start ``stream``; False if PortAudio hangs in the attempt (see ``start_within``).

        A stream that hung is given up: never touched again, its callback fenced off
        by the generation number, and a new one opened later.
        """
        if start_within(stream, START_TIMEOUT_S):
            return True
        self._generation += 1
        if stream is self._stream:
            self._stream = None
        _log.info("PortAudio did not start the stream; it is left behind")
        return False

    def frames(self) -> Iterator[Frame]:
        """Yield the microphone's frames in order until ``close()``; starts the stream."""
        self._start()
        while not self._closed.is_set():
            if not self._wait_for_input():
                return
            ring_slots = self._in_ring.shape[0]
            slot = self._in_read % ring_slots
            pcm = self._in_ring[slot].copy()
            gated = self._echo.push(pcm, self._in_played[slot], int(self._in_taken[slot]))
            behind = self._is_behind(slot)
            self._in_read += 1
            start_sample = self._consumed_samples
            self._consumed_samples += FRAME_SAMPLES
            if self._in_read % 50 == 0:
                self._log_glitches()
            yield Frame(pcm=pcm, start_sample=start_sample, playing=gated, keys=self._keys())
            if behind:
                self._catch_up()

    def _is_behind(self, slot: int) -> bool:
        """Has the audio reached the callback too late for ``BEHIND_BLOCKS`` in a row,
        this block included, without getting less late, by PortAudio's capture times?"""
        age_s = self._input_age_s(slot)
        if age_s is None or age_s <= BEHIND_LIMIT_S + self._input_latency_s:
            self._behind_blocks = 0
            self._may_catch_up = age_s is not None
            return False
        self._behind_blocks += 1
        if not self._may_catch_up or self._behind_blocks < BEHIND_BLOCKS:
            return False
        earlier_s = self._input_age_s((slot - BEHIND_BLOCKS + 1) % self._in_ring.shape[0])
        # A stream catching up by itself is a block less late with every block it
        # hands over; half of that over these blocks is taken as catching up.
        draining_s = BEHIND_BLOCKS * FRAME_SAMPLES / SAMPLE_RATE_HZ / 2
        return earlier_s is not None and age_s > earlier_s - draining_s

    def _input_age_s(self, slot: int) -> float | None:
        """How old the first sample of the block in ``slot`` was when its callback
        began, by PortAudio's stream times; None where the host API does not tell."""
        now, captured = (float(x) for x in self._in_times[slot, :2])
        return now - captured if captured > 0.0 and now > 0.0 else None

    def _catch_up(self) -> None:
        """Reopen a stream whose microphone audio arrives seconds late.

        When the machine stalls (the process stopped, or starved of CPU), PulseAudio
        and PipeWire keep what the microphone captured meanwhile and hand it over
        afterwards at the normal pace, one block per block played, so the stream stays
        that far behind for good: the coach would answer seconds late, and the echo of
        its prompts would arrive after the gate (``MAX_ECHO_DELAY_S``) and count as
        speech. A new stream starts from the present. The late audio still queued is
        dropped, as audio missed during a stall is: the clock counts what was heard.
        Prompt audio still queued plays on the new stream.
        """
        self._behind_blocks = 0
        late_s = self._input_age_s((self._in_read - 1) % self._in_ring.shape[0]) or 0.0
        self._close_stream()
        with stderr_silenced():
            reopened = self._reopen(refresh=False, drop_queued=False)
        if not reopened:
            # Gone for real: the next read finds no audio and waits for it as lost.
            return
        self._catch_ups += 1
        self._echo.reset()
        _log.info("audio stream reopened: the microphone was %.1f s behind", late_s)

    def _wait_for_input(self) -> bool:
        """Block until the callback has stored a block; False once closed.

        A stream that stalls is revived or, failing that, lost: this then waits for the
        device to come back, or raises ``AudioDeviceError`` after ``lost_timeout_s``.
        """
        checked_s = time.monotonic()
        deadline_s = checked_s + self._wait_limit_s()
        while self._in_written == self._in_read:
            if self._closed.is_set():
                return False
            # Clear, then re-check, then wait: a set() between the check and the
            # clear would otherwise be lost and cost a whole timeout.
            self._input_ready.clear()
            if self._in_written != self._in_read:
                break
            remaining_s = deadline_s - time.monotonic()
            woken = remaining_s > 0 and self._input_ready.wait(min(remaining_s, _LIVENESS_CHECK_S))
            now_s = time.monotonic()
            away_s = now_s - checked_s - _LIVENESS_CHECK_S
            checked_s = now_s
            if away_s > _LIVENESS_CHECK_S:
                # This process itself was not running (stopped, or starved of CPU), so
                # the stream had no chance to deliver: that time is not the device's.
                deadline_s += away_s
            if woken or away_s > _LIVENESS_CHECK_S:
                continue
            if self._closed.is_set():
                return False
            if self._revive():
                deadline_s = time.monotonic() + START_TIMEOUT_S
            elif time.monotonic() >= deadline_s:
                if not self._wait_while_lost():
                    return False
                deadline_s = time.monotonic() + START_TIMEOUT_S
        return not self._closed.is_set()

    def _wait_limit_s(self) -> float:
        """How long the next block may take: longer right after a (re)start."""
        if self._callbacks == self._callbacks_at_restart:
            return max(START_TIMEOUT_S, self._stall_timeout_s)
        return self._stall_timeout_s

    def _revive(self) -> bool:
        """Replace a stream whose PortAudio thread gave up; True if the new one runs.

        PortAudio 19.6's ALSA duplex code (Debian 12, Raspberry Pi OS) can end its
        callback thread after an xrun on the output side ("Expression 'err' failed in
        pa_linux_alsa.c", PortAudio issue #758) while the device itself is fine. That
        stream reports itself inactive. It is closed and a new one opened, rather than
        restarted: restarting a stream whose PulseAudio sink has gone blocks in
        PortAudio for good, while opening a new one fails at once. A stalled but active
        stream (an unplugged microphone, a suspended server) is left alone and is lost
        when it times out. The samples missed meanwhile are simply not in the session:
        the clock counts what was heard.
        """
        stream = self._stream
        if stream is None or stream.active:
            return False
        if self._restarts and self._callbacks == self._callbacks_at_restart:
            # Restarted already and not one callback since: the device is really gone.
            return False
        if self._restart_failed_at == self._callbacks:
            return False
        self._close_stream()
        with stderr_silenced():
            replaced = self._reopen(refresh=False)
        if not replaced:
            # The device is gone; the stall timeout will find it lost.
            self._restart_failed_at = self._callbacks
            return False
        self._restarts += 1
        self._echo.reset()
        _log.info("audio stream replaced after PortAudio stopped it")
        return True

    def _wait_while_lost(self) -> bool:
        """The device stopped: pause, say so, reopen until it is back; False if closed."""
        self._close_stream()
        self._losses += 1
        self._change(DeviceChange.STALL)
        self._echo.reset()
        wait = wait_words(self._lost_timeout_s)
        self._tell(
            DeviceState.LOST,
            "the microphone or the speakers stopped (unplugged, or the sound server "
            f"stopped?); the session is paused and waits up to {wait} for them",
        )
        give_up_s = time.monotonic() + self._lost_timeout_s
        while not self._closed.is_set():
            with stderr_silenced():
                back = self._reopen()
            if back:
                self._change(DeviceChange.BACK)
                self._tell(DeviceState.RUNNING, "the sound is back; the session goes on")
                return True
            if time.monotonic() >= give_up_s:
                self._change(DeviceChange.GIVE_UP)
                raise AudioDeviceError(
                    f"the microphone or the speakers were gone for {wait}; the session "
                    "ended there and everything before is kept; check them with: "
                    "attune-voice devices"
                )
            self._closed.wait(RETRY_S)
        return False

    def _tell(self, state: DeviceState, message: str) -> None:
        # Saying it to the couple is on_status's job; the log is for whoever reads it.
        _log.info("%s", message)
        if self.on_status is not None:
            self.on_status(DeviceStatus(state, message, self._lost_timeout_s))

    def _reopen(self, refresh: bool = True, drop_queued: bool = True) -> bool:
        """Open and start a new stream on the same devices; True once it delivers audio.

        With ``refresh``, a device not found is looked for again in a fresh device list;
        with ``drop_queued``, prompt audio not yet played is dropped.
        """
        sd = load_sounddevice()
        self._generation += 1
        stream = None
        try:
            try:
                stream = self._open()
            except AudioDeviceError:
                if not refresh:
                    raise
                # Not there under the name or index PortAudio knew: read the list again
                # (a USB device that comes back may come back under another index).
                refresh_devices()
                stream = self._open()
            if drop_queued:
                # What was queued when the device went is a prompt cut off mid-sentence.
                self._out_read = self._out_written
            callbacks = self._callbacks
            started = self._start_stream(stream)
        except (AudioDeviceError, sd.PortAudioError):
            if stream is not None:
                stream.close(ignore_errors=True)
            return False
        if not started:
            return False
        deadline_s = time.monotonic() + START_TIMEOUT_S
        while self._callbacks == callbacks and time.monotonic() < deadline_s:
            if self._closed.is_set():
                break
            self._input_ready.wait(_LIVENESS_CHECK_S)
            self._input_ready.clear()
        if self._callbacks == callbacks or self._closed.is_set():
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)
            return False
        self._stream = stream
        self._input_latency_s = input_latency_s(stream)
        self._may_catch_up = False
        self._callbacks_at_restart = callbacks
        return True

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            # abort, not stop: a stalled stream has nothing worth playing out.
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)

    def _log_glitches(self) -> None:
        """Log new overflows, underflows, drops and alsa-lib messages (from the reader)."""
        now = (self._overflows, self._underflows, self._dropped, self.alsa_messages)
        if now == self._logged:
            return
        self._logged = now
        _log.info(
            "audio glitches so far: %d input overflows, %d output underflows, "
            "%d frames dropped, %d alsa-lib messages",
            *now,
        )

    @property
    def alsa_messages(self) -> int:
        return alsa_message_count() - self._alsa_at_open

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
        if self._state is DeviceState.OPEN:
            raise AudioDeviceError(
                f"more than {PLAYBACK_RING_S:g} s of prompt audio queued before the "
                "stream started; read frames() first"
            )
        self._output_space.clear()
        if self._out_written - self._out_read < self._out_ring.shape[0]:
            return
        if not self._output_space.wait(self._stall_timeout_s):
            raise AudioDeviceError(
                f"the speakers stopped taking audio for {self._stall_timeout_s:g} s "
                "(unplugged, or the sound server stopped?); check them with: "
                "attune-voice devices"
            )

    def queued_s(self) -> float:
        """Seconds of prompt audio queued and not yet handed to the speakers."""
        return (self._out_written - self._out_read) / SAMPLE_RATE_HZ

    def play_position(self) -> int:
        """Samples queued for the speakers since the start: where the next ``play`` begins."""
        return self._out_written

    def timing(self, start_sample: int) -> BlockTiming | None:
        """How the block holding session sample ``start_sample`` went through the
        callback, if it is still in the input ring (the last ``INPUT_RING_S``).

        For latency measurements: the rest of the package never looks at the clock.
        """
        block = start_sample // FRAME_SAMPLES
        if not self._in_written - self._in_ring.shape[0] <= block < self._in_written:
            return None
        slot = block % self._in_ring.shape[0]
        now, played = float(self._in_times[slot, 0]), float(self._in_times[slot, 2])
        # A host API that does not know these times reports 0 for them; PortAudio's ALSA
        # side reports the output time as now while an underrun empties its buffer.
        return BlockTiming(
            arrived_s=float(self._in_wall_s[slot]),
            playback_position=int(self._in_out_pos[slot]),
            prompt_samples=int(self._in_taken[slot]),
            input_age_s=self._input_age_s(slot),
            output_delay_s=played - now if played > now > 0.0 else None,
        )

    def announce(self, pcm: Pcm) -> bool:
        """Play ``pcm`` on the output device alone and wait until it has played.

        For a notice while the device is lost: perhaps only the microphone went. Returns
        False when the speakers cannot play it either; never raises for that.
        """
        if self._state is not DeviceState.LOST:
            raise AudioDeviceError("announce() is for a lost device; use play()")
        return play_alone(pcm, self._specs[1], self._latency)

    def stats(self) -> DeviceStats:
        """Glitch counters, the callback's worst duration and the echo gate's figures."""
        sd = load_sounddevice()
        latency = (0.0, 0.0)
        if self._stream is not None:
            # Closed after a loss: no latency figure; the counters still stand.
            with contextlib.suppress(sd.PortAudioError):
                latency = self._stream.latency
        return DeviceStats(
            overflows=self._overflows,
            underflows=self._underflows,
            dropped_frames=self._dropped,
            callbacks=self._callbacks,
            restarts=self._restarts,
            catch_ups=self._catch_ups,
            worst_callback_ms=float(self._worst_callback_s[0]) * 1000.0,
            latency_s=(float(latency[0]), float(latency[1])),
            losses=self._losses,
            alsa_messages=self.alsa_messages,
            echo=self._echo.report(),
        )

    def close(self) -> None:
        """Stop the stream now (queued prompt audio is dropped); safe to call twice."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._change(DeviceChange.CLOSE)
        # Wake a reader or a player waiting on the other thread so it sees _closed.
        self._input_ready.set()
        self._output_space.set()
        if self._stream is not None:
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


__all__ = ["INPUT_RING_S", "PLAYBACK_RING_S", "DeviceAudio", "KeySource"]
