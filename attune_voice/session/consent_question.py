"""Asks both partners aloud, before a session starts, whether it may keep their words.

The question is put to each partner in turn (``partner_question`` asks it). A spoken
"yes" or "no" answers it where a speech model is installed; a key answers it anywhere
(Y is yes, any other key no). Silence for ``ANSWER_WAIT_S`` after the question is a no.
The outcome is said aloud without saying who said what, so nobody is put on the spot
in front of the other.

With one microphone, each partner's answer by voice is also the first moment they speak
alone, asked by name: ``AnswerVoices`` teaches it to the session's voice enrolment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from attune_voice.audio.frames import DuplexAudio
from attune_voice.errors import AudioDeviceError
from attune_voice.events import Event, Speech, SpeechKind
from attune_voice.session.consent import QUESTION, Logging, decide
from attune_voice.session.loop import Listens, fed_frames
from attune_voice.session.partner_question import (
    MAX_ANSWER_WORDS,
    NAME_HEARD_S,
    Given,
    PartnerQuestion,
    Phase,
)
from attune_voice.session.ports import EngineInput, SpeechSegment, Tick

__all__ = [
    "MAX_ANSWER_WORDS",
    "NAME_HEARD_S",
    "AnswerVoices",
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


class AnswerVoices:
    """Speech heard while a partner is asked, taught as theirs once they answer by voice.

    ``teach`` is the voice enrolment's ``learn``: each answer reaches it as the asked
    partner's own speech. Speech after the answer (and ``wait_s`` past it) is the next
    partner's, or nobody's; an answer by key or silence teaches nothing, as the speech
    heard meanwhile may be anyone's.
    """

    wait_s = 1.0
    """Speech ending this soon after an answer was understood is that answer."""

    def __init__(self, question: PartnerQuestion, teach: Callable[[Event], None]) -> None:
        self.question = question
        self._teach = teach
        self._heard: list[tuple[int, SpeechSegment]] = []
        """(how many had answered, segment) of the speech heard so far."""

    def handle(self, inp: EngineInput) -> None:
        """Pass ``inp`` to the question, and teach the answers it took by voice."""
        asked = len(self.question.given)
        self.question.handle(inp)
        given = self.question.given
        if isinstance(inp, SpeechSegment):
            last = given[asked - 1] if asked else None
            if last is not None and last.by == "voice" and inp.end_t <= last.t + self.wait_s:
                # It ended just after the answer was understood: it is that answer.
                self._taught(last.partner, inp)
            else:
                self._heard.append((asked, inp))
        for k in range(asked, len(given)):
            if given[k].by == "voice":
                for at, seg in self._heard:
                    if at == k:
                        self._taught(given[k].partner, seg)
        self._heard = [(at, seg) for at, seg in self._heard if at >= len(given)]

    def _taught(self, partner: str, seg: SpeechSegment) -> None:
        self._teach(Speech(seg.start_t, seg.end_t, partner, SpeechKind.TURN, "floor"))


def ask_consent(
    audio: DuplexAudio,
    question: PartnerQuestion,
    listener: Listens,
    extra_keys: Callable[[], Iterable[str]] | None = None,
    teach: Callable[[Event], None] | None = None,
) -> int:
    """Run the question on the live audio until it is done.

    Returns the sample at which it ended: the session's clock starts there. Ctrl-C
    (KeyboardInterrupt) is left to the caller, as nothing has been recorded yet. With
    ``teach`` (a voice enrolment's ``learn``), answers by voice teach it who spoke.
    """
    end_sample = 0
    end_t = 0.0
    handle = question.handle if teach is None else AnswerVoices(question, teach).handle
    for frame in fed_frames(audio, listener, handle, extra_keys):
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
