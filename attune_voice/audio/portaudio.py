"""The one module that imports sounddevice: PortAudio on first use, and its quirks kept in check."""

from __future__ import annotations

import atexit
import ctypes
import os
import threading
from pathlib import Path
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


PULSE_PCMS = ("default", "pulse")
"""The ALSA devices that reach PulseAudio through its plugin on an ordinary desktop."""

_pulse_config: list[Any] = []
"""alsa-lib, once loaded for ``_keep_pulse_streams_through_underruns``."""


def _keep_pulse_streams_through_underruns() -> list[str]:
    """Tell ALSA's PulseAudio plugin, in this process only, to let the sound server ride
    out an underrun (its ``handle_underrun false``); the devices it was set for.

    By default the plugin turns the server's underflow notice into an ALSA xrun. PortAudio
    recovers from it with ``snd_pcm_prepare``, which makes the plugin close its
    PulseAudio stream and open a new one; on a 48 kHz sink after a stall the new stream
    underflows again within a block or two, and the speakers' stream recovers 25 times a
    second for good (1,129 underflows in 20 s with a 150 ms stall every 4 s; 0 with the
    option). With it the server plays silence while the buffer is empty and carries on
    when audio comes, as it does for its own clients. The setting is merged into
    alsa-lib's configuration in memory, for PCMs whose type is ``pulse``; the couple's
    files are never touched. alsa-lib keeps that tree until PortAudio frees it (on
    ``refresh_devices``), so this runs again on every load: it is cheap and idempotent.
    """
    if not _pulse_config:
        try:
            _pulse_config.append(ctypes.CDLL("libasound.so.2"))
        except OSError:
            return []  # no alsa-lib: no PulseAudio plugin either
    alsa = _pulse_config[0]
    try:
        top = ctypes.c_void_p.in_dll(alsa, "snd_config")
    except ValueError:
        return []
    if alsa.snd_config_update() < 0 or not top.value:
        return []
    node = ctypes.c_void_p()
    value = ctypes.c_char_p()
    merged = []
    for name in PULSE_PCMS:
        key = f"pcm.{name}".encode()
        if alsa.snd_config_search(top, key + b".handle_underrun", ctypes.byref(node)) >= 0:
            merged.append(name)
            continue
        if (
            alsa.snd_config_search(top, key + b".type", ctypes.byref(node)) < 0
            or alsa.snd_config_get_string(node, ctypes.byref(value)) < 0
            or value.value != b"pulse"
        ):
            continue
        text = key + b" { handle_underrun false }\n"
        source = ctypes.c_void_p()
        if alsa.snd_input_buffer_open(ctypes.byref(source), text, len(text)) < 0:
            continue
        if alsa.snd_config_load(top, source) >= 0:
            merged.append(name)
        alsa.snd_input_close(source)
    return merged


def load_sounddevice() -> Any:
    """Import sounddevice on first use, so the rest of the package works without PortAudio."""
    # Before the import: importing sounddevice starts PortAudio, whose device scan has
    # alsa-lib report every device it cannot open.
    _route_alsa_messages()
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
    _keep_pulse_streams_through_underruns()
    return sounddevice


def alsa_message_count() -> int:
    """Messages alsa-lib reported since sounddevice was first loaded (see ``DeviceStats``)."""
    return _alsa_messages[0]


def describe(e: BaseException) -> str:
    """One line from a PortAudio error, whose text may span lines."""
    return " ".join(str(e).split())


def input_latency_s(stream: Any) -> float:
    """The latency PortAudio reports for an open input stream (0 if it cannot tell)."""
    try:
        return float(stream.latency)
    except load_sounddevice().PortAudioError:
        return 0.0


LIBRARY_LOG_NAME = "sound-libraries.log"
"""In the data folder: what PortAudio and alsa-lib print while a session's streams run."""

_library_output: list[Any] = [0, None]
"""(sessions pointing C's stderr at a log, C's own stderr before the first of them)."""


class LibraryLog:
    """C's ``stderr`` pointed at a log file while live streams run (``library_output_to``).

    PortAudio prints its failures with fprintf on its own audio threads ("Expression
    'err' failed in 'src/hostapi/alsa/pa_linux_alsa.c'", a few lines for each underrun
    that ends an ALSA stream, and for each attempt to reopen a device still gone); no
    flag or handler quiets them. Pointing the C library's ``stderr`` stream at a file
    catches them on every thread, while file descriptor 2, and with it Python's
    ``sys.stderr``, stays on the terminal for the couple.
    """

    def __init__(self, path: Path, start: int, stream: int, libc: Any) -> None:
        self.path = path
        self._start = start
        self._stream = stream
        self._libc = libc
        self._closed = False

    def lines(self) -> int:
        """Lines the libraries wrote since this log was opened (reads the file)."""
        if not self._closed:
            self._libc.fflush(self._stream)
        try:
            with self.path.open("rb") as log:
                log.seek(self._start)
                return log.read().count(b"\n")
        except OSError:
            return 0

    def close(self) -> None:
        """Point C's ``stderr`` back once no session uses the log; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._libc.fflush(self._stream)
        _library_output[0] -= 1
        if _library_output[0] == 0:
            ctypes.c_void_p.in_dll(self._libc, "stderr").value = _library_output[1]
        # The FILE is never closed: a PortAudio thread left stuck may still write to it.


def library_output_to(path: Path) -> LibraryLog | None:
    """Send what C code prints on ``stderr`` to the end of ``path`` (see ``LibraryLog``).

    None where the C library has no ``stderr`` variable to point (not glibc) or the file
    cannot be opened: the lines then reach the terminal, as before.
    """
    try:
        libc = ctypes.CDLL(None)
        pointer = ctypes.c_void_p.in_dll(libc, "stderr")
        path.parent.mkdir(parents=True, exist_ok=True)
        start = path.stat().st_size if path.exists() else 0
    except (OSError, ValueError):
        return None
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fflush.argtypes = [ctypes.c_void_p]
    libc.setvbuf.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t]
    stream = libc.fopen(os.fsencode(path), b"a")
    if not stream:
        return None
    # Line-buffered (_IOLBF): each line is in the file as soon as it is printed.
    libc.setvbuf(stream, None, 1, 0)
    if _library_output[0] == 0:
        libc.fflush(pointer.value)
        _library_output[1] = pointer.value
    _library_output[0] += 1
    pointer.value = stream
    return LibraryLog(path, start, stream, libc)


stuck_streams: list[Any] = []
"""Streams PortAudio never finished starting: kept referenced so their memory is never
freed under the thread still blocked in them."""


def start_within(stream: Any, timeout_s: float) -> bool:
    """Start a PortAudio stream; False if the start has not returned after ``timeout_s``.

    PortAudio 19.6 can block for good in Pa_StartStream when the PulseAudio stream
    behind an ALSA device cannot be created (the sink was unloaded: "pulse_prepare:
    Unable to create stream"). So the start runs on a helper thread, which is left
    blocked if it never returns. A PortAudioError from the start is raised here.

    sounddevice terminates PortAudio when the process exits, and that waits for good
    on a start still blocked: once one is, the process leaves PortAudio to the system,
    which frees it with the process (else a session ended by Ctrl-C would never exit).
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
        atexit.unregister(load_sounddevice()._exit_handler)
        return False
    if errors:
        raise errors[0]
    return True


__all__ = [
    "LIBRARY_LOG_NAME",
    "PULSE_PCMS",
    "START_TIMEOUT_S",
    "LibraryLog",
    "alsa_message_count",
    "describe",
    "input_latency_s",
    "library_output_to",
    "load_sounddevice",
    "start_within",
    "stuck_streams",
]
