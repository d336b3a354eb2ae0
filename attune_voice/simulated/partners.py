"""The two simulated partners of the demo: what they say and how they behave.

Each partner reacts to the prompts it hears the way people do in this exercise:
a short delay before speaking, several sentences with thinking pauses, a hand-over
by the clicker (or silence, answered by the coach's check-in), the odd backchannel
or interruption while the other holds the floor, and a tendency to run over time.

When the session understands speech (``voice_commands``), they hand over by saying
so ("I'm done", "over to you") instead of the clicker, answer the confirmation with a
plain "yes" or "not quite", and answer the coach's questions about pausing and
stopping ("resume", "no"): the whole spoken protocol, in words a small model knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from attune_voice.audio.frames import Pcm
from attune_voice.events import FloorRole, PromptMeaning

_SPOKEN_PROTOCOL: dict[str, tuple[str, ...]] = {
    "handover": ("I'm done.", "Over to you.", "That's all."),
    "say_yes": ("Yes.",),
    "say_ready": ("Yes.",),
    "say_not_quite": ("Not quite.",),
    "say_resume": ("Resume.",),
    "say_no": ("No.",),
    "say_more": ("Yes.",),
    "say_no_more": ("No.",),
}
"""What the partners say to the coach when it understands speech: whole utterances."""

LINES: dict[str, dict[str, tuple[str, ...]]] = {
    "A": {
        "share": (
            "When I came home on Tuesday, I felt tired and a bit invisible.",
            "I think I wanted someone to ask me how my day went.",
            "It is not that you did anything wrong.",
            "I just noticed that I went quiet, and I stayed quiet all evening.",
            "What I need, I think, is a few minutes together when we get home.",
            "I felt a little lonely, even though we were in the same room.",
            "Work has been heavy lately, and I carry it home with me.",
            "I would love it if we could take a short walk after dinner.",
            "When that happens, I start to tell myself a story that I do not matter.",
            "I know that story is not true, but it is how it feels.",
            "I miss the way we used to talk on the sofa.",
            "It helps me when you put your phone away for a moment.",
        ),
        "paraphrase": (
            "What I heard is that work has been really stressful for you.",
            "You felt alone with it, and you wanted me to notice.",
            "And you would like us to have some quiet time together in the evening.",
            "Did I get that right?",
        ),
        "yes": ("Yes, that is it.", "Yes. Thank you.", "Yes, you got it."),
        "not_quite": ("Not quite.", "Not quite, almost."),
        "more": ("Yes, there is.", "Yes."),
        "validate": (
            "That makes sense to me, because you carry a lot, and you carry it alone.",
            "I imagine you feel tired, and a little unseen.",
        ),
        "no_more": ("No, that's it.", "No."),
        "clarify": (
            "It was less about the dishes, and more about feeling like a team.",
            "I wanted you to know that I was overwhelmed.",
        ),
        "backchannel": ("Mm-hm.", "Yeah.", "Okay.", "Right."),
        # Said in one breath: over the speaker's louder voice, a pause inside an
        # interruption is lost on the interrupter's channel and splits it there.
        "interrupt": (
            "I see that very differently though.",
            "But I did ask you about your day that evening.",
        ),
        "appreciate": (
            "I appreciate that you listened to me tonight.",
            "Thank you for staying with it, even when it was hard.",
        ),
        **_SPOKEN_PROTOCOL,
    },
    "B": {
        "share": (
            "Lately I have been worried about money, and I keep it to myself.",
            "I felt overwhelmed last weekend with everything on the list.",
            "I think I wanted us to plan it together, as a team.",
            "When I feel rushed, I get short with you, and I do not like that.",
            "I would feel calmer if we sat down once a week to talk about the week ahead.",
            "I love our Sunday mornings, and I want more of those.",
            "Sometimes I worry that I am letting you down.",
            "It means a lot to me when you say thank you for the small things.",
            "I feel closer to you when we laugh together.",
            "I think I need a bit of time on my own after work, and then I can be with you.",
            "That is hard for me to say out loud.",
            "I noticed I was holding my breath while I said that.",
        ),
        "paraphrase": (
            "So what I heard is that you have been carrying worries on your own.",
            "You felt overwhelmed, and you want us to plan things together.",
            "And the small thank yous matter to you.",
            "Is that right?",
        ),
        "yes": ("Yes.", "Yes, that is right.", "Yes, exactly."),
        "not_quite": ("Not quite.", "Not quite, nearly."),
        "more": ("Yes.", "Yes, a little."),
        "validate": (
            "That makes sense, because you wanted us to be close again.",
            "I imagine you feel lonely, and hopeful too.",
        ),
        "no_more": ("No.", "No, that is all."),
        "clarify": (
            "It is not that you do too little. It is that I feel alone with the planning.",
            "I meant that I need a little quiet time first.",
        ),
        "backchannel": ("Mm-hm.", "Yes.", "I see.", "Okay."),
        "interrupt": (
            "That is not how I remember it at all.",
            "But I thought we had agreed on that already.",
        ),
        "appreciate": (
            "I appreciate how honest you were.",
            "Thank you for hearing me out.",
        ),
        **_SPOKEN_PROTOCOL,
    },
}

_ANSWERS = {
    "paused": "say_resume",
    "come_back": "say_resume",
    "confirm_stop": "say_no",
    "consent": "say_yes",
    "ready": "say_ready",
}
"""The coach's questions the partners answer, and how."""

