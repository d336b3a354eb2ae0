"""Whether a session may keep words: both partners' answers decide, silence means no.

At the start of ``run`` each partner is asked, by voice, whether the session may be
logged. Only two clear yeses keep everything that was asked for (transcripts included);
anything else — a no, an unclear answer, silence — keeps the timing alone: when each
partner spoke, for how long, turns and cues, and not one recognised word.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from attune_voice.compat import StrEnum
from attune_voice.events import Event, Prompt

QUESTION = (
    "{name}, may this session be logged? The words you say are kept only if you both"
    " say yes. Say yes or no."
)
"""Spoken to each partner in turn; ``{name}`` is their display name."""

KEY_HINT = "press Y for yes, N or Enter for no"
"""How to answer where no speech model is installed."""

ANSWER_WAIT_S = 8.0
"""How long each partner has to answer before silence counts as a no."""


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    SILENT = "silent"
    """No answer within ``ANSWER_WAIT_S``, or one that was neither yes nor no."""


class Logging(StrEnum):
    FULL = "full"
    """Everything the couple turned on, transcripts included."""
    TIMING_ONLY = "timing_only"
    """Times and turns only: no event that carries words is kept."""


_YES_WORDS = frozenset({"yes", "yeah", "yep", "yup", "sure", "okay", "ok", "agreed", "fine"})
_NO_WORDS = frozenset({"no", "nope", "nah", "don't", "dont", "not", "never", "stop"})
_YES_KEYS = frozenset({"y", "yes"})


def answer_from_words(text: str) -> Answer:
    """The answer in a recognised utterance; a no anywhere wins, so "yes, no" is no."""
    words = re.findall(r"[a-z']+", text.lower())
    if any(word in _NO_WORDS for word in words):
        return Answer.NO
    if any(word in _YES_WORDS for word in words):
        return Answer.YES
    return Answer.SILENT


def answer_from_key(key: str | None) -> Answer:
    """The answer from a key press (``None``: no key before the wait ran out).

    Only Y is yes: Enter, the clicker or any other key is no, so a partner who presses
    something by reflex never agrees by accident.
    """
    if key is None:
        return Answer.SILENT
    return Answer.YES if key.strip().lower() in _YES_KEYS else Answer.NO


def decide(answers: Iterable[Answer]) -> Logging:
    """Full logging only when there are answers and every one of them is yes."""
    given = list(answers)
    if given and all(answer is Answer.YES for answer in given):
        return Logging.FULL
    return Logging.TIMING_ONLY


def carries_words(event: Event) -> bool:
    """Whether ``event`` holds words a partner said (a transcript, a heard phrase).

    Decided by field names rather than a list of kinds, so a kind added later that
    holds ``text`` or ``words`` is kept out of a timing-only log without a change here.
    Prompts are the coach's own script, not anything a partner said.
    """
    if isinstance(event, Prompt):
        return False
    names = {f.name for f in dataclasses.fields(event)}
    return bool(names & {"text", "words", "heard"})


def timing_only(events: Iterable[Event]) -> list[Event]:
    """``events`` without any that carries a partner's words."""
    return [event for event in events if not carries_words(event)]
