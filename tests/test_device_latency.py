"""The stream latency setting: what a person may write, the environment override, and
the buffer a real stream then gets (through the private PulseAudio server of
scripts/test)."""

from __future__ import annotations

import pytest

from attune_voice.audio.devices import list_devices
from attune_voice.audio.latency import LATENCY_ENV, STREAM_LATENCY_S, parse_latency, stream_latency
from attune_voice.audio.stream import DeviceAudio
from attune_voice.errors import AudioDeviceError

MONITOR = "attune_monitor"


@pytest.mark.parametrize(
    ("text", "latency"),
    [
        ("0.05", 0.05),
        (" 0.1 ", 0.1),
        ("0.08,0.05", (0.08, 0.05)),
        ("0.08, 0.05", (0.08, 0.05)),
        ("low", "low"),
        ("HIGH", "high"),
    ],
)
def test_latency_as_people_write_it(text: str, latency: float | str | tuple[float, float]) -> None:
    assert parse_latency(text) == latency


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("fast", "is not seconds like 0.05"),
        ("50ms", "is not seconds like 0.05"),
        ("0", "between 0 and 2 seconds"),
        ("-0.1", "between 0 and 2 seconds"),
        ("5", "between 0 and 2 seconds"),
        ("0.1,0.1,0.1", "one or two times"),
        ("", "is not seconds like 0.05"),
    ],
)
def test_a_wrong_latency_is_one_clear_line(text: str, problem: str) -> None:
    with pytest.raises(AudioDeviceError, match=problem) as caught:
        parse_latency(text)
    assert "\n" not in str(caught.value)


def test_the_environment_overrides_the_built_in_latency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LATENCY_ENV, raising=False)
    assert stream_latency() == STREAM_LATENCY_S
    monkeypatch.setenv(LATENCY_ENV, "0.2,0.1")
    assert stream_latency() == (0.2, 0.1)
    monkeypatch.setenv(LATENCY_ENV, "   ")
    assert stream_latency() == STREAM_LATENCY_S
    monkeypatch.setenv(LATENCY_ENV, "soon")
    with pytest.raises(AudioDeviceError, match=f"^{LATENCY_ENV}: the audio latency 'soon'"):
        stream_latency()


def test_a_saved_setting_counts_unless_the_environment_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(LATENCY_ENV, raising=False)
    assert stream_latency("0.12") == 0.12
    assert stream_latency(None) == STREAM_LATENCY_S
    monkeypatch.setenv(LATENCY_ENV, "high")
    assert stream_latency("0.12") == "high"
    monkeypatch.delenv(LATENCY_ENV)
    with pytest.raises(AudioDeviceError, match=r"^the audio latency 'later'"):
        stream_latency("later")


def test_the_built_in_latency_is_an_input_output_pair() -> None:
    assert isinstance(STREAM_LATENCY_S, tuple)
    input_s, output_s = STREAM_LATENCY_S
    # The output buffer is most of the time from a decision to the speakers; the prompt
    # must start within 100 ms of it.
    assert 0.0 < output_s < 0.1
    assert 0.0 < input_s <= 0.2


@pytest.mark.pulse
def test_a_stream_opens_with_the_latency_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    list_devices()
    reported = {}
    for setting in ("0.2", "0.03,0.03"):
        monkeypatch.setenv(LATENCY_ENV, setting)
        with DeviceAudio(input_device=MONITOR) as audio:
            reported[setting] = audio.stats().latency_s
    # PortAudio rounds to what the device can do; the order is kept in both directions.
    assert reported["0.03,0.03"][0] < reported["0.2"][0]
    assert reported["0.03,0.03"][1] < reported["0.2"][1]


def test_a_wrong_latency_in_the_environment_stops_before_any_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(LATENCY_ENV, "quick")
    with pytest.raises(AudioDeviceError, match=LATENCY_ENV):
        DeviceAudio(input_device=MONITOR)
