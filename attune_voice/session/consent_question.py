"""Asks both partners aloud, before a session starts, whether it may keep their words.

The question is put to each partner in turn. A spoken "yes" or "no" answers it where a
speech model is installed; a key answers it anywhere (Y is yes, any other key no).
Silence for ``ANSWER_WAIT_S`` after the question is a no. The outcome is said aloud
without saying who said what, so nobody is put on the spot in front of the other.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from attune_voice.audio.frames import DuplexAudio
from attune_voice.errors import AudioDeviceError
from attune_voice.events import CommandWord, PromptMeaning
from attune_voice.session.consent import (
    ANSWER_WAIT_S,
    QUESTION,
    Answer,
    Logging,
    answer_from_key,
    answer_from_words,
    decide,
)
from attune_voice.session.loop import Listens, fed_frames
from attune_voice.session.ports import Command, EngineInput, Heard, KeyPress, PromptPlayer, Tick

KEY_QUESTION = (
    "{name}, may this session be logged? The words you say are kept only if you both"
    " agree. Press Y for yes, or N for no."
)
"""The question where no speech model is installed: keys answer it."""
KEPT_TEXT = "Thank you. This session will be logged."
TIMING_ONLY_TEXT = "Thank you. Only the timing of this session will be kept, not the words."

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


class ConsentQuestion:
    """Puts the question to each partner; one transition function, ``handle``.

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
        wait_s: float = ANSWER_WAIT_S,
    ) -> None:
        self.names = names
        self.player = player
        self.spoken = spoken
        """A speech model listens, so the question asks for a spoken yes or no."""
        self.wait_s = wait_s
        self.phase = Phase.START
        self.given: list[Given] = []
        self._busy_until_t = 0.0
        self._asked_t = 0.0
        """When the question to the partner being asked starts playing."""
        self._deadline_t = 0.0

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    @property
    def logging(self) -> Logging:
        """What the session may keep: everything only after two yeses."""
        return decide(given.answer for given in self.given)

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
        answer = answer_from_words(" ".join(word.w for word in inp.words))
        return None if answer is Answer.SILENT else answer

    def _say(self, t: float, text: str, meaning: PromptMeaning) -> float:
        start_t = max(t, self._busy_until_t)
        self._busy_until_t = start_t + self.player.say(text, meaning)
        return start_t

    def _ask(self, t: float) -> None:
        partner = self._partner
        question = QUESTION if self.spoken else KEY_QUESTION
        name = self.names["AB".index(partner)]
        meaning = PromptMeaning("consent", addressee=partner)
        self._asked_t = self._say(t, question.format(name=name), meaning)
        self.phase = Phase.ASKING

    def _answered(self, t: float, answer: Answer, by: str) -> None:
        self.given.append(Given(self._partner, answer, by))
        if len(self.given) < len(self.names):
            self._ask(t)
            return
        text = KEPT_TEXT if self.logging is Logging.FULL else TIMING_ONLY_TEXT
        self._say(t, text, PromptMeaning("closing"))
        self.phase = Phase.CLOSING


def ask_consent(
    audio: DuplexAudio,
    question: ConsentQuestion,
    listener: Listens,
    extra_keys: Callable[[], Iterable[str]] | None = None,
) -> int:
    """Run the question on the live audio until it is done.

    Returns the sample at which it ended: the session's clock starts there. Ctrl-C
    (KeyboardInterrupt) is left to the caller, as nothing has been recorded yet.
    """
    end_sample = 0
    end_t = 0.0
    for frame in fed_frames(audio, listener, question.handle, extra_keys):
        end_sample = frame.start_sample + int(frame.pcm.shape[-1])
        end_t = frame.end_t
        question.handle(Tick(end_t))
        if question.done:
            break
    else:
        raise AudioDeviceError(
            "the audio stopped before both partners had answered; nothing was recorded"
        )
    # Whatever was being said is finished here, so none of it reaches the session.
    listener.flush(end_t)
    return end_sample
