"""The frame that flows from an audio adapter to the listener, and the adapter contract."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from attune_voice.config import FRAME_SAMPLES, SAMPLE_RATE_HZ
from attune_voice.events import PromptMeaning

Pcm = npt.NDArray[np.int16]
"""16 kHz signed 16-bit samples; 1-D for one channel, (channels, samples) for several."""


class EchoMove(enum.Enum):
    """How the echo canceller's reference followed an echo whose delay moved."""

    FOLLOWED = "followed"
    """The reference moved with the echo: the canceller sees the same delay, after a
    jump in what it is given."""
    NEW_DELAY = "new_delay"
    """The echo came sooner than the reference can lead it by: the canceller has a new
    delay to learn."""


@dataclass(frozen=True)
class Frame:
    """One 20 ms step of duplex audio.

    ``pcm`` is what the microphones heard, shape (channels, samples); ``playing`` says
    whether the speakers were playing a prompt during this same frame (the duplex
    alignment that gates echo). ``keys`` are hand-over key presses (Enter, space, a
    presenter clicker) that arrived during the frame. ``played`` is what the speakers
    played that echoes into this frame (mono), pre-aligned by the adapter with the
    echo's known delay so that it leads the echo by no more than a few hundred
    milliseconds: the echo canceller's reference. None where the adapter has none.
    ``echo_moved`` says that the echo's delay was measured to have moved in this frame,
    and how the reference followed it (``EchoMove``).
    """

    pcm: Pcm
    start_sample: int
    """Samples consumed before this frame since the session started: the clock."""
    playing: bool = False
    keys: tuple[str, ...] = ()
    played: Pcm | None = None
    echo_moved: EchoMove | None = None

    @property
    def t(self) -> float:
        """Start of the frame, seconds since session start."""
        return self.start_sample / SAMPLE_RATE_HZ

    @property
    def end_t(self) -> float:
        return (self.start_sample + int(self.pcm.shape[-1])) / SAMPLE_RATE_HZ

    @property
    def channels(self) -> int:
        return int(self.pcm.shape[0])


class DuplexAudio(Protocol):
    """One adapter: frames in, prompt audio out, aligned on one sample clock."""

    channels: int
    real_time: bool
    """True when frames come at the pace of a sound card, False when as fast as they
    can be made (a simulated room): then there is no time to use between frames."""

    def frames(self) -> Iterator[Frame]:
        """Yield consecutive frames of ``FRAME_SAMPLES`` samples until closed."""
        ...

    def play(self, pcm: Pcm, meaning: PromptMeaning | None = None) -> None:
        """Queue mono 16 kHz audio to start at the next frame, after what is queued."""
        ...

    def queued_s(self) -> float:
        """Seconds of prompt audio queued and not yet played."""
        ...

    def close(self) -> None: ...


STOP_FADE_S = 0.06
"""A stopped prompt fades out over this long rather than clicking off."""


@runtime_checkable
class StoppablePrompts(Protocol):
    """An adapter that can stop the prompt audio playing and queued."""

    def stop_prompts(self) -> float:
        """Fade out what plays now over ``STOP_FADE_S`` and drop the rest of the queue;
        returns the seconds of prompt audio dropped (0 when nothing was playing)."""
        ...


__all__ = [
    "FRAME_SAMPLES",
    "SAMPLE_RATE_HZ",
    "STOP_FADE_S",
    "DuplexAudio",
    "EchoMove",
    "Frame",
    "Pcm",
    "PromptMeaning",
    "StoppablePrompts",
]
