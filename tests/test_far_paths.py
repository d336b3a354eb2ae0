"""Each microphone's hearing of the other partner: learnt, and taken out, on real speech."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from bench_detection import convolve, pcm16  # a script of the benchmarks, not a package
from couple import LINES, VOICES

from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.listening.far_paths import (
    FRAME_SAMPLES,
    FarPaths,
    far_cancelled,
    learn_far_paths,
)
from attune_voice.voice.tts import SpeechRenderer

RATE = SAMPLE_RATE_HZ
Signal = npt.NDArray[np.float64]


def _room_path(rng: np.random.Generator) -> Signal:
    """From one partner to the other's microphone: 4 ms on, as much tail as voice
    (RT60 0.35 s), 10 dB down."""
    n = int(0.35 * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / 0.35)
    tail *= 1.0 / math.sqrt(float(np.sum(tail**2)))
    path = np.zeros(64 + n)
    path[64] = 1.0
    path[64 + 48 :] += tail[: n - 48]
    scaled: Signal = path * 10 ** (-10 / 20)
    return scaled


def _conversation(renderer: SpeechRenderer, seconds: float) -> tuple[Signal, int]:
    """(2, n) each partner's voice as said, two lines each in turn (B 4 dB softer), and
    the sample where A's second line begins."""
    dry = np.zeros((2, int(seconds * RATE)))
    at, k, second_a = RATE, 0, 0
    while True:
        speaker = (k // 2) % 2
        pcm = renderer.render(LINES[k % len(LINES)], *VOICES[speaker]).astype(np.float64)
        if at + len(pcm) >= dry.shape[1]:
            return dry, second_a
        pcm *= 10 ** ((-24 if speaker == 0 else -28) / 20) * 32768 / np.sqrt(np.mean(pcm**2))
        dry[speaker, at : at + len(pcm)] += pcm
        if speaker == 0 and not second_a and k > 0:
            second_a = at
        at += len(pcm) + RATE // 2
        k += 1


def _heard(dry: Signal, paths: tuple[Signal, Signal], rng: np.random.Generator) -> Signal:
    """Each microphone: its own partner, and the other through ``paths`` (to A's, B's)."""
    mics = dry.copy()
    mics[0] += convolve(dry[1], paths[0])
    mics[1] += convolve(dry[0], paths[1])
    noisy: Signal = mics + rng.standard_normal(mics.shape) * 10 ** (-50 / 20) * 32768
    return noisy


@pytest.fixture(scope="module")
def room() -> tuple[Signal, Signal, tuple[int, int]]:
    """(2, n) microphones, (2, n) each partner's voice as said, and the samples where
    B's "mm-hm" over A's words lies."""
    rng = np.random.default_rng(3)
    with SpeechRenderer() as renderer:
        dry, second_a = _conversation(renderer, 32.0)
        mm_hm = renderer.render("Mm-hm.", *VOICES[1]).astype(np.float64)
    # B, the softer partner, says "mm-hm" 2 s into one of A's lines.
    mm_hm *= 10 ** (-28 / 20) * 32768 / np.sqrt(np.mean(mm_hm**2))
    where = second_a + 2 * RATE
    dry[1, where : where + len(mm_hm)] += mm_hm
    mics = _heard(dry, (_room_path(rng), _room_path(rng)), rng)
    return mics, dry, (where, where + len(mm_hm))


def _through(pcm: npt.NDArray[np.int16], paths: FarPaths, block: int) -> npt.NDArray[np.int16]:
    blocks = (pcm[:, k : k + block] for k in range(0, pcm.shape[1], block))
    parts = list(far_cancelled(blocks, paths))
    return np.concatenate(parts, axis=1) if parts else np.zeros((2, 0), dtype=np.int16)


def _db(signal: Signal) -> float:
    return 10 * math.log10(float(np.mean(signal**2)) + 1e-9)


@pytest.mark.parametrize("samples", [0, 100, FRAME_SAMPLES - 1, FRAME_SAMPLES, 3 * 4096 + 17])
@pytest.mark.parametrize("block", [160, 5000, 65536])
def test_a_recording_with_nothing_learnt_comes_back_sample_for_sample(
    samples: int, block: int
) -> None:
    pcm = np.random.default_rng(samples).integers(-20000, 20000, (2, samples)).astype(np.int16)
    assert np.array_equal(_through(pcm, FarPaths({}, (0.0, 0.0)), block), pcm)


def test_the_other_partner_is_taken_out_and_the_own_voice_kept(
    room: tuple[Signal, Signal, tuple[int, int]],
) -> None:
    mics, dry, (a, b) = room
    pcm = pcm16(mics)
    paths = learn_far_paths([pcm], [0.0], 0.0)
    assert paths.learnt and min(paths.learnt_s) >= 5.0
    left = _through(pcm, paths, 4000).astype(np.float64)
    assert left.shape == pcm.shape
    for own in (0, 1):
        other = 1 - own
        alone = (np.abs(dry[other]) > 0) & (dry[own] == 0)
        heard_db, left_db = _db(mics[own][alone]), _db(left[own][alone])
        # The other's voice from afar, 10 dB down with as much tail: at least 12 dB less.
        assert left_db <= heard_db - 12.0
        # The channel's own partner alone: the same to within 0.5 dB.
        mine = (np.abs(dry[own]) > 0) & (dry[other] == 0)
        assert abs(_db(left[own][mine]) - _db(mics[own][mine])) <= 0.5
    # B's "mm-hm" over A's words: on B's microphone it stood a few dB above A's voice
    # from afar around it; what is left of A's voice lies 10 dB or more under it.
    near = np.r_[a - RATE : a, b : b + RATE]
    around = near[(dry[1, near] == 0) & (np.abs(dry[0, near]) > 0)]  # A's words alone
    assert len(around) >= RATE // 2
    assert _db(mics[1][a:b]) - _db(mics[1][around]) < 8.0
    assert _db(left[1][a:b]) - _db(left[1][around]) >= 10.0


def test_microphones_of_unlike_gain_learn_with_their_balance_taken_off(
    room: tuple[Signal, Signal, tuple[int, int]],
) -> None:
    # B's microphone 6 dB down: A alone stands 16 dB over B's channel, B alone only
    # 4 dB over A's, short of the 6 dB that says "the other alone" on A's channel.
    mics, _, _ = room
    quieter = mics.copy()
    quieter[1] *= 10 ** (-6 / 20)
    pcm = pcm16(quieter)
    raw = learn_far_paths([pcm], [0.0], 0.0)
    assert {channel for channel, _ in raw.filters} == {1}
    balanced = learn_far_paths([pcm], [0.0], 6.0)
    assert {channel for channel, _ in balanced.filters} == {0, 1}


def test_speech_too_short_or_never_alone_learns_nothing(
    room: tuple[Signal, Signal, tuple[int, int]],
) -> None:
    mics, _, _ = room
    pcm = pcm16(mics)
    # Clips shorter than a frame hold no frame to learn from.
    starts = range(0, pcm.shape[1], FRAME_SAMPLES)
    short = [pcm[:, k : k + FRAME_SAMPLES - 1] for k in starts]
    assert not learn_far_paths(short, [k / RATE for k in starts], 0.0).learnt
    # One microphone's signal on both channels: neither ever stands under the other.
    same = np.stack([pcm[0], pcm[0]])
    nothing = learn_far_paths([same], [0.0], 0.0)
    assert not nothing.learnt
    assert np.array_equal(_through(same, nothing, 65536), same)


def test_a_room_that_changes_is_followed_within_a_block_either_side() -> None:
    # The partners move (or a microphone is moved) after a minute: each half of the
    # recording has its own paths between the microphones. A filter learnt over the
    # whole would fit neither half.
    rng = np.random.default_rng(5)
    with SpeechRenderer() as renderer:
        dry, _ = _conversation(renderer, 120.0)
    half = 60 * RATE
    before = _heard(dry[:, :half], (_room_path(rng), _room_path(rng)), rng)
    after = _heard(dry[:, half:], (_room_path(rng), _room_path(rng)), rng)
    mics = np.concatenate([before, after], axis=1)
    pcm = pcm16(mics)
    paths = learn_far_paths([pcm], [0.0], 0.0)
    left = _through(pcm, paths, 65536).astype(np.float64)
    # The first block's filters are learnt from 0-60 s, the last block's from 60-120 s
    # (13.8-17.6 dB taken out; one filter for the whole recording took out 6.3 dB).
    for first, last in ((0, 30 * RATE), (90 * RATE, 120 * RATE)):
        for own in (0, 1):
            other = 1 - own
            alone = np.zeros(mics.shape[1], dtype=bool)
            alone[first:last] = (np.abs(dry[other, first:last]) > 0) & (dry[own, first:last] == 0)
            assert _db(left[own][alone]) <= _db(mics[own][alone]) - 10.0
