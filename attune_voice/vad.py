"""Speech detection (the sole webrtcvad import) and the segmenter state machine.

Detection runs on 10 ms sub-frames: webrtcvad's voicing decision, gated by energy
above an adaptive noise floor so that a steady fan or hum never counts. The segmenter
turns the per-sub-frame decisions into speech segments whose edges sit on the audio
(refined by energy, never padded), merging pauses shorter than ``merge_gap_s``.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig

SUBFRAME_SAMPLES = SAMPLE_RATE_HZ // 100
SUBFRAME_S = SUBFRAME_SAMPLES / SAMPLE_RATE_HZ
_SILENT_DBFS = -100.0
_REFINE_MARGIN_DB = 6.0
"""Edges extend over neighbouring sub-frames this far above the noise floor."""
_REFINE_LOOKBACK = 15
"""Sub-frames (150 ms) searched before a confirmed onset for the true start."""


def _seconds(subframe_index: int) -> float:
    # Computed from samples exactly as Frame.t is, so equal instants compare equal.
    return subframe_index * SUBFRAME_SAMPLES / SAMPLE_RATE_HZ


class VoicingDetector(Protocol):
    """Says whether one 10 ms block of 16 kHz int16 audio is voiced."""

    def is_voiced(self, block: bytes) -> bool: ...


class WebRtcVoicing:
    """webrtcvad behind the ``VoicingDetector`` protocol."""

    def __init__(self, aggressiveness: int) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)

    def is_voiced(self, block: bytes) -> bool:
        return bool(self._vad.is_speech(block, SAMPLE_RATE_HZ))


def subframe_dbfs(pcm: Pcm) -> np.ndarray:
    """RMS level in dBFS of each 10 ms sub-frame of a 1-D int16 block."""
    usable = pcm[: len(pcm) - len(pcm) % SUBFRAME_SAMPLES].astype(np.float32)
    blocks = usable.reshape(-1, SUBFRAME_SAMPLES)
    power = np.mean(blocks * blocks, axis=1) / (32768.0 * 32768.0)
    return np.asarray(10.0 * np.log10(np.maximum(power, 1e-10)), dtype=np.float64)


class NoiseFloor:
    """Tracks the room's noise floor in dBFS by minimum statistics.

    It follows quieter levels at once and rises slowly (``rise_db_per_s``), so speech
    cannot pull it up within a turn but a fan switched on is learnt within seconds.
    """

    def __init__(self, rise_db_per_s: float = 3.0, initial_dbfs: float = -60.0) -> None:
        self.dbfs = initial_dbfs
        self._rise_db = rise_db_per_s * SUBFRAME_S
        self._primed = False

    def update(self, level_dbfs: float) -> float:
        if not self._primed:
            self.dbfs = level_dbfs
            self._primed = True
        elif level_dbfs < self.dbfs:
            self.dbfs = level_dbfs
        else:
            self.dbfs = min(level_dbfs, self.dbfs + self._rise_db)
        # A digital-silence floor would make any dither "speech": keep a sane minimum.
        self.dbfs = max(self.dbfs, -75.0)
        return self.dbfs


@dataclass(frozen=True)
class Onset:
    """Speech has started (confirmed); ``t`` is its refined start."""

    t: float
    channel: int


@dataclass(frozen=True)
class Segment:
    """One speech segment on one channel, seconds since session start."""

    start_t: float
    end_t: float
    channel: int

    @property
    def duration_s(self) -> float:
        return self.end_t - self.start_t


class SegmenterState(enum.Enum):
    SILENCE = "silence"
    ONSET = "onset"
    SPEECH = "speech"
    HANGOVER = "hangover"


class Segmenter:
    """Turns per-sub-frame speech decisions into segments, for one channel.

    ::

        SILENCE --speech--> ONSET --speech for min_speech_s--> SPEECH  (emit Onset)
        ONSET --non-speech longer than 20 ms--> SILENCE            (a click, dropped)
        SPEECH --non-speech--> HANGOVER --speech--> SPEECH          (a short pause)
        HANGOVER --non-speech for merge_gap_s--> SILENCE            (emit Segment)
        any --gate--> SILENCE                                       (emit Segment if open)

    Time is the sub-frame index: nothing here reads a clock.
    """

    def __init__(self, config: DetectorConfig, channel: int = 0) -> None:
        self.state = SegmenterState.SILENCE
        self._channel = channel
        self._min_speech = max(1, round(config.min_speech_s / SUBFRAME_S))
        self._merge_gap = max(1, round(config.merge_gap_s / SUBFRAME_S))
        self._start = 0
        """Sub-frame index where the current speech starts."""
        self._speech_run = 0
        self._gap = 0
        self._last_speech_end = 0
        """Sub-frame index just past the last speech sub-frame."""
        # Recent levels above the floor, to move edges onto the audio.
        self._margins: deque[float] = deque(maxlen=_REFINE_LOOKBACK + 64)
        self._margins_end = 0

    def _margin_at(self, index: int) -> float | None:
        offset = index - (self._margins_end - len(self._margins))
        if 0 <= offset < len(self._margins):
            return self._margins[offset]
        return None

    def step(
        self, index: int, speech: bool, margin_db: float
    ) -> tuple[Onset | None, Segment | None]:
        """Advance by the sub-frame ``index`` whose decision is ``speech``.

        ``margin_db`` is its level above the noise floor, used only to refine edges.
        """
        self._margins.append(margin_db)
        self._margins_end = index + 1
        onset: Onset | None = None
        segment: Segment | None = None
        state = self.state
        if state is SegmenterState.SILENCE:
            if speech:
                self.state = SegmenterState.ONSET
                self._start = index
                self._speech_run = 1
                self._gap = 0
        elif state is SegmenterState.ONSET:
            if speech:
                self._speech_run += 1
                self._gap = 0
                if self._speech_run >= self._min_speech:
                    self.state = SegmenterState.SPEECH
                    self._start = self._refined_start(self._start)
                    onset = Onset(_seconds(self._start), self._channel)
            else:
                self._gap += 1
                if self._gap > 2:
                    self.state = SegmenterState.SILENCE
        elif state is SegmenterState.SPEECH:
            if not speech:
                self.state = SegmenterState.HANGOVER
                self._last_speech_end = index
                self._gap = 1
        elif speech:  # HANGOVER
            self.state = SegmenterState.SPEECH
        else:
            self._gap += 1
            if self._gap >= self._merge_gap:
                segment = self._close()
        return onset, segment

    def gate(self) -> Segment | None:
        """The microphone is about to be gated: close any open segment now."""
        segment: Segment | None = None
        if self.state is SegmenterState.SPEECH:
            self._last_speech_end = self._margins_end
            segment = self._close()
        elif self.state is SegmenterState.HANGOVER:
            segment = self._close()
        self.state = SegmenterState.SILENCE
        return segment

    def _close(self) -> Segment:
        end = self._refined_end(self._last_speech_end)
        self.state = SegmenterState.SILENCE
        return Segment(_seconds(self._start), _seconds(end), self._channel)

    def _refined_start(self, start: int) -> int:
        # webrtcvad needs a few milliseconds of voicing before it fires; the soft
        # consonant before that is still speech.
        earliest = start - _REFINE_LOOKBACK
        while start - 1 >= earliest:
            margin = self._margin_at(start - 1)
            if margin is None or margin < _REFINE_MARGIN_DB:
                break
            start -= 1
        return start

    def _refined_end(self, end: int) -> int:
        # The hang-over sub-frames after the last voiced one may still carry the
        # fading end of a word; extend over them while they stand above the floor.
        while end < self._margins_end:
            margin = self._margin_at(end)
            if margin is None or margin < _REFINE_MARGIN_DB:
                break
            end += 1
        return end


class ChannelDetector:
    """Speech decisions and segments for every channel of a stream of frames.

    With several channels (one microphone per partner), a channel counts as speaking
    only where it is within ``channel_margin_db`` of the loudest channel, so that a
    partner's voice leaking into the other microphone is not taken for the other
    partner.
    """

    def __init__(
        self,
        config: DetectorConfig,
        channels: int,
        voicing: list[VoicingDetector] | None = None,
    ) -> None:
        self._config = config
        self.channels = channels
        self._voicing: list[VoicingDetector] = voicing or [
            WebRtcVoicing(config.aggressiveness) for _ in range(channels)
        ]
        self._floors = [NoiseFloor() for _ in range(channels)]
        self._segmenters = [Segmenter(config, channel) for channel in range(channels)]
        self._index = 0
        """Sub-frames consumed: the detector's clock."""

    @property
    def t(self) -> float:
        return _seconds(self._index)

    def noise_floor_dbfs(self, channel: int = 0) -> float:
        return self._floors[channel].dbfs

    def feed(self, pcm: Pcm) -> tuple[list[Onset], list[Segment]]:
        """Process a (channels, samples) block whose length is a multiple of 10 ms."""
        onsets: list[Onset] = []
        segments: list[Segment] = []
        levels = [subframe_dbfs(pcm[channel]) for channel in range(self.channels)]
        count = len(levels[0])
        for k in range(count):
            loudest = max(level[k] for level in levels)
            for channel in range(self.channels):
                level = float(levels[channel][k])
                floor = self._floors[channel].update(level)
                margin = level - floor
                speech = margin >= self._config.energy_margin_db and (
                    self.channels == 1 or level >= loudest - self._config.channel_margin_db
                )
                if speech:
                    start = k * SUBFRAME_SAMPLES
                    block = pcm[channel, start : start + SUBFRAME_SAMPLES].tobytes()
                    speech = self._voicing[channel].is_voiced(block)
                onset, segment = self._segmenters[channel].step(self._index, speech, margin)
                if onset is not None:
                    onsets.append(onset)
                if segment is not None:
                    segments.append(segment)
            self._index += 1
        return onsets, segments

    def skip(self, samples: int) -> list[Segment]:
        """Gated audio (a prompt playing): close open segments and advance the clock."""
        segments = [s for s in (seg.gate() for seg in self._segmenters) if s is not None]
        self._index += samples // SUBFRAME_SAMPLES
        return segments

    def flush(self) -> list[Segment]:
        """End of stream: close any open segment."""
        return [s for s in (seg.gate() for seg in self._segmenters) if s is not None]


def level_dbfs(pcm: Pcm) -> float:
    """Overall RMS level of a block in dBFS."""
    if pcm.size == 0:
        return _SILENT_DBFS
    samples = pcm.astype(np.float64)
    power = float(np.mean(samples * samples)) / (32768.0 * 32768.0)
    return 10.0 * math.log10(max(power, 1e-10))
