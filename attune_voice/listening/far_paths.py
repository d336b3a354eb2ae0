"""Each microphone's hearing of the other partner, learnt and taken out of a recording.

With a microphone each in one room, each microphone also hears the other partner, from
afar: their voice as the other microphone hears it, filtered by the room between them
(its delay, its colour, and a tail of reflections as loud as the voice in a reverberant
room). That filter holds while the two stay where they are, so it can be learnt where
only the other partner speaks, and the other microphone's sound, passed through it,
subtracted: what is left is the channel's own partner, whole, even while the other talks
over them (in ``tests/test_far_paths.py``'s room, a "mm-hm" of the softer partner
said over the louder one's words stands 6 dB above the other's voice from afar on its
own microphone, and 20 dB above what is left of it once subtracted).

The filter is learnt per frequency, over frames of 8192 samples (0.51 s, longer than
most of a living room's tail) half a frame apart, by least squares: the cross-spectrum
of the two channels over the power of the other, summed over the frames where the
channel stands ``CrosstalkConfig.far_lead_db`` or more under the other (the
microphones' balance taken off): by level, the other partner alone. Partners move, and
so does the filter: each 30 s block of the recording has its own, learnt from the
frames of that block and the block either side. It is learnt from the speech found in
the recording (``learn_far_paths``), then the recording is read again with it taken
out (``far_cancelled``). A block of a channel with fewer than ``MIN_LEARNT_FRAMES``
such frames about it is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.listening.crosstalk import CrosstalkConfig, microphone_gain_db

FRAME_SAMPLES = 8192
"""Each frame's length: a filter is a product per frequency only within one frame, so
the frame must outlast most of the room's tail (RT60 0.35 s falls 40 dB in 0.23 s)."""
HOP_SAMPLES = FRAME_SAMPLES // 2
"""Frames half a frame apart: with the square root of a Hann window on the way in and
out, the frames add back up to the signal exactly."""
BLOCK_S = 30.0
"""The recording is taken in blocks of this length; each block's filter is learnt from
the frames of it and the block either side (90 s), so that it follows partners who
move, or a microphone moved, within a minute or two."""
MIN_LEARNT_FRAMES = 20
"""A block's filter needs this many frames of the other partner alone (5 s) in its
90 s, counted per segment (where two channels' segments overlap, their frames count
once for each); with fewer, that block of the channel is left as it is."""
_WINDOW = np.sin(np.pi * np.arange(FRAME_SAMPLES) / FRAME_SAMPLES)
_BINS = FRAME_SAMPLES // 2 + 1
_TINY = 1e-12

Spectra = npt.NDArray[np.complex128]
"""Spectra shaped (..., FRAME_SAMPLES // 2 + 1)."""


@dataclass(frozen=True)
class FarPaths:
    """Per (channel, block), the filter from the other channel's sound to how this
    channel hears it (a block of a channel that is not here was not learnt), and per
    channel the seconds of the other partner alone that the blocks with a filter were
    learnt from (each frame's middle half, counted once where segments overlap)."""

    filters: dict[tuple[int, int], Spectra]
    learnt_s: tuple[float, float]

    @property
    def learnt(self) -> bool:
        return bool(self.filters)


def _spectra(pcm: npt.NDArray[np.float64], count: int) -> Spectra:
    """The first ``count`` frames of (2, n) audio, windowed: (count, 2, bins)."""
    views = np.lib.stride_tricks.sliding_window_view(pcm, FRAME_SAMPLES, axis=1)
    frames = views[:, : count * HOP_SAMPLES : HOP_SAMPLES] * _WINDOW
    spectra: Spectra = np.fft.rfft(frames, axis=-1).transpose(1, 0, 2)
    return spectra


