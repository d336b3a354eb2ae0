"""Frames to engine inputs: the speech detector, the recogniser and the gate around prompts."""

from __future__ import annotations

import enum
from collections import deque
from typing import Protocol

import numpy as np

from attune_voice.audio.frames import FRAME_SAMPLES, Frame, Pcm
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig
from attune_voice.events import PARTNERS, WordTime
from attune_voice.listening.asr import CommandParser, Utterance, mono
from attune_voice.listening.channels import ChannelDetector
from attune_voice.listening.noise_floor import NoiseFloor
from attune_voice.listening.subframes import SUBFRAME_S, subframe_dbfs
from attune_voice.session.ports import (
    Command,
    EngineInput,
    Heard,
    KeyPress,
    SpeechOnset,
    SpeechSegment,
)

UTTERANCE_GAP_S = 0.25
"""A pause this long ends an utterance, so a command is understood this soon after it
is said (the target is 0.3 s). Longer than the pause at a comma in quick speech, so
"Yes, that is right" stays one utterance; shorter than the detector's merge gap, so
the words of a speech segment are known by the time the segment closes."""
REFINE_WINDOW_S = 0.15
"""Word times move a speech segment's edge only when they are this close to it."""
_LEVEL_HISTORY_S = 30.0
_WORD_HISTORY = 200


class PauseState(enum.Enum):
    QUIET = "quiet"
    SOUND = "sound"


class PauseDetector:
    """Says when an utterance has ended: a pause of ``gap_s`` after some sound.

    ::

        QUIET --sound for min_sound_s--> SOUND
        SOUND --sound--> SOUND (the pause count restarts)
        SOUND --no sound for gap_s--> QUIET  (the utterance has ended)

    Sound is a 10 ms level ``margin_db`` above the tracked noise floor: cheap, and the
    recogniser decides what the sound was. Time is the sub-frames fed.
    """

    def __init__(
        self, gap_s: float = UTTERANCE_GAP_S, margin_db: float = 9.0, min_sound_s: float = 0.05
    ) -> None:
        self.state = PauseState.QUIET
        self._floor = NoiseFloor()
        self._margin_db = margin_db
        self._gap = round(gap_s / SUBFRAME_S)
        self._min_sound = round(min_sound_s / SUBFRAME_S)
        self._run = 0
        """Sub-frames of sound (QUIET) or of quiet (SOUND) in a row."""

    def feed(self, pcm: Pcm) -> bool:
        """Take mono audio (a multiple of 10 ms); True when an utterance ended in it."""
        levels = subframe_dbfs(pcm)
        floors = self._floor.track(levels)
        ended = False
        for sound in levels >= floors + self._margin_db:
            ended |= self._step(bool(sound))
        return ended

    def _step(self, sound: bool) -> bool:
        if self.state is PauseState.QUIET:
            self._run = self._run + 1 if sound else 0
            if self._run >= self._min_sound:
                self.state = PauseState.SOUND
                self._run = 0
            return False
        self._run = 0 if sound else self._run + 1
        if self._run >= self._gap:
            self.state = PauseState.QUIET
            self._run = 0
            return True
        return False

    def reset(self) -> None:
        """The microphone closed: whatever was under way has ended."""
        self.state = PauseState.QUIET
        self._run = 0


class SpeechRecognizer(Protocol):
    """What the listener needs of ``attune_voice.listening.asr.Recognizer``."""

    def accept(self, pcm: Pcm, t: float) -> list[Utterance]: ...

    def finish(self) -> list[Utterance]: ...


