"""Hand-over keys from the terminal: any key, Enter, space, a presenter clicker's page keys."""

from __future__ import annotations

import os
import select
import sys
import termios
import threading
from types import TracebackType
from typing import Any

ESC = 0x1B

ESCAPE_WAIT_S = 0.05
"""A lone Escape byte followed by nothing for this long is the Escape key, not the
start of a sequence (terminals send a whole sequence in one write)."""

_CSI_FINALS: dict[str, str] = {
    "A": "up",
    "B": "down",
    "C": "right",
    "D": "left",
    "H": "home",
    "F": "end",
    "P": "f1",
    "Q": "f2",
    "R": "f3",
    "S": "f4",
}
"""ESC [ … or ESC O … sequences named by their last byte, whatever their modifiers."""

_CSI_NUMBERS: dict[str, str] = {
    "1": "home",
    "2": "insert",
    "3": "delete",
    "4": "end",
    "5": "pageup",
    "6": "pagedown",
    "11": "f1",
    "12": "f2",
    "13": "f3",
    "14": "f4",
    "15": "f5",
    "17": "f6",
    "18": "f7",
    "19": "f8",
    "20": "f9",
    "21": "f10",
    "23": "f11",
    "24": "f12",
}
"""ESC [ number ~ sequences (PageDown is ESC [ 6 ~)."""

_CONTROL: dict[int, str] = {
    # Enter arrives as \n in cbreak mode (ICRNL stays on) and as \r from a raw terminal.
    0x0D: "enter",
    0x0A: "enter",
    0x20: "space",
    0x09: "tab",
    0x7F: "backspace",
    0x08: "backspace",
}


def _escape_end(data: bytes, start: int) -> int | None:
    """Index just past the escape sequence at ``start``, or None if it is cut off."""
    if start + 1 >= len(data):
        return None
    kind = data[start + 1]
    if kind == ord("O"):
        return start + 3 if start + 2 < len(data) else None
    if kind != ord("["):
        # Escape then another key (how terminals send Alt+key): one press.
        return start + 2 if kind != ESC else start + 1
    for end in range(start + 2, len(data)):
        byte = data[end]
        if 0x40 <= byte <= 0x7E:
            return end + 1
        if not 0x20 <= byte <= 0x3F:
            # Not a CSI parameter or intermediate byte: a garbled sequence; end it here.
            return end
    return None


def _sequence_name(sequence: bytes) -> str:
    """The key an escape sequence stands for; "key" for one without a name here."""
    if len(sequence) == 1:
        return "escape"
    text = sequence[2:].decode("ascii", "replace")
    if sequence[1] == ord("["):
        if text.endswith("~"):
            return _CSI_NUMBERS.get(text[:-1].split(";")[0], "key")
        return _CSI_FINALS.get(text[-1:], "key") if text else "key"
    if sequence[1] == ord("O"):
        return _CSI_FINALS.get(text, "key")
    second = sequence[1]
    return f"alt+{chr(second).lower()}" if 0x20 < second < 0x7F else "key"


def _character_end(data: bytes, start: int) -> int:
    """Index just past the UTF-8 character starting at ``start`` (or past one stray byte)."""
    byte = data[start]
    length = 2 if byte >= 0xC0 else 1
    length = 3 if byte >= 0xE0 else length
    length = 4 if byte >= 0xF0 else length
    end = start + 1
    while end < min(start + length, len(data)) and 0x80 <= data[end] <= 0xBF:
        end += 1
    return end


def _split_keys(data: bytes, final: bool = False) -> tuple[list[str], bytes]:
    """Keys in ``data``, and a trailing escape sequence that needs more bytes.

    With ``final`` nothing more is coming: a trailing sequence is a key too.
    """
    keys: list[str] = []
    index = 0
    while index < len(data):
        byte = data[index]
        if byte == ESC:
            end = _escape_end(data, index)
            if end is None:
                if not final:
                    return keys, data[index:]
                end = len(data)
            keys.append(_sequence_name(data[index:end]))
            index = end
            continue
        if byte >= 0x80:
            end = _character_end(data, index)
            keys.append(data[index:end].decode("utf-8", "replace").lower())
            index = end
            continue
        if byte in _CONTROL:
            keys.append(_CONTROL[byte])
        elif byte >= 0x20:
            keys.append(chr(byte).lower())
        else:
            keys.append("key")
        # CR LF from one Enter press is one key, not two.
        if byte == 0x0D and data[index + 1 : index + 2] == b"\n":
            index += 1
        index += 1
    return keys, b""


