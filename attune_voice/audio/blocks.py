"""The real-time side of the live audio: the rings two PortAudio callbacks fill and drain."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Pcm

INPUT_RING_S = 10.0
"""How far the reader may fall behind the microphone before blocks are dropped."""

PLAYBACK_RING_S = 60.0
"""Prompt audio that can be queued without ``play`` having to wait for the speakers."""

PAIR_SLACK_BLOCKS = 1
"""An input block is paired with the output block written this many blocks before the
last one written when it arrived: the two callbacks come in bursts of their own, and the
output block paired with the next input block must already be there."""

PAIR_DRIFT_BLOCKS = 10
"""The pairing is set again when the output side has run this many blocks further ahead
of it (the input side lost or skipped audio), or is missing a block it needs."""


class Rings:
    """What the microphone's callback stores and the speakers' callback plays and keeps.

    The input callback stores each microphone block with its times and the number of
    output blocks written by then. The output callback plays prompt audio from the
    playback ring (silence when none is queued) and keeps, per output block, what it
    played and where in the prompt audio it was. The reader (``DeviceAudio``) pairs each
    input block with one output block by these counters (``pair``), so every input
    block knows what was played during it, as one duplex callback used to tell.

    Threads: each callback is the only writer of its own counters and rings; the reader
    and ``play()`` are the other side. Each publishes progress by rebinding a plain int,
    which is atomic under the GIL, so a callback never takes a lock the other side holds.
    Each callback serves one generation of its stream: one given up on writes nothing.
    """

    def __init__(self, channels: int) -> None:
        blocks = round(INPUT_RING_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self.in_pcm: npt.NDArray[np.int16] = np.zeros(
            (blocks, channels, FRAME_SAMPLES), dtype=np.int16
        )
        self.in_wall_s: npt.NDArray[np.float64] = np.zeros(blocks, dtype=np.float64)
        """``time.perf_counter()`` when each input block arrived."""
        self.in_times: npt.NDArray[np.float64] = np.zeros((blocks, 2), dtype=np.float64)
        """PortAudio's stream times of each input callback: (now, when the block was
        captured)."""
        self.in_out_blocks: npt.NDArray[np.int64] = np.zeros(blocks, dtype=np.int64)
        """Output blocks written when each input block arrived."""
        self.in_written = 0
        """Input blocks stored; only the input callback rebinds it."""
        self.in_read = 0
        """Input blocks taken; only the reader rebinds it."""
        self.input_ready = threading.Event()

        self.out_pcm: npt.NDArray[np.int16] = np.zeros(
            round(PLAYBACK_RING_S * SAMPLE_RATE_HZ), dtype=np.int16
        )
        self.out_written = 0
        """Prompt samples ``play()`` has queued; only ``play()`` rebinds it."""
        self.out_read = 0
        """Prompt samples sent to the speakers; only the output callback rebinds it (and
        the reader, while no output stream runs)."""
        self.output_space = threading.Event()
        self.played: npt.NDArray[np.int16] = np.zeros((blocks, FRAME_SAMPLES), dtype=np.int16)
        """What each output block played."""
        self.played_taken: npt.NDArray[np.int32] = np.zeros(blocks, dtype=np.int32)
        """How many of those samples were prompt (the rest is silence)."""
        self.played_pos: npt.NDArray[np.int64] = np.zeros(blocks, dtype=np.int64)
        """Prompt samples queued before each output block."""
        self.played_wall_s: npt.NDArray[np.float64] = np.zeros(blocks, dtype=np.float64)
        self.played_times: npt.NDArray[np.float64] = np.zeros((blocks, 2), dtype=np.float64)
        """PortAudio's stream times of each output callback: (now, when the block plays)."""
        self.out_blocks = 0
        """Output blocks written; only the output callback rebinds it."""

        self.generations = [0, 0]
        """(input, output): which stream each callback serves."""
        self.overflows = 0
        self.underflows = 0
        self.dropped = 0
        self.in_callbacks = 0
        self.out_callbacks = 0
        self.worst_callback_s: npt.NDArray[np.float64] = np.zeros(1, dtype=np.float64)

    # Contract for both callbacks: they run on PortAudio's audio threads every 20 ms.
    # They only copy between PortAudio's buffers and rings allocated up front, and bump
    # counters. No buffer allocation, no logging or printing, no file or network I/O, no
    # lock held for longer than an Event.set(), nothing that can raise: a slow callback
    # is an audible glitch and an exception ends the stream. `frames` is always
    # FRAME_SAMPLES because the streams were opened with that fixed block size.

    def input_callback(
        self,
        generation: int,
        indata: npt.NDArray[np.int16],
        frames: int,
        time_info: Any,
        status: Any,
    ) -> None:
        started_s = time.perf_counter()
        if generation != self.generations[0]:
            return
        if status and status.input_overflow:
            self.overflows += 1
        written = self.in_written
        if written - self.in_read < self.in_pcm.shape[0]:
            slot = written % self.in_pcm.shape[0]
            self.in_pcm[slot] = indata.T
            self.in_wall_s[slot] = started_s
            self.in_times[slot, 0] = time_info.currentTime
            self.in_times[slot, 1] = time_info.inputBufferAdcTime
            self.in_out_blocks[slot] = self.out_blocks
            self.in_written = written + 1
            self.input_ready.set()
        else:
            self.dropped += 1
        self.in_callbacks += 1
        self._time(started_s)

    def output_callback(
        self,
        generation: int,
        outdata: npt.NDArray[np.int16],
        frames: int,
        time_info: Any,
        status: Any,
    ) -> None:
        started_s = time.perf_counter()
        if generation != self.generations[1]:
            # A stream given up on that came to life after all: it must not play.
            outdata.fill(0)
            return
        if status and status.output_underflow:
            self.underflows += 1
        ring = self.out_pcm
        capacity = ring.shape[0]
        position = self.out_read
        start = position % capacity
        take = min(frames, self.out_written - position)
        first = min(take, capacity - start)
        outdata[:first, 0] = ring[start : start + first]
        outdata[first:take, 0] = ring[: take - first]
        outdata[take:, 0] = 0
        if take:
            self.out_read = position + take
            self.output_space.set()
        block = self.out_blocks
        slot = block % self.played.shape[0]
        self.played[slot] = outdata[:, 0]
        self.played_taken[slot] = take
        self.played_pos[slot] = position
        self.played_wall_s[slot] = started_s
        self.played_times[slot, 0] = time_info.currentTime
        self.played_times[slot, 1] = time_info.outputBufferDacTime
        self.out_blocks = block + 1
        self.out_callbacks += 1
        self._time(started_s)

    def _time(self, started_s: float) -> None:
        elapsed_s = time.perf_counter() - started_s
        self.worst_callback_s[0] = max(self.worst_callback_s[0], elapsed_s)

    # -- the reader's side -------------------------------------------------------------

    def write_out(self, chunk: Pcm) -> int:
        """Copy into the free part of the playback ring, then publish it (``play()``)."""
        ring = self.out_pcm
        capacity = ring.shape[0]
        start = self.out_written % capacity
        first = min(chunk.shape[0], capacity - start)
        ring[start : start + first] = chunk[:first]
        ring[: chunk.shape[0] - first] = chunk[first:]
        # Publish after the copy: the callback reads only below out_written.
        self.out_written += chunk.shape[0]
        return int(chunk.shape[0])

    def output_block(self, block: int) -> int | None:
        """The ring slot of output block ``block``, if it was written and is still kept."""
        if not 0 <= block < self.out_blocks or block <= self.out_blocks - self.played.shape[0]:
            return None
        return int(block % self.played.shape[0])


