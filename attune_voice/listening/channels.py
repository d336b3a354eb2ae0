"""Speech detection on every channel: features, noise floors, voicing and segmenters together.

One detector serves live sessions, the simulated room and ``attune-voice analyze``.
It works on 10 ms sub-frames, each described by a few numbers computed for a whole
block at once (numpy, no per-sample Python loop):

- the level in two bands, the voice band (about 300-900 Hz, where voicing lives and
  rumble, hum and traffic do not) and the presence band (pre-emphasised, mostly above
  1.5 kHz: consonants and whispers), each against its own noise floor, tracked by
  minimum statistics so that the detector adapts to the room instead of trusting one
  fixed threshold;
- periodicity: the normalised autocorrelation of the voice band over 32 ms at 2 kHz,
  searched over pitch periods of 2.5-16 ms (400-62 Hz). Voiced speech is periodic at
  any level and under broadband noise; fans, traffic, clicks and slams are not;
- whether the pitch is *held* as a musical note holds it (a voice glides), and how
  much of the last second's pitched sound was held: music is periodic too;
- webrtcvad's decision, which also hears unvoiced speech (a whisper), asked only for
  sub-frames that are strong, not musical and not the decay of a knock.

A sub-frame is *sound* when either band stands above its floor, and *voiced* when it
is periodic, not held, and its voice band stands above its floor (or webrtcvad hears
speech there). Speech is sound that holds enough voicing; its edges are where that
sound begins and ends (consonants and fading endings included), never padded, and
pauses shorter than ``merge_gap_s`` are merged. With a microphone per partner, a
channel only speaks where it is close to the loudest channel, so crosstalk stays
with the partner who made it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attune_voice.audio.frames import Pcm
from attune_voice.config import DetectorConfig
from attune_voice.listening.arrays import Bools, Floats, scalar_f64
from attune_voice.listening.features import MUSIC_SHARE, FeatureExtractor
from attune_voice.listening.noise_floor import FloorTracker
from attune_voice.listening.segmenter import Onset, Segment, Segmenter
from attune_voice.listening.subframes import SUBFRAME_SAMPLES, subframe_t
from attune_voice.listening.voicing import VoicingDetector
from attune_voice.listening.webrtc import WebRtcVoicing

_CUE_FLOOR_DBFS = -55.0
_CUE_MAX_GAIN_DB = 30.0
"""webrtcvad hears best at a talking level: a quiet room is lifted so that its floor
sits near -55 dBFS (never lowered, by 30 dB at most)."""

_F64_MUSIC_SHARE = scalar_f64(MUSIC_SHARE)


@dataclass(frozen=True)
class _Limits:
    """The detector's thresholds from its configuration, as 0-d arrays (see ``scalar_f32``)."""

    voice_sound_db: Floats
    sound_db: Floats
    voiced_db: Floats
    music_voice_db: Floats
    periodicity: Floats
    energy_db: Floats
    channel_db: Floats

    @classmethod
    def of(cls, config: DetectorConfig) -> _Limits:
        return cls(
            voice_sound_db=scalar_f64(config.voice_sound_margin_db),
            sound_db=scalar_f64(config.sound_margin_db),
            voiced_db=scalar_f64(config.voiced_margin_db),
            music_voice_db=scalar_f64(config.music_voice_margin_db),
            periodicity=scalar_f64(config.periodicity_min),
            energy_db=scalar_f64(config.energy_margin_db),
            channel_db=scalar_f64(config.channel_margin_db),
        )


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
        if voicing is None and config.webrtcvad_cue:
            voicing = [WebRtcVoicing(config.aggressiveness) for _ in range(channels)]
        self._voicing = voicing
        self._features = FeatureExtractor(channels)
        # Series: the broadband, voice-band and presence-band levels of each channel.
        self._floors = FloorTracker((3, channels), config.noise_rise_db_per_s, smooth_subframes=5)
        self._limits = _Limits.of(config)
        self._segmenters = [Segmenter(config, channel) for channel in range(channels)]
        self._index = 0
        """Sub-frames consumed: the detector's clock."""

    @property
    def t(self) -> float:
        return subframe_t(self._index)

    def noise_floor_dbfs(self, channel: int = 0) -> float:
        """The broadband noise floor of a channel."""
        return float(self._floors.dbfs[0, channel])

    def evidence(self, pcm: Pcm) -> tuple[Bools, Bools]:
        """Sound and voicing of each sub-frame of a (channels, samples) block, shaped
        (channels, sub-frames); advances the features and floors, not the segmenters."""
        limits = self._limits
        features, levels = self._features.measure(pcm)
        # Time first from here on, as the extractor works (see FeatureExtractor).
        periodicity, held_pitch = features.periodicity.T, features.held_pitch.T
        held_share, music_heard = features.held_share.T, features.music_heard.T
        floors = self._floors.track(levels)
        broadband, voice, presence = levels - floors
        sound = voice >= limits.voice_sound_db
        sound |= presence >= limits.sound_db
        # Where music plays, its note changes look like a voice for a moment; a voice
        # over music stands well above it (the floor has learnt the music).
        voice_needed = np.where(music_heard, limits.music_voice_db, limits.voiced_db)
        unmusical = held_share < _F64_MUSIC_SHARE
        unmusical &= ~held_pitch
        voiced = periodicity >= limits.periodicity
        voiced &= voice >= voice_needed
        voiced &= unmusical
        if self._voicing is not None:
            # webrtcvad hears unvoiced speech (a whisper) too; it is asked only where
            # the sound is strong, not musical and not the decay of a knock.
            eligible = broadband >= limits.energy_db
            eligible &= presence >= limits.energy_db
            eligible &= unmusical
            eligible &= ~features.fading.T
            voiced |= self._cue(pcm.reshape(self.channels, -1), eligible, floors[0])
        sound |= voiced
        if self.channels > 1:
            level = levels[0]
            loudest = np.maximum.reduce(level, axis=1, keepdims=True)
            own = level >= loudest - limits.channel_db
            sound &= own
            voiced &= own
        return sound.T, voiced.T

    def _cue(self, pcm: Pcm, eligible: Bools, floor_dbfs: Floats) -> Bools:
        """webrtcvad's decisions where ``eligible`` (time first); it hears every
        sub-frame regardless."""
        assert self._voicing is not None
        count, channels = eligible.shape
        samples = pcm[:, : count * SUBFRAME_SAMPLES]
        if count and np.minimum.reduce(floor_dbfs, axis=None) < _CUE_FLOOR_DBFS:
            # A gain of exactly 1 leaves int16 samples as they are, so lifting every
            # channel gives what lifting only the quiet ones would.
            gain_db = np.clip(_CUE_FLOOR_DBFS - floor_dbfs, 0.0, _CUE_MAX_GAIN_DB)
            gain = (10.0 ** (gain_db / 20.0)).T[:, :, None].astype(np.float32)
            lifted = samples.reshape(channels, count, SUBFRAME_SAMPLES) * gain
            np.clip(lifted, -32768, 32767, out=lifted)
            samples = lifted.astype(np.int16).reshape(channels, -1)
        decisions = np.empty((count, channels), dtype=bool)
        for channel in range(channels):
            decisions[:, channel] = self._voicing[channel].speech(samples[channel])
        decisions &= eligible
        return decisions

    def feed(self, pcm: Pcm) -> tuple[list[Onset], list[Segment]]:
        """Process a (channels, samples) block whose length is a multiple of 10 ms."""
        onsets: list[Onset] = []
        segments: list[Segment] = []
        sound, voiced = self.evidence(pcm)
        count = sound.shape[1]
        for channel in range(self.channels):
            found = self._segmenters[channel].run(self._index, sound[channel], voiced[channel])
            onsets.extend(found[0])
            segments.extend(found[1])
        self._index += count
        onsets.sort(key=lambda o: o.t)
        segments.sort(key=lambda s: s.end_t)
        return onsets, segments

    def skip(self, samples: int) -> list[Segment]:
        """Gated audio (a prompt playing): close open segments and advance the clock."""
        segments = [s for s in (seg.gate(self._index) for seg in self._segmenters) if s is not None]
        self._index += samples // SUBFRAME_SAMPLES
        return segments

    def flush(self) -> list[Segment]:
        """End of stream: close any open segment."""
        return [s for s in (seg.gate(self._index) for seg in self._segmenters) if s is not None]