class Understanding:
    """Recognised utterances → engine inputs: commands, answers and transcripts.

    An utterance ends at a vosk endpoint, after ``UTTERANCE_GAP_S`` without sound (a
    ``PauseDetector`` on the same audio), or when the microphone closes for a prompt.
    With a microphone per partner the louder channel over the utterance says who spoke.
    """

    def __init__(
        self,
        recognizer: SpeechRecognizer,
        parser: CommandParser,
        transcripts: bool = False,
    ) -> None:
        self._recognizer = recognizer
        self._parser = parser
        self.transcripts = transcripts
        self._channels = 1
        self._pauses = PauseDetector()
        self._levels: deque[tuple[float, np.ndarray]] = deque(
            maxlen=int(_LEVEL_HISTORY_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        )
        self._words: deque[WordTime] = deque(maxlen=_WORD_HISTORY)
        self._open = False
        """Audio went to the recogniser since the microphone last closed."""

    def attach(self, channels: int) -> None:
        """The listener's microphones: with one per partner, channel levels say who spoke."""
        self._channels = channels

    def hear(self, frame: Frame) -> list[EngineInput]:
        """An open-microphone frame."""
        self._open = True
        audio = mono(frame.pcm)
        utterances = self._recognizer.accept(audio, frame.t)
        if self._pauses.feed(audio):
            utterances += self._recognizer.finish()
        if self._channels == 2:
            power = np.mean(frame.pcm.astype(np.float32) ** 2, axis=1)
            self._levels.append((frame.t, power))
        return self._inputs(utterances, frame.end_t)

    def close(self, t: float) -> list[EngineInput]:
        """The microphone closes (a prompt plays) or the audio ends: finish what was said."""
        self._pauses.reset()
        if not self._open:
            return []
        self._open = False
        return self._inputs(self._recognizer.finish(), t)

    def refine(self, start_t: float, end_t: float) -> tuple[float, float]:
        """A speech segment's edges moved onto the words heard in it, when close by."""
        if not self.transcripts:
            return start_t, end_t
        inside = [
            w
            for w in self._words
            if w.end > start_t - REFINE_WINDOW_S and w.start < end_t + REFINE_WINDOW_S
        ]
        if not inside:
            return start_t, end_t
        first = min(w.start for w in inside)
        last = max(w.end for w in inside)
        if abs(first - start_t) <= REFINE_WINDOW_S:
            start_t = first
        if abs(last - end_t) <= REFINE_WINDOW_S:
            end_t = last
        return start_t, max(end_t, start_t)

    def _partner(self, utterance: Utterance) -> str | None:
        if self._channels != 2:
            return None
        levels = [p for t, p in self._levels if utterance.start_t <= t < utterance.end_t]
        if not levels:
            return None
        return PARTNERS[int(np.argmax(np.sum(levels, axis=0)))]

    def _inputs(self, utterances: list[Utterance], t: float) -> list[EngineInput]:
        inputs: list[EngineInput] = []
        for utterance in utterances:
            if not utterance.words:
                continue
            self._words.extend(utterance.words)
            partner = self._partner(utterance)
            word = self._parser.parse(utterance.text)
            if word is not None:
                inputs.append(Command(t, word, partner))
            if self.transcripts:
                inputs.append(Heard(t, utterance.words, partner))
        return inputs


class Listener:
    """Gates the microphone around prompts and turns frames into engine inputs."""

    def __init__(
        self,
        channels: int,
        config: DetectorConfig | None = None,
        understanding: Understanding | None = None,
    ) -> None:
        self._config = config or DetectorConfig()
        self._detector = ChannelDetector(self._config, channels)
        self._partners: tuple[str | None, ...] = PARTNERS if channels == 2 else (None,) * channels
        self._gate_until_t = 0.0
        self.understanding = understanding
        if understanding is not None:
            understanding.attach(channels)

    def _segment(self, start_t: float, end_t: float, channel: int) -> SpeechSegment:
        if self.understanding is not None:
            start_t, end_t = self.understanding.refine(start_t, end_t)
        return SpeechSegment(start_t, end_t, self._partners[channel])

    def feed(self, frame: Frame) -> list[EngineInput]:
        inputs: list[EngineInput] = []
        heard: list[EngineInput] = []
        if frame.playing:
            self._gate_until_t = frame.end_t + self._config.gate_tail_s
        if frame.playing or frame.t < self._gate_until_t:
            # The prompt and its echo are in the microphone: nothing here is a partner.
            if self.understanding is not None:
                heard = self.understanding.close(frame.t)
            closed = self._detector.skip(frame.pcm.shape[-1])
            inputs.extend(self._segment(s.start_t, s.end_t, s.channel) for s in closed)
        else:
            if self.understanding is not None:
                heard = self.understanding.hear(frame)
            onsets, segments = self._detector.feed(frame.pcm)
            inputs.extend(SpeechOnset(o.t, self._partners[o.channel]) for o in onsets)
            inputs.extend(self._segment(s.start_t, s.end_t, s.channel) for s in segments)
        inputs.extend(heard)
        inputs.extend(KeyPress(frame.t, key) for key in frame.keys)
        return inputs

    def flush(self, t: float = 0.0) -> list[EngineInput]:
        """End of the audio: close open segments and finish the last utterance."""
        heard = self.understanding.close(t) if self.understanding is not None else []
        closed = self._detector.flush()
        return [*(self._segment(s.start_t, s.end_t, s.channel) for s in closed), *heard]
