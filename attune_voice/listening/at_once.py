"""Two voices at once in a live segment, and where one follows another: the segmentation network."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from attune_voice.events import PARTNERS
from attune_voice.listening.diarization import DiarizationConfig, at_once_stretches
from attune_voice.listening.segmentation import (
    CHUNK_SAMPLES,
    STEP_S,
    Overlap,
    SpeakerSegmentation,
)
from attune_voice.session.ports import VoiceLabel

AtOnceStretch = tuple[float, float, float]
"""(start_t, end_t, the mean probability of two voices at once over it)."""


@dataclass(frozen=True)
class HeardAtOnce:
    """What the network heard in a segment's audio."""

    stretches: list[AtOnceStretch]
    """Where two speak at once."""
    changes: tuple[float, ...]
    """Times where one speaker follows another in a breath (``segmentation.Heard``): in
    a room that echoes, the breath is filled by the echo and leaves no pause."""


class AtOnce:
    """Where two people speak at once in a live segment with one microphone: what the
    speaker encoder cannot hear (an embedding of two voices sounds like the louder one),
    the segmentation network can, as it does in ``analyze``. It judges the segment with
    at least 10 s of audio ending with it (its window; the audio before is context), on
    the caller's thread, and the stretches are those ``analyze`` finds
    (``diarization.at_once_stretches``). It also tells where one speaker follows another
    in a breath, as ``analyze`` cuts its short parts there: in a room that echoes, the
    breath before a mm-hm is filled by the echo of the speaker's last word."""

    def __init__(
        self, model: SpeakerSegmentation | None = None, config: DiarizationConfig | None = None
    ) -> None:
        self._model = model or SpeakerSegmentation()
        self.config = config or DiarizationConfig()

    @staticmethod
    def context_start(start_sample: int, end_sample: int) -> int:
        """Where the audio judged for a segment from ``start_sample`` to ``end_sample``
        begins: at least one network window before its end."""
        return max(0, min(start_sample, end_sample - CHUNK_SAMPLES))

    def heard(self, clip: npt.NDArray[np.int16], clip_start_t: float) -> HeardAtOnce:
        """Where in ``clip`` (starting at ``clip_start_t``) two speak at once, and where
        one speaker follows another."""
        overlap = Overlap(self._model, threads=1)
        overlap.feed(clip)
        heard = overlap.finish()
        probabilities = heard.at_once
        found = []
        for a_s, b_s in at_once_stretches(probabilities, self.config):
            mean = float(np.mean(probabilities[round(a_s / STEP_S) : round(b_s / STEP_S)]))
            found.append((clip_start_t + a_s, clip_start_t + b_s, mean))
        return HeardAtOnce(found, tuple(clip_start_t + t for t in heard.changes))

    def within(
        self, found: Sequence[AtOnceStretch], start_t: float, end_t: float
    ) -> list[AtOnceStretch]:
        """The stretches cut to the segment, those left long enough kept."""
        cut = [(max(a, start_t), min(b, end_t), p) for a, b, p in found]
        return [(a, b, p) for a, b, p in cut if b - a >= self.config.min_at_once_s]

    def over(
        self,
        found: Sequence[AtOnceStretch],
        parts: Sequence[tuple[float, float, VoiceLabel | None]],
        holder_at: Callable[[float], str | None],
        clear_margin: float,
    ) -> list[tuple[float, float, VoiceLabel]]:
        """The listener's (start_t, end_t, label) over the holder's voice where two speak
        at once: the voice heard there is the part's, where it is told (``clear_margin``)
        and not itself heard over another, else the floor holder's; where it is the
        listener's, the holder goes on under them, which is the holder's turn and needs no
        part of its own (the engine would not log it). The label's margin is the
        stretch's mean probability of two at once: found, it is as sure as ``analyze``
        takes it (the probability of two classes of seven hovers a little over the 0.5
        that finds it, so it is no margin of a voice to weigh)."""
        result = []
        for a, b, probability in found:
            mid_t = (a + b) / 2
            holder = heard = holder_at(mid_t)
            for start_t, end_t, voice in parts:
                told = voice is not None and not voice.over and voice.margin >= clear_margin
                if told and voice is not None and start_t <= mid_t < end_t:
                    heard = voice.partner
            if holder is None or heard != holder:
                continue
            listener = PARTNERS[1 - PARTNERS.index(holder)]
            result.append((a, b, VoiceLabel(listener, round(probability, 4), over=True)))
        return result
