"""Where each key and table header of a TOML script starts, so that every problem has its line."""

from __future__ import annotations

import bisect
import re

__all__ = ["Place", "SourceLines"]

# An element of a place in the parsed document: a key, or an index into an array of tables.
Place = tuple[str | int, ...]


# tomllib returns values without positions, so the source is scanned once here:
# every table header and key line is recorded under its place in the document.

_BARE_KEY = r"[A-Za-z0-9_-]+"
_KEY_PART = rf"""(?:{_BARE_KEY}|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEY_PATH = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_ARRAY_HEADER = re.compile(rf"\s*\[\[\s*({_KEY_PATH})\s*\]\]")
_TABLE_HEADER = re.compile(rf"\s*\[\s*({_KEY_PATH})\s*\]")
_KEY_LINE = re.compile(rf"\s*({_KEY_PATH})\s*=")
_KEY_PARTS = re.compile(_KEY_PART)


def _key_parts(path: str) -> tuple[str, ...]:
    return tuple(part.strip("\"'") for part in _KEY_PARTS.findall(path))


def _scan_value(text: str, quote: str, depth: int) -> tuple[str, int]:
    """Follow strings, comments and brackets through one line of a value.

    Returns the open multi-line string quote ("" when none) and the bracket depth after
    the line, so that lines inside a multi-line string or array are never taken for keys.
    """
    i = 0
    while i < len(text):
        if quote:
            if quote == '"""' and text[i] == "\\":
                i += 2
            elif text.startswith(quote, i):
                quote = ""
                i += 3
            else:
                i += 1
            continue
        char = text[i]
        if char == "#":
            break
        if text.startswith(('"""', "'''"), i):
            quote = text[i : i + 3]
            i += 3
            continue
        if char == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif char == "'":
            end = text.find("'", i + 1)
            i = len(text) if end == -1 else end
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        i += 1
    return quote, depth


class SourceLines:
    """Where each key and table header of a TOML source starts."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        self._where: dict[Place, int] = {}
        self._starts: list[int] = []
        self.repeated: list[tuple[str, int, int]] = []
        """(dotted key, first line, repeated line) for keys written twice."""
        self.unclosed_line = 0
        """Line of the value whose string or bracket is still open at the end, or 0."""
        table: Place = ()
        counts: dict[Place, int] = {}
        quote, depth, value_line = "", 0, 0
        for number, line in enumerate(self._lines, 1):
            rest = line
            if not quote and depth == 0:
                array = _ARRAY_HEADER.match(line)
                header = array or _TABLE_HEADER.match(line)
                if header:
                    base = _key_parts(header.group(1))
                    if array:
                        counts[base] = counts.get(base, 0) + 1
                        table = (*base, counts[base] - 1)
                        # The whole array is found at its first header, e.g. for [[rouns]].
                        self._where.setdefault(base, number)
                    else:
                        table = base
                    self._record(table, number)
                    continue
                key = _KEY_LINE.match(line)
                if key:
                    self._record((*table, *_key_parts(key.group(1))), number)
                    value_line = number
                    rest = line[key.end() :]
            quote, depth = _scan_value(rest, quote, depth)
        if quote or depth:
            self.unclosed_line = value_line

    def _record(self, place: Place, number: int) -> None:
        if place in self._where:
            dotted = ".".join(str(p) for p in place)
            self.repeated.append((dotted, self._where[place], number))
            return
        self._where[place] = number
        self._starts.append(number)

    @property
    def count(self) -> int:
        return len(self._lines)

    def line_of(self, place: Place, needle: str = "") -> int:
        """The line of ``place`` (or its nearest recorded parent); with ``needle``, the first
        line of that value's text containing it, so multi-line values point at the right line.
        """
        for cut in range(len(place), 0, -1):
            line = self._where.get(place[:cut])
            if line:
                break
        else:
            return 0
        if needle:
            after = bisect.bisect_right(self._starts, line)
            end = self._starts[after] - 1 if after < len(self._starts) else len(self._lines)
            for number in range(line, end + 1):
                if needle in self._lines[number - 1]:
                    return number
        return line
