"""Builds the demo: two simulated partners with their own voices in a simulated room."""

from __future__ import annotations

from dataclasses import replace

from attune_voice.config import RoomConfig
from attune_voice.exercises.model import Exercise, StepKind
from attune_voice.simulated.partners import LINES, VOICES, PartnerVoice
from attune_voice.simulated.room import SimulatedRoom
from attune_voice.voice.tts import SpeechRenderer

DEMO_NAMES = ("Sam", "Alex")

_PROMPTS_PER_ROUND_S = 40.0
"""Roughly what the prompts, paraphrases and answers of one round take beside the floors."""
_OPENING_CLOSING_S = 75.0


def partner_voices(renderer: SpeechRenderer) -> dict[str, PartnerVoice]:
    """Render every line of both partners once, each in their own voice."""
    voices: dict[str, PartnerVoice] = {}
    for partner, categories in LINES.items():
        voice, rate_wpm = VOICES[partner]
        voices[partner] = PartnerVoice(
            {
                category: [renderer.render(text, voice, rate_wpm) for text in texts]
                for category, texts in categories.items()
            }
        )
    return voices


def build_room(renderer: SpeechRenderer, config: RoomConfig) -> SimulatedRoom:
    return SimulatedRoom(partner_voices(renderer), config)


def fit_to_minutes(exercise: Exercise, minutes: float, limit_fixed: bool) -> Exercise:
    """Scale the exercise so a simulated session lasts about ``minutes``.

    The floor limit grows or shrinks; when the limit was set explicitly, the number of
    rounds changes instead. Simulated partners use 45-115% of their floor, so the
    estimate counts each speaking floor at 80% of its limit.
    """
    floors_per_round = sum(1 for step in exercise.round if step.kind is StepKind.FLOOR) or 1
    paraphrase_s = exercise.paraphrase_limit_s * 0.5
    per_floor_extra_s = paraphrase_s + _PROMPTS_PER_ROUND_S / floors_per_round
    budget_s = max(60.0, minutes * 60.0 - _OPENING_CLOSING_S)
    if limit_fixed:
        per_round_s = floors_per_round * (0.8 * exercise.limit_s + per_floor_extra_s)
        return replace(exercise, rounds=max(1, round(budget_s / per_round_s)))
    per_floor_s = budget_s / (exercise.rounds * floors_per_round)
    limit_s = max(30.0, (per_floor_s - per_floor_extra_s) / 0.8)
    return exercise.with_overrides(limit_s=round(limit_s / 5.0) * 5.0, rounds=None)
