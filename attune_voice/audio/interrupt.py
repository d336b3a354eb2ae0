"""Ctrl-C while the audio streams run: noted at once, raised where no lock is held."""

from __future__ import annotations

import signal
import threading
from types import FrameType


class DeferredInterrupt:
    """Holds Ctrl-C (SIGINT) until the audio reader raises it between blocks.

    Raised where it lands, KeyboardInterrupt can come inside a ``threading.Event``'s
    wait or clear just after its lock was taken, and leave that lock held for good
    (CPython's ``with`` is not atomic against signals): the stream's callback and
    ``close`` then wait on it forever, and a session stopped with Ctrl-C never ended.
    Only the process's main thread can take the signal, and only Python's own handler
    is replaced; ``check`` raises the KeyboardInterrupt the rest of the package expects.
    """

    def __init__(self) -> None:
        self._pending = False
        self._installed = False

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return
        signal.signal(signal.SIGINT, self._note)
        self._installed = True

    def _note(self, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        self._pending = True

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C came since the last check."""
        if self._pending:
            self._pending = False
            raise KeyboardInterrupt

    def remove(self) -> None:
        """Give Ctrl-C back to Python's own handler."""
        if not self._installed or threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self._installed = False


__all__ = ["DeferredInterrupt"]
