"""The prompt player: prompts rendered ahead of time are played without rendering again.

The renderer is the real espeak-ng one, counted by a thin wrapper so that a test can see
whether saying a prompt rendered it; the audio is the real simulated room.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ, RoomConfig
from attune_voice.events import PromptMeaning
from attune_voice.simulated.demo import build_room
from attune_voice.simulated.room import SimulatedRoom
from attune_voice.voice.player import PromptPreparer, PromptVoicePlayer
from attune_voice.voice.tts import SpeechRenderer

FLOOR = "Sam, you have the floor. What was the best part of your week?"
CHECK_IN = "Take your time, Sam."


class CountingRenderer:
    """The real renderer, counting what it is asked to render."""

    def __init__(self, renderer: SpeechRenderer) -> None:
        self._renderer = renderer
        self.rendered: list[str] = []

    def render(self, text: str) -> Pcm:
        self.rendered.append(text)
        return self._renderer.render(text)


@pytest.fixture
def room(renderer: SpeechRenderer) -> SimulatedRoom:
    return build_room(renderer, RoomConfig(seed=1))


def test_a_prepared_prompt_is_not_rendered_again(
    renderer: SpeechRenderer, room: SimulatedRoom
) -> None:
    counting = CountingRenderer(renderer)
    player = PromptVoicePlayer(counting, room)
    assert isinstance(player, PromptPreparer)
    assert player.prepare([FLOOR, CHECK_IN]) == 2
    # Asked again, nothing is left to do.
    assert player.prepare([FLOOR, CHECK_IN]) == 0
    duration_s = player.say(FLOOR, PromptMeaning("floor", addressee="A"))
    assert counting.rendered == [FLOOR, CHECK_IN]
    assert (player.said_prepared, player.said_on_demand) == (1, 0)
    # The whole prompt was queued, as long as its rendering.
    assert duration_s == pytest.approx(room.queued_s())
    assert duration_s == pytest.approx(len(renderer.render(FLOOR)) / SAMPLE_RATE_HZ)


def test_prepare_renders_in_order_and_at_most_as_many_as_asked(
    renderer: SpeechRenderer, room: SimulatedRoom
) -> None:
    counting = CountingRenderer(renderer)
    player = PromptVoicePlayer(counting, room)
    texts = [FLOOR, CHECK_IN, "Thank you both."]
    assert player.prepare(texts, most=1) == 1
    assert player.prepare(texts, most=1) == 1
    assert counting.rendered == [FLOOR, CHECK_IN]
    assert player.prepare(texts) == 1
    assert player.prepared == 3


def test_a_prompt_that_was_not_prepared_is_rendered_when_it_is_said(
    renderer: SpeechRenderer, room: SimulatedRoom
) -> None:
    counting = CountingRenderer(renderer)
    player = PromptVoicePlayer(counting, room)
    player.prepare([CHECK_IN])
    duration_s = player.say(FLOOR, PromptMeaning("floor", addressee="A"))
    assert counting.rendered == [CHECK_IN, FLOOR]
    assert (player.said_prepared, player.said_on_demand) == (0, 1)
    assert duration_s == pytest.approx(room.queued_s())
    # Said a second time it is ready.
    player.say(FLOOR, PromptMeaning("repeat"))
    assert counting.rendered == [CHECK_IN, FLOOR]
    assert (player.said_prepared, player.said_on_demand) == (1, 1)


def test_chimes_are_made_once(renderer: SpeechRenderer, room: SimulatedRoom) -> None:
    player = PromptVoicePlayer(CountingRenderer(renderer), room)
    first_s = player.chime("bell")
    second_s = player.chime("bell")
    assert first_s == second_s > 0.5
    assert room.queued_s() == pytest.approx(first_s + second_s)


def test_renders_are_16_khz_speech_trimmed_of_silence(renderer: SpeechRenderer) -> None:
    pcm = renderer.render(CHECK_IN)
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert 0.8 < len(pcm) / SAMPLE_RATE_HZ < 2.5
    assert abs(int(pcm[0])) > 200 and abs(int(pcm[-1])) > 200


def test_a_long_text_is_read_only_as_far_as_it_goes() -> None:
    # espeak-ng copies as many bytes of the text as it is told. Told ten times the length
    # (as pyttsx3's own Synth does), it read past a 400 kB text into unmapped memory and
    # the process died of SIGSEGV. A child process, so that a regression fails this test
    # instead of ending the whole run.
    script = (
        "from attune_voice.voice.tts import SpeechRenderer\n"
        "with SpeechRenderer() as renderer:\n"
        "    pcm = renderer.render('Hello there.' + ' ' * 400_000)\n"
        "print(pcm.shape[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    with SpeechRenderer() as renderer:
        expected = renderer.render("Hello there.").shape[0]
    # The spaces add no speech: within 10 ms of the words alone.
    assert abs(int(done.stdout) - expected) <= SAMPLE_RATE_HZ // 100
