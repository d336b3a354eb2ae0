"""The room check in the simulated room (real espeak-ng partners, the real voice model), its
advice and the detector thresholds it leads to."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import pytest

from attune_voice.cli.devices import _print_check
from attune_voice.config import DetectorConfig, RoomConfig
from attune_voice.events import PromptMeaning
from attune_voice.session.room_check import (
    EchoFigures,
    Finding,
    PartnerLevel,
    Phase,
    RoomCheck,
    RoomCheckResult,
    detector_config,
    findings,
    heard_through,
    loads_result,
    microphone_balance_db,
)
from attune_voice.simulated.demo import partner_voices
from attune_voice.simulated.partners import PartnerVoice
from attune_voice.simulated.room import SimulatedRoom
from attune_voice.voice.player import PromptVoicePlayer
from attune_voice.voice.tts import SpeechRenderer

NAMES = ("Sam", "Alex")
CHECK_LIMIT_S = 60.0
"""The check is a one-minute check."""


@pytest.fixture(scope="module")
def voices(renderer: SpeechRenderer) -> dict[str, PartnerVoice]:
    return partner_voices(renderer)


@dataclass(frozen=True)
class Checked:
    check: RoomCheck
    result: RoomCheckResult
    end_t: float
    prompts: list[str]


class SilentPartners:
    """Speaks the check's prompts into the room without telling the simulated partners
    what they mean: the couple who do not answer."""

    def __init__(self, renderer: SpeechRenderer, room: SimulatedRoom) -> None:
        self._renderer = renderer
        self._room = room

    def say(self, text: str, meaning: PromptMeaning) -> float:
        pcm = self._renderer.render(text)
        self._room.play(pcm)
        return len(pcm) / 16_000


class Recorded:
    """A player that notes what was said before saying it."""

    def __init__(self, inner: PromptVoicePlayer | SilentPartners) -> None:
        self.inner = inner
        self.said: list[str] = []

    def say(self, text: str, meaning: PromptMeaning) -> float:
        self.said.append(text)
        return self.inner.say(text, meaning)


def check_room(
    renderer: SpeechRenderer,
    voices: dict[str, PartnerVoice],
    config: RoomConfig,
    answering: bool = True,
) -> Checked:
    room = SimulatedRoom(voices, config)
    inner = PromptVoicePlayer(renderer, room) if answering else SilentPartners(renderer, room)
    player = Recorded(inner)
    check = RoomCheck(NAMES, player, room.channels)
    end_t = 0.0
    for frame in room.frames():
        check.feed(frame)
        end_t = frame.end_t
        if check.done or end_t > 2 * CHECK_LIMIT_S:
            break
    return Checked(check, check.result(), end_t, player.said)


def codes(found: list[Finding]) -> list[str]:
    return [f.code for f in found]


def test_a_good_room_is_measured_and_passes(
    renderer: SpeechRenderer, voices: dict[str, PartnerVoice]
) -> None:
    config = RoomConfig(microphones=1)
    checked = check_room(renderer, voices, config)
    assert checked.check.phase is Phase.DONE
    assert checked.end_t < CHECK_LIMIT_S
    result = checked.result
    # The simulated room's own settings are the truth: its noise and speaking levels.
    assert result.noise_dbfs == pytest.approx(config.noise_dbfs, abs=1.5)
    sam, alex = result.partners
    assert sam.level_dbfs == pytest.approx(config.speech_dbfs, abs=1.5)
    assert alex.level_dbfs == pytest.approx(
        config.speech_dbfs + config.partner_b_offset_db, abs=1.5
    )
    assert sam.heard_s > 1.0 and alex.heard_s > 1.0
    assert sam.apart_db is None and alex.apart_db is None  # no other microphone
    assert result.prompt_speech_s == 0.0
    assert codes(checked.check.findings) == ["ok"]
    # It asked each partner by name, then said what it found.
    assert checked.prompts[1].startswith("Sam, please")
    assert checked.prompts[2].startswith("Alex, please")
    assert checked.prompts[3] == "Thank you. The room sounds good. You are ready to start."


def test_a_noisy_room_is_told_to_quieten_down(
    renderer: SpeechRenderer, voices: dict[str, PartnerVoice]
) -> None:
    checked = check_room(renderer, voices, RoomConfig(microphones=1, noise_dbfs=-38.0))
    assert checked.result.noise_dbfs == pytest.approx(-38.0, abs=1.5)
    found = checked.check.findings
    assert codes(found)[0] == "noisy"
    assert "fan" in found[0].text
    assert checked.prompts[-1].startswith("Thank you. The room is noisy")


def test_a_partner_far_from_the_microphone_is_told_to_come_closer(
    renderer: SpeechRenderer, voices: dict[str, PartnerVoice]
) -> None:
    checked = check_room(renderer, voices, RoomConfig(microphones=1, partner_b_offset_db=-26.0))
    found = checked.check.findings
    assert codes(found) == ["quiet", "unbalanced"]
    assert all(f.partner == "Alex" for f in found)
    assert found[0].text.startswith("Alex is hard to hear over the room.")


def test_a_microphone_per_partner_measures_each_on_their_own(
    renderer: SpeechRenderer, voices: dict[str, PartnerVoice]
) -> None:
    config = RoomConfig(microphones=2)
    checked = check_room(renderer, voices, config)
    sam, alex = checked.result.partners
    assert sam.level_dbfs == pytest.approx(config.speech_dbfs, abs=1.5)
    assert alex.level_dbfs == pytest.approx(
        config.speech_dbfs + config.partner_b_offset_db, abs=1.5
    )
    # Each microphone hears the other partner as far down as the room sets.
    assert sam.apart_db == pytest.approx(-config.crosstalk_db, abs=1.5)
    assert alex.apart_db == pytest.approx(-config.crosstalk_db, abs=1.5)
    assert codes(checked.check.findings) == ["ok"]


def test_microphones_of_unlike_volume_are_measured_and_told_apart(
    renderer: SpeechRenderer, voices: dict[str, PartnerVoice]
) -> None:
    # Alex's microphone hears everything 6 dB louder than Sam's: by their levels alone
    # the other microphone hears Alex only 9 dB down, so the check told the couple to
    # move the microphones, and sessions would not tell Sam's voice apart until both had
    # spoken (``listening.crosstalk``'s balance).
    config = RoomConfig(microphones=2, microphone_b_db=6.0)
    checked = check_room(renderer, voices, config)
    assert microphone_balance_db(checked.result) == pytest.approx(-6.0, abs=1.0)
    found = checked.check.findings
    assert codes(found) == ["mics_unlike"]
    assert found[0].partner == "Sam"
    assert found[0].text.startswith("Sam's microphone hears everything about 6 dB quieter")
    assert microphone_balance_db(
        check_room(renderer, voices, RoomConfig(microphones=2)).result
    ) == (pytest.approx(0.0, abs=1.0))


def test_microphones_that_hear_both_partners_are_told_to_move(
    renderer: SpeechRenderer, voices: dict[str, PartnerVoice]
) -> None:
    checked = check_room(renderer, voices, RoomConfig(microphones=2, crosstalk_db=-6.0))
    assert [p.apart_db for p in checked.result.partners] == [
        pytest.approx(6.0, abs=1.5),
        pytest.approx(6.0, abs=1.5),
    ]
    found = checked.check.findings
    assert codes(found) == ["mics_hear_both"]
    assert found[0].text.startswith("The other microphone hears ")
    assert "Move each microphone closer to its own partner" in found[0].text


def test_partners_who_do_not_answer_are_not_heard(
    renderer: SpeechRenderer, voices: dict[str, PartnerVoice]
) -> None:
    checked = check_room(renderer, voices, RoomConfig(microphones=1), answering=False)
    assert checked.check.phase is Phase.DONE
    assert checked.end_t < CHECK_LIMIT_S
    assert [p.heard_s for p in checked.result.partners] == [0.0, 0.0]
    found = checked.check.findings
    assert codes(found) == ["not_heard", "not_heard"]
    assert found[0].text.startswith("I did not hear Sam.")


def _result(
    noise_dbfs: float = -60.0,
    levels: tuple[float | None, float | None] = (-25.0, -27.0),
    peaks: tuple[float | None, float | None] = (-6.0, -8.0),
    prompt_speech_s: float = 0.0,
    apart_db: tuple[float | None, float | None] = (None, None),
) -> RoomCheckResult:
    partners = tuple(
        PartnerLevel(name, 0.0 if level is None else 3.0, level, peak, apart)
        for name, level, peak, apart in zip(NAMES, levels, peaks, apart_db, strict=True)
    )
    return RoomCheckResult(
        noise_dbfs=noise_dbfs,
        noise_peak_dbfs=noise_dbfs + 3.0,
        partners=(partners[0], partners[1]),
        prompt_speech_s=prompt_speech_s,
        echo=EchoFigures(delay_ms=120.0, gain_db=-18.0, leak_db=None, leaked_ms=0.0),
    )


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (_result(), ["ok"]),
        (_result(noise_dbfs=-40.0), ["noisy", "quiet"]),
        (_result(peaks=(-0.5, -8.0)), ["clipping"]),
        (_result(levels=(-25.0, -40.0)), ["unbalanced"]),
        (_result(levels=(None, -27.0), peaks=(None, -8.0)), ["not_heard"]),
        (_result(prompt_speech_s=0.6), ["prompt_heard"]),
        (_result(apart_db=(15.0, 14.0)), ["ok"]),
        (_result(apart_db=(9.9, 12.0)), ["mics_hear_both"]),
        (_result(apart_db=(10.0, 10.0)), ["ok"]),
        # Sam's microphone 6 dB louder than Alex's: each partner 15 dB nearer their own.
        (_result(apart_db=(21.0, 9.0)), ["mics_unlike"]),
        (_result(apart_db=(16.0, 11.0)), ["ok"]),
        (_result(apart_db=(15.0, 3.0)), ["mics_unlike", "mics_hear_both"]),
    ],
)
def test_findings(result: RoomCheckResult, expected: list[str]) -> None:
    assert codes(findings(result)) == expected


def test_the_check_says_how_the_two_microphones_compare(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _print_check(_result(apart_db=(21.0, 9.0)), [])
    said = capsys.readouterr().out
    assert "microphones    Sam's hears 6 dB more than Alex's; each of you 15 dB nearer" in said
    _print_check(_result(apart_db=(14.8, 15.0)), [])
    assert "microphones    alike; each of you 15 dB nearer your own" in capsys.readouterr().out
    # Under 3 dB apart the microphones' balance is not taken off, by the line as by the
    # findings: Sam's nearness is the 9.9 dB the mics_hear_both finding is given for.
    _print_check(_result(apart_db=(9.9, 12.0)), [])
    assert (
        "microphones    Alex's hears 1 dB more than Sam's; Sam 10 dB nearer their own, "
        "Alex 12 dB\n" in capsys.readouterr().out
    )
    _print_check(_result(), [])  # one microphone: nothing to compare
    assert "microphones" not in capsys.readouterr().out


def test_detector_thresholds_follow_the_room() -> None:
    base = DetectorConfig()
    assert detector_config(None) == base
    # Quiet room, clear voices: the sound margin rises to its cap, rejecting room bumps.
    assert detector_config(_result()).sound_margin_db == 10.0
    # 20 dB between the quieter voice and the room: half of the 10 dB above the soft ends.
    good = detector_config(_result(noise_dbfs=-47.0))
    assert good.sound_margin_db == 5.0
    assert good.voice_sound_margin_db == 8.0
    # A noisy room: the default margin; the voice model decides speech either way.
    noisy = detector_config(_result(noise_dbfs=-38.0))
    assert noisy.sound_margin_db == base.sound_margin_db
    assert noisy.speech_on_probability == base.speech_on_probability
    # When the prompts got through, the gate holds on a quarter second longer.
    leaky = detector_config(_result(prompt_speech_s=0.5))
    assert leaky.gate_tail_s == pytest.approx(base.gate_tail_s + 0.25)
    # Nobody heard: nothing to go on but the defaults' margin.
    unheard = detector_config(_result(levels=(None, None), peaks=(None, None)))
    assert unheard.sound_margin_db == base.sound_margin_db


def test_results_are_saved_and_read_back() -> None:
    result = _result(levels=(-25.04, None), peaks=(-6.0, None))
    text = result.dumps()
    again = loads_result(text)
    assert again is not None
    assert again.to_json() == result.to_json()
    assert again.partners[1].level_dbfs is None
    assert json.loads(text)["version"] == 1
    # A result saved before the microphones' distance was measured reads as unmeasured.
    older = json.loads(_result(apart_db=(12.0, 11.0)).dumps())
    for partner in older["partners"]:
        del partner["apart_db"]
    read = loads_result(json.dumps(older))
    assert read is not None and [p.apart_db for p in read.partners] == [None, None]
    # Anything else is as if no check had been made.
    for garbage in (None, "", "not json", "[]", '{"version": 99}', text.replace("-25", '"x"')):
        assert loads_result(garbage) is None


def test_a_check_counts_only_for_the_microphone_it_heard_through() -> None:
    usb = replace(_result(apart_db=(21.0, 9.0)), input_device="USB")
    read = loads_result(usb.dumps())
    assert read is not None and read.input_device == "USB"
    assert heard_through(read, "USB")
    # Another microphone, or the system's default, hears the room otherwise.
    assert not heard_through(read, "Built-in")
    assert not heard_through(read, None)
    default = loads_result(replace(usb, input_device="").dumps())
    assert heard_through(default, None) and not heard_through(default, "USB")
    # A result from before the microphone was recorded, or none, is taken as before.
    assert loads_result(_result().dumps()) == _result()
    assert heard_through(_result(), "USB") and heard_through(None, "USB")
    assert "input_device" not in json.loads(_result().dumps())
    for device in ("3", "[]"):
        text = usb.dumps().replace('"USB"', device)
        assert loads_result(text) is None


def test_saved_levels_are_rounded_to_a_tenth() -> None:
    data = _result(levels=(-25.04, -27.06)).to_json()
    assert [p["level_dbfs"] for p in data["partners"]] == [-25.0, -27.1]
    assert np.isclose(data["echo"]["delay_ms"], 120.0)