def parse_keys(data: bytes, final: bool = False) -> list[str]:
    """The key presses in a burst of terminal input, in order; every key hands over.

    Names: 'enter', 'space', 'pagedown', 'pageup', the arrows ('right'…), 'escape',
    'f1'…'f12' and a few more; a character key is its (lower-case) character; anything
    else is 'key'. Presenter clickers send PageDown/PageUp, arrows, F5, Escape or 'b',
    so any of them passes the floor on. An escape sequence cut off at the end of
    ``data`` is left out unless ``final``; ``KeyReader`` keeps it for the next read.
    """
    return _split_keys(data, final)[0]


class KeyReader:
    """Collect hand-over key presses from a terminal while a session runs.

    Use it as a context manager around the session. When the file descriptor (standard
    input by default) is a terminal in the foreground, the terminal is switched to
    cbreak mode without echo, so single key presses arrive at once and a clicker's
    escape sequences do not scribble on the screen; Ctrl-C still interrupts. The
    previous mode comes back on exit, also when the session raises. When it is not a
    terminal (a pipe, CI, a test runner) the reader does nothing and ``poll()`` is
    always empty.
    """

    def __init__(self, fd: int | None = None) -> None:
        self._fd = fd
        self._saved_mode: list[Any] | None = None
        self._keys: list[str] = []
        self._lock = threading.Lock()
        self._arrived = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_read = -1
        self._wake_write = -1
        self._active_fd = -1

    @property
    def active(self) -> bool:
        """True while keys are being read from a terminal."""
        return self._thread is not None

    def __enter__(self) -> KeyReader:
        fd = self._terminal_fd()
        if fd is None:
            return self
        try:
            saved = termios.tcgetattr(fd)
            mode = termios.tcgetattr(fd)
            mode[3] &= ~(termios.ICANON | termios.ECHO)
            control_chars = list(mode[6])
            control_chars[termios.VMIN] = 1
            control_chars[termios.VTIME] = 0
            mode[6] = control_chars
            termios.tcsetattr(fd, termios.TCSANOW, mode)
        except termios.error:
            # A terminal that refuses the mode change just means no keys.
            return self
        self._saved_mode = saved
        self._active_fd = fd
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(
            target=self._run, args=(fd, self._wake_read), name="attune-keys", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        thread = self._thread
        if thread is None:
            return
        try:
            os.write(self._wake_write, b"x")
        finally:
            if self._saved_mode is not None:
                # TCSADRAIN: let anything already written reach the screen first.
                termios.tcsetattr(self._active_fd, termios.TCSADRAIN, self._saved_mode)
                self._saved_mode = None
        thread.join(timeout=1.0)
        if not thread.is_alive():
            # Only close the wake-up pipe once the thread cannot be selecting on it.
            os.close(self._wake_read)
            os.close(self._wake_write)
        self._thread = None

    def poll(self) -> tuple[str, ...]:
        """Keys pressed since the last poll, oldest first; clears them."""
        with self._lock:
            keys = tuple(self._keys)
            self._keys.clear()
            self._arrived.clear()
        return keys

    def wait(self, timeout_s: float) -> bool:
        """Block until a key is waiting for ``poll()`` or ``timeout_s`` passes."""
        return self._arrived.wait(timeout_s)

    def _terminal_fd_unchecked(self) -> int | None:
        if self._fd is not None:
            return self._fd
        try:
            return sys.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            # Replaced or closed stdin (a test runner, a daemon): no terminal.
            return None

    def _terminal_fd(self) -> int | None:
        """The fd to read when it is a terminal we may change, else None."""
        fd = self._terminal_fd_unchecked()
        if fd is None or not os.isatty(fd):
            return None
        try:
            foreground = os.tcgetpgrp(fd)
        except OSError:
            # Not our controlling terminal (a pty we were handed): no job control applies.
            return fd
        # A background job changing the terminal mode would be stopped by SIGTTOU.
        return fd if foreground == os.getpgrp() else None

    def _run(self, fd: int, wake_read: int) -> None:
        pending = b""
        while True:
            # With half a sequence in hand, wait only briefly for the rest: a lone
            # Escape press never gets a rest.
            timeout_s = ESCAPE_WAIT_S if pending else None
            readable, _, _ = select.select([fd, wake_read], [], [], timeout_s)
            if wake_read in readable:
                return
            if not readable:
                keys, pending = _split_keys(pending, final=True)
                self._deliver(keys)
                continue
            try:
                chunk = os.read(fd, 64)
            except OSError:
                return
            if not chunk:
                return
            keys, pending = _split_keys(pending + chunk)
            self._deliver(keys)

    def _deliver(self, keys: list[str]) -> None:
        if keys:
            with self._lock:
                self._keys.extend(keys)
                self._arrived.set()


__all__ = ["KeyReader", "parse_keys"]
