"""How long an exercise's texts take to say, and how long a whole session runs."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import replace

from attune_voice.exercises.model import Exercise, Step, StepKind, fill_question

__all__ = [
    "FLOOR_KINDS",
    "MAX_PROMPT_S",
    "SECONDS_PER_PAUSE",
    "SECONDS_PER_SENTENCE",
    "SECONDS_PER_WORD",
    "estimate_speech_s",
    "estimated_duration_s",
    "split_long_says",
    "split_sentences",
]

MAX_PROMPT_S = 25.0
"""The longest one spoken prompt should run; a longer ``say`` text is split at sentence ends."""
SECONDS_PER_WORD = 0.3
SECONDS_PER_PAUSE = 0.5
"""After a comma, colon or semicolon."""
SECONDS_PER_SENTENCE = 0.7
"""After a full stop, question mark or exclamation mark."""
# Fitted to the prompt voice on the built-in prompts (0.23 s a word, 0.5 s a pause,
# 0.7 s a sentence end), then rounded up so that an estimate errs long.
_PLACEHOLDER_WORDS = {"limit": 5.0, "remaining": 5.0, "handover": 3.0}
"""Words a placeholder counts as: "two minutes and thirty seconds", "press the button";
a name counts 1.5."""
FLOOR_KINDS = frozenset({StepKind.FLOOR, StepKind.PARAPHRASE, StepKind.CONFIRM, StepKind.MORE})
"""The kinds of step that give someone the floor, for a time limit."""


READY_S = 12.0
"""The readiness question to each partner by name and their answers, about."""


def estimate_speech_s(text: str, question: str = "") -> float:
    """About how long the prompt voice takes to say ``text`` once its placeholders are
    filled in (a name counts as 1.5 words, a duration as 5, ``{question}`` as ``question``)."""
    filled = fill_question(text, question)
    words = 0.0
    spoken: list[str] = []
    for token in re.split(r"(\{\{|\}\}|\{[^{}]*\})", filled):
        if token in ("{{", "}}"):
            continue
        if token.startswith("{") and token.endswith("}"):
            words += _PLACEHOLDER_WORDS.get(token[1:-1], 1.5)
        else:
            words += len(re.findall(r"\S*\w\S*", token))
            spoken.append(token)
    plain = "".join(spoken)
    pauses = len(re.findall(r"[,;:]", plain))
    sentences = len(re.findall(r"[.?!]+(?:\s|$)", plain))
    return words * SECONDS_PER_WORD + pauses * SECONDS_PER_PAUSE + sentences * SECONDS_PER_SENTENCE


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, split after each full stop, question or exclamation mark."""
    return [part for part in re.split(r"(?<=[.?!])\s+", text.strip()) if part]


def split_long_says(steps: Iterable[Step]) -> tuple[Step, ...]:
    """Each ``say`` step longer than ``MAX_PROMPT_S`` becomes consecutive say steps, split
    at sentence ends, each as long as fits; every part keeps the step's line."""
    result: list[Step] = []
    for step in steps:
        if step.kind is not StepKind.SAY or estimate_speech_s(step.text) <= MAX_PROMPT_S:
            result.append(step)
            continue
        part: list[str] = []
        for sentence in split_sentences(step.text):
            if part and estimate_speech_s(" ".join([*part, sentence])) > MAX_PROMPT_S:
                result.append(replace(step, text=" ".join(part)))
                part = []
            part.append(sentence)
        result.append(replace(step, text=" ".join(part)))
    return tuple(result)


def estimated_duration_s(exercise: Exercise) -> float:
    """About how long a session takes when every floor is used to its limit: the time to
    set aside for it."""
    total_s = 0.0
    pieces = 1
    """Pieces of the floor said in pieces last: its paraphrase, confirm and more steps
    come once a piece."""
    for _, step in exercise.unrolled():
        if step.kind is StepKind.SWAP:
            continue
        if step.kind is StepKind.FLOOR:
            total_s += estimate_speech_s(step.text) + exercise.floor_limit_s(step)
            pieces = 1
            if step.piece_s is not None:
                pieces = math.ceil(exercise.floor_limit_s(step) / step.piece_s)
                total_s += (pieces - 1) * estimate_speech_s(exercise.prompts.go_on)
            continue
        step_s = estimate_speech_s(step.text)
        if step.kind is StepKind.READY:
            step_s += READY_S + (step.limit_s or 0.0)
        if step.kind in FLOOR_KINDS:
            step_s += exercise.floor_limit_s(step)
        if step.kind is StepKind.CONFIRM:
            step_s += estimate_speech_s(exercise.prompts.confirmed)
        if step.kind in (StepKind.PARAPHRASE, StepKind.CONFIRM, StepKind.MORE):
            step_s *= pieces
        total_s += step_s
    return total_s
