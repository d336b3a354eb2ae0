"""One session, live or simulated: frames → listener → engine → voice and log.

The same loop serves ``run`` (the device), ``demo`` (the simulated room) and tests;
only the audio adapter differs. Speech recognition, when there is a model, runs here
on the loop's thread, fed the same frames as the speech detector: the audio adapter's
callback only copies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from attune_voice.audio.frames import DuplexAudio, Frame, Pcm
from attune_voice.errors import AudioDeviceError
from attune_voice.events import EndReason, Event
from attune_voice.listening.listener import Listener
from attune_voice.session.engine import SessionEngine
from attune_voice.session.ports import EngineInput, KeyPress, Stop, Tick
from attune_voice.voice.player import PromptPreparer


class Listens(Protocol):
    """What feeding frames needs of ``attune_voice.listening.listener.Listener``."""

    def feed(self, frame: Frame) -> list[EngineInput]: ...

    def flush(self, t: float = 0.0) -> list[EngineInput]: ...


def fed_frames(
    audio: DuplexAudio,
    listener: Listens,
    handle: Callable[[EngineInput], None],
    extra_keys: Callable[[], Iterable[str]] | None = None,
) -> Iterator[Frame]:
    """The frames of ``audio``, each yielded once ``handle`` has had what the listener
    heard in it and the keys pressed meanwhile; the caller then ticks its clock to the
    frame's end. The session loop and the consent question both run on it."""
    for frame in audio.frames():
        for inp in listener.feed(frame):
            handle(inp)
        if extra_keys is not None:
            for key in extra_keys():
                handle(KeyPress(frame.t, key))
        yield frame


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
            for frame in fed_frames(self.audio, self.listener, self.engine.handle, extra_keys):
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
