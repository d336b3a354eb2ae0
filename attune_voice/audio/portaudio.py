"""The one module that imports sounddevice: PortAudio on first use, and its quirks kept in check."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from attune_voice.errors import AudioDeviceError

START_TIMEOUT_S = 5.0
"""A freshly started stream may take this long to deliver its first block (PulseAudio
through ALSA takes about 1.5 s on a busy machine)."""

_alsa_messages = [0]
"""Messages alsa-lib reported since the handler was installed (a list: written from
PortAudio's thread, read by the reader; an int store is atomic under the GIL)."""
_alsa_handler: list[Any] = []
"""The installed ctypes handler; kept referenced so it is never freed while alsa-lib
may call it."""


def _count_alsa_message(*_args: object) -> None:
    # alsa-lib calls this on PortAudio's audio thread: count, nothing else.
    _alsa_messages[0] += 1


def _route_alsa_messages() -> None:
    """Count alsa-lib's messages instead of letting it print them on the terminal.

    alsa-lib prints "ALSA lib pcm.c:…(snd_pcm_recover) underrun occurred" to stderr from
    inside PortAudio for every xrun; the stream's own status flags already count them
    (``DeviceStats``). The handler is process-wide in alsa-lib, so it is installed once.
    Its C type is variadic; the arguments after ``fmt`` are simply not read, which the
    Linux calling conventions (x86-64, ARM, AArch64) allow.
    """
    if _alsa_handler:
        return
    try:
        alsa = ctypes.CDLL("libasound.so.2")
    except OSError:
        return  # no alsa-lib: PortAudio uses another host API, which prints nothing
    handler_type = ctypes.CFUNCTYPE(
        None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
    )
    handler = handler_type(_count_alsa_message)
    alsa.snd_lib_error_set_handler(handler)
    _alsa_handler.append(handler)


def load_sounddevice() -> Any:
    """Import sounddevice on first use, so the rest of the package works without PortAudio."""
    try:
        import sounddevice
    except OSError as e:
        # sounddevice raises OSError when ctypes cannot find libportaudio.so.
        raise AudioDeviceError(
            "the PortAudio library is missing; install it with: sudo apt-get install libportaudio2"
        ) from e
    except ImportError as e:
        raise AudioDeviceError(
            "the sounddevice package is missing; reinstall attune-voice (pip install -e .)"
        ) from e
    _route_alsa_messages()
    return sounddevice


def alsa_message_count() -> int:
    """Messages alsa-lib reported since sounddevice was first loaded (see ``DeviceStats``)."""
    return _alsa_messages[0]


def describe(e: BaseException) -> str:
    """One line from a PortAudio error, whose text may span lines."""
    return " ".join(str(e).split())


def input_latency_s(stream: Any) -> float:
    """The input latency PortAudio reports for an open stream (0 if it cannot tell)."""
    try:
        return float(stream.latency[0])
    except load_sounddevice().PortAudioError:
        return 0.0


@contextlib.contextmanager
def stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block.

    PortAudio prints its own failures with fprintf ("Expression 'ret' failed in
    pa_linux_alsa.c"), a few lines for every attempt to reopen a device that is still
    gone: once a second while a session waits. Nothing else can quiet them; only this
    thread writes to the terminal meanwhile, and nothing it says is lost.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


stuck_streams: list[Any] = []
"""Streams PortAudio never finished starting: kept referenced so their memory is never
freed under the thread still blocked in them."""


def start_within(stream: Any, timeout_s: float) -> bool:
    """Start a PortAudio stream; False if the start has not returned after ``timeout_s``.

    PortAudio 19.6 can block for good in Pa_StartStream when the PulseAudio stream
    behind an ALSA device cannot be created (the sink was unloaded: "pulse_prepare:
    Unable to create stream"). So the start runs on a helper thread, which is left
    blocked if it never returns. A PortAudioError from the start is raised here.
    """
    finished = threading.Event()
    errors: list[Exception] = []

    def start() -> None:
        try:
            stream.start()
        except Exception as e:  # handed over to the waiting thread, which raises it
            errors.append(e)
        finally:
            finished.set()

    threading.Thread(target=start, name="attune-stream-start", daemon=True).start()
    if not finished.wait(timeout_s):
        stuck_streams.append(stream)
        return False
    if errors:
        raise errors[0]
    return True


__all__ = [
    "START_TIMEOUT_S",
    "alsa_message_count",
    "describe",
    "input_latency_s",
    "load_sounddevice",
    "start_within",
    "stderr_silenced",
    "stuck_streams",
]
