"""Hostile input, generated: no traceback, no hang, no allocation a header talks into.

Each target is a plain ``check_*`` function and a strategy; the suite runs a few hundred
examples of each, and ``scripts/fuzz.py`` runs the same targets with many more.
"""

from __future__ import annotations

import json
import struct
import tempfile
import tracemalloc
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from attune_voice.audio.wav import read_wav, read_wav_16k
from attune_voice.errors import ArchiveError, AudioFileError, ScriptError
from attune_voice.events import loads
from attune_voice.exercises.folders import builtin_names, builtin_text
from attune_voice.exercises.loader import check_exercise_file, check_exercise_text
from attune_voice.review.data import events_from_csv, events_from_review_json
from attune_voice.store.archive import parse_archive

SUITE_EXAMPLES = 300
MAX_PEAK_BYTES = 64 * 1024 * 1024
"""No input here is over a megabyte; a peak above this means a header was believed."""


@dataclass
class Tally:
    """Examples tried and the largest input, per target, for the fuzz script's report."""

    examples: dict[str, int] = field(default_factory=dict)
    largest_bytes: dict[str, int] = field(default_factory=dict)

    def saw(self, target: str, size: int) -> None:
        self.examples[target] = self.examples.get(target, 0) + 1
        self.largest_bytes[target] = max(self.largest_bytes.get(target, 0), size)


TALLY = Tally()
_SCRATCH = Path(tempfile.mkdtemp(prefix="attune-fuzz-"))


def bounded_memory(target: str, size: int, run: Callable[[], None]) -> None:
    """Run one example and fail if it allocated far more than any input here could need."""
    TALLY.saw(target, size)
    tracemalloc.start()
    try:
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_PEAK_BYTES, f"{target}: {peak} bytes for a {size}-byte input"


# --- WAV files -------------------------------------------------------------------------

_U32 = st.one_of(
    st.integers(0, 64),
    st.sampled_from([0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFF0, 1 << 30]),
    st.integers(0, 0xFFFFFFFF),
)


