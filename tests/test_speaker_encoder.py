"""The voice encoder with its real weights: reading them safely, and telling voices apart."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from lstm_reference import last_states

from attune_voice.errors import ModelError
from attune_voice.listening.lstm_graph import LstmLayer
from attune_voice.listening.speaker_encoder import (
    EMBEDDING_SIZE,
    WEIGHTS_PACKAGE,
    SpeakerEncoder,
    mel_filterbank,
    mel_frames,
    normalized,
    voice_print,
    weights_path,
)
from attune_voice.voice.tts import SpeechRenderer

SENTENCES = (
    "When I came home on Tuesday, I felt tired and a bit invisible.",
    "I would love it if we could take a short walk after dinner.",
    "Lately I have been worried about money, and I keep it to myself.",
    "It means a lot to me when you say thank you for the small things.",
)


@pytest.fixture(scope="module")
def encoder() -> SpeakerEncoder:
    return SpeakerEncoder()


def _clips(renderer: SpeechRenderer, voice: str) -> list[npt.NDArray[np.int16]]:
    """1.6 s pieces of several sentences in one voice."""
    clips = []
    for text in SENTENCES:
        pcm = renderer.render(text, voice, 170)
        clips += [pcm[i : i + 25600] for i in range(0, len(pcm) - 25600, 12800)]
    return clips


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("gmw/en-us+m3", "gmw/en-gb-x-rp+f4"),
        ("gmw/en-us+m3", "gmw/en+m1"),
        ("gmw/en-us+f2", "gmw/en-gb-x-rp+f4"),
    ],
    ids=["man and woman", "two men", "two women"],
)
def test_two_voices_are_told_apart_by_cosine_similarity(
    encoder: SpeakerEncoder, renderer: SpeechRenderer, first: str, second: str
) -> None:
    a, b = (encoder.embed(_clips(renderer, voice)) for voice in (first, second))
    assert a.shape[1] == EMBEDDING_SIZE
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    # Enrol on half of each voice's pieces; every other piece is nearer its own voice.
    print_a, print_b = voice_print(a[::2]), voice_print(b[::2])
    for own, other, pieces in ((print_a, print_b, a[1::2]), (print_b, print_a, b[1::2])):
        margin = pieces @ own - pieces @ other
        assert (margin > 0).all(), margin


def test_the_embedding_hardly_depends_on_the_batch(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    # Not at all in float; the 8-bit layers scale their input by the batch's largest
    # value, so a clip moves a little with the clips beside it (on 70 pieces of a real
    # phone call: a cosine of 0.9997 at least between alone and in a batch).
    clips = _clips(renderer, "gmw/en-us+m3")
    short = [clips[0][:8000], clips[1][:16000]]
    together = encoder.embed([*short, clips[2]])
    alone = np.concatenate([encoder.embed([clip]) for clip in [*short, clips[2]]])
    assert (together * alone).sum(axis=1).min() > 0.9995


def test_batches_shared_out_between_threads_give_the_same_embeddings(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    clips = _clips(renderer, "gmw/en-gb-x-rp+f4")
    clips = [clips[0][:8000], *clips, clips[1][:12000]]
    one = encoder.embed(clips, batch=3)
    two = encoder.embed(clips, batch=3, threads=2)
    assert len(clips) > 2 * 3  # more batches than threads
    assert np.array_equal(one, two)
    assert np.allclose(np.linalg.norm(two, axis=1), 1.0, atol=1e-5)


def _reference_embeddings(mels: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The network as torch computes it, in float throughout, from the weights."""
    from attune_voice.listening import speaker_encoder

    state = speaker_encoder._read_state(weights_path().read_bytes())
    layers = [
        LstmLayer(
            input_weights=state[f"lstm.weight_ih_l{k}"],
            recurrent_weights=state[f"lstm.weight_hh_l{k}"],
            input_bias=state[f"lstm.bias_ih_l{k}"],
            recurrent_bias=state[f"lstm.bias_hh_l{k}"],
        )
        for k in range(3)
    ]
    raw = np.maximum(last_states(layers, mels) @ state["linear.weight"].T + state["linear.bias"], 0)
    result: npt.NDArray[np.float32] = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    return result


def test_the_encoder_is_the_network_to_a_cosine_of_0_999(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    # Its second and third layers run with 8-bit weights: on real speech every embedding
    # had a cosine of 0.999 or more with the float network's, and analyze's figures on
    # the real recordings moved by 0.3 points at most.
    clips = _clips(renderer, "gmw/en-us+f2")[:3]
    mels = np.stack([mel_frames(normalized(clip)) for clip in clips])
    expected = _reference_embeddings(mels)
    cosine = (encoder.embed_mels(mels) * expected).sum(axis=1)
    assert cosine.min() > 0.999, cosine
    # A row that ends early is judged on its own frames only, not on the padding.
    short = mels[:1, :60]
    padded = np.concatenate([short, np.full((1, mels.shape[1] - 60, 40), 9.0, np.float32)], 1)
    lengths = np.array([60], dtype=np.int64)
    assert float(encoder.embed_mels(padded, lengths)[0] @ _reference_embeddings(short)[0]) > 0.999


def test_the_mel_filterbank_is_librosas() -> None:
    # Values of librosa.filters.mel(sr=16000, n_fft=400, n_mels=40) (librosa 0.11).
    bank = mel_filterbank()
    assert bank.shape == (40, 201)
    assert np.allclose(bank[0, :4], [0.0, 0.00739021, 0.01240452, 0.00501431], atol=1e-7)
    assert np.allclose(bank.sum(axis=1)[:5], 0.02480904, atol=1e-7)
    assert np.allclose(bank[5].sum(), 0.02573447, atol=1e-7)


def test_a_damaged_file_names_the_package_to_reinstall(tmp_path: Path) -> None:
    damaged = tmp_path / "pretrained.pt"
    data = bytearray(weights_path().read_bytes())
    data[5000] ^= 1
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=f"damaged.*--force-reinstall {WEIGHTS_PACKAGE}=="):
        SpeakerEncoder(damaged)
    with pytest.raises(ModelError, match=f"cannot be read.*{WEIGHTS_PACKAGE}"):
        SpeakerEncoder(tmp_path / "missing.pt")


def test_the_reader_refuses_any_class_a_checkpoint_does_not_name() -> None:
    from attune_voice.listening import speaker_encoder

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("ran",))

    parts: list[object] = [1, 1001, {"little_endian": True}, Payload()]
    data = b"".join(pickle.dumps(part, protocol=2) for part in parts)
    with pytest.raises(pickle.UnpicklingError, match=r"unexpected class .*print"):
        speaker_encoder._read_state(data)
