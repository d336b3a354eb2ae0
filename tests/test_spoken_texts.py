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

HALF_SENTENCE = re.compile(r"\b(felt|because|if|about|the)\.|\bwhen,", re.IGNORECASE)


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
    assert HALF_SENTENCE.search("Then offer a guess, beginning: I wonder if.")
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
    "softened-start-up",
    "repair-attempts",
    "four-horsemen",
    "state-of-the-union",
)


@pytest.mark.parametrize("name", CONFLICT)
def test_every_conflict_exercise_says_early_how_to_stop(name: str) -> None:
    opening = " ".join(s.text for s in load_exercise(name).opening[:4])
    assert "time out" in opening and "press T" in opening
    assert "afraid" in opening and "counsellor on your own" in opening


def spoken(name: str, block: str = "round") -> list[str]:
    return [s.text for s in getattr(load_exercise(name), block) if s.kind is not StepKind.SWAP]


def test_turning_toward_practises_a_bid_of_a_line_or_two() -> None:
    exercise = load_exercise("turning-toward")
    bids = [s for s in exercise.round if s.kind is StepKind.FLOOR and "bid" in s.text]
    assert bids and all(exercise.floor_limit_s(s) <= 20.0 for s in bids if s.who is Who.SPEAKER)


def test_non_defensive_listening_hears_one_complaint_and_none_back() -> None:
    exercise = load_exercise("non-defensive-listening")
    assert exercise.rounds == 1
    assert all(s.kind is not StepKind.SWAP for s in exercise.round)
    assert sum("complaint" in s.text for s in exercise.round if s.who is Who.SPEAKER) == 1


def test_stress_reducing_is_a_conversation_with_the_listener_on_side() -> None:
    exercise = load_exercise("stress-reducing-conversation")
    floors = [s for s in exercise.round if s.kind is StepKind.FLOOR]
    assert max(exercise.floor_limit_s(s) for s in floors) <= 90.0
    listener = " ".join(s.text for s in floors if s.who is Who.LISTENER)
    assert "ask" in listener and "so unfair" in listener


def test_aftermath_asks_what_you_could_do_before_what_they_could_and_receives_sorry() -> None:
    texts = spoken("aftermath")
    mine = next(i for i, t in enumerate(texts) if "thing you could do next time" in t)
    theirs = next(i for i, t in enumerate(texts) if "thing {listener} could do" in t)
    assert mine < theirs
    assert any("apology" in t and t.startswith("{listener}") for t in texts)


def test_dreams_within_conflict_offers_the_dream_questions() -> None:
    texts = " ".join(spoken("dreams-within-conflict"))
    for question in (
        "what do you believe about this?",
        "is there a story behind this, from your past?",
        "what would be your ideal dream here?",
    ):
        assert texts.count(question) == 2, question


def test_awareness_frames_the_guess_as_i_wonder_if() -> None:
    paraphrases = [
        s.text for s in load_exercise("awareness").round if s.kind is StepKind.PARAPHRASE
    ]
    assert paraphrases and all("I wonder if" in t for t in paraphrases)


def test_understanding_gives_example_open_questions_aloud() -> None:
    examples = [t for t in spoken("understanding", "opening") + spoken("understanding") if "?" in t]
    assert len({t.split(":")[-1] for t in examples if ":" in t}) >= 2


@pytest.mark.parametrize("name", builtin_names())
def test_bank_questions_are_asked_by_the_coach(name: str) -> None:
    for question in load_exercise(name).questions:
        assert not re.search(r"\btell me\b|\bI may not\b", question, re.IGNORECASE), question