@st.composite
def wav_files(draw: st.DrawFn, max_repeat: int = 1) -> bytes:
    """Files shaped like WAVs whose every size and field may lie.

    ``max_repeat`` repeats the sample bytes up to that many times, for long runs that
    also try big files (the generator itself keeps each drawn value small).
    """
    tag = draw(st.sampled_from([1, 3, 0xFFFE, 0, 2, 0xFFFF]))
    channels = draw(st.sampled_from([0, 1, 2, 8, 9, 0xFFFF]))
    rate_hz = draw(st.sampled_from([0, 1, 8000, 16000, 48000, 384000, 384001, 0xFFFFFFFF]))
    bits = draw(st.sampled_from([0, 1, 8, 16, 24, 32, 64, 65535]))
    block_align = draw(st.integers(0, 0xFFFF))
    fmt = struct.pack(
        "<HHIIHH", tag, channels, rate_hz, (rate_hz * block_align) & 0xFFFFFFFF, block_align, bits
    )
    if tag == 0xFFFE:
        fmt += struct.pack("<HHI", 22, bits, 3) + draw(st.binary(min_size=16, max_size=16))
    fmt += draw(st.binary(max_size=8))
    fmt_size = draw(st.one_of(st.just(len(fmt)), _U32))
    data = draw(st.binary(max_size=2048)) * draw(st.integers(1, max_repeat))
    data_size = draw(st.one_of(st.just(len(data)), _U32))
    chunks = [b"fmt " + struct.pack("<I", fmt_size) + fmt, b"data" + struct.pack("<I", data_size)]
    if draw(st.booleans()):
        chunks.insert(1, b"LIST" + struct.pack("<I", draw(_U32)) + draw(st.binary(max_size=32)))
    body = b"WAVE" + b"".join(chunks) + data
    magic = draw(st.sampled_from([b"RIFF", b"RF64", b"RIFX"]))
    if magic == b"RF64":
        ds64 = struct.pack(
            "<QQQI", draw(st.integers(0, 1 << 63)), draw(st.integers(0, 1 << 63)), 0, 0
        )
        body = b"WAVE" + b"ds64" + struct.pack("<I", len(ds64)) + ds64 + body[4:]
    riff_size = draw(st.one_of(st.just(len(body)), _U32))
    whole = magic + struct.pack("<I", riff_size) + body
    cut = draw(st.integers(0, len(whole)))
    return whole[: len(whole) - cut // 4] if draw(st.booleans()) else whole


def check_wav(data: bytes) -> None:
    path = _SCRATCH / "fuzz.wav"
    path.write_bytes(data)

    def run() -> None:
        for reader in (read_wav, read_wav_16k):
            try:
                pcm = reader(path)
            except AudioFileError as e:
                assert "\n" not in str(e)
                return
            samples = pcm[0] if isinstance(pcm, tuple) else pcm
            # Decoded samples come from the bytes present, never from a claimed size.
            assert samples.size <= max(len(data), 1) * 48

    bounded_memory("wav", len(data), run)


@settings(max_examples=SUITE_EXAMPLES, deadline=2000)
@given(wav_files())
def test_fuzzed_wav_files_are_read_or_refused_in_one_line(data: bytes) -> None:
    check_wav(data)


@settings(max_examples=SUITE_EXAMPLES // 2, deadline=2000)
@given(st.binary(max_size=4096))
def test_random_bytes_as_a_wav_are_refused_in_one_line(data: bytes) -> None:
    check_wav(data)


@pytest.mark.parametrize("claimed", [0xFFFFFFFF, 0x7FFFFFFF, 1 << 30])
def test_a_header_claiming_gigabytes_allocates_nothing_of_the_kind(claimed: int) -> None:
    fmt = struct.pack("<HHIIHH", 1, 2, 16000, 64000, 4, 16)
    data = b"\x01\x00" * 200
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
    whole = b"RIFF" + struct.pack("<I", claimed) + body + struct.pack("<I", claimed) + data
    check_wav(whole)


# --- exercise scripts ------------------------------------------------------------------


@st.composite
def mutated_scripts(draw: st.DrawFn) -> str:
    """A built-in script with lines dropped, repeated, swapped or given odd values."""
    lines = builtin_text(draw(st.sampled_from(builtin_names()))).splitlines()
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "repeat", "value", "insert", "cut"]))
        if action == "drop":
            del lines[at]
        elif action == "repeat":
            lines.insert(at, lines[at])
        elif action == "cut":
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
        elif action == "value" and "=" in lines[at]:
            key = lines[at].split("=", 1)[0]
            value = draw(
                st.sampled_from(
                    [
                        '""',
                        "-1",
                        "0",
                        "1e308",
                        "nan",
                        "inf",
                        "[]",
                        "{}",
                        '"x"' * 300,
                        "true",
                        '"{partner}"',
                        '"{nonsense}"',
                        "99999999999999999999",
                        '"1m"',
                        '"-5s"',
                    ]
                )
            )
            lines[at] = f"{key}= {value}"
        else:
            lines.insert(at, draw(st.text(max_size=80)))
    return "\n".join(lines)


def check_script(text: str) -> None:
    def run() -> None:
        exercise, problems = check_exercise_text(text, "fuzz.toml")
        assert (exercise is None) == bool(problems)
        for problem in problems:
            assert "\n" not in problem.at("fuzz.toml")

    bounded_memory("exercise", len(text.encode("utf-8", "surrogatepass")), run)


@settings(max_examples=SUITE_EXAMPLES, deadline=2000)
@given(mutated_scripts())
def test_mutated_scripts_give_problems_not_tracebacks(text: str) -> None:
    check_script(text)


@settings(max_examples=SUITE_EXAMPLES // 2, deadline=2000)
@given(st.text(max_size=2000))
def test_random_text_as_a_script_gives_problems_not_tracebacks(text: str) -> None:
    check_script(text)


@settings(max_examples=SUITE_EXAMPLES // 3, deadline=2000)
@given(st.binary(max_size=2000))
def test_random_bytes_as_a_script_file_give_problems_or_one_line(data: bytes) -> None:
    path = _SCRATCH / "fuzz.toml"
    path.write_bytes(data)

    def run() -> None:
        try:
            check_exercise_file(path)
        except ScriptError as e:
            assert "\n" not in str(e)

    bounded_memory("exercise file", len(data), run)


# --- JSON and CSV importers --------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["key", "speech", "transcript", "floor_given", "A", "B", "turn", "enter"]),
)
_json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(
            st.sampled_from(["kind", "t", "end_t", "partner", "text", "words", "key", "w"])
            | st.text(max_size=8),
            inner,
            max_size=6,
        ),
    ),
    max_leaves=40,
)


