"""The prompts' echo taken out of the microphone: WebRTC AEC3 (the sole pywebrtc_audio import)
and a linear filter beside it, which leaves a voice over the echo whole."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, Pcm

CANCELLER_DELAY_S = 0.008
"""AEC3 hands back each sample this much later than it came in (measured: 128 samples)."""

RESIDUAL_HISTORY_S = 3.0
"""The residual echo is judged over this much recent prompt audio: long enough that a
partner talking over one prompt does not read as echo, short enough to follow a change."""

RESIDUAL_PERCENTILE = 25.0
"""The echo left is a low percentile of the output's level in the frames where the
prompt is loudest: a partner's voice only adds to the output, the echo left is there
when they pause; frames where the prompt itself pauses say nothing of it."""

NOISE_PERCENTILE = 10.0
"""The room's noise is a low percentile of the output's level while nothing plays."""

REFERENCE_NOW_S = 0.06
"""How much of what was played counts as "now" for the frames where the prompt is
loudest: its echo comes 40 ms after the pre-aligned reference, and lingers."""

REFERENCE_SMOOTH_S = 0.2
"""The reference level is taken over this much of what was played: the echo of a
sample lasts as long as the room rings, so a pause in a prompt still echoes."""

REFERENCE_QUIET_DBFS = -50.0
"""Played audio quieter than this says nothing about the echo path."""

RESIDUAL_KNOWN_S = 4.0
"""Prompt audio needed before the residual is known; until then it is taken as loud.
AEC3 starts by holding down everything while a prompt plays, whatever the reference
(with a reference 1.2 s off, the output stood at the noise for 3 s, then let the echo
through): a quiet output in the first seconds says nothing of the echo path."""

RECHECK_AFTER_S = 2.0
RECHECK_S = 0.4
"""After this long with nothing played, the echo left is judged afresh, from this much
of the new prompt (until then ``excess_db`` is None, and the microphone closed): live,
the first 0.3 s of a prompt after a 10 s floor came through as speech."""

AFTER_CHIME_S = 1.5
"""A chime, and this long after it, the echo left is taken as unknown (the microphone
closed): AEC3 learns a chime's few steady tones, not a voice's, and the prompt after a
chime leaked 0.2-0.6 s of echo that read as speech (and once stopped the prompt)."""

TONAL_FLATNESS = 3e-5
TONAL_BLOCKS = 3
"""Played audio is a chime where this many blocks in a row have a spectral flatness
(Hann-windowed 20 ms) below ``TONAL_FLATNESS``: the chimes measured at most 7e-6,
espeak-ng prompts at least 2e-4."""

NOISE_LEAST_DBFS = -70.0
"""The room's noise is taken as no quieter than this: a digital room (a null sink, a
loopback) is silent, and echo left this far down is too quiet to be taken for speech."""

NOISE_KNOWN_S = 1.0
"""Audio heard while nothing played needed before the room's noise is known."""

NOISE_HISTORY_S = 10.0
"""The room's noise at the canceller's output is a low percentile of its level over
this much audio heard while nothing was played."""

SILENT_DBFS = -120.0

BLOCK_SAMPLES = 160
"""The linear filter and the near-end decision work in 10 ms blocks."""

LINEAR_FILTER_S = 0.25
"""The linear filter's length: the reference leads its echo by about 40 ms, and a
room's reverberation is 30 dB down within some 150 ms."""

LINEAR_STEP = 0.5
LINEAR_STEP_LEAST = 0.3
"""The linear filter's step, normalised per frequency bin, times the echo it predicts
over what it leaves (clipped to [``LINEAR_STEP_LEAST``, 1]): large once it predicts
the echo, smaller while what it leaves is mostly not echo. At a least of 0.1, it took
out 6 dB of the echo of 20 s of prompts in a silent room; at 0.3, 10 dB; at 1, 14 dB."""