def _block(centre_s: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """The block each frame belongs to, by the time of its middle."""
    blocks: npt.NDArray[np.int64] = np.floor(centre_s / BLOCK_S).astype(np.int64)
    return blocks


def learn_far_paths(
    clips: Sequence[npt.NDArray[np.int16]],
    starts_s: Sequence[float],
    balance_db: float,
    config: CrosstalkConfig | None = None,
) -> FarPaths:
    """The filters, learnt from the speech's audio: each clip is a stretch of speech
    from ``starts_s`` on, on both channels, shaped (2, n), of microphones ``balance_db``
    apart. Each frame is judged for each channel by the two channels' levels alone."""
    config = config or CrosstalkConfig()
    # Per (channel, block): the cross-spectrum, the other's power, and the frames.
    sums: dict[tuple[int, int], tuple[Spectra, npt.NDArray[np.float64], int]] = {}
    # Per (channel, block): where the frames learnt from begin in the recording.
    starts: dict[tuple[int, int], list[int]] = {}
    for clip, start_s in zip(clips, starts_s, strict=True):
        if clip.shape[1] < FRAME_SAMPLES:
            continue
        count = (clip.shape[1] - FRAME_SAMPLES) // HOP_SAMPLES + 1
        spectra = _spectra(clip.astype(np.float64), count)
        energy_db = 10.0 * np.log10(np.sum(np.abs(spectra) ** 2, axis=2) + _TINY)
        begins = round(start_s * SAMPLE_RATE_HZ) + np.arange(count) * HOP_SAMPLES
        blocks = _block((begins + FRAME_SAMPLES / 2) / SAMPLE_RATE_HZ)
        for channel in (0, 1):
            other = 1 - channel
            gain_db = microphone_gain_db(channel, balance_db)
            alone = config.from_afar(energy_db[:, channel] - energy_db[:, other] - gain_db)
            for block in np.unique(blocks[alone]).tolist():
                chosen = alone & (blocks == block)
                mine, theirs = spectra[chosen, channel], spectra[chosen, other]
                cross, power, frames = sums.get(
                    (channel, block), (np.zeros(_BINS, np.complex128), np.zeros(_BINS), 0)
                )
                sums[(channel, block)] = (
                    cross + np.sum(mine * theirs.conj(), axis=0),
                    power + np.sum(np.abs(theirs) ** 2, axis=0),
                    frames + int(np.sum(chosen)),
                )
                starts.setdefault((channel, block), []).extend(begins[chosen].tolist())
    filters: dict[tuple[int, int], Spectra] = {}
    learnt = [0, 0]
    for channel, block in {(c, b + d) for c, b in sums for d in (-1, 0, 1)}:
        near = [sums[k] for k in ((channel, block + d) for d in (-1, 0, 1)) if k in sums]
        frames = sum(n for _, _, n in near)
        if frames >= MIN_LEARNT_FRAMES:
            cross = np.sum([c for c, _, _ in near], axis=0)
            power = np.sum([p for _, p, _ in near], axis=0)
            filters[(channel, block)] = cross / (power + _TINY)
    for channel in (0, 1):
        middles = sorted(
            begin + HOP_SAMPLES // 2
            for (c, block), begun in starts.items()
            if c == channel and (c, block) in filters
            for begin in begun
        )
        # The union of the frames' middle halves (a hop each).
        covered = 0
        reached = 0
        for middle in middles:
            covered += max(0, middle + HOP_SAMPLES - max(reached, middle))
            reached = max(reached, middle + HOP_SAMPLES)
        learnt[channel] = covered
    return FarPaths(filters, (learnt[0] / SAMPLE_RATE_HZ, learnt[1] / SAMPLE_RATE_HZ))


def far_cancelled(
    blocks: Iterable[npt.NDArray[np.int16]], paths: FarPaths
) -> Iterator[npt.NDArray[np.int16]]:
    """16-bit blocks shaped (2, n), each channel with the other partner as it hears
    them taken out (where its filter was learnt): the same samples, in blocks of other
    lengths."""
    filters = paths.filters
    # A hop of zeros before the first sample and after the last: every sample is in two frames.
    pending = np.zeros((2, HOP_SAMPLES))
    tail = np.zeros((2, HOP_SAMPLES))
    to_drop = HOP_SAMPLES
    to_give = 0
    frame = 0

    def through(count: int) -> npt.NDArray[np.int16]:
        nonlocal pending, tail, to_drop, to_give, frame
        spectra = _spectra(pending, count)
        left = spectra.copy()
        # Frame k starts k hops into the padded recording: its middle is k + 1 hops
        # into the recording itself.
        block_of = _block((frame + 1 + np.arange(count)) * HOP_SAMPLES / SAMPLE_RATE_HZ)
        frame += count
        for channel in (0, 1):
            for at_block in np.unique(block_of).tolist():
                known = filters.get((channel, at_block))
                if known is not None:
                    rows = block_of == at_block
                    left[rows, channel] -= known * spectra[rows, 1 - channel]
        frames = np.fft.irfft(left, n=FRAME_SAMPLES, axis=-1) * _WINDOW
        out = frames[:, :, :HOP_SAMPLES].copy()
        out[0] += tail
        out[1:] += frames[:-1, :, HOP_SAMPLES:]
        tail = frames[-1, :, HOP_SAMPLES:].copy()
        pending = pending[:, count * HOP_SAMPLES :]
        joined = out.transpose(1, 0, 2).reshape(2, -1)
        dropped = min(to_drop, joined.shape[1])
        to_drop -= dropped
        joined = joined[:, dropped : dropped + to_give]
        to_give -= joined.shape[1]
        pcm: npt.NDArray[np.int16] = np.clip(np.rint(joined), -32768, 32767).astype(np.int16)
        return pcm

    for block in blocks:
        to_give += block.shape[1]
        pending = np.concatenate([pending, block.astype(np.float64)], axis=1)
        if pending.shape[1] >= FRAME_SAMPLES:
            yield through((pending.shape[1] - FRAME_SAMPLES) // HOP_SAMPLES + 1)
    # The end: a hop of zeros after the last sample, and up to a whole hop.
    pad = HOP_SAMPLES + (-pending.shape[1]) % HOP_SAMPLES
    pending = np.concatenate([pending, np.zeros((2, pad))], axis=1)
    if pending.shape[1] >= FRAME_SAMPLES:
        last = through((pending.shape[1] - FRAME_SAMPLES) // HOP_SAMPLES + 1)
        if last.shape[1]:
            yield last
