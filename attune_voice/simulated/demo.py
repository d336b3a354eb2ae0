"""Builds the demo: two simulated partners with their own voices in a simulated room."""

from __future__ import annotations

from dataclasses import replace

from attune_voice.bounds import FLOOR_LIMIT_S, ROUNDS
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


_SHORTEST_FIT_LIMIT_S = 30.0
"""Floors are never shrunk below this to fit ``--minutes``: a simulated turn needs it."""

_FIT_TOLERANCE = 0.25
"""How far (as a share of the time asked for) a fitted session may miss it before the
fit is refused; at least a minute and a half either way is always within it."""


def estimated_demo_s(exercise: Exercise) -> float:
    """About how long the simulated couple takes over ``exercise``: each speaking floor
    at 80% of its limit (they use 45-115% of it), plus the prompts and paraphrases."""
    floors_per_round = sum(1 for step in exercise.round if step.kind is StepKind.FLOOR) or 1
    per_floor_s = 0.8 * exercise.limit_s + _per_floor_extra_s(exercise, floors_per_round)
    return _OPENING_CLOSING_S + exercise.rounds * floors_per_round * per_floor_s


def _per_floor_extra_s(exercise: Exercise, floors_per_round: int) -> float:
    return exercise.paraphrase_limit_s * 0.5 + _PROMPTS_PER_ROUND_S / floors_per_round


def fit_to_minutes(
    exercise: Exercise, minutes: float, *, limit_fixed: bool, rounds_fixed: bool = False
) -> Exercise:
    """Scale the exercise so a simulated session lasts about ``minutes``.

    The floor limit grows or shrinks; when the limit was set explicitly, the number of
    rounds changes instead (within ``ROUNDS``). Raises ``ValueError`` saying why when the
    exercise cannot come near ``minutes`` that way (both fixed, or too short or too long
    a time for it), rather than quietly running something else.
    """
    if limit_fixed and rounds_fixed:
        raise ValueError(
            "with both --limit and --rounds set there is nothing left to fit to the time;"
            " leave one of them out"
        )
    target_s = minutes * 60.0
    floors_per_round = sum(1 for step in exercise.round if step.kind is StepKind.FLOOR) or 1
    per_floor_extra_s = _per_floor_extra_s(exercise, floors_per_round)
    budget_s = max(0.0, target_s - _OPENING_CLOSING_S)
    if limit_fixed:
        per_round_s = floors_per_round * (0.8 * exercise.limit_s + per_floor_extra_s)
        wanted = round(budget_s / per_round_s)
        fitted = replace(exercise, rounds=min(max(int(ROUNDS.low), wanted), int(ROUNDS.high)))
        change = "rounds"
    else:
        per_floor_s = budget_s / (exercise.rounds * floors_per_round)
        limit_s = (per_floor_s - per_floor_extra_s) / 0.8
        limit_s = min(max(_SHORTEST_FIT_LIMIT_S, limit_s), FLOOR_LIMIT_S.high)
        fitted = exercise.with_overrides(limit_s=round(limit_s / 5.0) * 5.0, rounds=None)
        change = "floors"
    estimate_s = estimated_demo_s(fitted)
    if abs(estimate_s - target_s) > max(90.0, _FIT_TOLERANCE * target_s):
        if estimate_s > target_s:
            raise ValueError(
                f"{exercise.name} takes at least about {round(estimate_s / 60)} minutes"
                f" with its {change} as short as they go; ask for more minutes"
            )
        raise ValueError(
            f"{exercise.name} lasts at most about {round(estimate_s / 60)} minutes"
            f" with its {change} as long as they go; ask for fewer minutes"
        )
    return fitted
