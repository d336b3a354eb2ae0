"""The real-time side of the live audio: the rings two PortAudio callbacks fill and drain."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Pcm
from attune_voice.audio.stream_state import BlockTiming

INPUT_RING_S = 10.0
"""How far the reader may fall behind the microphone before blocks are dropped."""

PLAYBACK_RING_S = 60.0
"""Prompt audio that can be queued without ``play`` having to wait for the speakers."""

PAIR_SLACK_BLOCKS = 1
"""An input block is paired with the output block written this many blocks before the
last one written when it arrived: the two callbacks come in bursts of their own, and the
output block paired with the next input block must already be there."""

PAIR_LEAD_S = 0.04
"""An input block captured at time t is paired with the output block that reaches the
speakers at t + this: the echo then comes this much after the pairing even when
PortAudio's times are a little off (-8 to +40 ms measured through PulseAudio), never
before it, where the gate could not see it and a prompt's first sound would leak."""

PAIR_CONFIRM_BLOCKS = 5
"""Input blocks in a row whose times say the pairing moved two blocks or more, within a
block of the first of them, before it follows: PortAudio stamps a burst of blocks with
nearly one time, which alone would jolt the pairing back and forth."""

PAIR_SETTLE_BLOCKS = 25
"""Input blocks in a row whose times agree, within a block of the first of them, before
they are taken as a new pairing's reference. A new PulseAudio stream stamps its first
blocks off while its latency settles: up to 100 ms, and through a null sink for its
first 1.3 s as much as 0.5 s, the block the times name stuck for 27 blocks and then
catching up (12 blocks in a row agreeing mid-way). A reference taken from a fixed count
of blocks landed in that and moved the pairing by two blocks one stream in three: the
echo gate then saw a prompt's last 40 ms twice and held the microphone that much longer
after it."""

PAIR_LOST_BLOCKS = 25
"""The counters and the times this far apart: the times are not to be trusted, and the
pairing falls back to the counters."""

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

    def cut_out(self, keep_samples: int) -> int:
        """Keep only the next ``keep_samples`` of queued prompt audio, faded out; drop
        the rest. Returns the samples dropped.

        The output callback may play one block between reading ``out_read`` here and
        ``out_written`` moving back, so the block it may be copying is left as it is
        and ``keep_samples`` must be at least two blocks: ``out_written`` then never
        falls below what the callback has taken.
        """
        position = self.out_read
        end = position + max(keep_samples, 2 * FRAME_SAMPLES)
        if end >= self.out_written:
            return 0
        capacity = self.out_pcm.shape[0]
        fade_from = position + FRAME_SAMPLES
        index = np.arange(fade_from, end) % capacity
        ramp = np.linspace(1.0, 0.0, end - fade_from, endpoint=False)
        self.out_pcm[index] = (self.out_pcm[index] * ramp).astype(np.int16)
        dropped = self.out_written - end
        self.out_written = end
        return dropped

    def timing(
        self,
        start_sample: int,
        paired: npt.NDArray[np.int64],
        input_age_s: Callable[[int], float | None],
    ) -> BlockTiming | None:
        """How the block holding session sample ``start_sample`` went through the
        callbacks, with the output block ``paired`` with its slot, if it is still in
        the input ring (``DeviceAudio.timing``)."""
        ring_blocks = self.in_pcm.shape[0]
        block = start_sample // FRAME_SAMPLES
        read = self.in_read
        if not read - ring_blocks <= block < read:
            return None
        slot = block % ring_blocks
        out_slot = int(paired[slot])
        if out_slot < 0:
            return BlockTiming(
                arrived_s=float(self.in_wall_s[slot]),
                playback_position=self.out_read,
                prompt_samples=0,
                input_age_s=input_age_s(slot),
                output_delay_s=None,
            )
        now, played = (float(x) for x in self.played_times[out_slot])
        # A host API that does not know these times reports 0 for them; PortAudio's ALSA
        # side reports the output time as now while an underrun empties its buffer.
        return BlockTiming(
            arrived_s=float(self.in_wall_s[slot]),
            playback_position=int(self.played_pos[out_slot]),
            prompt_samples=int(self.played_taken[out_slot]),
            input_age_s=input_age_s(slot),
            output_delay_s=played - now if played > now > 0.0 else None,
            handed_s=float(self.played_wall_s[out_slot]),
        )

    def output_block(self, block: int) -> int | None:
        """The ring slot of output block ``block``, if it was written and is still kept."""
        if not 0 <= block < self.out_blocks or block <= self.out_blocks - self.played.shape[0]:
            return None
        return int(block % self.played.shape[0])


