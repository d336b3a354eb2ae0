"""One session, live or simulated: frames → listener → engine → voice and log.

The same loop serves ``run`` (the device), ``demo`` (the simulated room) and tests;
only the audio adapter differs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from attune_voice.audio.frames import DuplexAudio, Frame, Pcm
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig
from attune_voice.engine import (
    EngineInput,
    KeyPress,
    SessionEngine,
    SpeechOnset,
    SpeechSegment,
    Stop,
    Tick,
)
from attune_voice.events import EndReason, Event, PromptMeaning
from attune_voice.vad import ChannelDetector, VoicingDetector

CHANNEL_PARTNERS = ("A", "B")
"""With a microphone per partner, channel 1 is partner A and channel 2 partner B."""


class Renderer(Protocol):
    def render(self, text: str) -> Pcm: ...


class PromptVoicePlayer:
    """Speaks the engine's prompts through the duplex audio, so their timing is exact."""

    def __init__(self, renderer: Renderer, audio: DuplexAudio) -> None:
        self._renderer = renderer
        self._audio = audio

    def say(self, text: str, meaning: PromptMeaning) -> float:
        pcm = self._renderer.render(text)
        self._audio.play(pcm, meaning)
        return len(pcm) / SAMPLE_RATE_HZ


class Listener:
    """Gates the microphone around prompts and turns frames into engine inputs."""

    def __init__(
        self,
        channels: int,
        config: DetectorConfig | None = None,
        voicing: list[VoicingDetector] | None = None,
    ) -> None:
        self._config = config or DetectorConfig()
        self._detector = ChannelDetector(self._config, channels, voicing)
        self._partners: tuple[str | None, ...] = (
            CHANNEL_PARTNERS if channels == 2 else (None,) * channels
        )
        self._gate_until_t = 0.0

    def _segment(self, start_t: float, end_t: float, channel: int) -> SpeechSegment:
        return SpeechSegment(start_t, end_t, self._partners[channel])

    def feed(self, frame: Frame) -> list[EngineInput]:
        inputs: list[EngineInput] = []
        if frame.playing:
            self._gate_until_t = frame.end_t + self._config.gate_tail_s
        if frame.playing or frame.t < self._gate_until_t:
            # The prompt and its echo are in the microphone: nothing here is a partner.
            closed = self._detector.skip(frame.pcm.shape[-1])
            inputs.extend(self._segment(s.start_t, s.end_t, s.channel) for s in closed)
        else:
            onsets, segments = self._detector.feed(frame.pcm)
            inputs.extend(SpeechOnset(o.t, self._partners[o.channel]) for o in onsets)
            inputs.extend(self._segment(s.start_t, s.end_t, s.channel) for s in segments)
        inputs.extend(KeyPress(frame.t, key) for key in frame.keys)
        return inputs

    def flush(self) -> list[EngineInput]:
        return [self._segment(s.start_t, s.end_t, s.channel) for s in self._detector.flush()]


@dataclass
class SessionLoop:
    """Pumps frames until the engine is done or the audio ends."""

    audio: DuplexAudio
    engine: SessionEngine
    listener: Listener
    frame_sinks: list[Callable[[Frame], None]] = field(default_factory=list)
    on_progress: Callable[[float], None] | None = None
    progress_every_s: float = 1.0
    t: float = 0.0

    def run(self, extra_keys: Callable[[], Iterable[str]] | None = None) -> EndReason:
        """Run to the end; Ctrl-C (KeyboardInterrupt) ends the session as stopped."""
        next_progress_t = 0.0
        try:
            for frame in self.audio.frames():
                for inp in self.listener.feed(frame):
                    self.engine.handle(inp)
                if extra_keys is not None:
                    for key in extra_keys():
                        self.engine.handle(KeyPress(frame.t, key))
                self.t = frame.end_t
                self.engine.handle(Tick(self.t))
                for sink in self.frame_sinks:
                    sink(frame)
                if self.on_progress is not None and self.t >= next_progress_t:
                    self.on_progress(self.t)
                    next_progress_t = self.t + self.progress_every_s
                if self.engine.done:
                    break
        except KeyboardInterrupt:
            self.stop(EndReason.STOPPED)
        if not self.engine.done:
            self.stop(EndReason.INTERRUPTED)
        return self.engine.end_reason or EndReason.INTERRUPTED

    def stop(self, reason: EndReason) -> None:
        for inp in self.listener.flush():
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
