"""The coach's voices: real prompts rendered by each installed voice, one loudness for all,
the neural voice offline only, choosing a voice, and a whole demo in the neural voice."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cli_run import invoke, one_error_line

from attune_voice.audio.chimes import chime, chime_names
from attune_voice.cli.app import session_voice
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.errors import VoiceError
from attune_voice.events import Prompt
from attune_voice.store.database import Store
from attune_voice.store.settings_file import Settings, load_settings, save_settings
from attune_voice.voice import neural
from attune_voice.voice.coach import ESPEAK, NEURAL, CoachVoice, resolve
from attune_voice.voice.loudness import (
    PEAK_CEILING_DBFS,
    PROMPT_LOUDNESS_DBFS,
    loudness_dbfs,
    normalised,
    peak_dbfs,
)
from attune_voice.voice.tts import SpeechRenderer

PROMPTS = (
    "Go on, Sam.",
    "Take your time, Alex. There is no rush. When you have finished, press the button.",
    "Sam, you have the floor, two minutes in all. Tell Alex what is on your mind, about your"
    " own feelings, one short piece at a time.",
    "If this stops feeling safe, either of us can say time out, or press T. We then take at"
    " least twenty minutes apart, and come back within a day.",
)
"""Prompts of the built-in exercises, from three words to thirty."""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ATTUNE_HOME", str(folder))
    monkeypatch.delenv("ATTUNE_VOICE", raising=False)
    return folder


def _no_network(*args: object, **kwargs: object) -> None:
    raise AssertionError("the network was used")


@pytest.fixture(scope="module")
def voices(renderer: SpeechRenderer) -> Iterator[dict[str, CoachVoice]]:
    # Made and used with every way out to the network shut: a voice that tried to fetch
    # anything fails here.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _no_network)
        patch.setattr(urllib.request, "urlopen", _no_network)
        made = {ESPEAK: CoachVoice(ESPEAK, renderer), NEURAL: CoachVoice(NEURAL)}
        for voice in made.values():
            for text in PROMPTS:
                voice.render(text)
        yield made


@pytest.mark.parametrize("name", [ESPEAK, NEURAL])
def test_each_voice_renders_prompts_as_16_khz_speech_at_one_loudness(
    voices: dict[str, CoachVoice], name: str
) -> None:
    levels = []
    for text in PROMPTS:
        pcm = voices[name].render(text)
        assert pcm.dtype == np.int16 and pcm.ndim == 1
        # 16 kHz: a prompt lasts as long as people take to say it, 1.5-4 words a second.
        words = len(text.split())
        assert words / 4.0 < len(pcm) / SAMPLE_RATE_HZ < words / 1.5 + 0.8, text
        # Trimmed: the prompt starts and ends on its speech (about -50 dBFS or more).
        assert abs(int(pcm[0])) > 100 and abs(int(pcm[-1])) > 100
        assert peak_dbfs(pcm) <= PEAK_CEILING_DBFS + 0.01
        levels.append(loudness_dbfs(pcm))
    # No jumps from one prompt to the next, and the same level whatever the voice.
    assert max(levels) - min(levels) < 1.0, levels
    assert all(abs(level - PROMPT_LOUDNESS_DBFS) < 1.0 for level in levels), levels


def test_a_prompt_with_a_sharp_peak_keeps_its_loudness() -> None:
    # A voice whose peaks stand far above its level: the peak dips for a moment, rather
    # than the whole prompt coming out quieter than the others.
    t_s = np.arange(2 * SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ
    tone = 0.02 * np.sin(2 * np.pi * 220.0 * t_s)
    tone[SAMPLE_RATE_HZ] = 0.9
    out = normalised((tone * 32767).astype(np.int16))
    # Within a dB (the dip takes away the energy the peak had added to its 50 ms); the
    # whole prompt turned down to keep that peak under the ceiling would be 17 dB quieter.
    assert loudness_dbfs(out) == pytest.approx(PROMPT_LOUDNESS_DBFS, abs=1.0)
    assert peak_dbfs(out) <= PEAK_CEILING_DBFS + 0.01


@pytest.mark.parametrize("name", [ESPEAK, NEURAL])
def test_the_chimes_stay_below_the_voice(voices: dict[str, CoachVoice], name: str) -> None:
    quietest_prompt = min(loudness_dbfs(voices[name].render(text)) for text in PROMPTS)
    for chime_name in chime_names():
        assert loudness_dbfs(chime(chime_name)) < quietest_prompt - 3.0, chime_name


def test_a_voice_that_needs_a_download_is_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    with pytest.raises(VoiceError, match="needs a download"):
        neural.NeuralVoice("emma")
    with pytest.raises(VoiceError, match="needs a download, so it is not used"):
        resolve("fenrir")


def test_a_damaged_neural_model_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(neural, "BUNDLED_SHA256", "0" * 64)
    with pytest.raises(VoiceError, match=r"damaged.*pip install --force-reinstall hibari-tts"):
        neural.NeuralVoice(NEURAL)


def test_the_voice_is_the_option_then_the_environment_then_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert session_voice(None) == ESPEAK
    save_settings(Settings(voice="neural"))
    assert session_voice(None) == NEURAL
    monkeypatch.setenv("ATTUNE_VOICE", "espeak")
    assert session_voice(None) == ESPEAK
    save_settings(Settings(voice=ESPEAK))
    assert session_voice("Heart") == NEURAL
    with pytest.raises(VoiceError, match="no voice called 'robot'; the voices here are"):
        session_voice("robot")


def test_voices_lists_marks_and_uses(home: Path) -> None:
    listed = invoke("voices")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("> espeak-ng")
    assert any(line.startswith("  heart") for line in lines)
    assert any("emma" in line and "needs a download" in line for line in lines)
    used = invoke("voices", "use", "neural")
    assert used.exit_code == 0 and "heart" in used.stdout
    assert load_settings().voice == NEURAL
    data = json.loads(invoke("voices", "--format", "json").stdout)
    assert data["in_use"] == NEURAL
    assert [v["name"] for v in data["voices"] if v["usable"]] == [ESPEAK, NEURAL]
    # The devices' settings and the voice live side by side in config.toml.
    assert invoke("devices", "--forget").exit_code in (0, 4)
    assert load_settings().voice == NEURAL


def test_without_the_neural_voice_installed_it_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Standing in for an installation without the extra: the package cannot be
    # uninstalled for one test.
    monkeypatch.setattr(neural, "installed", lambda: False)
    listed = invoke("voices").stdout.splitlines()
    assert listed[0].startswith("> espeak-ng")
    assert listed[1].startswith("  heart") and "pip install 'attune-voice[voice]'" in listed[1]
    assert len(listed) == 2
    result = invoke("voices", "use", "neural")
    assert result.exit_code == VoiceError.exit_code
    assert "not installed; install it with: pip install" in one_error_line(result)


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("voices", "use", "robot"), "no voice called 'robot'"),
        (("voices", "use", "kore"), "needs a download"),
        (("demo", "--voice", "emma"), "needs a download"),
    ],
)
def test_a_voice_that_cannot_be_used_is_one_line(args: tuple[str, ...], phrase: str) -> None:
    result = invoke(*args)
    assert result.exit_code == VoiceError.exit_code
    assert phrase in one_error_line(result)


def test_a_bad_voice_in_the_settings_file_stops_the_demo_before_anything(home: Path) -> None:
    save_settings(Settings(voice="robot"))
    result = invoke("demo")
    assert result.exit_code == VoiceError.exit_code
    assert "no voice called 'robot'" in one_error_line(result)
    assert not (home / "attune.db").exists()


def test_a_whole_demo_in_the_neural_voice(home: Path, voices: dict[str, CoachVoice]) -> None:
    assert invoke("voices", "use", "heart").exit_code == 0
    result = invoke(
        "demo", "speaker-listener-easy", "--limit", "20s", "--rounds", "1", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["end_reason"] == "completed"
    with Store.open() as store:
        prompts = [e for e in store.events(1) if isinstance(e, Prompt)]
    assert len(prompts) > 20
    # Each prompt lasted as long as the neural voice takes to say it: the coach spoke in it.
    for prompt in prompts[:3]:
        said_s = len(voices[NEURAL].render(prompt.text)) / SAMPLE_RATE_HZ
        assert prompt.end_t - prompt.t == pytest.approx(said_s, abs=0.02), prompt.text