class Pairing:
    """Which output block each input block is paired with: ``input + offset``.

    The offset is set from the first input block read (the output block written just
    before it arrived, less ``PAIR_SLACK_BLOCKS``) and kept, so both sides stay
    continuous and the echo's delay steady. A stall, or speakers that ran dry, moves
    the block counters apart by the length of the gap; PortAudio's times do not move
    (both streams' come from one clock). So where the host API reports them, the
    offset follows them: the output block reaching the speakers ``PAIR_LEAD_S`` after an
    input block's first sample was captured is found for every block, and when that
    moves against the reference taken once the times held steady (``PAIR_SETTLE_BLOCKS``)
    for ``PAIR_CONFIRM_BLOCKS`` blocks in a row, the offset moves with it, and the echo's
    delay stays where the gate measured it. Without times, or with times that wander
    ``PAIR_LOST_BLOCKS`` from the counters, the offset is set again from the counters
    when the sides drift ``PAIR_DRIFT_BLOCKS`` apart: ``paired`` then says so, as the
    echo's delay has moved with it. A replaced stream starts a new pairing (``reset``).
    """

    def __init__(self) -> None:
        self.offset: int | None = None
        self._reference: int | None = None
        """What the times said the offset was, once the pairing settled."""
        self._steady: int | None = None
        """The first of the latest run of times that agree, while none is the reference."""
        self._settling = 0
        self._moving: list[int] = []
        """Offsets the times said, in a row, away from the reference."""

    def reset(self) -> None:
        self.offset = None

    def paired(self, rings: Rings, block: int, output_running: bool) -> tuple[int | None, bool]:
        """(the ring slot of the output block paired with input ``block``, or None when
        nothing was played then; whether the pairing was set again, moving the echo).

        While the output stream is down the pairing is left as it is.
        """
        if not output_running:
            return None, False
        slot = block % rings.in_pcm.shape[0]
        out_blocks_then = int(rings.in_out_blocks[slot])
        natural = out_blocks_then - 1 - PAIR_SLACK_BLOCKS - block
        by_time = self._by_time(rings, float(rings.in_times[slot, 1]))
        moved = False
        if self.offset is None:
            self.offset = natural
            self._reference, self._steady, self._settling = None, None, 0
            self._moving.clear()
        elif abs(natural - self.offset) > (
            PAIR_DRIFT_BLOCKS if by_time is None else PAIR_LOST_BLOCKS
        ):
            self.offset, moved = natural, True
            self._reference, self._steady, self._settling = None, None, 0
            self._moving.clear()
        if by_time is not None:
            self._follow(by_time - block)
        paired = block + self.offset
        if paired >= out_blocks_then > 0:
            # The microphone ran ahead (a new stream handing over its start, or what
            # waited in the sound server after a stall): the block it needs is not
            # played yet. The one the times name stands in while the offset waits to
            # follow them, else the latest one; not silence, which would let a prompt's
            # echo through the gate. (The same block again and again would read to the
            # gate as a prompt repeating itself: 243 ms of "delay" once after a stall.)
            paired = by_time if by_time is not None else out_blocks_then - 1
        return rings.output_block(paired), moved

    def _follow(self, wanted: int) -> None:
        """Move the offset as far as the times say the sides moved apart."""
        if self._reference is None:
            if self._steady is None or abs(wanted - self._steady) > 1:
                self._steady, self._settling = wanted, 0
            self._settling += 1
            if self._settling >= PAIR_SETTLE_BLOCKS:
                self._reference = wanted
            return
        if abs(wanted - self._reference) < 2:
            self._moving.clear()
            return
        if self._moving and abs(wanted - self._moving[0]) > 1:
            # Measured from the first of the row, not the last: a burst's blocks, stamped
            # with nearly one time, drift a block apart each and must not add up.
            self._moving.clear()
        self._moving.append(wanted)
        if len(self._moving) >= PAIR_CONFIRM_BLOCKS and self.offset is not None:
            self.offset += wanted - self._reference
            self._reference = wanted
            self._moving.clear()

    @staticmethod
    def _by_time(rings: Rings, captured_s: float) -> int | None:
        """The output block reaching the speakers ``PAIR_LEAD_S`` after ``captured_s``
        (or the nearest kept), None where either side gives no times."""
        written = rings.out_blocks
        kept = rings.played.shape[0]
        if written == 0 or captured_s <= 0.0:
            return None
        times = rings.played_times[:, 1]
        last = float(times[(written - 1) % kept])
        if last <= 0.0:
            return None
        # Output blocks are 20 ms apart but for gaps, so counting back from the latest
        # block lands near the one wanted; one step each way then settles it.
        target = captured_s + PAIR_LEAD_S
        oldest = max(0, written - kept + 1)
        block = min(
            written - 1,
            max(oldest, written - 1 - int((last - target) * SAMPLE_RATE_HZ / FRAME_SAMPLES)),
        )
        while block > oldest and float(times[block % kept]) > target:
            block -= 1
        while block + 1 < written and float(times[(block + 1) % kept]) <= target:
            block += 1
        return int(block)


__all__ = [
    "INPUT_RING_S",
    "PAIR_CONFIRM_BLOCKS",
    "PAIR_DRIFT_BLOCKS",
    "PAIR_LEAD_S",
    "PAIR_LOST_BLOCKS",
    "PAIR_SETTLE_BLOCKS",
    "PAIR_SLACK_BLOCKS",
    "PLAYBACK_RING_S",
    "Pairing",
    "Rings",
]