@st.composite
def event_lists(draw: st.DrawFn) -> dict[str, Any]:
    return {"events": draw(st.lists(_json_values, max_size=8))}


def check_review_json(document: dict[str, Any]) -> None:
    def run() -> None:
        try:
            events_from_review_json(document)
        except ValueError as e:
            assert "\n" not in str(e)

    bounded_memory("review json", len(json.dumps(document, default=str)), run)


@settings(max_examples=SUITE_EXAMPLES, deadline=2000)
@given(event_lists())
def test_fuzzed_review_json_gives_value_errors_only(document: dict[str, Any]) -> None:
    check_review_json(document)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    header = draw(
        st.one_of(
            st.just("kind,t,end_t,partner,speech_kind,attributed_by,key,text,words"),
            st.text(max_size=60),
        )
    )
    cells = st.one_of(
        st.sampled_from(["key", "speech", "transcript", "1.5", "-1", "nan", "", "A", '"x,y"']),
        st.text(max_size=12),
    )
    rows = draw(st.lists(st.lists(cells, max_size=10).map(",".join), max_size=10))
    return "\n".join([header, *rows])


def check_csv(text: str) -> None:
    def run() -> None:
        try:
            events_from_csv(text)
        except ValueError as e:
            assert str(e)

    bounded_memory("events csv", len(text.encode("utf-8", "surrogatepass")), run)


@settings(max_examples=SUITE_EXAMPLES, deadline=2000)
@given(csv_texts())
@example("kind,t\n\r0")
def test_fuzzed_event_csv_gives_value_errors_only(text: str) -> None:
    check_csv(text)


@st.composite
def archives(draw: st.DrawFn) -> bytes:
    sessions = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "started_at": st.sampled_from(
                        ["2024-05-01T19:30:00Z", "0001-01-01T00:00:00+01:00", "x", ""]
                    )
                    | _json_values,
                    "exercise": st.sampled_from(["speaker-listener"]) | _json_values,
                    "partners": st.just(["Ann", "Bo"]) | _json_values,
                    "status": st.sampled_from(["completed", "running", "odd"]) | _json_values,
                    "events": st.lists(_json_values, max_size=6) | _json_values,
                },
                optional={
                    "duration_s": _json_values,
                    "timing_only": _json_values,
                    "settings": _json_values,
                },
            ),
            max_size=4,
        )
    )
    version = draw(st.sampled_from([1, 2, 0, "1", None]))
    document = {"format": "attune-voice-archive", "version": version, "sessions": sessions}
    text = json.dumps(document, default=str)
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode("utf-8", "surrogatepass")


def check_archive(data: bytes) -> None:
    def run() -> None:
        try:
            parse_archive(data, "fuzz.json")
        except ArchiveError as e:
            assert "\n" not in str(e)

    bounded_memory("archive", len(data), run)


@settings(max_examples=SUITE_EXAMPLES, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(archives())
def test_fuzzed_archives_are_read_or_refused_in_one_line(data: bytes) -> None:
    check_archive(data)


def test_deeply_nested_json_is_refused_not_a_crash() -> None:
    check_archive(b'{"format": "attune-voice-archive", "version": 1, "sessions": ' + b"[" * 100_000)
    check_review_json({"events": [json.loads("[" * 500 + "]" * 500)]})


@settings(max_examples=SUITE_EXAMPLES // 2, deadline=2000)
@given(st.text(max_size=500))
def test_a_stored_event_of_any_text_is_a_value_error_at_worst(text: str) -> None:
    def run() -> None:
        # Store.events turns exactly these into one StoreError line.
        with suppress(ValueError, TypeError, AttributeError):
            loads(text)

    bounded_memory("stored event", len(text), run)
