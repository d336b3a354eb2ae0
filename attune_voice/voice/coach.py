"""The coach's voice: the voices there are, the one chosen, and prompts at one loudness."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from attune_voice.audio.frames import Pcm
from attune_voice.errors import VoiceError
from attune_voice.voice import neural
from attune_voice.voice.loudness import normalised

if TYPE_CHECKING:
    from attune_voice.voice.tts import SpeechRenderer

ESPEAK = "espeak-ng"
"""The voice that always works: espeak-ng through pyttsx3."""
NEURAL = neural.BUNDLED_VOICE
"""The optional neural voice: hibari's bundled voice, "heart"."""
DEFAULT_VOICE = ESPEAK
ALIASES = {"neural": NEURAL, "espeak": ESPEAK, "default": ESPEAK}
"""Other names a person may reach for: ``ATTUNE_VOICE=neural`` is what the README says."""
VOICE_ENV = "ATTUNE_VOICE"
"""The voice for one command, over config.toml's (as ``scripts/demo`` passes it)."""


_NEEDS_DOWNLOAD = "needs a download, so it is not used: attune-voice stays offline"


@dataclass(frozen=True)
class VoiceEntry:
    """One voice as ``attune-voice voices`` lists it."""

    name: str
    description: str
    usable: bool
    """Installed and fully offline: it can be chosen."""
    note: str
    """Why it cannot be chosen and what to do, in one line; empty when it can."""


def known_voices() -> list[VoiceEntry]:
    """Every voice: espeak-ng, the neural voice (installed or how to install it), and
    hibari's other voices, which need a download and are never used."""
    entries = [VoiceEntry(ESPEAK, "espeak-ng, the voice that always works (robotic)", True, "")]
    found = neural.hibari_voices()
    if not found:
        entries.append(
            VoiceEntry(
                NEURAL,
                "a neural voice, American English, female (hibari)",
                False,
                f"not installed; install it with: {neural.INSTALL_HINT}",
            )
        )
    for voice in sorted(found, key=lambda v: not v.bundled):
        note = "" if voice.bundled else _NEEDS_DOWNLOAD
        entries.append(VoiceEntry(voice.name, voice.description, voice.bundled, note))
    return entries


def resolve(name: str) -> str:
    """The voice called ``name`` (an alias like "neural" too), if it can be used; else a
    VoiceError in one line saying why and what there is."""
    wanted = name.strip().lower()
    wanted = ALIASES.get(wanted, wanted)
    if wanted == ESPEAK:
        return ESPEAK  # always there: no need to look for hibari's voices
    for entry in known_voices():
        if entry.name == wanted:
            if not entry.usable:
                raise VoiceError(f"the voice {wanted!r}: {entry.note}")
            return entry.name
    there = ", ".join(e.name for e in known_voices() if e.usable)
    raise VoiceError(f"no voice called {name!r}; the voices here are {there}")


class CoachVoice:
    """Renders the coach's prompts in one voice, each brought to the same loudness.

    Both voices go through the same normalisation, so a prompt is never louder or softer
    than the one before it, and the chimes (``audio/chimes.py``) stay below every prompt.
    The espeak-ng voice shares the renderer that the demo's partners speak with.
    """

    def __init__(self, name: str, espeak: SpeechRenderer | None = None) -> None:
        """``name`` as ``resolve`` gives it; ``espeak`` is the renderer to share, if any."""
        self.name = name
        self._render: Callable[[str], Pcm]
        if name == ESPEAK:
            if espeak is None:
                from attune_voice.voice.tts import SpeechRenderer

                espeak = SpeechRenderer()
            self._render = espeak.render
        else:
            self._render = neural.NeuralVoice(name).render
        self._cache: dict[str, Pcm] = {}

    def render(self, text: str) -> Pcm:
        """Mono 16 kHz int16 audio of ``text`` at the prompts' loudness."""
        pcm = self._cache.get(text)
        if pcm is None:
            pcm = self._cache[text] = normalised(self._render(text))
        return pcm
