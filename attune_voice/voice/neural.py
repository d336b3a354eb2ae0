"""The neural voice (the sole hibari import): prompts in hibari's bundled voice, offline."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attune_voice.audio.frames import Pcm
from attune_voice.audio.resample import resample, to_int16
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.errors import VoiceError
from attune_voice.voice.tts import trim_silence

PACKAGE = "hibari-tts==0.2.1"
"""What ``pip`` installs for the neural voice; the ``voice`` extra pins the same."""
INSTALL_HINT = "pip install 'attune-voice[voice]' (or: ATTUNE_VOICE=neural ./scripts/demo)"
BUNDLED_VOICE = "heart"
"""The one hibari voice inside the package: every other one is fetched from the network on
first use, which attune-voice never lets happen."""
BUNDLED_SHA256 = "5f70741d4e900f4e85d0037498736cc1b3e1b9a63a13546a5da1e63abf4fccd8"
"""hibari 0.2.1's own checksum of its bundled model (assets/voices.json), checked here so
that a damaged or swapped file is one clear line, not a strange voice."""
HIBARI_RATE_HZ = 24_000
SEED = 0
"""hibari adds a noise component drawn at random; a fixed seed makes a prompt sound the
same every time it is rendered."""


@dataclass(frozen=True)
class HibariVoice:
    """One of hibari's voices as its registry describes it."""

    name: str
    description: str
    bundled: bool
    """In the package; otherwise it needs a download and is never used."""


def installed() -> bool:
    """Whether hibari is installed, found without importing it (importing loads numpy
    tables and takes a moment)."""
    return importlib.util.find_spec("hibari") is not None


def hibari_voices() -> list[HibariVoice]:
    """Every voice hibari knows, bundled or not (empty when hibari is not installed)."""
    if not installed():
        return []
    from hibari.voices import VOICES  # type: ignore[import-untyped,import-not-found,unused-ignore]

    return [
        HibariVoice(
            name,
            f"a neural voice, {entry['accent']} English, {entry['gender']} (hibari)",
            bool(entry.get("bundled")),
        )
        for name, entry in VOICES.items()
    ]


def _bundled_model(name: str) -> Path:
    from hibari.voices import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
        VOICES,
        voice_path,
    )

    entry = VOICES.get(name)
    if entry is None or not entry.get("bundled"):
        raise VoiceError(
            f"the hibari voice {name!r} needs a download and is not used; "
            f"only {BUNDLED_VOICE!r} works offline"
        )
    # download_missing=False: even a registry that changed under us cannot start a download.
    path = Path(voice_path(name, download_missing=False))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != BUNDLED_SHA256:
        raise VoiceError(
            f"the neural voice's model {path} is damaged (checksum {digest[:12]}…); "
            f"reinstall it with: pip install --force-reinstall {PACKAGE}"
        )
    return path


class NeuralVoice:
    """hibari's bundled voice, rendering prompts to 16 kHz int16 mono like espeak-ng does."""

    def __init__(self, name: str = BUNDLED_VOICE) -> None:
        if not installed():
            raise VoiceError(f"the neural voice is not installed; install it with: {INSTALL_HINT}")
        try:
            from hibari import Hibari  # type: ignore[import-untyped,import-not-found,unused-ignore]

            model = _bundled_model(name)
            # One thread: the listener's voice model needs the other core in a session.
            self._tts: Any = Hibari(voice=name, model=str(model), threads=1)
        except VoiceError:
            raise
        except Exception as e:  # onnxruntime and hibari raise plain exceptions of all kinds
            raise VoiceError(
                f"the neural voice could not start ({e}); reinstall it with: "
                f"pip install --force-reinstall {PACKAGE}"
            ) from e
        self.name = name
        # The first sentence loads the pronunciation tables (about 0.4 s): done here, so
        # that a session's first prompt is rendered as fast as the rest.
        self._tts("Ready.", seed=SEED)

    def render(self, text: str) -> Pcm:
        """Mono 16 kHz int16 audio of ``text``, trimmed of silence at both ends."""
        try:
            wave = np.asarray(self._tts(text, seed=SEED), dtype=np.float32)
        except Exception as e:  # hibari's text front end raises plain exceptions
            raise VoiceError(f"could not render a prompt with the neural voice: {e}") from e
        return trim_silence(
            to_int16(resample(wave[np.newaxis, :], HIBARI_RATE_HZ, SAMPLE_RATE_HZ))[0]
        )