NEAR_END_MARGIN_DB = 6.0
NEAR_END_BLOCKS = 2
NEAR_END_HOLD_S = 0.3
"""A 10 ms block is the partners' (near end), not the echo's, where AEC3's output
stands this far above the room's noise for ``NEAR_END_BLOCKS`` blocks in a row, or
did within ``NEAR_END_HOLD_S``. AEC3 holds the echo down to the noise (33-41 dB
removed once converged), and a voice over it comes through, muffled, in its louder
syllables; the hold spans the quieter ones between (87-96% of a line's blocks over
the echo, at four echo paths). A lone block is the echo left popping up: one, 7 dB
up, read as 0.3 s of speech at 600 ms of echo."""

NEAR_END_BELOW_HEARD_DB = 25.0
"""Nor is a block the partners' where AEC3's output lies this far below what the
microphone heard: that is echo AEC3 let through, not a voice over it. Live, in a room
with no noise, a check-in after a quiet floor leaked 0.35-0.5 s in and, taken as the
partners', went to the linear filter, which leaves a loud echo audible: 18.6 s taken
as speech in 144 s of prompts at 48 kHz, none of it at that moment with this rule. A
voice over the echo stays within it (86% of such blocks at -6 dB of echo, 95% at -14)."""


def _dbfs(power: float) -> float:
    return 10.0 * float(np.log10(max(power, 1e-12))) - 10.0 * float(np.log10(32768.0**2))


