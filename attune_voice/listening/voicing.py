"""The seam where a voice model plugs into the detector: a speech probability per sub-frame."""

from __future__ import annotations

from typing import Protocol

from attune_voice.audio.frames import Pcm
from attune_voice.listening.silero import Probabilities


class SubframeVoicing(Protocol):
    """Speech probabilities of one channel of 16 kHz int16 audio fed in blocks."""

    def feed_subframes(self, pcm: Pcm) -> Probabilities:
        """One probability (0 to 1) per 10 ms sub-frame ending within the 1-D ``pcm``,
        known from that audio and what came before it, never from later audio."""
        ...

    def reset(self) -> None:
        """Forget what was heard: the audio that follows does not continue it."""
        ...
