"""Fixtures shared by the test modules: the real espeak-ng speech renderer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from attune_voice.voice.tts import SpeechRenderer


@pytest.fixture(scope="module")
def renderer() -> Iterator[SpeechRenderer]:
    """One espeak-ng voice per test module, made at test time. Not one per run: espeak-ng
    times a text slightly differently after what it rendered before, so a module's
    figures would depend on which modules ran first."""
    with SpeechRenderer() as r:
        yield r
