"""Speech detection on every channel: the voice model, noise floors and segmenters together.

One detector serves live sessions, the simulated room and ``attune-voice analyze``.
Two questions are asked of every 10 ms sub-frame, by two different means:

- *Is someone speaking?* Silero VAD (``attune_voice.listening.silero``), a small neural
  network that hears 32 ms windows with a memory of what came before, gives a speech
  probability; a channel is *voiced* from the first probability of at least
  ``speech_on_probability`` until one falls below ``speech_off_probability`` (Silero's
  own 0.5 and 0.35). Nothing about the room is learnt for this: a voice that talks
  from the first second, or over steady noise, is heard as a voice.
- *Where does the sound begin and end?* The level in two bands, the voice band (about
  300-900 Hz) and the presence band (pre-emphasised, mostly above 1.5 kHz: consonants
  and whispers), against noise floors tracked by minimum statistics. This never
  decides whether speech exists; it only moves a segment's edges from the model's
  32 ms windows onto the audio.

Each sub-frame gets the probability of the latest window complete by its end, so a
decision never waits for later audio: the end-of-speech event comes as early as the
windows allow. Speech is voicing confirmed over ``min_speech_s``; its edges are where
the sound around it begins and ends (never padded), and pauses shorter than
``merge_gap_s`` are merged (see ``Segmenter``). With a microphone per partner, each
channel has its own model stream, and a channel only speaks where it is close to the
loudest channel, so crosstalk stays with the partner who made it.
"""

from __future__ import annotations

import numpy as np

from attune_voice.audio.frames import Pcm
from attune_voice.config import DetectorConfig
from attune_voice.listening.arrays import Bools, Floats, scalar_f64
from attune_voice.listening.features import LevelMeter
from attune_voice.listening.noise_floor import FloorTracker
from attune_voice.listening.segmenter import Onset, Segment, Segmenter
from attune_voice.listening.silero import (
    WINDOW_SAMPLES,
    Probabilities,
    SileroBatch,
    SileroModel,
    SileroStream,
)
from attune_voice.listening.subframes import SUBFRAME_SAMPLES, subframe_t
from attune_voice.listening.voicing import SubframeVoicing

_BATCH_S = 240.0
"""In batch mode, audio is judged this much at a time: 30 slices of 8 s, 15 per core."""
_PIECE_SUBFRAMES = 1000
"""The levels and segmenters take a judged batch 10 s at a time (bounded memory)."""


def hysteresis(
    probability: Probabilities, on: float | Floats, off: float | Floats, voiced: Bools
) -> Bools:
    """Voicing of each sub-frame, time along the last axis: on from a probability of at
    least ``on``, off below ``off``, else as before (``voiced``, one per channel, is
    the state before the block)."""
    count = probability.shape[-1]
    decided = np.where(probability >= on, 1, np.where(probability < off, 0, -1))
    latest = np.where(decided >= 0, np.arange(count), -1)
    np.maximum.accumulate(latest, axis=-1, out=latest)
    carried = np.take_along_axis(decided, np.maximum(latest, 0), axis=-1)
    result: Bools = np.where(latest >= 0, carried == 1, voiced[:, None])
    return result