_KEY_ANSWERS = {"ready": "key:y", "consent": "key:y"}
"""The coach's questions answered by key without a speech model, and the key."""

VOICES = {"A": ("gmw/en-us+m3", 168), "B": ("gmw/en-gb-x-rp+f4", 176)}
"""espeak-ng voice and rate (words per minute) for each partner."""


@dataclass
class PartnerVoice:
    """One partner's rendered lines, by category, at their speaking level."""

    lines: dict[str, list[Pcm]]


@dataclass(frozen=True)
class Plan:
    """One thing a partner will do: speak ``pcm`` or press the clicker at ``sample``."""

    partner: str
    sample: int
    kind: str
    """A line category (share, paraphrase, …) or "key" for a clicker press."""
    pcm: Pcm | None = None


@dataclass
class Behaviour:
    """Decides what both partners do after each prompt; randomness from one seed."""

    rng: np.random.Generator
    voices: dict[str, PartnerVoice]
    rate_hz: int
    voice_commands: bool = False
    """Hand over and answer by voice (the session understands speech)."""
    _last_line: dict[tuple[str, str], int] = field(default_factory=dict)
    _heard: str | None = None
    """The speaker last asked "is there more?": the other's next floor in the round
    (not said in pieces) answers what they heard, with validation and empathy."""
    _pieces: dict[str, int] = field(default_factory=dict)
    """Pieces each partner has said of the floor they hold: the more said, the likelier
    "no" is the answer to "is there more?"."""

    def _line(self, partner: str, category: str) -> Pcm:
        options = self.voices[partner].lines[category]
        choice = int(self.rng.integers(len(options)))
        if len(options) > 1 and self._last_line.get((partner, category)) == choice:
            choice = (choice + 1) % len(options)
        self._last_line[(partner, category)] = choice
        return options[choice]

    def _seconds(self, low_s: float, high_s: float) -> int:
        return int(self.rng.uniform(low_s, high_s) * self.rate_hz)

    def _hand_over(self, partner: str, sample: int) -> Plan:
        """The clicker, or the words when the session understands them."""
        if self.voice_commands:
            return Plan(partner, sample, "handover", self._line(partner, "handover"))
        return Plan(partner, sample, "key")

    def react(self, meaning: PromptMeaning, end_sample: int) -> list[Plan]:
        """The partners' plans after a prompt that finishes at ``end_sample``."""
        partner = meaning.addressee
        if meaning.purpose == "floor" and partner is not None and meaning.role is not None:
            return self._take_floor(partner, meaning, end_sample)
        if meaning.purpose == "check_in" and partner is not None:
            plans: list[Plan] = []
            sample = end_sample + self._seconds(0.4, 1.2)
            if self.rng.random() < 0.4:
                pcm = self._line(partner, "share")
                plans.append(Plan(partner, sample, "share", pcm))
                sample += len(pcm) + self._seconds(0.5, 1.0)
            plans.append(self._hand_over(partner, sample))
            return plans
        if meaning.purpose in _KEY_ANSWERS and not self.voice_commands:
            # Without a speech model the partners answer the coach's questions by key.
            answerer = partner or "A"
            sample = end_sample + self._seconds(0.8, 2.0)
            return [Plan(answerer, sample, _KEY_ANSWERS[meaning.purpose])]
        if self.voice_commands and meaning.purpose in _ANSWERS:
            # Nobody in the demo wants to stop or stay paused: a heard "stop" or
            # "pause" there is the recogniser's mistake, and the partners say so.
            answerer = partner or "A"
            category = _ANSWERS[meaning.purpose]
            sample = end_sample + self._seconds(0.8, 2.0)
            return [Plan(answerer, sample, category, self._line(answerer, category))]
        return []

    def _take_floor(self, partner: str, meaning: PromptMeaning, end_sample: int) -> list[Plan]:
        role = meaning.role
        sample = end_sample + self._seconds(0.2, 1.5)
        plans: list[Plan] = []
        if role is FloorRole.MORE:
            self._heard = partner
            return self._more(partner, sample)
        if meaning.pieced:
            self._heard = None
        if role is FloorRole.SPEAK:
            self._pieces[partner] = 1
        elif role is FloorRole.CONTINUE:
            self._pieces[partner] = self._pieces.get(partner, 1) + 1
        if role is FloorRole.CONFIRM:
            category = "yes" if self.rng.random() < 0.75 else "not_quite"
            if self.voice_commands:
                category = f"say_{category}"
            pcm = self._line(partner, category)
            plans.append(Plan(partner, sample, category, pcm))
            if not self.voice_commands:
                # Nobody understands the words: the answer is given by key as well.
                key = "key:y" if category == "yes" else "key:n"
                plans.append(Plan(partner, sample + len(pcm) + self._seconds(0.3, 0.8), key))
            return plans
        if role is FloorRole.PARAPHRASE:
            categories = ["paraphrase"] * int(self.rng.integers(2, 4))
        elif role is FloorRole.CLARIFY:
            categories = ["clarify"]
        elif meaning.round == 0:
            categories = ["appreciate"]
        elif role is FloorRole.SPEAK and self._heard not in (None, partner):
            categories = ["validate"]
        else:
            # People rarely fill the floor exactly; some run over.
            target = meaning.limit_s * self.rng.uniform(0.45, 1.15) * self.rate_hz
            categories = []
            planned = 0
            while planned < target:
                categories.append("share")
                planned += int(self.rate_hz * 4.5)
        gaps: list[tuple[int, int]] = []
        for number, category in enumerate(categories):
            pcm = self._line(partner, category)
            plans.append(Plan(partner, sample, category, pcm))
            sample += len(pcm)
            if number < len(categories) - 1:
                pause = (
                    self._seconds(2.0, 3.2) if self.rng.random() < 0.1 else self._seconds(0.35, 1.6)
                )
                gaps.append((sample, pause))
                sample += pause
        if role in (FloorRole.SPEAK, FloorRole.CONTINUE) and meaning.round > 0:
            plans.extend(self._listener_reactions(partner, plans, gaps))
        if self.rng.random() < 0.7:
            plans.append(self._hand_over(partner, sample + self._seconds(0.4, 1.2)))
        return plans

    def _more(self, partner: str, sample: int) -> list[Plan]:
        """Is there more? Usually yes after the first piece, seldom after the third."""
        said = self._pieces.get(partner, 1)
        more = self.rng.random() < {1: 0.8, 2: 0.5}.get(said, 0.15)
        if self.voice_commands:
            category = "say_more" if more else "say_no_more"
            return [Plan(partner, sample, category, self._line(partner, category))]
        # Nobody understands the words: the answer is given by key as well.
        category = "more" if more else "no_more"
        pcm = self._line(partner, category)
        key = "key:y" if more else "key:n"
        return [
            Plan(partner, sample, category, pcm),
            Plan(partner, sample + len(pcm) + self._seconds(0.3, 0.8), key),
        ]

    def _listener_reactions(
        self, speaker: str, spoken: list[Plan], gaps: list[tuple[int, int]]
    ) -> list[Plan]:
        listener = "B" if speaker == "A" else "A"
        plans = []
        for gap_start, gap_samples in gaps:
            if gap_samples > 0.9 * self.rate_hz and self.rng.random() < 0.3:
                pcm = self._line(listener, "backchannel")
                if len(pcm) < gap_samples - 0.3 * self.rate_hz:
                    start = gap_start + self._seconds(0.1, 0.25)
                    plans.append(Plan(listener, start, "backchannel", pcm))
        if len(spoken) > 2 and self.rng.random() < 0.45:
            target = spoken[int(self.rng.integers(1, len(spoken) - 1))]
            assert target.pcm is not None
            start = target.sample + len(target.pcm) // 2
            plans.append(Plan(listener, start, "interrupt", self._line(listener, "interrupt")))
        return plans
