"""One session, live or simulated: frames → listener → engine → voice and log.

The same loop serves ``run`` (the device), ``demo`` (the simulated room) and tests;
only the audio adapter differs. Speech recognition, when there is a model, runs here
on the loop's thread, fed the same frames as the speech detector: the audio adapter's
callback only copies.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from attune_voice.asr import CommandParser, Utterance, mono
from attune_voice.audio.frames import FRAME_SAMPLES, DuplexAudio, Frame, Pcm
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig
from attune_voice.engine import (
    Command,
    EngineInput,
    Heard,
    KeyPress,
    SessionEngine,
    SpeechOnset,
    SpeechSegment,
    Stop,
    Tick,
)
from attune_voice.errors import AudioDeviceError
from attune_voice.events import EndReason, Event, PromptMeaning, WordTime
from attune_voice.vad import (
    SUBFRAME_S,
    ChannelDetector,
    NoiseFloor,
    VoicingDetector,
    subframe_dbfs,
)

CHANNEL_PARTNERS = ("A", "B")
"""With a microphone per partner, channel 1 is partner A and channel 2 partner B."""


class Renderer(Protocol):
    def render(self, text: str) -> Pcm: ...


@runtime_checkable
class PromptPreparer(Protocol):
    """A prompt player that can render prompts before the engine says them."""

    def prepare(self, texts: Iterable[str], most: int | None = None) -> int:
        """Render those of ``texts`` not rendered yet (at most ``most``); how many it did."""
        ...


class PromptVoicePlayer:
    """Speaks the engine's prompts through the duplex audio, so their timing is exact.

    Rendering a prompt takes espeak-ng tens of milliseconds; ``prepare`` does it ahead
    of time (for ``SessionEngine.upcoming_prompts``), so that between the engine's
    decision and the prompt's first sample there is only a copy into the audio queue.
    A prompt that was not prepared is rendered when it is said.
    """

    def __init__(self, renderer: Renderer, audio: DuplexAudio) -> None:
        self._renderer = renderer
        self._audio = audio
        self._ready: dict[str, Pcm] = {}
        """Every prompt rendered so far, by its spoken text."""
        self._chimes: dict[str, Pcm] = {}
        self.prepared = 0
        """Prompts rendered ahead of time by ``prepare``."""
        self.said_prepared = 0
        """Prompts said that were ready: no rendering between the decision and the sound."""
        self.said_on_demand = 0
        """Prompts said that had to be rendered first (not predicted, or not yet prepared)."""

    def prepare(self, texts: Iterable[str], most: int | None = None) -> int:
        """Render those of ``texts`` not rendered yet, in order (at most ``most`` of
        them); returns how many it rendered, so 0 means all of them are ready."""
        done = 0
        for text in texts:
            if most is not None and done >= most:
                break
            if text not in self._ready:
                self._ready[text] = self._renderer.render(text)
                self.prepared += 1
                done += 1
        return done

    def chime(self, name: str) -> float:
        from attune_voice.audio.chimes import chime

        pcm = self._chimes.get(name)
        if pcm is None:
            pcm = self._chimes[name] = chime(name)
        self._audio.play(pcm, None)
        return len(pcm) / SAMPLE_RATE_HZ

    def say(self, text: str, meaning: PromptMeaning) -> float:
        pcm = self._ready.get(text)
        if pcm is None:
            pcm = self._ready[text] = self._renderer.render(text)
            self.said_on_demand += 1
        else:
            self.said_prepared += 1
        self._audio.play(pcm, meaning)
        return len(pcm) / SAMPLE_RATE_HZ


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
    """What the listener needs of ``attune_voice.asr.Recognizer``."""

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
        return CHANNEL_PARTNERS[int(np.argmax(np.sum(levels, axis=0)))]

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
        voicing: list[VoicingDetector] | None = None,
        understanding: Understanding | None = None,
    ) -> None:
        self._config = config or DetectorConfig()
        self._detector = ChannelDetector(self._config, channels, voicing)
        self._partners: tuple[str | None, ...] = (
            CHANNEL_PARTNERS if channels == 2 else (None,) * channels
        )
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


@dataclass
class SessionLoop:
    """Pumps frames until the engine is done or the audio ends.

    On live audio, when the engine's player can prepare prompts (``PromptPreparer``),
    the loop has it render what the engine may say next (``SessionEngine.upcoming_prompts``)
    before the first frame, and then during frames whose microphone is gated because a
    prompt is playing: those frames carry nothing but the prompt, so while they wait in
    the adapter's queue nothing is lost, and the engine's next decision is followed by
    its prompt at once. One prompt is rendered per gated frame, so the loop never falls
    more than one rendering behind the microphone. It runs on this thread, in an order
    fixed by the frames, rather than on a thread of its own: espeak-ng's output depends
    on what it rendered before, so the same frames still give the same session, and
    there is nothing to lock. A simulated room (no ``real_time``) runs as fast as the
    CPU allows and has no clock for a rendering to delay: there, rendering ahead would
    only add the prompts that never come, so it is not done unless asked for.
    """

    audio: DuplexAudio
    engine: SessionEngine
    listener: Listener
    frame_sinks: list[Callable[[Frame], None]] = field(default_factory=list)
    on_progress: Callable[[float], None] | None = None
    progress_every_s: float = 1.0
    t: float = 0.0
    prepare_ahead: bool | None = None
    """Render upcoming prompts ahead of time (see above); None: when the audio runs in
    real time (its ``real_time`` attribute is true) and the player can."""
    _upcoming: list[str] = field(default_factory=list, init=False, repr=False)
    _predicted_for_t: float = field(default=-1.0, init=False, repr=False)
    """The engine's ``busy_until_t`` when ``_upcoming`` was asked for: a new prompt
    (a decision) moves it, and only then can the predictions change."""

    def run(self, extra_keys: Callable[[], Iterable[str]] | None = None) -> EndReason:
        """Run to the end; Ctrl-C (KeyboardInterrupt) ends the session as stopped."""
        next_progress_t = 0.0
        preparer = self._preparer()
        try:
            if preparer is not None:
                # Before the first frame nothing is being said; any frames that arrive
                # meanwhile (the stream may already run) wait in the adapter's queue.
                preparer.prepare(self._predictions())
            for frame in self.audio.frames():
                for inp in self.listener.feed(frame):
                    self.engine.handle(inp)
                if extra_keys is not None:
                    for key in extra_keys():
                        self.engine.handle(KeyPress(frame.t, key))
                self.t = frame.end_t
                self.engine.handle(Tick(self.t))
                if preparer is not None:
                    self._prepare(preparer, frame)
                for sink in self.frame_sinks:
                    sink(frame)
                if self.on_progress is not None and self.t >= next_progress_t:
                    self.on_progress(self.t)
                    next_progress_t = self.t + self.progress_every_s
                if self.engine.done:
                    break
        except KeyboardInterrupt:
            self.stop(EndReason.STOPPED)
        except AudioDeviceError:
            # The device did not come back in time: end cleanly, keep the log.
            self.stop(EndReason.DEVICE_LOST)
            raise
        if not self.engine.done:
            self.stop(EndReason.INTERRUPTED)
        return self.engine.end_reason or EndReason.INTERRUPTED

    def _preparer(self) -> PromptPreparer | None:
        player = self.engine.player
        ahead = self.prepare_ahead
        if ahead is None:
            ahead = self.audio.real_time
        return player if ahead and isinstance(player, PromptPreparer) else None

    def _predictions(self) -> list[str]:
        # Without speech recognition no command or spoken answer can come: the prompts
        # that answer them would be rendered for nothing.
        return self.engine.upcoming_prompts(self.listener.understanding is not None)

    def _prepare(self, preparer: PromptPreparer, frame: Frame) -> None:
        if self.engine.busy_until_t != self._predicted_for_t:
            self._predicted_for_t = self.engine.busy_until_t
            self._upcoming = self._predictions()
        if frame.playing and self._upcoming and preparer.prepare(self._upcoming, most=1) == 0:
            self._upcoming = []

    def play_to_end(self, pcm: Pcm) -> None:
        """Play closing audio (the spoken summary) after the engine is done.

        Frames keep flowing so the sinks (a saved recording, the monitor) hear it and
        the device plays it out; nothing is listened to any more.
        """
        self.audio.play(pcm, None)
        try:
            for frame in self.audio.frames():
                self.t = frame.end_t
                for sink in self.frame_sinks:
                    sink(frame)
                if self.audio.queued_s() <= 0.0:
                    break
        except KeyboardInterrupt:
            return

    def stop(self, reason: EndReason) -> None:
        for inp in self.listener.flush(self.t):
            self.engine.handle(inp)
        self.engine.handle(Stop(self.t, reason))


class EventLog:
    """Collects events in order and forwards each to the store as it happens."""

    def __init__(self, sink: Callable[[Event], None] | None = None) -> None:
        self.events: list[Event] = []
        self._sink = sink

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if self._sink is not None:
            self._sink(event)
