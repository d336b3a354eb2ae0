"""Fixtures shared by the test modules: the real espeak-ng speech renderer, the sink rule."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from attune_voice.voice.tts import SpeechRenderer


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``pulse`` need the private PulseAudio null sink that scripts/test
    starts (and says so with ATTUNE_TEST_PULSE=1); anywhere else they are skipped."""
    if os.environ.get("ATTUNE_TEST_PULSE") == "1":
        return
    skip = pytest.mark.skip(
        reason="needs the private PulseAudio null sink that scripts/test starts; run ./scripts/test"
    )
    for item in items:
        if item.get_closest_marker("pulse") is not None:
            item.add_marker(skip)