class ChannelDetector:
    """Speech decisions and segments for every channel of a stream of frames.

    With several channels (one microphone per partner), a channel counts as speaking
    only where it is within ``channel_margin_db`` of the loudest channel, so that a
    partner's voice leaking into the other microphone is not taken for the other
    partner.

    ``batch`` suits a recording read from a file: audio is gathered and judged
    ``_BATCH_S`` at a time as independent slices on both cores, so segments come later
    than the audio that ends them (``flush`` gives the rest). Live, each frame is judged
    as it comes.
    """

    def __init__(
        self,
        config: DetectorConfig,
        channels: int,
        model: SileroModel | None = None,
        batch: bool = False,
    ) -> None:
        self._config = config
        self.channels = channels
        model = SileroModel() if model is None else model
        self.model = model
        self._voicing: list[SubframeVoicing] = (
            [SileroBatch(model) for _ in range(channels)]
            if batch
            else [SileroStream(model) for _ in range(channels)]
        )
        self._batch = batch
        self._gathered: list[Pcm] = []
        self._gathered_samples = 0
        self._voiced = np.zeros(channels, dtype=bool)
        """Each channel's voicing after the last sub-frame (the hysteresis state)."""
        self._levels = LevelMeter(channels)
        # Series: the broadband, voice-band and presence-band levels of each channel.
        self._floors = FloorTracker((3, channels), config.noise_rise_db_per_s, smooth_subframes=5)
        self._voice_sound_db = scalar_f64(config.voice_sound_margin_db)
        self._sound_db = scalar_f64(config.sound_margin_db)
        self._channel_db = scalar_f64(config.channel_margin_db)
        # A decision is about the window that began 32 ms before it is known.
        delay = WINDOW_SAMPLES // SUBFRAME_SAMPLES
        self._segmenters = [Segmenter(config, channel, delay) for channel in range(channels)]
        self._index = 0
        """Sub-frames judged: the detector's clock."""
        self.balance_db = 0.0
        """With two microphones, how much louder the first hears alike sound than the
        second (``listening.crosstalk``'s balance): taken off before a channel is held
        to ``channel_margin_db`` of the loudest, so that the quieter microphone hears
        the other partner as the louder one does, and not in shreds at word ends."""

    @property
    def t(self) -> float:
        return subframe_t(self._index)

    def noise_floor_dbfs(self, channel: int = 0) -> float:
        """The broadband noise floor of a channel."""
        return float(self._floors.dbfs[0, channel])

    def probabilities(self, pcm: Pcm) -> Probabilities:
        """The model's speech probability for each sub-frame of a (channels, samples)
        block, shaped (channels, sub-frames); advances the model streams."""
        x = pcm.reshape(self.channels, -1)
        return np.stack([v.feed_subframes(x[c]) for c, v in enumerate(self._voicing)])

    def evidence(
        self, pcm: Pcm, probability: Probabilities | None = None, cancelled: bool | Bools = False
    ) -> tuple[Bools, Bools]:
        """Sound and voicing of each sub-frame of a (channels, samples) block, shaped
        (channels, sub-frames); advances the model (unless its ``probability`` is
        given), the floors and the voicing, not the segmenters. ``cancelled``: the
        block (or, as an array, each sub-frame) was heard through AEC3, which muffles a
        voice."""
        if probability is None:
            probability = self.probabilities(pcm)
        config = self._config
        on: float | Floats = config.speech_on_probability
        off: float | Floats = config.speech_off_probability
        if isinstance(cancelled, np.ndarray):
            on = np.where(cancelled, config.cancelled_on_probability, on)
            off = np.where(cancelled, config.cancelled_off_probability, off)
        elif cancelled:
            on, off = config.cancelled_on_probability, config.cancelled_off_probability
        voiced = hysteresis(probability, on, off, self._voiced)
        if voiced.shape[1]:
            self._voiced = voiced[:, -1].copy()
        levels = self._levels.levels(pcm)
        floors = self._floors.track(levels)
        _, voice, presence = levels - floors
        sound = voice >= self._voice_sound_db
        sound |= presence >= self._sound_db
        sound = sound.T
        if self.channels > 1:
            level = levels[0]
            if self.balance_db:
                level = level.copy()
                level[:, 0] -= self.balance_db
            loudest = np.maximum.reduce(level, axis=1, keepdims=True)
            own = (level >= loudest - self._channel_db).T
            sound &= own
            # The other partner's voice leaks into this microphone: the model hears it
            # as a voice, so a channel is voiced only where its own sound leads.
            voiced &= sound
        return sound, voiced

    def feed(
        self,
        pcm: Pcm,
        cancelled: bool | Bools = False,
        probability: Probabilities | None = None,
    ) -> tuple[list[Onset], list[Segment]]:
        """Process a (channels, samples) block whose length is a multiple of 10 ms
        (``cancelled``: heard through AEC3, the block or each sub-frame; with the
        model's ``probability`` of each sub-frame when it was judged apart; live only)."""
        if not self._batch:
            return self._run(pcm, probability, cancelled)
        self._gathered.append(pcm.reshape(self.channels, -1))
        self._gathered_samples += self._gathered[-1].shape[1]
        if self._gathered_samples < _BATCH_S * SUBFRAME_SAMPLES * 100:
            return [], []
        return self._judge_gathered()

    def _judge_gathered(self) -> tuple[list[Onset], list[Segment]]:
        if not self._gathered:
            return [], []
        pcm = np.concatenate(self._gathered, axis=1)
        self._gathered, self._gathered_samples = [], 0
        probability = self.probabilities(pcm)
        onsets: list[Onset] = []
        segments: list[Segment] = []
        piece = _PIECE_SUBFRAMES * SUBFRAME_SAMPLES
        for k, start in enumerate(range(0, pcm.shape[1], piece)):
            part = probability[:, k * _PIECE_SUBFRAMES : (k + 1) * _PIECE_SUBFRAMES]
            found = self._run(pcm[:, start : start + piece], part)
            onsets += found[0]
            segments += found[1]
        return onsets, segments

    def _run(
        self, pcm: Pcm, probability: Probabilities | None, cancelled: bool | Bools = False
    ) -> tuple[list[Onset], list[Segment]]:
        onsets: list[Onset] = []
        segments: list[Segment] = []
        sound, voiced = self.evidence(pcm, probability, cancelled)
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
        """Gated audio (a prompt playing): close open segments and advance the clock.

        The model's memory starts afresh when the microphone opens again: what it had
        heard before the prompt is no guide to what follows it.
        """
        segments = [s for s in (seg.gate(self._index) for seg in self._segmenters) if s is not None]
        self._index += samples // SUBFRAME_SAMPLES
        for voicing in self._voicing:
            voicing.reset()
        self._voiced[...] = False
        return segments

    def flush(self) -> list[Segment]:
        """End of stream: judge what is gathered and close any open segment."""
        segments = self._judge_gathered()[1] if self._batch else []
        closed = [s for s in (seg.gate(self._index) for seg in self._segmenters) if s is not None]
        return segments + closed
