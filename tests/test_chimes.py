"""The chimes: soft, click-free, and each event known by its pitch and shape."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from attune_voice.audio.chimes import NO_SOUND, chime, chime_names
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.exercises.model import CHIME_NAMES, Sounds

Floats = npt.NDArray[np.float64]


def envelope(pcm: npt.NDArray[np.int16], window_ms: int = 10) -> Floats:
    """RMS level in consecutive windows."""
    size = SAMPLE_RATE_HZ * window_ms // 1000
    usable = len(pcm) // size * size
    frames = pcm[:usable].astype(np.float64).reshape(-1, size)
    return np.asarray(np.sqrt(np.mean(frames**2, axis=1)))


def strikes(pcm: npt.NDArray[np.int16]) -> list[int]:
    """The 10 ms windows where a strike begins: the level jumps up from the window before
    (the chime is heard after a moment of silence, so its first strike counts too)."""
    level = envelope(np.concatenate([np.zeros(480, dtype=np.int16), pcm]))
    rising = np.flatnonzero(level[1:] > 1.5 * level[:-1] + 0.02 * level.max()) + 1
    onsets: list[int] = []
    for index in rising:
        if not onsets or index - onsets[-1] > 5:
            onsets.append(int(index) - 3)
    return onsets


def pitch_hz(pcm: npt.NDArray[np.int16]) -> float:
    """The strongest frequency."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1.0 / SAMPLE_RATE_HZ)[int(np.argmax(spectrum))])


def semitones(a_hz: float, b_hz: float) -> float:
    return abs(12.0 * float(np.log2(a_hz / b_hz)))


def test_the_chimes_are_the_ones_scripts_may_name() -> None:
    assert chime_names() == CHIME_NAMES


@pytest.mark.parametrize("name", CHIME_NAMES)
def test_each_chime_is_soft_mono_16k_and_starts_and_ends_in_silence(name: str) -> None:
    pcm = chime(name)

    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert 0.2 <= len(pcm) / SAMPLE_RATE_HZ <= 3.0
    peak_dbfs = 20 * np.log10(np.max(np.abs(pcm.astype(np.float64))) / 32768)
    # Audible over a quiet room, well below the prompts and speech peaks (about -3 dBFS).
    assert -20.0 <= peak_dbfs <= -9.0
    assert abs(int(pcm[0])) < 50 and abs(int(pcm[-1])) < 50
    # No click: the sound swells in over a few milliseconds instead of starting at full level.
    peak = np.abs(pcm.astype(np.int32)).max()
    assert np.abs(pcm[: SAMPLE_RATE_HZ // 1000].astype(np.int32)).max() < 0.2 * peak
    assert np.array_equal(pcm, chime(name))


def test_the_default_chimes_differ_in_pitch_and_shape() -> None:
    sounds = Sounds()
    cue, floor_end, overtime = (
        chime(getattr(sounds, event)) for event in ("cue", "floor_end", "overtime")
    )

    # Cue: one high strike; end of a floor: two falling notes; time up: one low, long bowl.
    assert len(strikes(cue)) == 1
    assert len(strikes(floor_end)) == 2
    assert len(strikes(overtime)) == 1
    assert strikes(floor_end)[0] == 0
    second = strikes(floor_end)[1]
    split = second * SAMPLE_RATE_HZ // 100
    assert pitch_hz(floor_end[:split]) > pitch_hz(floor_end[split:]) * 1.3
    pitches = [pitch_hz(cue), pitch_hz(floor_end[:split]), pitch_hz(overtime)]
    assert pitches[0] == pytest.approx(1046.5, abs=5)
    assert pitches[2] == pytest.approx(293.7, abs=5)
    for i, a in enumerate(pitches):
        for b in pitches[i + 1 :]:
            assert semitones(a, b) >= 4
    assert len(overtime) > len(floor_end) > len(cue)


def test_rise_is_fall_the_other_way_and_wood_is_short() -> None:
    rise, fall = chime("rise"), chime("fall")
    split = strikes(rise)[1] * SAMPLE_RATE_HZ // 100
    assert pitch_hz(rise[:split]) == pytest.approx(pitch_hz(fall[split:]), rel=0.02)
    assert pitch_hz(rise[split:]) == pytest.approx(pitch_hz(fall[:split]), rel=0.02)
    assert len(chime("wood")) / SAMPLE_RATE_HZ < 0.5


def test_none_is_silence_and_an_unknown_name_is_refused() -> None:
    assert len(chime(NO_SOUND)) == 0
    with pytest.raises(ValueError, match=r"no chime called 'ding'; the chimes are bell, bowl"):
        chime("ding")
