"""Duplex audio seen from a later origin: a session's clock starts after the consent question."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from attune_voice.audio.frames import DuplexAudio, Frame, Pcm
from attune_voice.events import PromptMeaning


class Rebased:
    """``audio`` whose frames count their samples from ``origin_sample``.

    The stream keeps running across the question and the session (opening it twice
    would cost a second or more and could pick another device), so the session sees
    the same frames with the question's samples taken off its clock.
    """

    def __init__(self, audio: DuplexAudio, origin_sample: int) -> None:
        self._audio = audio
        self._origin = origin_sample
        self.channels = audio.channels
        # A live device stays live: the session prepares its prompts ahead as it would.
        self.real_time = audio.real_time

    def frames(self) -> Iterator[Frame]:
        for frame in self._audio.frames():
            yield dataclasses.replace(frame, start_sample=frame.start_sample - self._origin)

    def play(self, pcm: Pcm, meaning: PromptMeaning | None = None) -> None:
        self._audio.play(pcm, meaning)

    def queued_s(self) -> float:
        return self._audio.queued_s()

    def close(self) -> None:
        self._audio.close()
