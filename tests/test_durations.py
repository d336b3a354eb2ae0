"""Durations as people write them in scripts and on the command line, and as prompts say them."""

from __future__ import annotations

import pytest

from attune_voice.durations import format_duration, parse_duration_s, spoken_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("2m", 120.0),
        ("1m30s", 90.0),
        ("1.5m", 90.0),
        ("45", 45.0),
        (" 2 m ", 120.0),
        ("1m 30s", 90.0),
        ("1h 5m", 3900.0),
        ("2M", 120.0),
        ("0.5s", 0.5),
    ],
)
def test_parse_duration_accepts_what_people_write(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", "   ", "two minutes", "1m30", "-5s", "5x", "1m,30s", ".5m", "5 5", "5ms", "nan"],
)
def test_parse_duration_rejects_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="write it like"):
        parse_duration_s(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(90, "1m30s"), (120, "2m"), (45, "45s"), (0, "0s"), (59.6, "1m"), (65, "1m05s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (60, "one minute"),
        (90, "one minute and thirty seconds"),
        (30, "thirty seconds"),
        (120, "two minutes"),
        (1, "one second"),
        (45, "forty-five seconds"),
        (0, "no time"),
    ],
)
def test_spoken_duration(seconds: float, words: str) -> None:
    assert spoken_duration(seconds) == words


def test_formatted_durations_parse_back() -> None:
    for seconds in (5, 45, 60, 90, 125, 600):
        assert parse_duration_s(format_duration(seconds)) == seconds


@pytest.mark.parametrize(("text", "seconds"), [("5min", 300.0), ("10sec", 10.0), ("5 min", 300.0)])
def test_parse_duration_accepts_the_long_unit_names(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


def test_parse_duration_rejects_a_repeated_unit() -> None:
    with pytest.raises(ValueError, match="write it like"):
        parse_duration_s("1m1m")
