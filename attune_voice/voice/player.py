"""Speaks the engine's prompts and chimes through the duplex audio, rendered ahead of time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from attune_voice.audio.frames import DuplexAudio, Pcm, StoppablePrompts
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.events import PromptMeaning


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

    def stop(self) -> bool:
        """Stop the prompt playing and anything queued after it (a partner talked over
        it); False when the audio cannot stop prompts or nothing was playing."""
        if not isinstance(self._audio, StoppablePrompts):
            return False
        return self._audio.stop_prompts() > 0.0
