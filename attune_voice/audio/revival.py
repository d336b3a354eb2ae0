"""When a live stream whose PortAudio thread ended may be replaced: deaths, and backing off."""

from __future__ import annotations

DIES_AGAIN_S = 2.5
"""A replaced stream that dies again this soon never really ran: a block or two of
audio, and PulseAudio's start, which takes up to 2 s on an idle null sink."""

BACKOFF_S = (1.0, 2.0, 4.0, 8.0)
"""How long to wait before replacing a stream that died again at once, the n-th time
in a row: a device that keeps failing is not reopened in a loop."""


class Revival:
    """The deaths of one side's stream (microphone or speakers) and when to replace it.

    A death is PortAudio's stream thread ending by itself; it is counted whatever the
    stream reported before (``silent`` counts those with no underflow or overflow flag
    since the stream started). Time is an argument: ``now_s`` is the caller's clock.
    """

    def __init__(self) -> None:
        self.deaths = 0
        self.silent_deaths = 0
        self.backoffs = 0
        """Times replacing the stream was put off because it died again at once."""
        self._in_a_row = 0
        self._started_s: float | None = None
        """When the current stream was started, if it replaced one that died."""
        self._flags_at_start = 0
        self._not_before_s = 0.0

    def started(self, now_s: float, flags: int, replacing: bool) -> None:
        """A stream of this side started; ``flags`` is the side's glitch count so far."""
        self._started_s = now_s if replacing else None
        self._flags_at_start = flags

    def died(self, now_s: float, flags: int) -> float | None:
        """The stream died; the seconds it is backed off for, or None to replace it now."""
        self.deaths += 1
        if flags == self._flags_at_start:
            self.silent_deaths += 1
        if self._started_s is not None and now_s - self._started_s < DIES_AGAIN_S:
            wait_s = BACKOFF_S[min(self._in_a_row, len(BACKOFF_S) - 1)]
            self._in_a_row += 1
            self.backoffs += 1
            self._not_before_s = now_s + wait_s
            return wait_s
        self._in_a_row = 0
        return None

    def failed(self, now_s: float, retry_s: float) -> None:
        """Opening a replacement failed: try again after ``retry_s``."""
        self._not_before_s = max(self._not_before_s, now_s + retry_s)

    def may_replace(self, now_s: float) -> bool:
        return now_s >= self._not_before_s


__all__ = ["BACKOFF_S", "DIES_AGAIN_S", "Revival"]
