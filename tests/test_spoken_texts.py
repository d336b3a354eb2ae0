"""Every built-in's spoken texts work by ear: one question a prompt, no half-sentences.

A listener cannot scroll back. Two questions in one prompt leave them answering one
and forgetting the other; a sentence that stops on "you felt." or "because." sounds
finished when it is not; a readiness or appreciation line said the same in every
exercise soon goes unheard.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest

from attune_voice.exercises.folders import builtin_names
from attune_voice.exercises.library import load_exercise
from attune_voice.exercises.model import Exercise, StepKind, Who, fill_question, says_question
from attune_voice.exercises.timing import split_long_says

HALF_SENTENCE = re.compile(r"\b(felt|because)\.|\bwhen,", re.IGNORECASE)


def spoken_texts(exercise: Exercise) -> Iterator[tuple[str, str]]:
    """(where, text) for every text the coach may say, with each bank question filled in."""
    steps = [*exercise.opening, *exercise.round, *exercise.closing]
    for step in split_long_says(steps):
        if step.kind is StepKind.SWAP:
            continue
        where = f"line {step.line}"
        if says_question(step.text):
            for question in exercise.questions or ("",):
                yield where, fill_question(step.text, question)
        else:
            yield where, step.text
    for field in dataclasses.fields(exercise.prompts):
        yield f"[prompts] {field.name}", getattr(exercise.prompts, field.name)


@pytest.mark.parametrize("name", builtin_names())
def test_one_question_per_prompt_and_no_half_sentences(name: str) -> None:
    problems = []
    for where, text in spoken_texts(load_exercise(name)):
        if text.count("?") > 1:
            problems.append(f"{where}: two questions in one prompt: {text}")
        if HALF_SENTENCE.search(text):
            problems.append(f"{where}: a sentence that sounds finished but is not: {text}")
    assert problems == []


def test_the_check_catches_what_it_should() -> None:
    assert HALF_SENTENCE.search("Reflect the feeling: it sounds like you felt.")
    assert HALF_SENTENCE.search("It makes sense, because. You do not have to agree.")
    assert HALF_SENTENCE.search("I felt, when, and what I need.")
    assert not HALF_SENTENCE.search("It sounds like you felt alone.")


def test_readiness_and_appreciation_lines_differ_between_exercises() -> None:
    exercises = [load_exercise(name) for name in builtin_names()]
    ready = [next(s.text for s in e.opening if s.kind is StepKind.READY) for e in exercises]
    assert len(set(ready)) == len(exercises)
    first_thanks = [
        next(s.text for s in e.closing if s.kind is StepKind.FLOOR and s.who is Who.PARTNER_A)
        for e in exercises
    ]
    assert len(set(first_thanks)) == len(exercises)


@pytest.mark.parametrize("name", builtin_names())
def test_every_built_in_asks_each_partner_whether_they_are_ready(name: str) -> None:
    assert load_exercise(name).opening[0].kind is StepKind.READY


CONFLICT = (
    "speaker-listener",
    "aftermath",
    "dreams-within-conflict",
    "non-defensive-listening",
    "tolerance",
)


@pytest.mark.parametrize("name", CONFLICT)
def test_every_conflict_exercise_says_early_how_to_stop(name: str) -> None:
    opening = " ".join(s.text for s in load_exercise(name).opening[:4])
    assert "time out" in opening and "press T" in opening
    assert "afraid" in opening and "counsellor on your own" in opening