class Pairing:
    """Which output block each input block is paired with: ``input + offset``.

    The offset is set from the first input block read (the output block written just
    before it arrived, less ``PAIR_SLACK_BLOCKS``) and kept, so both sides stay
    continuous and the echo's delay steady. It is set again when a stream is replaced
    (``reset``), or when the two sides have drifted ``PAIR_DRIFT_BLOCKS`` apart (an
    input overflow, a host API that drops blocks): ``pair`` then says so, as the echo's
    delay has moved with it.
    """

    def __init__(self) -> None:
        self.offset: int | None = None

    def reset(self) -> None:
        self.offset = None

    def pair(
        self, rings: Rings, block: int, out_blocks_then: int, output_running: bool
    ) -> tuple[int | None, bool]:
        """(the ring slot of the output block paired with input ``block``, or None when
        nothing was played then; whether the pairing was set again, moving the echo).

        ``out_blocks_then`` is how many output blocks were written when the input block
        arrived; while the output stream is down the pairing is left as it is.
        """
        if not output_running:
            return None, False
        natural = out_blocks_then - 1 - PAIR_SLACK_BLOCKS - block
        moved = False
        if self.offset is None:
            self.offset = natural
        elif abs(natural - self.offset) > PAIR_DRIFT_BLOCKS:
            self.offset = natural
            moved = True
        wanted = block + self.offset
        if wanted >= out_blocks_then > 0:
            # The microphone ran ahead (a new stream handing over its start, or what
            # waited in the sound server after a stall): the block it needs is not
            # played yet, so the latest one stands in rather than silence, which
            # would let a prompt's echo through the gate.
            wanted = out_blocks_then - 1
        return rings.output_block(wanted), moved


__all__ = [
    "INPUT_RING_S",
    "PAIR_DRIFT_BLOCKS",
    "PAIR_SLACK_BLOCKS",
    "PLAYBACK_RING_S",
    "Pairing",
    "Rings",
]
