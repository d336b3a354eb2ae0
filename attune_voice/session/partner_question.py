"""Asks both partners aloud, one by name after the other, and waits for each answer.

``PartnerQuestion`` is the machinery: voice or key, silence for ``ANSWER_WAIT_S`` counts
as no. ``consent_question`` asks whether a session may keep its words, before it
starts; ``readiness`` asks, inside the session, whether both are ready to begin.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from attune_voice.events import CommandWord, Prompt, PromptMeaning
from attune_voice.session.consent import (
    ANSWER_WAIT_S,
    Answer,
    Logging,
    answer_from_key,
    answer_from_words,
    decide,
)
from attune_voice.session.ports import Command, EngineInput, Heard, KeyPress, PromptPlayer, Tick

NAME_HEARD_S = 1.0
"""Keys count this long after a partner's question begins: once they have heard their
name, so a key meant for the partner before is not taken as theirs."""
MAX_ANSWER_WORDS = 3
"""A transcript this short or shorter may be an answer ("yes", "no thanks", "okay fine")."""

_WORD_ANSWERS = {CommandWord.YES: Answer.YES, CommandWord.NO: Answer.NO}


class Phase(enum.Enum):
    START = "start"
    ASKING = "asking"
    LISTENING = "listening"
    CLOSING = "closing"
    DONE = "done"


@dataclass(frozen=True)
class Given:
    """One partner's answer and how it came."""

    partner: str
    """ "A" or "B"."""
    answer: Answer
    by: str
    """ "voice", "key" or "silence"."""
    t: float = field(default=0.0, compare=False)
    """When the answer came (the question's clock)."""


class PartnerQuestion:
    """Puts a question to each partner; one transition function, ``handle``.

    ::

        START --Tick: ask A--> ASKING
        ASKING --Tick past the question--> LISTENING (until wait_s after it)
        ASKING/LISTENING --KeyPress once the partner has heard their name--> (answered)
        LISTENING --yes/no from the asked partner (or from the one microphone)--> (answered)
        LISTENING --Tick past the wait--> (answered: silent)
        (answered) --B not asked yet: ask B--> ASKING
                   --both asked: say the outcome--> CLOSING
        CLOSING --Tick past the outcome--> DONE

    A key pressed while the question plays answers it (the partner knew the answer),
    but only from ``NAME_HEARD_S`` into it. With one microphone, or with the keys, the
    answer heard while a partner is asked is taken as theirs: the coach cannot tell
    voices apart there, and the couple sit together answering in turn.
    Spoken answers are heard only once the question has finished, as the microphone is
    closed while the coach speaks. Time is the audio's own clock.
    """

    def __init__(
        self,
        names: tuple[str, str],
        player: PromptPlayer,
        spoken: bool,
        wait_s: float | None = None,
        *,
        start_t: float = 0.0,
        log_prompt: Callable[[Prompt], None] | None = None,
    ) -> None:
        self.names = names
        self.player = player
        self.spoken = spoken
        """A speech model listens, so the question asks for a spoken yes or no."""
        self.wait_s = ANSWER_WAIT_S if wait_s is None else wait_s
        """How long each partner has to answer (``ANSWER_WAIT_S`` unless the step sets it)."""
        self.phase = Phase.START
        self.given: list[Given] = []
        self._busy_until_t = start_t
        """When the prompts queued so far finish: nothing is said before ``start_t``."""
        self._log_prompt = log_prompt
        """Where each prompt said is logged, when the question runs inside a session."""
        self._asked_t = 0.0
        """When the question to the partner being asked starts playing."""
        self._deadline_t = 0.0

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    @property
    def busy_until_t(self) -> float:
        """When the prompts the question queued finish playing."""
        return self._busy_until_t

    @property
    def all_yes(self) -> bool:
        """Both partners answered yes (silence and anything unclear count as no)."""
        return decide(given.answer for given in self.given) is Logging.FULL

    purpose = "consent"
    """The prompts' purpose, for listeners that understand it."""

    def question_text(self, name: str) -> str:
        """The question put to the partner called ``name``."""
        raise NotImplementedError

    def outcome_text(self) -> str:
        """What is said once both have answered, without saying who said what."""
        raise NotImplementedError

    def answer_in_words(self, text: str) -> Answer:
        """The answer in a short recognised utterance."""
        return answer_from_words(text)

    @property
    def _partner(self) -> str:
        return "AB"[len(self.given)]

    def handle(self, inp: EngineInput) -> None:
        """The one transition function (see the class docstring)."""
        if self.phase is Phase.DONE:
            return
        if isinstance(inp, Tick):
            self._tick(inp.t)
        elif self.phase in (Phase.ASKING, Phase.LISTENING):
            if isinstance(inp, KeyPress):
                # A key before this partner has heard their own name was meant for the
                # last question (a double press, Y then Enter), not for this one.
                if inp.t >= self._asked_t + NAME_HEARD_S:
                    self._answered(inp.t, answer_from_key(inp.key), "key")
            elif self.phase is Phase.LISTENING and isinstance(inp, (Command, Heard)):
                answer = self._spoken_answer(inp)
                if answer is not None:
                    self._answered(inp.t, answer, "voice")

    def _tick(self, t: float) -> None:
        if self.phase is Phase.START:
            self._ask(t)
        elif self.phase is Phase.ASKING and t >= self._busy_until_t:
            self.phase = Phase.LISTENING
            self._deadline_t = self._busy_until_t + self.wait_s
        elif self.phase is Phase.LISTENING and t >= self._deadline_t:
            self._answered(t, Answer.SILENT, "silence")
        elif self.phase is Phase.CLOSING and t >= self._busy_until_t:
            self.phase = Phase.DONE

    def _spoken_answer(self, inp: Command | Heard) -> Answer | None:
        # With a microphone per partner only the asked partner answers for themselves.
        if inp.partner not in (None, self._partner):
            return None
        if isinstance(inp, Command):
            return _WORD_ANSWERS.get(inp.word)
        # Only a short answer is one: "okay, what does logged mean?" is a question back.
        if len(inp.words) > MAX_ANSWER_WORDS:
            return None
        answer = self.answer_in_words(" ".join(word.w for word in inp.words))
        return None if answer is Answer.SILENT else answer

    def _say(self, t: float, text: str, meaning: PromptMeaning) -> float:
        start_t = max(t, self._busy_until_t)
        self._busy_until_t = start_t + self.player.say(text, meaning)
        if self._log_prompt is not None:
            self._log_prompt(
                Prompt(start_t, end_t=self._busy_until_t, text=text, purpose=meaning.purpose)
            )
        return start_t

    def _ask(self, t: float) -> None:
        partner = self._partner
        name = self.names["AB".index(partner)]
        meaning = PromptMeaning(self.purpose, addressee=partner)
        self._asked_t = self._say(t, self.question_text(name), meaning)
        self.phase = Phase.ASKING

    def _answered(self, t: float, answer: Answer, by: str) -> None:
        self.given.append(Given(self._partner, answer, by, t))
        if len(self.given) < len(self.names):
            self._ask(t)
            return
        self._say(t, self.outcome_text(), PromptMeaning("closing"))
        self.phase = Phase.CLOSING
