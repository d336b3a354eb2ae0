"""Asks each partner by name whether they are ready to begin; silence is "not now"."""

from __future__ import annotations

from attune_voice.session.consent import Answer, answer_from_words
from attune_voice.session.partner_question import PartnerQuestion

SPOKEN_QUESTION = "{name}, are you ready to begin? Say yes, or not now."
KEY_QUESTION = "{name}, are you ready to begin? Press Y for yes, or N for not now."
READY_TEXT = "Thank you both. Let's begin."
NOT_NOW_TEXT = (
    "That's all right. Not now is a good answer too. "
    "Let's find another time, when you both have the room for it."
)
"""Said when either is not ready, without saying who: nobody is put on the spot."""

_READY_WORDS = frozenset({"ready", "go", "begin", "start"})


class ReadinessQuestion(PartnerQuestion):
    """Both partners ready: two yeses; a no, "not now" or silence ends the session kindly."""

    purpose = "ready"

    def question_text(self, name: str) -> str:
        return (SPOKEN_QUESTION if self.spoken else KEY_QUESTION).format(name=name)

    def outcome_text(self) -> str:
        return READY_TEXT if self.all_yes else NOT_NOW_TEXT

    def answer_in_words(self, text: str) -> Answer:
        answer = answer_from_words(text)
        if answer is Answer.SILENT and _READY_WORDS & set(text.lower().split()):
            return Answer.YES
        return answer


def readiness_texts(names: tuple[str, str], spoken: bool) -> list[str]:
    """Everything the readiness question may say, in order: for rendering ahead."""
    question = SPOKEN_QUESTION if spoken else KEY_QUESTION
    return [*(question.format(name=name) for name in names), READY_TEXT, NOT_NOW_TEXT]
