"""The live microphone and speakers: two PortAudio streams, paired, behind ``DeviceAudio``."""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from attune_voice.audio.blocks import INPUT_RING_S, PLAYBACK_RING_S, Pairing, Rings
from attune_voice.audio.devices import DEVICE_HINT, open_streams, refresh_devices
from attune_voice.audio.echo_gate import EchoGate
from attune_voice.audio.frames import (
    FRAME_SAMPLES,
    SAMPLE_RATE_HZ,
    STOP_FADE_S,
    Frame,
    Pcm,
    PromptMeaning,
)
from attune_voice.audio.interrupt import DeferredInterrupt
from attune_voice.audio.latency import Latency, stream_latency
from attune_voice.audio.monitor import play_alone
from attune_voice.audio.portaudio import (
    LIBRARY_LOG_NAME,
    START_TIMEOUT_S,
    LibraryLog,
    alsa_message_count,
    describe,
    input_latency_s,
    library_output_to,
    load_sounddevice,
    start_within,
)
from attune_voice.audio.revival import Revival
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
from attune_voice.store.paths import data_dir

KeySource = Callable[[], Iterable[str]] | queue.Queue[str] | queue.SimpleQueue[str]
"""Where hand-over keys come from: a poll function (``KeyReader.poll``) or a queue."""

_LIVENESS_CHECK_S = 0.25
"""How often a reader waiting for audio checks whether PortAudio's stream thread died."""

STALL_AGE_S = 0.1
"""Microphone audio this much later than the stream's input latency is a stall."""

INPUT, OUTPUT = 0, 1
"""The two sides, as indexes into ``(input, output)`` pairs."""
BOTH = (True, True)

_log = logging.getLogger(__name__)


