"""Offline speech recognition (the sole vosk import): commands, transcripts and word times.

A ``Recognizer`` is fed the same 16 kHz frames as the speech detector, with their
session time, and returns whole ``Utterance``s whose word times are on the session
clock. It never runs in the audio callback: the session loop feeds it on its own
thread. Commands are accepted only when they are the whole utterance, so "I can't
stop thinking about it" is never "stop". Where the model supports runtime grammars
(``graph/HCLr.fst`` with ``graph/Gr.fst``) the recogniser listens for the command
phrases alone, with ``[unk]`` for everything else; otherwise it decodes freely and the
same whole-utterance rule applies.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.errors import ModelError
from attune_voice.events import CommandWord, WordTime
from attune_voice.exercises.model import DEFAULT_HANDOVER
from attune_voice.listening.models import check_model

UNKNOWN_WORD = "[unk]"
DEFAULT_HANDOVER_PHRASES = DEFAULT_HANDOVER
"""Said at the end of a turn, they hand the floor over at once (an exercise may name
its own)."""

COMMAND_PHRASES: dict[str, CommandWord] = {
    "pause": CommandWord.PAUSE,
    "resume": CommandWord.RESUME,
    "repeat": CommandWord.REPEAT,
    "more time": CommandWord.MORE_TIME,
    "time out": CommandWord.TIME_OUT,
    "stop": CommandWord.STOP,
    "yes": CommandWord.YES,
    "no": CommandWord.NO,
    "not quite": CommandWord.NOT_QUITE,
}
"""Each phrase means its command only when it is all that was said."""


@dataclass(frozen=True)
class Utterance:
    """What was recognised between two pauses; word times in session seconds."""

    words: tuple[WordTime, ...]

    @property
    def text(self) -> str:
        return " ".join(word.w for word in self.words)

    @property
    def start_t(self) -> float:
        return self.words[0].start

    @property
    def end_t(self) -> float:
        return self.words[-1].end


def normalise(text: str) -> str:
    """Lower case, apostrophes kept, other punctuation and extra spaces gone."""
    text = text.lower().replace("\u2019", "'")  # a typographic apostrophe
    return " ".join(re.findall(r"[a-z0-9']+|\[unk\]", text))


class CommandParser:
    """Maps a whole utterance to a command; anything more or less is not one."""

    def __init__(self, handover_phrases: Iterable[str] = DEFAULT_HANDOVER_PHRASES) -> None:
        self._phrases: dict[str, CommandWord] = dict(COMMAND_PHRASES)
        for phrase in handover_phrases:
            cleaned = normalise(phrase)
            if cleaned:
                self._phrases.setdefault(cleaned, CommandWord.HANDOVER)

    @property
    def phrases(self) -> list[str]:
        """Every phrase that means something, for a runtime grammar."""
        return list(self._phrases)

    def parse(self, text: str) -> CommandWord | None:
        return self._phrases.get(normalise(text))


def grammar_supported(folder: Path) -> bool:
    """Runtime grammars need the lookahead graph (HCLr.fst and Gr.fst); libvosk decodes
    with HCLG.fst instead whenever there is one."""
    graph = folder / "graph"
    return (
        not (graph / "HCLG.fst").is_file()
        and (graph / "HCLr.fst").is_file()
        and (graph / "Gr.fst").is_file()
    )


class SpeechModel:
    """A vosk model loaded from a folder (am/, conf/, graph/)."""

    def __init__(self, path: Path) -> None:
        self.path = check_model(path)
        self.supports_grammar = grammar_supported(self.path)
        try:
            import vosk
        except ImportError as e:  # a broken install: vosk is a declared dependency
            raise ModelError(f"the vosk library cannot be imported: {e}") from e
        # libvosk logs every load and decode step to stderr; the CLI speaks for us.
        vosk.SetLogLevel(-1)
        with _native_stderr() as said:
            try:
                self.handle: Any = vosk.Model(str(self.path))
            except Exception as e:  # vosk raises a bare Exception("Failed to create a model")
                failed: Exception | None = e
            else:
                failed = None
        if failed is not None:
            why = _last_error("".join(said)) or str(failed)
            raise ModelError(f"the speech model in {self.path} cannot be loaded: {why}") from failed


@contextmanager
def _native_stderr() -> Iterator[list[str]]:
    """Catch what native code writes to file descriptor 2 (Kaldi prints its errors even
    when logging is off), so that a failure becomes one line of ours, not a stack of its.
    The yielded list holds the text once the block has ended."""
    text: list[str] = []
    with tempfile.TemporaryFile() as caught:
        saved = os.dup(2)
        os.dup2(caught.fileno(), 2)
        try:
            yield text
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            text.append(caught.read().decode("utf-8", "replace"))


def _last_error(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.startswith("ERROR"):
            # "ERROR (VoskAPI:Fn():file.cc:59) Reading FST: ..." → "Reading FST: ..."
            return line.split(") ", 1)[-1].strip() if ") " in line else line.strip()
    return ""


class Recognizer:
    """Streams 16 kHz int16 audio through vosk; returns utterances on the session clock.

    Audio may skip (the microphone is closed while a prompt plays): pass each block
    with its session time and the recogniser keeps its own stream clock aligned.
    """

    def __init__(self, model: SpeechModel, grammar: Sequence[str] | None = None) -> None:
        import vosk

        self.restricted = grammar is not None and model.supports_grammar
        """True when decoding only the grammar's phrases (and ``[unk]``)."""
        try:
            if self.restricted:
                assert grammar is not None
                phrases = json.dumps([*grammar, UNKNOWN_WORD])
                self._vosk: Any = vosk.KaldiRecognizer(model.handle, SAMPLE_RATE_HZ, phrases)
            else:
                self._vosk = vosk.KaldiRecognizer(model.handle, SAMPLE_RATE_HZ)
        except Exception as e:  # vosk raises a bare Exception on failure
            raise ModelError(f"the speech model in {model.path} cannot recognise: {e}") from e
        self._vosk.SetWords(True)
        self._fed = 0
        """Samples given to vosk: its own clock."""
        self._anchors: list[tuple[int, int]] = []
        """(vosk sample, session sample) where each stretch of contiguous audio began."""
        self._next_sample: int | None = None
        self._pending = False
        """Audio was fed since the last utterance ended."""

    def accept(self, pcm: Pcm, t: float) -> list[Utterance]:
        """Feed mono audio starting at session time ``t``; return finished utterances."""
        start = round(t * SAMPLE_RATE_HZ)
        if start != self._next_sample:
            self._anchors.append((self._fed, start))
        self._next_sample = start + len(pcm)
        self._fed += len(pcm)
        self._pending = True
        data = np.ascontiguousarray(pcm, dtype=np.int16).tobytes()
        if self._vosk.AcceptWaveform(data):
            return self._parse(self._vosk.Result())
        return []

    def finish(self) -> list[Utterance]:
        """End the utterance under way now (a pause, or the microphone closing)."""
        if not self._pending:
            return []
        self._pending = False
        return self._parse(self._vosk.FinalResult())

    def _parse(self, result_json: str) -> list[Utterance]:
        try:
            result = json.loads(result_json)
        except ValueError:
            return []
        items = result.get("result") or []
        if not items:
            return []
        # One offset per utterance: an utterance never straddles a skip in the audio,
        # because the session finishes it whenever the microphone closes.
        end_sample = round(float(items[-1]["end"]) * SAMPLE_RATE_HZ)
        offset_s = self._offset_s(end_sample)
        words = tuple(
            WordTime(
                str(item["word"]),
                round(float(item["start"]) + offset_s, 3),
                round(float(item["end"]) + offset_s, 3),
            )
            for item in items
        )
        return [Utterance(words)]

    def _offset_s(self, vosk_sample: int) -> float:
        fed_at, session_at = self._anchors[0] if self._anchors else (0, 0)
        for anchor in self._anchors:
            if anchor[0] < vosk_sample:
                fed_at, session_at = anchor
        return (session_at - fed_at) / SAMPLE_RATE_HZ


