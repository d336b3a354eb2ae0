"""Asks both partners aloud, before a session starts, whether it may keep their words.

The question is put to each partner in turn (``partner_question`` asks it). A spoken
"yes" or "no" answers it where a speech model is installed; a key answers it anywhere
(Y is yes, any other key no). Silence for ``ANSWER_WAIT_S`` after the question is a no.
The outcome is said aloud without saying who said what, so nobody is put on the spot
in front of the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from attune_voice.audio.frames import DuplexAudio
from attune_voice.errors import AudioDeviceError
from attune_voice.session.consent import QUESTION, Logging, decide
from attune_voice.session.loop import Listens, fed_frames
from attune_voice.session.partner_question import (
    MAX_ANSWER_WORDS,
    NAME_HEARD_S,
    Given,
    PartnerQuestion,
    Phase,
)
from attune_voice.session.ports import Tick

__all__ = [
    "MAX_ANSWER_WORDS",
    "NAME_HEARD_S",
    "ConsentQuestion",
    "Given",
    "PartnerQuestion",
    "Phase",
    "ask_consent",
]

KEY_QUESTION = (
    "{name}, may this session be logged? The words you say are kept only if you both"
    " agree. Press Y for yes, or N for no."
)
"""The question where no speech model is installed: keys answer it."""
KEPT_TEXT = "Thank you. This session will be logged."
TIMING_ONLY_TEXT = "Thank you. Only the timing of this session will be kept, not the words."


class ConsentQuestion(PartnerQuestion):
    """Asks each partner, before the session starts, whether it may keep their words."""

    def question_text(self, name: str) -> str:
        return (QUESTION if self.spoken else KEY_QUESTION).format(name=name)

    def outcome_text(self) -> str:
        return KEPT_TEXT if self.logging is Logging.FULL else TIMING_ONLY_TEXT

    @property
    def logging(self) -> Logging:
        """What the session may keep: everything only after two yeses."""
        return decide(given.answer for given in self.given)


def ask_consent(
    audio: DuplexAudio,
    question: PartnerQuestion,
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
