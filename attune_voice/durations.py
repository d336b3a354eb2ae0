"""Durations written the way people write them: "90s", "2m", "1m30s", "1.5m", "45"."""

from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(min|sec|h|m|s)?", re.IGNORECASE)
_SECONDS_PER_UNIT = {"h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0, "sec": 1.0, None: 1.0}


def parse_duration_s(text: str) -> float:
    """Return the duration in seconds, or raise ``ValueError`` naming what is accepted.

    A bare number is seconds. Parts may be combined: "1m30s", "1h 5m".
    """
    cleaned = text.strip().lower()
    if not cleaned:
        raise ValueError("empty duration; write it like 90s, 2m or 1m30s")
    position = 0
    total_s = 0.0
    bare_number_seen = False
    units_seen: set[float] = set()
    for match in _PART.finditer(cleaned):
        if cleaned[position : match.start()].strip():
            break
        unit = match.group(2)
        if _SECONDS_PER_UNIT[unit] in units_seen:
            raise ValueError(f"{text!r} names a unit twice; write it like 1m30s")
        units_seen.add(_SECONDS_PER_UNIT[unit])
        if unit is None:
            # A bare number is only allowed alone: "1m30" is ambiguous to a reader.
            bare_number_seen = True
        total_s += float(match.group(1)) * _SECONDS_PER_UNIT[unit]
        position = match.end()
    trailing = cleaned[position:].strip()
    if position == 0 or trailing or (bare_number_seen and position != len(cleaned)):
        raise ValueError(f"{text!r} is not a duration; write it like 90s, 2m or 1m30s")
    if bare_number_seen and not re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        raise ValueError(f"{text!r} mixes a bare number with units; write it like 1m30s")
    if not math.isfinite(total_s):
        raise ValueError(f"{text[:20]!r}... is too long to be a duration")
    return total_s


def format_duration(seconds: float) -> str:
    """Format seconds the way the prompts and reports say them: "1m30s", "45s"."""
    whole_s = max(0, round(seconds))
    minutes, secs = divmod(whole_s, 60)
    if minutes and secs:
        return f"{minutes}m{secs:02d}s"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def spoken_duration(seconds: float) -> str:
    """Words for a duration, for prompts: "one minute", "thirty seconds", "two minutes"."""
    whole_s = round(seconds)
    minutes, secs = divmod(whole_s, 60)
    parts = []
    if minutes:
        parts.append(f"{_number_words(minutes)} minute{'s' if minutes != 1 else ''}")
    if secs:
        parts.append(f"{_number_words(secs)} second{'s' if secs != 1 else ''}")
    return " and ".join(parts) if parts else "no time"


_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def _number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    return str(n)