def _level_dbfs(samples: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> float:
    """A block's RMS level in dBFS (int16 units)."""
    return _dbfs(float(np.mean(samples.astype(np.float64) ** 2)))


def _tonal(block: npt.NDArray[np.float32]) -> bool:
    """Is a block of played audio a few steady tones, by its spectral flatness?"""
    power = np.abs(np.fft.rfft(block * np.hanning(block.shape[0]))) ** 2 + 1e-12
    flatness = float(np.exp(np.mean(np.log(power))) / np.mean(power))
    return flatness < TONAL_FLATNESS


class LinearFilter:
    """A linear echo canceller for one channel (a partitioned-block frequency-domain
    adaptive filter): what it leaves is the voice whole, with more echo left than
    AEC3 leaves (15-20 dB removed after 10 s where AEC3 removes 33-41 dB). AEC3's
    echo suppressor muffles a voice over a loud echo: at -6 dB of echo, 28% of a
    line's blocks read as a voice to the speech model after AEC3, 96% after this
    filter. It learns only where the block is not the partners' (``adapt``): a voice
    would pull it off the echo."""

    def __init__(self, partitions: int) -> None:
        bins = BLOCK_SAMPLES + 1
        self._weights = np.zeros((partitions, bins), dtype=np.complex128)
        self._spectra = np.zeros((partitions, bins), dtype=np.complex128)
        """The reference's last ``partitions`` blocks, newest first, each with the one before."""
        self._previous = np.zeros(BLOCK_SAMPLES)
        self._reference_power = np.full(bins, 1e-6)
        self._echo_power = np.full(bins, 1e-6)
        self._left_power = np.full(bins, 1e-6)
        self._blocks = 0

    def process(
        self, near: npt.NDArray[np.float64], far: npt.NDArray[np.float64], adapt: bool
    ) -> npt.NDArray[np.float64]:
        """The 10 ms block ``near`` with the echo of ``far`` (the same block played) taken out."""
        spectrum = np.fft.rfft(np.concatenate((self._previous, far)))
        self._previous = far
        self._spectra = np.roll(self._spectra, 1, axis=0)
        self._spectra[0] = spectrum
        echo = np.sum(self._weights * self._spectra, axis=0)
        left = near - np.fft.irfft(echo)[BLOCK_SAMPLES:]
        left_spectrum = np.fft.rfft(np.concatenate((np.zeros(BLOCK_SAMPLES), left)))
        smooth = 0.9
        self._reference_power += (1.0 - smooth) * (np.abs(spectrum) ** 2 - self._reference_power)
        self._echo_power += (1.0 - smooth) * (np.abs(echo) ** 2 - self._echo_power)
        self._left_power += (1.0 - smooth) * (np.abs(left_spectrum) ** 2 - self._left_power)
        if adapt:
            share = np.clip(self._echo_power / self._left_power, LINEAR_STEP_LEAST, 1.0)
            gain = LINEAR_STEP * share / (len(self._weights) * self._reference_power + 1e-3)
            self._weights += np.conj(self._spectra) * (gain * left_spectrum)
        # Each block one partition is kept a true linear convolution (its second half
        # of taps zeroed), in turn: all of them each block costs 25 FFTs more.
        k = self._blocks % len(self._weights)
        taps = np.fft.irfft(self._weights[k])
        taps[BLOCK_SAMPLES:] = 0.0
        self._weights[k] = np.fft.rfft(taps)
        self._blocks += 1
        return left


class EchoCanceller:
    """Takes the prompts' echo out of each microphone channel, with what was played.

    ``played`` must reach the canceller no later than its echo reaches the microphone,
    and no more than a few hundred milliseconds before: AEC3's own delay search fails
    at 600 ms (measured), so the audio adapter pre-aligns it with the echo's known delay.
    One AEC3 instance per channel; not thread-safe, so it runs on the loop's thread.

    Beside AEC3 a linear filter runs (``LinearFilter``): ``linear`` is the last block
    through it alone, and ``near_end`` says for each 10 ms whether AEC3's output shows
    the partners (``NEAR_END_MARGIN_DB``); the listener's detector hears the one there.

    It also says how loud the echo it leaves is (``residual_dbfs``): a low percentile
    of the output's level, in the frames where the prompt was loudest, over the last
    ``RESIDUAL_HISTORY_S`` of prompt audio; and the room's noise (``noise_dbfs``), the
    same at the output while nothing was played. The listener closes the microphone as
    before whenever the one stands too far above the other (``excess_db``). Tried and
    left: output against reference per frame (once converged the output is the room's
    noise, and that ratio rises and falls with the prompt's own level, reading as echo
    left in every loud syllable), and the detector's noise floor (learnt from the echo
    itself when a session opens with a prompt, it let the echo through).
    """

    def __init__(self, channels: int) -> None:
        from pywebrtc_audio import EchoCanceller as Aec3

        self.channels = channels
        self._aec: list[Any] = [Aec3(SAMPLE_RATE_HZ, 1, 0) for _ in range(channels)]
        self._partitions = round(LINEAR_FILTER_S * SAMPLE_RATE_HZ / BLOCK_SAMPLES)
        self._linear = [LinearFilter(self._partitions) for _ in range(channels)]
        self._linear_delay = round(CANCELLER_DELAY_S * SAMPLE_RATE_HZ)
        self._linear_tail = np.zeros((channels, self._linear_delay))
        """The linear output's last samples, handed back late to keep AEC3's timing."""
        self._near_end_hold = round(NEAR_END_HOLD_S * SAMPLE_RATE_HZ / BLOCK_SAMPLES)
        self._since_near_end = [self._near_end_hold + 1] * channels
        self._above_run = [0] * channels
        blocks = FRAME_SAMPLES // BLOCK_SAMPLES
        self.linear: Pcm = np.zeros((channels, FRAME_SAMPLES), dtype=np.int16)
        """The last block through the linear filter alone (``LinearFilter``), as late as
        ``process``'s output."""
        self.near_end = np.zeros((channels, blocks), dtype=bool)
        """For each 10 ms of the last block: is it the partners' (``NEAR_END_MARGIN_DB``)?"""
        smooth = max(1, round(REFERENCE_SMOOTH_S * SAMPLE_RATE_HZ / FRAME_SAMPLES))
        self._reference_power: deque[float] = deque(maxlen=smooth)
        self._now = max(1, round(REFERENCE_NOW_S * SAMPLE_RATE_HZ / FRAME_SAMPLES))
        self._reference_now: deque[float] = deque(
            maxlen=round(RESIDUAL_HISTORY_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        )
        """The level of the last ``REFERENCE_NOW_S`` played, for each frame of ``_levels``."""
        history = round(RESIDUAL_HISTORY_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self._levels: list[deque[float]] = [deque(maxlen=history) for _ in range(channels)]
        self._known = round(RESIDUAL_KNOWN_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self._noise_known = round(NOISE_KNOWN_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self._loud_frames = 0
        """Frames processed while something was played, since the last reset."""
        self._quiet_run = 0
        """Frames in a row with nothing played."""
        self._recheck = round(RECHECK_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self._recheck_after = round(RECHECK_AFTER_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self._fresh = 0
        """Frames played since the last long quiet."""
        self._after_chime = round(AFTER_CHIME_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self._since_chime = self._after_chime
        """Frames since the last one that played a chime's tones."""
        self._tonal_run = 0
        quiet = round(NOISE_HISTORY_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self._quiet: list[deque[float]] = [deque(maxlen=quiet) for _ in range(channels)]
        self.reference_dbfs = SILENT_DBFS
        """The played audio's level over the last ``REFERENCE_SMOOTH_S``."""
        self.frames = 0
        """Frames processed."""

    def process(self, heard: Pcm, played: Pcm, speaking: bool = False) -> Pcm:
        """The microphone block (channels, samples) with the echo of ``played`` (mono,
        the same length) taken out, ``CANCELLER_DELAY_S`` late. ``speaking``: a partner
        is heard now, so this block says nothing of the echo left (live, counting such
        blocks closed the microphone between two sentences said over a prompt)."""
        far = played.astype(np.float32) / 32768.0
        out = np.empty_like(heard)
        near = heard.astype(np.float32) / 32768.0
        self.linear = np.empty_like(heard)
        self.near_end = np.zeros((self.channels, heard.shape[-1] // BLOCK_SAMPLES), dtype=bool)
        for c, aec in enumerate(self._aec):
            cleaned = aec.process(near[c], far)
            out[c] = np.clip(np.rint(cleaned * 32768.0), -32768, 32767).astype(np.int16)
            self._linear_channel(c, heard[c], played, out[c])
        self.frames += 1
        power = float(np.mean(played.astype(np.float64) ** 2))
        self._reference_power.append(power)
        self.reference_dbfs = _dbfs(float(np.mean(self._reference_power)))
        loud = self.reference_dbfs > REFERENCE_QUIET_DBFS
        audible = power > 10.0 ** (REFERENCE_QUIET_DBFS / 10.0) * 32768.0**2
        self._tonal_run = self._tonal_run + 1 if audible and _tonal(far) else 0
        self._since_chime = 0 if self._tonal_run >= TONAL_BLOCKS else self._since_chime + 1
        self._quiet_run = 0 if loud else self._quiet_run + 1
        if self._quiet_run >= self._recheck_after:
            self._fresh = 0
        if loud and speaking:
            return out
        if loud:
            self._fresh += 1
            self._loud_frames += 1
            recent = list(self._reference_power)[-self._now :]
            self._reference_now.append(_dbfs(float(np.mean(recent))))
        for c in range(self.channels):
            level = _level_dbfs(out[c])
            (self._levels if loud else self._quiet)[c].append(level)
        return out

    def _linear_channel(self, channel: int, heard: Pcm, played: Pcm, cancelled: Pcm) -> None:
        """The near-end decision from AEC3's output, and the linear filter, for one channel."""
        noise = self.noise_dbfs(channel)
        near = heard.astype(np.float64)
        far = played.astype(np.float64)
        left = np.empty(len(near))
        for k, start in enumerate(range(0, len(near), BLOCK_SAMPLES)):
            block = slice(start, start + BLOCK_SAMPLES)
            level = _level_dbfs(cancelled[block])
            heard_db = _level_dbfs(near[block])
            above = (
                noise is not None
                and level > noise + NEAR_END_MARGIN_DB
                and level > heard_db - NEAR_END_BELOW_HEARD_DB
            )
            self._above_run[channel] = self._above_run[channel] + 1 if above else 0
            voice = self._above_run[channel] >= NEAR_END_BLOCKS
            self._since_near_end[channel] = 0 if voice else self._since_near_end[channel] + 1
            near_end = self._since_near_end[channel] <= self._near_end_hold
            self.near_end[channel, k] = near_end
            left[block] = self._linear[channel].process(near[block], far[block], not near_end)
        late = np.concatenate((self._linear_tail[channel], left))
        self._linear_tail[channel] = late[len(left) :]
        self.linear[channel] = np.clip(np.rint(late[: len(left)]), -32768, 32767).astype(np.int16)

    def residual_dbfs(self, channel: int = 0) -> float | None:
        """How loud the echo left in ``channel`` is now; None until enough prompt audio
        has been heard to tell (the canceller may not have converged)."""
        levels = self._levels[channel]
        if self._loud_frames < self._known or self._fresh < self._recheck:
            return None
        if self._since_chime < self._after_chime:
            return None
        out = np.fromiter(levels, dtype=np.float64)
        played = np.fromiter(self._reference_now, dtype=np.float64)
        loudest = out[played >= np.median(played)]
        return float(np.percentile(loudest, RESIDUAL_PERCENTILE))

    @property
    def converged(self) -> bool:
        """Enough prompt audio has been heard for the echo path to be learnt."""
        return self._loud_frames >= self._known

    def noise_dbfs(self, channel: int = 0) -> float | None:
        """The room's noise at the output, heard while nothing was played; None before."""
        quiet = self._quiet[channel]
        if len(quiet) < self._noise_known:
            return None
        noise = float(np.percentile(np.fromiter(quiet, dtype=np.float64), NOISE_PERCENTILE))
        return max(noise, NOISE_LEAST_DBFS)

    def excess_db(self, channel: int = 0) -> float | None:
        """How far the echo left stands above the room's noise; None while either is
        not known yet (the canceller may not have converged: take it as too loud)."""
        residual, noise = self.residual_dbfs(channel), self.noise_dbfs(channel)
        return None if residual is None or noise is None else residual - noise

    def reset(self) -> None:
        """The stream was reopened: the echo path is to be learnt again."""
        for aec in self._aec:
            aec.reset()
        self._linear = [LinearFilter(self._partitions) for _ in range(self.channels)]
        self._linear_tail[...] = 0.0
        for levels in self._levels:
            levels.clear()
        self._reference_now.clear()
        self._loud_frames = 0
        self._reference_power.clear()
        self.reference_dbfs = SILENT_DBFS


@dataclass(frozen=True)
class EchoRemoved:
    """How much of the echo in the microphone a canceller took out, in dB."""

    first_db: float
    """AEC3, over the first ``first_s`` of prompt audio (while it converges)."""
    later_db: float
    """AEC3, after that."""
    linear_db: float
    """The linear filter alone, after that."""
    echo_s: float
    """Prompt audio heard."""


def _db(energy: float) -> float:
    return 10.0 * float(np.log10(max(energy, 1e-20)))


def echo_removed(
    frames: Iterable[Frame], canceller: EchoCanceller, first_s: float = 1.5
) -> EchoRemoved:
    """The echo in the microphone against what ``canceller`` left, over ``frames`` up to
    the first one without a prompt after some prompt audio (for a room with no other
    sound: otherwise it is counted as echo)."""
    heard = [0.0, 0.0]
    left = [0.0, 0.0]
    linear = 0.0
    echo_s = 0.0
    for frame in frames:
        assert frame.played is not None
        out = canceller.process(frame.pcm, frame.played)
        if not frame.playing:
            if echo_s > 0.0:
                break
            continue
        echo_s += FRAME_SAMPLES / SAMPLE_RATE_HZ
        part = 0 if echo_s <= first_s else 1
        heard[part] += float(np.sum(frame.pcm.astype(np.float64) ** 2))
        left[part] += float(np.sum(out.astype(np.float64) ** 2))
        if part:
            linear += float(np.sum(canceller.linear.astype(np.float64) ** 2))
    return EchoRemoved(
        first_db=_db(heard[0]) - _db(left[0]),
        later_db=_db(heard[1]) - _db(left[1]),
        linear_db=_db(heard[1]) - _db(linear),
        echo_s=echo_s,
    )


__all__ = [
    "CANCELLER_DELAY_S",
    "RESIDUAL_KNOWN_S",
    "EchoCanceller",
    "EchoRemoved",
    "echo_removed",
]
