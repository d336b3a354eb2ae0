"""The prompts' echo taken out of the microphone (WebRTC AEC3, the sole pywebrtc_audio import)."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Pcm

CANCELLER_DELAY_S = 0.008
"""AEC3 hands back each sample this much later than it came in (measured: 128 samples)."""

RESIDUAL_HISTORY_S = 3.0
"""The residual echo is judged over this much recent prompt audio: long enough that a
partner talking over one prompt does not read as echo, short enough to follow a change."""

RESIDUAL_PERCENTILE = 10.0
"""The echo left is a low percentile of the output's level while a prompt plays: a
partner's voice only adds to the output, the echo left is there when they pause."""

REFERENCE_SMOOTH_S = 0.2
"""The reference level is taken over this much of what was played: the echo of a
sample lasts as long as the room rings, so a pause in a prompt still echoes."""

REFERENCE_QUIET_DBFS = -50.0
"""Played audio quieter than this says nothing about the echo path."""

RESIDUAL_KNOWN_S = 0.6
"""Prompt audio needed before the residual is known; until then it is taken as loud."""

SILENT_DBFS = -120.0


def _dbfs(power: float) -> float:
    return 10.0 * float(np.log10(max(power, 1e-12))) - 10.0 * float(np.log10(32768.0**2))


class EchoCanceller:
    """Takes the prompts' echo out of each microphone channel, with what was played.

    ``played`` must reach the canceller no later than its echo reaches the microphone,
    and no more than a few hundred milliseconds before: AEC3's own delay search fails
    at 600 ms (measured), so the audio adapter pre-aligns it with the echo's known delay.
    One AEC3 instance per channel; not thread-safe, so it runs on the loop's thread.

    It also says how loud the echo it leaves is (``residual_dbfs``): a low percentile
    of the output's level over the last ``RESIDUAL_HISTORY_S`` of prompt audio (the
    output against the reference, per frame, was tried: once converged the output is
    the room's noise, and the ratio then rises and falls with the prompt's own level,
    reading as echo left in every loud syllable). The listener closes the microphone
    as before whenever that stands too far above the room's noise.
    """

    def __init__(self, channels: int) -> None:
        from pywebrtc_audio import EchoCanceller as Aec3

        self.channels = channels
        self._aec: list[Any] = [Aec3(SAMPLE_RATE_HZ, 1, 0) for _ in range(channels)]
        smooth = max(1, round(REFERENCE_SMOOTH_S * SAMPLE_RATE_HZ / FRAME_SAMPLES))
        self._reference_power: deque[float] = deque(maxlen=smooth)
        history = round(RESIDUAL_HISTORY_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self._levels: list[deque[float]] = [deque(maxlen=history) for _ in range(channels)]
        self._known = round(RESIDUAL_KNOWN_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self.reference_dbfs = SILENT_DBFS
        """The played audio's level over the last ``REFERENCE_SMOOTH_S``."""
        self.frames = 0
        """Frames processed."""

    def process(self, heard: Pcm, played: Pcm) -> Pcm:
        """The microphone block (channels, samples) with the echo of ``played`` (mono,
        the same length) taken out, ``CANCELLER_DELAY_S`` late."""
        far = played.astype(np.float32) / 32768.0
        out = np.empty_like(heard)
        near = heard.astype(np.float32) / 32768.0
        for c, aec in enumerate(self._aec):
            cleaned = aec.process(near[c], far)
            out[c] = np.clip(np.rint(cleaned * 32768.0), -32768, 32767).astype(np.int16)
        self.frames += 1
        power = float(np.mean(played.astype(np.float64) ** 2))
        self._reference_power.append(power)
        self.reference_dbfs = _dbfs(float(np.mean(self._reference_power)))
        if self.reference_dbfs > REFERENCE_QUIET_DBFS:
            for c in range(self.channels):
                self._levels[c].append(_dbfs(float(np.mean(out[c].astype(np.float64) ** 2))))
        return out

    def residual_dbfs(self, channel: int = 0) -> float | None:
        """How loud the echo left in ``channel`` is now; None until enough prompt audio
        has been heard to tell (the canceller may not have converged)."""
        levels = self._levels[channel]
        if len(levels) < self._known:
            return None
        return float(np.percentile(np.fromiter(levels, dtype=np.float64), RESIDUAL_PERCENTILE))

    def reset(self) -> None:
        """The stream was reopened: the echo path is to be learnt again."""
        for aec in self._aec:
            aec.reset()
        for levels in self._levels:
            levels.clear()
        self._reference_power.clear()
        self.reference_dbfs = SILENT_DBFS


__all__ = ["CANCELLER_DELAY_S", "EchoCanceller"]
