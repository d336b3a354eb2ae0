"""The detector does not depend on how the audio is cut into blocks.

A live session hands the detector 20 ms frames, ``attune-voice analyze`` minutes at
a time, and a block may hold any whole number of 10 ms sub-frames: what the detector
carries from one block to the next (samples, floors, the model's state) must make
every cut give what the stream in one piece gives.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig
from attune_voice.listening.channels import ChannelDetector
from attune_voice.listening.features import LevelMeter
from attune_voice.listening.segmenter import Segment
from attune_voice.listening.subframes import SUBFRAME_SAMPLES
from attune_voice.voice.tts import SpeechRenderer

RATE = SAMPLE_RATE_HZ
BLOCK_SUBFRAMES = (2, 2, 1, 3, 7, 2, 150, 2, 600, 5, 0, 2, 41)
"""Live frames, odd lengths, and blocks longer than the 1 s and 5 s running windows."""


def _tones(hz: list[float], note_s: float, dbfs: float) -> npt.NDArray[np.float64]:
    """Notes with harmonics, each held for ``note_s``: a pitch that holds, as music's does."""
    t = np.arange(int(note_s * RATE)) / RATE
    notes = [sum(np.sin(2 * np.pi * f * h * t) / h for h in range(1, 6)) for f in hz]
    out = np.concatenate(notes)
    result: npt.NDArray[np.float64] = out / np.sqrt(np.mean(out**2)) * 10 ** (dbfs / 20) * 32768
    return result


def _room(seconds: float) -> npt.NDArray[np.int16]:
    """Two microphones: held notes on one; on the other a gliding tone that comes and
    goes; noise on both."""
    rng = np.random.default_rng(11)
    count = int(seconds * RATE)
    music = np.resize(_tones([220.0, 330.0, 262.0, 392.0, 294.0], 0.8, -30), count)
    t = np.arange(count) / RATE
    glide = np.sin(2 * np.pi * (110 * t + 15 * t * t)) * 4000 * (np.sin(2 * np.pi * 0.4 * t) > 0)
    noise = rng.standard_normal((2, count)) * 30
    room = np.stack((music, glide)) + noise
    return np.clip(np.rint(room), -32768, 32767).astype(np.int16)


def _cut(pcm: npt.NDArray[np.int16]) -> list[npt.NDArray[np.int16]]:
    blocks: list[npt.NDArray[np.int16]] = []
    lengths = itertools.cycle(BLOCK_SUBFRAMES)
    start = 0
    while start < pcm.shape[-1]:
        end = start + next(lengths) * SUBFRAME_SAMPLES
        blocks.append(pcm[..., start:end])
        start = end
    return blocks


def test_every_cut_gives_exactly_the_levels_of_the_whole_stream() -> None:
    pcm = _room(12.0)
    whole = LevelMeter(channels=2).levels(pcm)
    meter = LevelMeter(channels=2)
    parts = np.concatenate([meter.levels(block) for block in _cut(pcm)], axis=1)
    np.testing.assert_array_equal(parts, whole)


def test_one_channel_may_come_flat_and_in_frames() -> None:
    pcm = _room(3.0)[1]
    whole = LevelMeter().levels(pcm)
    meter = LevelMeter()
    frames = [meter.levels(pcm[start : start + 320]) for start in range(0, len(pcm), 320)]
    np.testing.assert_array_equal(np.concatenate(frames, axis=1), whole)


def test_a_block_without_a_whole_sub_frame_gives_nothing_and_changes_nothing() -> None:
    pcm = _room(1.0)
    meter = LevelMeter(channels=2)
    first = meter.levels(pcm[:, :3200])
    empty = meter.levels(pcm[:, :0])
    rest = meter.levels(pcm[:, 3200:])
    whole = LevelMeter(channels=2).levels(pcm)
    assert empty.shape == (3, 0, 2)
    np.testing.assert_array_equal(np.concatenate((first, rest), axis=1), whole)


def _conversation() -> npt.NDArray[np.int16]:
    """Two microphones: held notes on one; on the other a voice that comes and goes."""
    pcm = _room(12.0)
    with SpeechRenderer() as renderer:
        lines = [
            renderer.render(text, "gmw/en-us+f2", 160).astype(np.float64)
            for text in ("I felt tired.", "Can we talk on Sunday?", "Thank you.")
        ]
    voice = np.zeros(pcm.shape[1])
    for line, at_s in zip(lines, (0.5, 4.0, 8.0), strict=True):
        start = int(at_s * RATE)
        voice[start : start + len(line)] += line / np.sqrt(np.mean(line**2)) * 0.05 * 32768
    joined = pcm.astype(np.float64)
    joined[1] = voice + np.random.default_rng(12).standard_normal(len(voice)) * 30
    return np.clip(np.rint(joined), -32768, 32767).astype(np.int16)


def test_speech_segments_do_not_depend_on_the_cut() -> None:
    pcm = _conversation()

    def segments(blocks: list[npt.NDArray[np.int16]]) -> list[Segment]:
        detector = ChannelDetector(DetectorConfig(), channels=2)
        found = [s for block in blocks for s in detector.feed(block)[1]]
        return found + detector.flush()

    framed = segments([pcm[:, start : start + 320] for start in range(0, pcm.shape[1], 320)])
    assert segments(_cut(pcm)) == framed
    assert segments([pcm]) == framed
    # The voice on the second microphone comes and goes; the music on the first is no voice.
    assert [s.channel for s in framed] == [1, 1, 1]


def test_a_recording_judged_in_batches_gives_the_live_segments() -> None:
    # analyze judges minutes at a time as independent slices warmed up on the second
    # before; live, one stream runs on. They differ by a window here and there.
    pcm = _conversation()
    live = ChannelDetector(DetectorConfig(), channels=2)
    framed = [
        s
        for start in range(0, pcm.shape[1], 320)
        for s in live.feed(pcm[:, start : start + 320])[1]
    ]
    framed += live.flush()
    batch = ChannelDetector(DetectorConfig(), channels=2, batch=True)
    judged = [s for block in _cut(pcm) for s in batch.feed(block)[1]] + batch.flush()
    assert len(judged) == len(framed) == 3
    for got, expected in zip(judged, framed, strict=True):
        assert got.channel == expected.channel
        assert got.start_t == pytest.approx(expected.start_t, abs=0.035)
        assert got.end_t == pytest.approx(expected.end_t, abs=0.035)
