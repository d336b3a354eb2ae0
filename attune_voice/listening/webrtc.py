"""webrtcvad as a voicing source for the detector (the sole webrtcvad import)."""

from __future__ import annotations

import numpy as np

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.listening.arrays import Bools
from attune_voice.listening.subframes import SUBFRAME_SAMPLES


class WebRtcVoicing:
    """webrtcvad behind the ``VoicingDetector`` protocol.

    It is fed every sub-frame, quiet ones included: its own noise model adapts to what
    it hears, and it only knows the room if it hears the room. It judges 20 ms at a
    time (a live frame), which halves its cost; one decision covers both sub-frames.
    """

    def __init__(self, aggressiveness: int) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)

    def speech(self, pcm: Pcm) -> Bools:
        data = pcm.tobytes()
        width = 2 * SUBFRAME_SAMPLES
        count = len(data) // width
        is_speech = self._vad.is_speech
        decisions: list[bool] = []
        for k in range(0, count - 1, 2):
            heard = is_speech(data[k * width : (k + 2) * width], SAMPLE_RATE_HZ)
            decisions += (heard, heard)
        if count % 2:
            decisions.append(is_speech(data[(count - 1) * width : count * width], SAMPLE_RATE_HZ))
        return np.array(decisions, dtype=bool)
