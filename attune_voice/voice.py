"""Offline text-to-speech (the sole pyttsx3 import): prompts rendered once to 16 kHz PCM."""

from __future__ import annotations

import contextlib
import io
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

from attune_voice.audio.frames import Pcm
from attune_voice.audio.resample import resample, to_int16
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.errors import VoiceError

PROMPT_VOICE = "gmw/en-us+f2"
PROMPT_RATE_WPM = 160
_TRIM_THRESHOLD = 200
"""Samples quieter than this (about -44 dBFS) at either end are trimmed."""


def trim_silence(pcm: Pcm, threshold: int = _TRIM_THRESHOLD) -> Pcm:
    """Cut leading and trailing near-silence, so a render's length is its speech."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > threshold)
    if loud.size == 0:
        return pcm[:0]
    return pcm[int(loud[0]) : int(loud[-1]) + 1]


class SpeechRenderer:
    """Renders text with an espeak-ng voice through pyttsx3, caching each result.

    The cache key is (text, voice, rate): each prompt is rendered once per session.
    """

    def __init__(self) -> None:
        try:
            import pyttsx3

            self._engine: Any = pyttsx3.init("espeak")
        except Exception as e:  # pyttsx3 raises bare RuntimeError/OSError/ImportError
            raise VoiceError(
                f"the offline voice could not start ({e}); install espeak-ng with: "
                "sudo apt-get install espeak-ng"
            ) from e
        self._cache: dict[tuple[str, str, int], Pcm] = {}
        self._workdir = tempfile.TemporaryDirectory(prefix="attune-voice-")

    def close(self) -> None:
        self._workdir.cleanup()

    def __enter__(self) -> SpeechRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def voices(self) -> list[str]:
        return [str(v.id) for v in self._engine.getProperty("voices")]

    def render(self, text: str, voice: str = PROMPT_VOICE, rate_wpm: int = PROMPT_RATE_WPM) -> Pcm:
        """Mono 16 kHz int16 audio of ``text``, trimmed of silence at both ends."""
        key = (text, voice, rate_wpm)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        path = Path(self._workdir.name) / "render.wav"
        try:
            self._engine.setProperty("voice", voice)
            self._engine.setProperty("rate", rate_wpm)
            # pyttsx3's espeak driver announces each saved file on stdout; stdout
            # belongs to the command's own output (JSON, for one).
            with contextlib.redirect_stdout(io.StringIO()):
                self._engine.save_to_file(text, str(path))
                self._engine.runAndWait()
            with wave.open(str(path), "rb") as wav:
                rate_hz = wav.getframerate()
                raw = wav.readframes(wav.getnframes())
        except (OSError, RuntimeError, ValueError, wave.Error) as e:
            raise VoiceError(f"could not render a prompt with voice {voice!r}: {e}") from e
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
        pcm = to_int16(resample(samples[np.newaxis, :], rate_hz, SAMPLE_RATE_HZ))[0]
        pcm = trim_silence(pcm)
        self._cache[key] = pcm
        return pcm