def mono(pcm: Pcm) -> Pcm:
    """One channel from (channels, samples): their mean; 1-D audio as it is."""
    if pcm.ndim == 1:
        return pcm
    if pcm.shape[0] == 1:
        return np.asarray(pcm[0], dtype=np.int16)
    mixed = pcm.astype(np.int32).sum(axis=0) // pcm.shape[0]
    return np.asarray(mixed, dtype=np.int16)


def transcribe_segments(
    pcm: Pcm,
    segments: Sequence[tuple[float, float]],
    model_path: Path,
    pad_s: float = 0.15,
) -> list[tuple[WordTime, ...]]:
    """The words of each (start_t, end_t) segment of a 16 kHz recording.

    Returns the recognised words of each segment, in the same order, with times on
    the recording's clock (``WordTime.to_json()`` gives ``{"w", "start", "end"}``); a
    segment where nothing was recognised gets none. Each segment is decoded on its own
    with a little audio around it. Raises ModelError when the model cannot be used.
    """
    recognizer = Recognizer(SpeechModel(model_path))
    audio = mono(pcm)
    total = len(audio)
    out: list[tuple[WordTime, ...]] = []
    for start_t, end_t in segments:
        first = max(0, int((start_t - pad_s) * SAMPLE_RATE_HZ))
        last = min(total, int((end_t + pad_s) * SAMPLE_RATE_HZ))
        words: list[WordTime] = []
        for utterance in recognizer.accept(audio[first:last], first / SAMPLE_RATE_HZ):
            words.extend(utterance.words)
        for utterance in recognizer.finish():
            words.extend(utterance.words)
        out.append(tuple(words))
    return out


__all__ = [
    "COMMAND_PHRASES",
    "DEFAULT_HANDOVER_PHRASES",
    "CommandParser",
    "Recognizer",
    "SpeechModel",
    "Utterance",
    "mono",
    "transcribe_segments",
]
