"""Fixtures shared by the test modules: the real espeak-ng speech renderer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from attune_voice.voice.tts import SpeechRenderer


@pytest.fixture(scope="session")
def renderer() -> Iterator[SpeechRenderer]:
    """One espeak-ng voice for the whole run: starting it costs tens of milliseconds, and
    the prompts and partners the tests speak are made with it at test time."""
    with SpeechRenderer() as r:
        yield r
