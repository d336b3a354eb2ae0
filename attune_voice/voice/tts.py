"""Offline text-to-speech (the sole pyttsx3 import): prompts rendered once to 16 kHz PCM."""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from attune_voice.audio.frames import Pcm
from attune_voice.audio.resample import resample, to_int16
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.errors import VoiceError

PROMPT_VOICE = "gmw/en-us+f2"
PROMPT_RATE_WPM = 160
ESPEAK_RATE_HZ = 22_050
"""espeak-ng always synthesises at this rate."""
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
        # espeak-ng's first utterance in a process is timed a little differently from
        # every later one (about 50 ms on a long sentence): say one and forget it.
        self._synthesize("Ready.", PROMPT_VOICE, PROMPT_RATE_WPM)

    def close(self) -> None:
        self._cache.clear()

    def __enter__(self) -> SpeechRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _synthesize(self, text: str, voice: str, rate_wpm: int) -> bytes:
        # pyttsx3's own save_to_file writes its WAV before appending the last chunk of
        # audio, so the end of each prompt is cut by a varying amount. Its espeak-ng
        # binding, driven here with a callback that keeps every chunk, is exact.
        from pyttsx3.drivers import _espeak

        chunks: list[bytes] = []

        def collect(wav: Any, sample_count: int, events: Any) -> int:
            if sample_count > 0:
                chunks.append(ctypes.string_at(wav, sample_count * 2))
            return 0

        _espeak.SetSynthCallback(collect)
        if _espeak.SetVoiceByName(voice.encode("utf-8")) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        _espeak.SetParameter(_espeak.RATE, rate_wpm, 0)
        data = text.encode("utf-8")
        # Not pyttsx3's Synth: it gives espeak-ng ten times the text's length as its size,
        # and espeak-ng copies that many bytes, reading past the end of the text; now and
        # then that runs off mapped memory and the process dies. The size counts the NUL
        # that ends every bytes object.
        flags = _espeak.ENDPAUSE | _espeak.CHARS_UTF8
        status = _espeak.cSynth(data, len(data) + 1, 0, _espeak.POS_CHARACTER, 0, flags, None, None)
        if status != 0:
            raise RuntimeError(f"espeak-ng refused the text (error {status})")
        _espeak.Synchronize()
        return b"".join(chunks)

    def voices(self) -> list[str]:
        return [str(v.id) for v in self._engine.getProperty("voices")]

    def render(self, text: str, voice: str = PROMPT_VOICE, rate_wpm: int = PROMPT_RATE_WPM) -> Pcm:
        """Mono 16 kHz int16 audio of ``text``, trimmed of silence at both ends."""
        key = (text, voice, rate_wpm)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            raw = self._synthesize(text, voice, rate_wpm)
        except (OSError, RuntimeError, ValueError, ctypes.ArgumentError) as e:
            raise VoiceError(f"could not render a prompt with voice {voice!r}: {e}") from e
        samples = np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0
        pcm = to_int16(resample(samples[np.newaxis, :], ESPEAK_RATE_HZ, SAMPLE_RATE_HZ))[0]
        pcm = trim_silence(pcm)
        self._cache[key] = pcm
        return pcm
