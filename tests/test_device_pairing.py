"""Pairing microphone blocks with speaker blocks across a stall, on times made up here."""

from __future__ import annotations

from dataclasses import dataclass

from attune_voice.audio.blocks import Pairing, Rings
from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ

BLOCK_S = FRAME_SAMPLES / SAMPLE_RATE_HZ
STALL_AT = 100
"""The input block during which the process was stopped."""
GAP_BLOCKS = 6
"""How long the speakers ran dry: what the process stop cost them."""
STAMPED_LATE_S = 0.5
"""How late a new stream's first output blocks are stamped (measured through a null sink)."""


@dataclass
class Streams:
    """Two streams' rings filled as PortAudio fills them, the reader one block behind."""

    rings: Rings
    pairing: Pairing
    stamped_late_until: int = 0
    """Output blocks before this one are stamped ``STAMPED_LATE_S`` late, as a new
    PulseAudio stream stamps its first ones."""

    def read(self, block: int, times: bool) -> tuple[int | None, bool]:
        rings = self.rings
        slot = block % rings.in_pcm.shape[0]
        # The microphone's block was captured at block * BLOCK_S. After the stall the
        # sound server hands over the blocks it kept in a burst, while the speakers'
        # callback writes at its usual pace: the counters move apart by the gap.
        written = block + 3 if block < STALL_AT else max(STALL_AT + 3, block + 3 - GAP_BLOCKS)
        # Half a block off the speakers' blocks, so no time falls on a block's edge.
        captured_s = block * BLOCK_S + BLOCK_S / 2
        rings.in_times[slot] = (captured_s + 0.01, captured_s if times else 0.0)
        rings.in_out_blocks[slot] = written
        while rings.out_blocks < written + 1:
            out = rings.out_blocks
            # Each output block reaches the speakers 0.1 s after it is written; those
            # written after the stall, the gap later than the counters say.
            dac_s = 0.1 + out * BLOCK_S + (GAP_BLOCKS * BLOCK_S if out >= STALL_AT + 3 else 0.0)
            dac_s += STAMPED_LATE_S if out < self.stamped_late_until else 0.0
            rings.played_times[out % rings.played.shape[0]] = (dac_s - 0.1, dac_s if times else 0)
            rings.out_blocks = out + 1
        return self.pairing.paired(rings, block, output_running=True)


def _pairs(times: bool, stamped_late_until: int = 0) -> tuple[dict[int, int | None], list[int]]:
    streams = Streams(Rings(1), Pairing(), stamped_late_until)
    pairs, moves = {}, []
    for block in range(200):
        pairs[block], moved = streams.read(block, times)
        if moved:
            moves.append(block)
    return pairs, moves


def test_the_pairing_follows_the_times_across_a_stall_without_moving_the_echo() -> None:
    pairs, moves = _pairs(times=True)
    kept = Rings(1).played.shape[0]
    # Before the stall: the output block written just before, less one of slack.
    assert all(pairs[block] == (block + 1) % kept for block in range(STALL_AT))
    # After it, the same sound: the block played as the microphone heard it is the
    # gap's worth of blocks earlier by the counters, and the pairing follows.
    assert all(pairs[block] == (block + 1 - GAP_BLOCKS) % kept for block in range(120, 200))
    assert moves == []


def test_without_times_the_counters_move_the_pairing_and_say_so() -> None:
    pairs, moves = _pairs(times=False)
    kept = Rings(1).played.shape[0]
    assert all(pairs[block] == (block + 1) % kept for block in range(STALL_AT))
    # Six blocks apart is within the drift the counters allow: the offset is kept, the
    # block it names is not written yet, and the latest one stands in for every block:
    # to the echo gate, a delay that moved by the gap (what the times are for).
    assert all(pairs[block] == (block + 2 - GAP_BLOCKS) % kept for block in range(120, 200))
    assert moves == []


def test_a_new_stream_s_late_stamps_do_not_move_the_pairing() -> None:
    # The first 40 output blocks stamped half a second late: the block the times name
    # sticks at the first one for 28 input blocks, then follows 25 behind for 15 blocks
    # (agreeing with each other, not with the sound), then settles where it belongs.
    pairs, moves = _pairs(times=True, stamped_late_until=40)
    kept = Rings(1).played.shape[0]
    # The counters were right all along: every block keeps the pairing they set, and
    # the stall is still followed.
    assert all(pairs[block] == (block + 1) % kept for block in range(STALL_AT))
    assert all(pairs[block] == (block + 1 - GAP_BLOCKS) % kept for block in range(120, 200))
    assert moves == []
