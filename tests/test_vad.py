"""The speech detector and segmenter: scripted decisions, and real espeak-ng speech."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig
from attune_voice.vad import (
    ChannelDetector,
    NoiseFloor,
    Onset,
    Segment,
    Segmenter,
    SegmenterState,
)
from attune_voice.voice import SpeechRenderer

RATE = SAMPLE_RATE_HZ


def run_segmenter(decisions: str) -> tuple[list[Onset], list[Segment]]:
    """Feed one decision per 10 ms sub-frame: '#' speech, '.' non-speech."""
    segmenter = Segmenter(DetectorConfig())
    onsets, segments = [], []
    for index, mark in enumerate(decisions + "." * 40):
        onset, segment = segmenter.step(index, mark == "#", 0.0)
        if onset:
            onsets.append(onset)
        if segment:
            segments.append(segment)
    return onsets, segments


def test_pauses_under_merge_gap_are_merged() -> None:
    _, segments = run_segmenter("." * 10 + "#" * 50 + "." * 29 + "#" * 50)
    assert segments == [Segment(0.10, 1.39, 0)]


def test_pauses_at_merge_gap_split() -> None:
    _, segments = run_segmenter("." * 10 + "#" * 50 + "." * 30 + "#" * 50)
    assert segments == [Segment(0.10, 0.60, 0), Segment(0.90, 1.40, 0)]


def test_a_click_never_becomes_speech() -> None:
    onsets, segments = run_segmenter("." * 10 + "###" + "." * 50 + "#" + "." * 5 + "##")
    assert (onsets, segments) == ([], [])


def test_onset_is_reported_once_speech_is_confirmed_with_its_true_start() -> None:
    onsets, _ = run_segmenter("." * 10 + "#" * 20)
    assert onsets == [Onset(0.10, 0)]


def test_gate_closes_open_speech_at_the_gate() -> None:
    segmenter = Segmenter(DetectorConfig())
    for index in range(30):
        segmenter.step(index, index >= 5, 0.0)
    assert segmenter.state.value == "speech"
    assert segmenter.gate() == Segment(0.05, 0.30, 0)
    assert segmenter.state is SegmenterState.SILENCE


def test_noise_floor_follows_down_at_once_and_up_slowly() -> None:
    floor = NoiseFloor(rise_db_per_s=3.0)
    floor.update(-50.0)
    floor.update(-60.0)
    assert floor.dbfs == -60.0
    for _ in range(100):  # one second of loud sound
        floor.update(-20.0)
    assert floor.dbfs == pytest.approx(-57.0)


# --- real audio -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def renderer() -> Iterator[SpeechRenderer]:
    with SpeechRenderer() as r:
        yield r


def noise(seconds: float, dbfs: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(int(seconds * RATE))
    return white * (10 ** (dbfs / 20) * 32768)


def scaled(pcm: Pcm, dbfs: float) -> np.ndarray:
    audio = pcm.astype(np.float64)
    rms = float(np.sqrt(np.mean(audio**2)))
    result: np.ndarray = audio * (10 ** (dbfs / 20) * 32768 / rms)
    return result


def detect(signal: np.ndarray) -> list[Segment]:
    pcm = np.clip(signal, -32768, 32767).astype(np.int16)
    frame = 320
    pcm = pcm[: len(pcm) - len(pcm) % frame]
    detector = ChannelDetector(DetectorConfig(), channels=1)
    segments: list[Segment] = []
    for start in range(0, len(pcm), frame):
        segments.extend(detector.feed(pcm[np.newaxis, start : start + frame])[1])
    segments.extend(detector.flush())
    return segments


def place(background: np.ndarray, pcm: np.ndarray, at_s: float) -> tuple[float, float]:
    start = int(at_s * RATE)
    background[start : start + len(pcm)] += pcm
    return at_s, at_s + len(pcm) / RATE


def test_speech_in_noise_is_found_with_tight_edges(renderer: SpeechRenderer) -> None:
    line = scaled(renderer.render("I felt tired and a bit invisible when I came home."), -24)
    room = noise(6.0, -50)  # 26 dB SNR
    start_s, end_s = place(room, line, 1.5)
    segments = detect(room)
    assert len(segments) == 1
    assert segments[0].start_t == pytest.approx(start_s, abs=0.03)
    assert segments[0].end_t == pytest.approx(end_s, abs=0.08)


def test_a_short_pause_merges_and_a_long_one_splits(renderer: SpeechRenderer) -> None:
    word = scaled(renderer.render("Tuesday"), -24)
    word_s = len(word) / RATE
    room = noise(8.0, -55)
    place(room, word, 1.0)
    place(room, word, 1.0 + word_s + 0.15)  # a 150 ms pause: one segment
    place(room, word, 4.0)
    place(room, word, 4.0 + word_s + 0.6)  # a 600 ms pause: two segments
    segments = detect(room)
    assert len(segments) == 3
    assert segments[0].end_t > 1.0 + 2 * word_s


@pytest.mark.parametrize(
    "make_sound",
    [
        pytest.param(lambda: noise(5.0, -35), id="loud steady fan"),
        pytest.param(
            lambda: noise(5.0, -60) + np.sin(2 * np.pi * 50 * np.arange(5 * RATE) / RATE) * 3000,
            id="mains hum",
        ),
        pytest.param(
            lambda: np.concatenate([noise(2.0, -60), noise(0.004, -6), noise(3.0, -60, 1)]),
            id="a click",
        ),
    ],
)
def test_steady_noise_hum_and_clicks_are_not_speech(make_sound: object) -> None:
    assert callable(make_sound)
    assert detect(make_sound()) == []


def test_a_quiet_speaker_in_a_quiet_room_is_heard(renderer: SpeechRenderer) -> None:
    line = scaled(renderer.render("Can we talk for a moment?"), -42)
    room = noise(4.0, -70)
    start_s, _ = place(room, line, 1.0)
    segments = detect(room)
    assert len(segments) == 1
    assert segments[0].start_t == pytest.approx(start_s, abs=0.05)


def test_crosstalk_in_the_other_microphone_is_not_the_other_partner(
    renderer: SpeechRenderer,
) -> None:
    line = scaled(renderer.render("I would love it if we took a walk after dinner."), -24)
    own = noise(5.0, -55, seed=1)
    other = noise(5.0, -55, seed=2)
    place(own, line, 1.0)
    place(other, line * 10 ** (-15 / 20), 1.0)  # leaks 15 dB down
    pcm = np.clip(np.stack([own, other]), -32768, 32767).astype(np.int16)
    detector = ChannelDetector(DetectorConfig(), channels=2)
    segments: list[Segment] = []
    for start in range(0, pcm.shape[1] - 319, 320):
        segments.extend(detector.feed(pcm[:, start : start + 320])[1])
    segments.extend(detector.flush())
    assert [s.channel for s in segments] == [0]


def test_the_detector_is_frame_driven_not_clock_driven() -> None:
    # Feeding the same audio in 20 ms frames or in one block gives the same segments:
    # only samples consumed advance it.
    room = noise(3.0, -55)
    room[16000:32000] += (
        np.sin(2 * np.pi * 220 * np.arange(16000) / RATE)
        * 4000
        * (1 + np.sin(2 * np.pi * 4 * np.arange(16000) / RATE))
    )
    pcm = np.clip(room, -32768, 32767).astype(np.int16)
    framed = detect(room)
    whole = ChannelDetector(DetectorConfig(), channels=1)
    segments = whole.feed(pcm[np.newaxis, :])[1] + whole.flush()
    assert framed == segments