class DeviceAudio:
    """Microphone frames and prompt playback from two PortAudio streams, one each way.

    The streams are opened by the constructor, so a wrong device fails at once, and
    started by the first call to ``frames()``: the session clock (samples consumed)
    starts when the engine starts reading. Prompts queued with ``play()`` before that
    start with the first frame.

    Every input block is paired with the output block played during it (``Pairing``:
    by PortAudio's capture and playback times, as one duplex callback used to pair them;
    why two streams, see "Live audio" in docs/architecture.md). ``Frame.playing`` comes from the
    ``EchoGate`` on those pairs: it is True while a prompt or its echo is in the
    microphone, following the measured delay between the two.

    ``latency`` is what PortAudio buffers in each direction (see ``Latency``); None
    takes the couple's setting (``stream_latency``). The output side is most of the
    time from ``play()`` to the speakers.

    Faults: input overflows and output underflows are counted (``stats()``), never
    fatal. A stream whose PortAudio thread gave up (a death) is replaced, the other one
    running on; one that dies again at once is left down for a while (``Revival``). A
    device that stops delivering audio is lost: ``frames()`` then yields nothing (the
    engine, whose clock is the samples consumed, simply pauses), ``on_status`` is told,
    and the device is reopened every ``RETRY_S`` until it delivers again, when
    ``on_status`` hears it is back and frames continue on the same clock. After
    ``lost_timeout_s`` ``frames()`` raises ``AudioDeviceError`` instead. What PortAudio
    and alsa-lib print meanwhile goes to ``library_log`` (``LibraryLog``), not the terminal.

    Threads: see ``Rings``; ``frames()`` and ``play()`` are the callbacks' counterparts.
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
        library_log: Path | None = None,
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
        self._library_log_path = (
            data_dir() / LIBRARY_LOG_NAME if library_log is None else library_log
        )
        self._library_log: LibraryLog | None = None
        self._interrupt = DeferredInterrupt()

        self._rings = Rings(channels)
        self._pairing = Pairing()
        blocks = self._rings.in_pcm.shape[0]
        self._paired: npt.NDArray[np.int64] = np.full(blocks, -1, dtype=np.int64)
        """The output ring slot paired with each input block read (-1: none); reader's."""
        self._silence: Pcm = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        self._play_lock = threading.Lock()
        """Serialises producers only; the callbacks never touch it."""

        self._revivals = (Revival(), Revival())
        self._restarts = 0
        self._catch_ups = 0
        self._stalls = 0
        self._stalled = False
        self._behind_blocks = 0
        """Blocks in a row, up to the one last read, that arrived over the limit late."""
        self._may_catch_up = False
        """True once a block of the current input stream arrived in time. A new stream
        hands over its first second or so late (0.6 s late on PulseAudio after a
        reopening) and soon catches up by itself; and a host API that always reports
        late audio is not reopened over and over."""
        self._callbacks_at_restart = 0
        self._losses = 0
        self._alsa_at_open = 0
        self._logged = (0, 0, 0, 0, 0)
        """(overflows, underflows, dropped, alsa messages, deaths) already logged."""

        self._echo = EchoGate()
        self._consumed_samples = 0
        self._state = DeviceState.OPEN
        self._closed = threading.Event()
        """Set by close(); an Event because other threads poll it."""
        self._streams: list[Any] = list(self._open(BOTH))
        """(input, output); None for a side that is down."""
        self._input_latency_s = input_latency_s(self._streams[INPUT])
        """The input latency PortAudio reports for the current input stream."""
        self._alsa_at_open = alsa_message_count()

    @property
    def state(self) -> DeviceState:
        return self._state

    def _change(self, change: DeviceChange) -> None:
        self._state = next_state(self._state, change)

    # -- opening ---------------------------------------------------------------------

    def _open(self, which: tuple[bool, bool]) -> tuple[Any, Any]:
        rings = self._rings
        input_spec, output_spec = self._specs
        return open_streams(
            input_spec,
            output_spec,
            self.channels,
            self._latency,
            functools.partial(rings.input_callback, rings.generations[INPUT]),
            functools.partial(rings.output_callback, rings.generations[OUTPUT]),
            which,
        )

    def _start(self) -> None:
        if self._state is not DeviceState.OPEN:
            return
        sd = load_sounddevice()
        self._interrupt.install()
        self._library_log = library_output_to(self._library_log_path)
        try:
            # The speakers first: their buffer fills while the microphone starts.
            started = all(self._start_stream(side) for side in (OUTPUT, INPUT))
        except sd.PortAudioError as e:
            raise AudioDeviceError(
                f"cannot start the audio stream ({describe(e)}); {DEVICE_HINT}"
            ) from e
        if not started:
            raise AudioDeviceError(f"the audio stream did not start; {DEVICE_HINT}")
        self._callbacks_at_restart = self._rings.in_callbacks
        for side in (INPUT, OUTPUT):
            self._revivals[side].started(time.monotonic(), self._flags(side), replacing=False)
        self._change(DeviceChange.START)

    def _start_stream(self, side: int) -> bool:
        """Start one side's stream; False if PortAudio hangs in the attempt.

        A stream that hung (see ``start_within``) is given up: never touched again, its
        callback fenced off by the generation number, and a new one opened later.
        """
        if start_within(self._streams[side], START_TIMEOUT_S):
            return True
        self._rings.generations[side] += 1
        self._streams[side] = None
        _log.info("PortAudio did not start the stream; it is left behind")
        return False

    def _flags(self, side: int) -> int:
        return self._rings.overflows if side == INPUT else self._rings.underflows

    # -- reading ---------------------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        """Yield the microphone's frames in order until ``close()``; starts the streams."""
        self._start()
        rings = self._rings
        ring_slots = rings.in_pcm.shape[0]
        while not self._closed.is_set():
            self._interrupt.check()
            if not self._wait_for_input():
                return
            self._check_output()
            block = rings.in_read
            slot = block % ring_slots
            pcm = rings.in_pcm[slot].copy()
            out_slot, moved = self._pairing.paired(rings, block, self._streams[OUTPUT] is not None)
            if moved:
                self._echo.reset()
            self._paired[slot] = -1 if out_slot is None else out_slot
            if out_slot is None:
                gated = self._echo.push(pcm, self._silence, 0)
            else:
                played, taken = rings.played[out_slot], int(rings.played_taken[out_slot])
                gated = self._echo.push(pcm, played, taken)
            behind = self._is_behind(slot)
            rings.in_read = block + 1
            start_sample = self._consumed_samples
            self._consumed_samples += FRAME_SAMPLES
            if rings.in_read % 50 == 0:
                self._log_glitches()
            played = self._echo.reference()
            yield Frame(
                pcm,
                start_sample,
                playing=gated,
                keys=self._keys(),
                played=played,
                echo_moved=self._echo.echo_move,
            )
            if behind:
                self._catch_up()

    def _is_behind(self, slot: int) -> bool:
        """Has the audio reached the callback too late for ``BEHIND_BLOCKS`` in a row,
        this block included, without getting less late, by PortAudio's capture times?"""
        age_s = self._input_age_s(slot)
        stalled = age_s is not None and age_s > STALL_AGE_S + self._input_latency_s
        if stalled and not self._stalled and self._may_catch_up:
            self._stalls += 1
        self._stalled = stalled
        if age_s is None or age_s <= BEHIND_LIMIT_S + self._input_latency_s:
            self._behind_blocks = 0
            self._may_catch_up = age_s is not None
            return False
        self._behind_blocks += 1
        if not self._may_catch_up or self._behind_blocks < BEHIND_BLOCKS:
            return False
        earlier_s = self._input_age_s((slot - BEHIND_BLOCKS + 1) % self._rings.in_pcm.shape[0])
        # A stream catching up by itself is a block less late with every block it
        # hands over; half of that over these blocks is taken as catching up.
        draining_s = BEHIND_BLOCKS * FRAME_SAMPLES / SAMPLE_RATE_HZ / 2
        return earlier_s is not None and age_s > earlier_s - draining_s

    def _input_age_s(self, slot: int) -> float | None:
        """How old the first sample of the block in ``slot`` was when its callback
        began, by PortAudio's stream times; None where the host API does not tell."""
        now, captured = (float(x) for x in self._rings.in_times[slot])
        return now - captured if captured > 0.0 and now > 0.0 else None

    def _catch_up(self) -> None:
        """Reopen a microphone stream whose audio arrives seconds late.

        When the machine stalls (the process stopped, or starved of CPU), a sound
        server can keep what the microphone captured meanwhile and hand it over
        afterwards at the normal pace, so the stream stays that far behind for good:
        the coach would answer seconds late, and the echo of its prompts would arrive
        after the gate (``MAX_ECHO_DELAY_S``) and count as speech. A new stream starts
        from the present. The late audio still queued is dropped, as audio missed
        during a stall is: the clock counts what was heard. The speakers play on.
        """
        self._behind_blocks = 0
        late_s = self._input_age_s((self._rings.in_read - 1) % self._rings.in_pcm.shape[0])
        self._close_stream(INPUT)
        if not self._reopen((True, False), refresh=False, drop_queued=False):
            # Gone for real: the next read finds no audio and waits for it as lost.
            return
        self._catch_ups += 1
        self._echo.reset()
        _log.info("audio stream reopened: the microphone was %.1f s behind", late_s or 0.0)

    def _wait_for_input(self) -> bool:
        """Block until the input callback has stored a block; False once closed.

        A stream that stalls is revived or, failing that, lost: this then waits for the
        device to come back, or raises ``AudioDeviceError`` after ``lost_timeout_s``.
        """
        rings = self._rings
        checked_s = time.monotonic()
        deadline_s = checked_s + self._wait_limit_s()
        while rings.in_written == rings.in_read:
            if self._closed.is_set():
                return False
            # Clear, then re-check, then wait: a set() between the check and the
            # clear would otherwise be lost and cost a whole timeout.
            rings.input_ready.clear()
            if rings.in_written != rings.in_read:
                break
            remaining_s = deadline_s - time.monotonic()
            woken = remaining_s > 0 and rings.input_ready.wait(min(remaining_s, _LIVENESS_CHECK_S))
            self._interrupt.check()
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
            self._check_output()
            if self._revive(INPUT):
                deadline_s = time.monotonic() + START_TIMEOUT_S
            elif time.monotonic() >= deadline_s:
                if not self._wait_while_lost():
                    return False
                deadline_s = time.monotonic() + START_TIMEOUT_S
        return not self._closed.is_set()

    def _wait_limit_s(self) -> float:
        """How long the next block may take: longer right after a (re)start."""
        if self._rings.in_callbacks == self._callbacks_at_restart:
            return max(START_TIMEOUT_S, self._stall_timeout_s)
        return self._stall_timeout_s

    def _check_output(self) -> None:
        """Replace a speakers' stream that died while the microphone runs on."""
        stream = self._streams[OUTPUT]
        if stream is None or not stream.active:
            self._revive(OUTPUT)

    def _revive(self, side: int) -> bool:
        """Replace one side's stream whose PortAudio thread gave up; True if a new one runs.

        PortAudio's ALSA code can end its callback thread after an xrun ("Expression
        'err' failed in pa_linux_alsa.c", PortAudio issue #758) while the device itself
        is fine. That stream reports itself inactive: a death. It is closed and a new
        one opened, rather than restarted: restarting a stream whose PulseAudio sink has
        gone blocks in PortAudio for good, while opening a new one fails at once. A
        stream that dies again at once is left down for a while (``Revival``), and one
        that cannot be opened is tried again after ``RETRY_S``. A stalled but active
        stream (an unplugged microphone, a suspended server) is left alone and is lost
        when it times out. The microphone's samples missed meanwhile are simply not in
        the session: the clock counts what was heard.
        """
        if self._state is not DeviceState.RUNNING:
            return False
        revival = self._revivals[side]
        stream = self._streams[side]
        if stream is not None:
            if stream.active:
                return False
            self._close_stream(side)
            wait_s = revival.died(time.monotonic(), self._flags(side))
            if wait_s is not None:
                _log.warning(
                    "the %s stream died again as soon as it was replaced; trying again in %g s",
                    "microphone" if side == INPUT else "speakers",
                    wait_s,
                )
        if not revival.may_replace(time.monotonic()):
            return False
        which = (side == INPUT, side == OUTPUT)
        if not self._reopen(which, refresh=False, drop_queued=False):
            # The device is gone, for now at least.
            revival.failed(time.monotonic(), RETRY_S)
            return False
        revival.started(time.monotonic(), self._flags(side), replacing=True)
        self._restarts += 1
        self._echo.reset()
        _log.info("audio stream replaced after PortAudio stopped it")
        return True

    def _wait_while_lost(self) -> bool:
        """The device stopped: pause, say so, reopen until it is back; False if closed."""
        self._close_stream(INPUT)
        self._close_stream(OUTPUT)
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
            if self._reopen(BOTH):
                self._change(DeviceChange.BACK)
                for side in (INPUT, OUTPUT):
                    self._revivals[side].started(
                        time.monotonic(), self._flags(side), replacing=False
                    )
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
            self._interrupt.check()
        return False

    def _tell(self, state: DeviceState, message: str) -> None:
        # Saying it to the couple is on_status's job; the log is for whoever reads it.
        _log.info("%s", message)
        if self.on_status is not None:
            self.on_status(DeviceStatus(state, message, self._lost_timeout_s))

    def _reopen(
        self, which: tuple[bool, bool], refresh: bool = True, drop_queued: bool = True
    ) -> bool:
        """Open and start new streams for the sides in ``which``; True once each has
        called back (the microphone: delivered audio).

        With ``refresh``, a device not found is looked for again in a fresh device list;
        with ``drop_queued``, prompt audio not yet played is dropped.
        """
        sd = load_sounddevice()
        rings = self._rings
        sides = [side for side in (OUTPUT, INPUT) if which[side]]
        for side in sides:
            rings.generations[side] += 1
        opened: tuple[Any, Any] = (None, None)
        try:
            try:
                opened = self._open(which)
            except AudioDeviceError:
                if not refresh:
                    raise
                # Not there under the name or index PortAudio knew: read the list again
                # (a USB device that comes back may come back under another index).
                refresh_devices()
                opened = self._open(which)
            if drop_queued and which[OUTPUT]:
                # What was queued when the device went is a prompt cut off mid-sentence.
                rings.out_read = rings.out_written
            counts = (rings.in_callbacks, rings.out_callbacks)
            started = True
            for side in sides:
                self._streams[side] = opened[side]
                started = started and self._start_stream(side)
        except (AudioDeviceError, sd.PortAudioError):
            started = False
        deadline_s = time.monotonic() + START_TIMEOUT_S
        if started:
            while not self._closed.is_set() and time.monotonic() < deadline_s:
                now = (rings.in_callbacks, rings.out_callbacks)
                if all(now[side] != counts[side] for side in sides):
                    break
                rings.input_ready.wait(0.02)
                rings.input_ready.clear()
            now = (rings.in_callbacks, rings.out_callbacks)
            started = all(now[side] != counts[side] for side in sides)
        if not started or self._closed.is_set():
            for side in sides:
                if self._streams[side] is opened[side]:
                    self._streams[side] = None
            for stream in opened:
                if stream is not None:
                    stream.abort(ignore_errors=True)
                    stream.close(ignore_errors=True)
            return False
        self._pairing.reset()
        if which[INPUT]:
            self._input_latency_s = input_latency_s(self._streams[INPUT])
            self._may_catch_up = False
            self._callbacks_at_restart = counts[INPUT]
        return True

    def _close_stream(self, side: int) -> None:
        stream, self._streams[side] = self._streams[side], None
        if stream is not None:
            # abort, not stop: a stalled stream has nothing worth playing out.
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)

    def _log_glitches(self) -> None:
        """Log new overflows, underflows, drops, alsa-lib messages and deaths (reader)."""
        rings = self._rings
        deaths = sum(revival.deaths for revival in self._revivals)
        now = (rings.overflows, rings.underflows, rings.dropped, self.alsa_messages, deaths)
        if now == self._logged:
            return
        self._logged = now
        _log.info(
            "audio glitches so far: %d input overflows, %d output underflows, "
            "%d frames dropped, %d alsa-lib messages, %d stream deaths",
            *now,
        )

    @property
    def alsa_messages(self) -> int:
        return alsa_message_count() - self._alsa_at_open

    @property
    def library_log(self) -> Path:
        """Where PortAudio's and alsa-lib's own lines go while the streams run."""
        return self._library_log_path

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

    # -- playing ---------------------------------------------------------------------

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
        rings = self._rings
        with self._play_lock:
            done = 0
            while done < samples.shape[0]:
                if self._closed.is_set():
                    raise AudioDeviceError("cannot play: the audio device is closed")
                free = rings.out_pcm.shape[0] - (rings.out_written - rings.out_read)
                if free == 0:
                    self._wait_for_space()
                    continue
                done += rings.write_out(samples[done : done + free])

    def _wait_for_space(self) -> None:
        rings = self._rings
        if self._state is DeviceState.OPEN:
            raise AudioDeviceError(
                f"more than {PLAYBACK_RING_S:g} s of prompt audio queued before the "
                "stream started; read frames() first"
            )
        rings.output_space.clear()
        if rings.out_written - rings.out_read < rings.out_pcm.shape[0]:
            return
        ready = rings.output_space.wait(self._stall_timeout_s)
        self._interrupt.check()
        if not ready:
            raise AudioDeviceError(
                f"the speakers stopped taking audio for {self._stall_timeout_s:g} s "
                "(unplugged, or the sound server stopped?); check them with: "
                "attune-voice devices"
            )

    def stop_prompts(self) -> float:
        """Fade out the prompt playing and drop what is queued after it (barge-in)."""
        with self._play_lock:
            return self._rings.cut_out(round(STOP_FADE_S * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ

    def queued_s(self) -> float:
        """Seconds of prompt audio queued and not yet handed to the speakers."""
        return (self._rings.out_written - self._rings.out_read) / SAMPLE_RATE_HZ

    def play_position(self) -> int:
        """Samples queued for the speakers since the start: where the next ``play`` begins."""
        return self._rings.out_written

    def timing(self, start_sample: int) -> BlockTiming | None:
        """How the block holding session sample ``start_sample`` went through the
        callbacks, with the output block paired with it, if it is still in the input
        ring (the last ``INPUT_RING_S``).

        For latency measurements: the rest of the package never looks at the clock.
        """
        return self._rings.timing(start_sample, self._paired, self._input_age_s)

    def announce(self, pcm: Pcm) -> bool:
        """Play ``pcm`` on the output device alone and wait until it has played.

        For a notice while the device is lost: perhaps only the microphone went. Returns
        False when the speakers cannot play it either; never raises for that.
        """
        if self._state is not DeviceState.LOST:
            raise AudioDeviceError("announce() is for a lost device; use play()")
        return play_alone(pcm, self._specs[1], self._latency)

    def stats(self) -> DeviceStats:
        """Glitch counters, the callbacks' worst duration and the echo gate's figures."""
        sd = load_sounddevice()
        latency = [0.0, 0.0]
        for side, stream in enumerate(self._streams):
            # A side that is down has no latency figure; the counters still stand.
            if stream is not None:
                with contextlib.suppress(sd.PortAudioError):
                    latency[side] = float(stream.latency)
        rings = self._rings
        revivals = self._revivals
        return DeviceStats(
            overflows=rings.overflows,
            underflows=rings.underflows,
            dropped_frames=rings.dropped,
            callbacks=rings.in_callbacks,
            restarts=self._restarts,
            catch_ups=self._catch_ups,
            worst_callback_ms=float(rings.worst_callback_s[0]) * 1000.0,
            latency_s=(latency[INPUT], latency[OUTPUT]),
            losses=self._losses,
            alsa_messages=self.alsa_messages,
            deaths=sum(r.deaths for r in revivals),
            silent_deaths=sum(r.silent_deaths for r in revivals),
            backoffs=sum(r.backoffs for r in revivals),
            stalls=self._stalls,
            library_lines=0 if self._library_log is None else self._library_log.lines(),
            echo=self._echo.report(),
        )

    def close(self) -> None:
        """Stop the streams now (queued prompt audio is dropped); safe to call twice."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._interrupt.remove()
        self._change(DeviceChange.CLOSE)
        # Wake a reader or a player waiting on the other thread so it sees _closed.
        self._rings.input_ready.set()
        self._rings.output_space.set()
        for stream in self._streams:
            if stream is not None:
                stream.close(ignore_errors=True)
        if self._library_log is not None:
            self._library_log.close()

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
