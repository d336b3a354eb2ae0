"""Training speech for the test model: espeak-ng renders mixed into noisy utterances."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SAMPLE_RATE_HZ = 16_000
ESPEAK_RATE_HZ = 22_050
UNK = "[unk]"

VOCABULARY = (
    "i'm",
    "done",
    "over",
    "to",
    "you",
    "that's",
    "all",
    "yes",
    "no",
    "not",
    "quite",
    "pause",
    "resume",
    "repeat",
    "more",
    "time",
    "out",
    "stop",
)
"""Every word the model knows; anything else is ``[unk]``."""

COMMAND_PHRASES = (
    "I'm done",
    "over to you",
    "that's all",
    "done",
    "yes",
    "no",
    "not quite",
    "pause",
    "resume",
    "repeat",
    "more time",
    "time out",
    "stop",
)
SINGLE_WORDS = ("I'm", "over", "to", "you", "that's", "all", "not", "quite", "more", "time", "out")

OTHER_WORDS = (
    # Near misses of the commands, so that the model learns where they end.
    "stock", "top", "pass", "paws", "post", "yet", "yeah", "now", "know", "note", "quiet",
    "quick", "repair", "report", "result", "reason", "resort", "dumb", "dome", "tone", "town",
    "mall", "tall", "door", "four", "dime", "tide", "outer", "oval", "rest", "peace", "mine",
    # Everyday words of a couple's conversation.
    "thanks", "hello", "okay", "maybe", "really", "think", "feel", "because", "sorry", "listen",
    "money", "evening", "work", "dinner", "walk", "phone", "happy", "tired", "lonely",
    "together", "weekend", "planning", "worried", "something", "different", "remember",
    "agreed", "thing", "when", "what", "and", "the", "is", "was", "we", "my", "me", "just",
    "like", "this", "home", "day", "night", "sure", "later", "right", "well", "good", "so",
    "it", "can't", "wanted", "said", "hard", "love", "morning", "kitchen", "children", "again",
    "team", "heard", "exactly", "almost", "nearly", "got", "hear", "mean", "how", "went",
    "carry", "story", "matter", "sofa", "honest", "breath", "calmer", "closer", "laugh",
)  # fmt: skip

ACCENTS = (
    "gmw/en-us",
    "gmw/en",
    "gmw/en-gb-scotland",
    "gmw/en-gb-x-gbclan",
    "gmw/en-gb-x-rp",
    "gmw/en-gb-x-gbcwmd",
    "gmw/en-029",
    "gmw/en-us-nyc",
)
TRAINING_VARIANTS = (
    "m1", "m2", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f5", "adam", "Alex",
    "Alicia", "Andrea", "belinda", "benjamin", "caleb", "david", "ed", "edward", "Gene",
    "iven", "john", "linda", "max", "Michael", "paul", "rob", "robert", "steph", "quincy",
    "zac", "grandma",
)  # fmt: skip
"""espeak-ng voice variants heard in training; tests speak with others."""

SPEEDS_WPM = (120, 140, 155, 170, 185, 200, 220)
PITCHES = (30, 40, 50, 60, 70)

Float = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Voice:
    accent: str
    variant: str
    speed_wpm: int
    pitch: int

    @property
    def name(self) -> str:
        return f"{self.accent}+{self.variant}"


@dataclass(frozen=True)
class Render:
    text: str
    tokens: tuple[str, ...]
    voice: Voice
    pcm: Float
    """16 kHz samples in [-1, 1], trimmed of silence at both ends."""


def tokens_of(text: str) -> tuple[str, ...]:
    words = re.findall(r"[a-z']+", text.lower())
    return tuple(w if w in VOCABULARY else UNK for w in words)


def espeak(text: str, voice: Voice) -> Float:
    """Render ``text`` with the espeak-ng program; 16 kHz, trimmed."""
    done = subprocess.run(
        [
            "espeak-ng",
            "-v",
            voice.name,
            "-s",
            str(voice.speed_wpm),
            "-p",
            str(voice.pitch),
            "--stdout",
            text,
        ],
        capture_output=True,
        check=True,
    )
    data = done.stdout
    start = data.find(b"data") + 8
    raw = np.frombuffer(data[start : start + (len(data) - start) // 2 * 2], dtype=np.int16)
    return trim(resample_to_16k(raw.astype(np.float32) / 32768.0))


def resample_to_16k(x: Float) -> Float:
    # Band-limited resampling through the spectrum; the zero padding keeps the circular
    # wrap-around of the FFT away from the speech.
    pad = 256
    padded = np.concatenate([np.zeros(pad, np.float32), x, np.zeros(pad, np.float32)])
    n = len(padded)
    m = round(n * SAMPLE_RATE_HZ / ESPEAK_RATE_HZ)
    spectrum = np.fft.rfft(padded)[: m // 2 + 1]
    y = np.fft.irfft(spectrum, m) * (m / n)
    cut = round(pad * SAMPLE_RATE_HZ / ESPEAK_RATE_HZ)
    return np.asarray(y[cut : m - cut], dtype=np.float32)


def trim(x: Float, threshold: float = 200 / 32768) -> Float:
    loud = np.flatnonzero(np.abs(x) > threshold)
    if loud.size == 0:
        return x[:0]
    return x[int(loud[0]) : int(loud[-1]) + 1]


def available_variants() -> set[str]:
    listing = subprocess.run(
        ["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True
    ).stdout
    return {line.split()[-1].split("/")[-1] for line in listing.splitlines()[1:] if line.strip()}


def pick_texts(rng: np.random.Generator, count: int) -> list[str]:
    """What to render: mostly the commands, then other words and mixtures of both."""
    texts: list[str] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.45:
            texts.append(str(rng.choice(COMMAND_PHRASES)))
        elif roll < 0.58:
            texts.append(str(rng.choice(SINGLE_WORDS)))
        elif roll < 0.88:
            n = int(rng.integers(1, 4))
            texts.append(" ".join(str(w) for w in rng.choice(OTHER_WORDS, n)))
        else:
            n = int(rng.integers(2, 5))
            pool = [*OTHER_WORDS, *SINGLE_WORDS, *COMMAND_PHRASES]
            texts.append(" ".join(str(w) for w in rng.choice(pool, n)))
    return texts


def render_all(
    rng: np.random.Generator, count: int, variants: Sequence[str], jobs: int
) -> list[Render]:
    texts = pick_texts(rng, count)
    voices = [
        Voice(
            str(rng.choice(ACCENTS)),
            str(rng.choice(variants)),
            int(rng.choice(SPEEDS_WPM)),
            int(rng.choice(PITCHES)),
        )
        for _ in texts
    ]
    with ThreadPoolExecutor(jobs) as pool:
        audio = list(pool.map(espeak, texts, voices))
    return [
        Render(text, tokens_of(text), voice, pcm)
        for text, voice, pcm in zip(texts, voices, audio, strict=True)
        if len(pcm) > SAMPLE_RATE_HZ // 20
    ]


@dataclass(frozen=True)
class Utterance:
    pcm: npt.NDArray[np.int16]
    spans: tuple[tuple[int, int, tuple[str, ...]], ...]
    """(start sample, end sample, tokens) of each render in the mix."""


def _noise(rng: np.random.Generator, n: int) -> Float:
    white = rng.standard_normal(n).astype(np.float32)
    if rng.random() < 0.5:
        return white
    # Pink-ish: the fan and fridge of a living room.
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE_HZ)
    spectrum /= np.sqrt(np.maximum(freqs, 50.0) / 50.0)
    pink = np.fft.irfft(spectrum, n).astype(np.float32)
    return pink / max(float(np.sqrt(np.mean(pink * pink))), 1e-9)


def mix(rng: np.random.Generator, renders: Sequence[Render]) -> Utterance:
    """Renders with pauses between them, at a random level, in random room noise."""
    pieces: list[Float] = []
    spans: list[tuple[int, int, tuple[str, ...]]] = []
    position = 0

    def pause(low_s: float, high_s: float) -> None:
        nonlocal position
        n = int(rng.uniform(low_s, high_s) * SAMPLE_RATE_HZ)
        pieces.append(np.zeros(n, np.float32))
        position += n

    pause(0.15, 0.7)
    for index, render in enumerate(renders):
        if index:
            if rng.random() < 0.3:
                pause(0.0, 0.6)
            else:
                pause(0.15, 0.8)
        gain = 10 ** (rng.uniform(-8, 6) / 20)
        pieces.append(render.pcm * gain)
        spans.append((position, position + len(render.pcm), render.tokens))
        position += len(render.pcm)
    pause(0.2, 0.8)
    signal = np.concatenate(pieces)
    speech_rms = float(np.sqrt(np.mean(signal[signal != 0] ** 2)))
    target_rms = 10 ** (rng.uniform(-34, -16) / 20)
    signal *= target_rms / max(speech_rms, 1e-9)
    # Some utterances keep espeak-ng's digital silence, as a clean recording would.
    if rng.random() < 0.88:
        snr_db = rng.uniform(8, 45)
        signal += _noise(rng, len(signal)) * (target_rms / 10 ** (snr_db / 20))
    pcm = np.clip(np.round(signal * 32768), -32768, 32767).astype(np.int16)
    return Utterance(pcm, tuple(spans))
