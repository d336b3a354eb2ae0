"""Ctrl-C while the audio streams run: held, then raised where the reader checks."""

from __future__ import annotations

import signal

import pytest

from attune_voice.audio.interrupt import DeferredInterrupt


def test_ctrl_c_is_held_until_checked_and_python_has_it_back_after() -> None:
    interrupt = DeferredInterrupt()
    interrupt.install()
    try:
        interrupt.check()  # nothing yet
        # Taken by the handler at once: no KeyboardInterrupt where the signal lands.
        signal.raise_signal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
        interrupt.check()  # raised once per Ctrl-C
    finally:
        interrupt.remove()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
