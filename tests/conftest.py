"""Fixtures shared by the test modules: the real espeak-ng speech renderer, the sink rule."""

from __future__ import annotations

import os
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from attune_voice.voice.tts import SpeechRenderer

# Some tests take helpers from the benchmarks' scripts (espeak-ng conversations, rooms),
# which are scripts, not a package.
sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))


@pytest.fixture(scope="module")
def renderer() -> Iterator[SpeechRenderer]:
    """One espeak-ng voice per test module, made at test time. Not one per run: espeak-ng
    times a text slightly differently after what it rendered before, so a module's
    figures would depend on which modules ran first."""
    with SpeechRenderer() as r:
        yield r


def pytest_configure(config: pytest.Config) -> None:
    """Each parallel worker keeps its data in a home of its own under ATTUNE_HOME, so two
    tests never share a database, a prompt cache or a lock by accident."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    home = os.environ.get("ATTUNE_HOME")
    if worker and home:
        own = Path(home) / worker
        own.mkdir(parents=True, exist_ok=True)
        os.environ["ATTUNE_HOME"] = str(own)


WORKER_GROUPS = {
    "test_library.py": "a",
    "test_crash.py": "a",
    "test_privacy.py": "a",
    "test_speaker_encoder.py": "a",
    "test_cli_words.py": "a",
    "test_fuzz.py": "a",
    "test_analysis.py": "a",
    "test_architecture.py": "a",
    "test_models.py": "a",
    "test_store.py": "a",
    "test_history.py": "a",
    "test_room_check.py": "a",
    "test_asr.py": "b",
    "test_session.py": "b",
    "test_cli.py": "b",
    "test_prep_loop.py": "b",
    "test_cli_input.py": "b",
}
"""The slowest files, split between the two parallel workers by their measured time
(test_asr.py builds the test speech model that the b group's spoken sessions use,
about 50 s of b's time on a fresh clone: measured in a parallel run with the model
built, a held 473 s and b 478 s, so five small files of b's, 26 s, went to a); every
other file goes by a hash of its name, so adding one moves no other."""


def _worker_group(file_name: str) -> str:
    return WORKER_GROUPS.get(file_name) or "ab"[zlib.crc32(file_name.encode()) % 2]


@pytest.hookimpl(tryfirst=True)  # the groups must be marked before xdist reads them
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``pulse`` need the private PulseAudio null sink that scripts/test
    starts (and says so with ATTUNE_TEST_PULSE=1); anywhere else they are skipped.

    In parallel, each file joins one of two fixed groups, and a group runs whole, in
    order, on one worker: espeak-ng renders a text a little differently after what its
    process rendered before, so a worker that took files in whatever order it was
    handed them could give a test other audio from one run to the next."""
    if config.pluginmanager.hasplugin("xdist"):
        for item in items:
            group = _worker_group(item.path.name)
            item.add_marker(pytest.mark.xdist_group(group))
    if os.environ.get("ATTUNE_TEST_PULSE") == "1":
        return
    skip = pytest.mark.skip(
        reason="needs the private PulseAudio null sink that scripts/test starts; run ./scripts/test"
    )
    for item in items:
        if item.get_closest_marker("pulse") is not None:
            item.add_marker(skip)
