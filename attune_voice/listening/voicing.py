"""The seam where voicing sources plug into the detector: which sub-frames hold speech."""

from __future__ import annotations

from typing import Protocol

from attune_voice.audio.frames import Pcm
from attune_voice.listening.arrays import Bools


class VoicingDetector(Protocol):
    """Says which 10 ms sub-frames of 16 kHz int16 audio hold speech."""

    def speech(self, pcm: Pcm) -> Bools:
        """One decision per whole 10 ms sub-frame of the 1-D ``pcm``, in order."""
        ...
