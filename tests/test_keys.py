"""Hand-over keys: the byte parser, and the reader on a real pseudo-terminal."""

from __future__ import annotations

import os
import termios
from collections.abc import Iterator

import pytest

from attune_voice.session.keys import KeyReader, parse_keys


@pytest.mark.parametrize(
    ("data", "keys"),
    [
        (b"", []),
        (b"\n", ["enter"]),
        (b"\r", ["enter"]),
        (b"\r\n", ["enter"]),
        (b"\n\n", ["enter", "enter"]),
        (b" ", ["space"]),
        # What presenter clickers send: PageDown/PageUp, arrows, F5, Escape, "b".
        (b"\x1b[6~", ["pagedown"]),
        (b"\x1b[5~", ["pageup"]),
        (b"\x1b[C", ["right"]),
        (b"\x1b[D", ["left"]),
        (b"\x1bOC", ["right"]),
        (b"\x1b[15~", ["f5"]),
        (b"b", ["b"]),
        (b"\x1b[6~\x1b[6~ \n", ["pagedown", "pagedown", "space", "enter"]),
        # Every other key counts too, by its character or as "key".
        (b"abc", ["a", "b", "c"]),
        (b"B.", ["b", "."]),
        (b"\t\x7f", ["tab", "backspace"]),
        (b"\x1b[3~", ["delete"]),
        (b"\x1b[1;5C", ["right"]),
        (b"\x1b[99~", ["key"]),
        (b"\x04", ["key"]),
        ("é".encode(), ["é"]),
        # Alt+key arrives as Escape and the key: one press.
        (b"\x1bx", ["alt+x"]),
        # A lone Escape before a sequence does not swallow it.
        (b"\x1b\x1b[6~", ["escape", "pagedown"]),
        # Cut-off sequences at the end are not guessed at.
        (b" \x1b", ["space"]),
        (b" \x1b[6", ["space"]),
        (b"\x1bO", []),
    ],
)
def test_parse_keys(data: bytes, keys: list[str]) -> None:
    assert parse_keys(data) == keys


def test_a_cut_off_sequence_is_a_key_when_nothing_more_comes() -> None:
    assert parse_keys(b" \x1b", final=True) == ["space", "escape"]
    assert parse_keys(b"\x1b[6", final=True) == ["key"]


@pytest.fixture
def pty() -> Iterator[tuple[int, int]]:
    """A real pseudo-terminal: (the keyboard side, the program's side)."""
    keyboard, terminal = os.openpty()
    yield keyboard, terminal
    os.close(keyboard)
    os.close(terminal)


def _lflag(fd: int) -> int:
    return int(termios.tcgetattr(fd)[3])


def _collect(reader: KeyReader, count: int) -> list[str]:
    """Wait for ``count`` keys; the reader thread may deliver them in several bursts."""
    keys: list[str] = []
    while len(keys) < count and reader.wait(5.0):
        keys.extend(reader.poll())
    return keys


def test_reader_gets_keys_from_a_terminal(pty: tuple[int, int]) -> None:
    keyboard, terminal = pty
    with KeyReader(fd=terminal) as reader:
        assert reader.active
        assert _lflag(terminal) & (termios.ICANON | termios.ECHO) == 0
        os.write(keyboard, b"\x1b[6~ \nx\x1b[5~")
        assert _collect(reader, 5) == ["pagedown", "space", "enter", "x", "pageup"]
        assert reader.poll() == ()


def test_reader_joins_a_sequence_split_across_reads(pty: tuple[int, int]) -> None:
    keyboard, terminal = pty
    with KeyReader(fd=terminal) as reader:
        os.write(keyboard, b"\x1b[")
        os.write(keyboard, b"6~")
        os.write(keyboard, b" ")
        assert _collect(reader, 2) == ["pagedown", "space"]


def test_reader_restores_the_terminal_even_on_errors(pty: tuple[int, int]) -> None:
    _, terminal = pty
    before = termios.tcgetattr(terminal)
    with pytest.raises(RuntimeError, match="session failed"), KeyReader(fd=terminal):
        assert _lflag(terminal) & termios.ICANON == 0
        raise RuntimeError("session failed")
    assert termios.tcgetattr(terminal) == before
    assert _lflag(terminal) & termios.ICANON


def test_reader_gets_a_lone_escape_once_nothing_follows(pty: tuple[int, int]) -> None:
    # A clicker's "stop presentation" button: Escape alone, with no sequence after it.
    keyboard, terminal = pty
    with KeyReader(fd=terminal) as reader:
        os.write(keyboard, b"\x1b")
        assert _collect(reader, 1) == ["escape"]
        os.write(keyboard, b"x")
        assert _collect(reader, 1) == ["x"]


def test_reader_does_nothing_without_a_terminal() -> None:
    read_end, write_end = os.pipe()
    try:
        with KeyReader(fd=read_end) as reader:
            os.write(write_end, b"\n \x1b[6~")
            assert not reader.active
            assert reader.poll() == ()
            assert not reader.wait(0.0)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_reader_on_a_replaced_stdin_does_nothing() -> None:
    # Under pytest stdin is not a terminal (and may have no file descriptor at all).
    with KeyReader() as reader:
        assert not reader.active
        assert reader.poll() == ()
