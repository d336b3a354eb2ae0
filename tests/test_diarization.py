"""Who spoke when with one microphone: a change of voice inside one segment of speech."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from attune_voice.listening.diarization import who_spoke_when
from attune_voice.listening.speaker_encoder import SpeakerEncoder
from attune_voice.voice.tts import SpeechRenderer

RATE_HZ = 16000
VOICES = (("gmw/en-us+m3", 168), ("gmw/en-gb-x-rp+f4", 176))
LINES = (
    "When I came home on Tuesday, I felt tired and a bit invisible.",
    "I think I wanted someone to ask me how my day went.",
    "Lately I have been worried about money, and I keep it to myself.",
    "I would feel calmer if we sat down once a week to plan.",
    "It means a lot to me when you say thank you for the small things.",
)


def _at_level(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    x = pcm.astype(np.float64)
    result: npt.NDArray[np.int16] = (x * 10 ** (-24 / 20) * 32768 / np.sqrt(np.mean(x**2))).astype(
        np.int16
    )
    return result


def _speech_end_s(pcm: npt.NDArray[np.int16]) -> float:
    """End of the last 10 ms within 30 dB of the loudest."""
    blocks = pcm[: len(pcm) // 160 * 160].astype(np.float64).reshape(-1, 160)
    level = 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-9)
    return float((np.flatnonzero(level > level.max() - 30)[-1] + 1) * 0.01)


@pytest.mark.parametrize("cut_s", [2.0, 2.4])
def test_a_segment_that_spans_a_change_of_voice_is_split_where_the_voice_changes(
    renderer: SpeechRenderer, cut_s: float
) -> None:
    # Four lines said alone, a pause between them, then one partner's line, cut short,
    # runs straight into the other's: one segment of speech with a change of voice
    # inside, which must be split, not given whole to one voice.
    a = [_at_level(renderer.render(text, *VOICES[0])) for text in LINES]
    b = [_at_level(renderer.render(text, *VOICES[1])) for text in LINES]
    segments: list[tuple[float, float]] = []
    clips: list[npt.NDArray[np.int16]] = []
    start_s = 0.0
    for k in range(4):
        clip = (b if k % 2 == 0 else a)[k]
        segments.append((start_s, start_s + len(clip) / RATE_HZ))
        clips.append(clip)
        start_s += len(clip) / RATE_HZ + 1.0
    first = a[4][: round(cut_s * RATE_HZ)]
    joined = np.concatenate([first, b[4][: round(3.5 * RATE_HZ)]])
    segments.append((start_s, start_s + len(joined) / RATE_HZ))
    clips.append(joined)
    change_s = start_s + _speech_end_s(first)

    found = who_spoke_when(segments, clips, SpeakerEncoder())
    assert found.voices == 2
    last = [s for s in found.spans if s.start_s >= start_s]
    assert [s.voice for s in last] == [1, 0]  # the second voice heard, then the first
    assert abs(last[1].start_s - change_s) < 0.4
