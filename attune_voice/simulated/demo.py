"""Builds the demo: two simulated partners with their own voices in a simulated room."""

from __future__ import annotations

from dataclasses import replace

from attune_voice.audio.frames import Pcm
from attune_voice.bounds import FLOOR_LIMIT_S, ROUNDS
from attune_voice.config import RoomConfig
from attune_voice.exercises.model import Exercise, StepKind
from attune_voice.simulated.partners import LINES, VOICES, PartnerVoice
from attune_voice.simulated.room import SimulatedRoom
from attune_voice.voice.tts import SpeechRenderer

DEMO_NAMES = ("Sam", "Alex")

_PROMPTS_PER_FLOOR_S = 20.0
"""Roughly what the prompts and answers after one floor (or piece) take beside its
paraphrase."""
_OPENING_CLOSING_S = 75.0


_LINES_RENDERED: dict[tuple[str, str, int], Pcm] = {}
"""Every partner line rendered in this process, by (text, voice, rate): a process that
plays one simulated session after another, each with a renderer of its own, renders
the lines once (80 lines: 2.1 s of a 6-minute demo's 8.9 s of CPU here)."""


def partner_voices(renderer: SpeechRenderer) -> dict[str, PartnerVoice]:
    """Every line of both partners, each in their own voice, rendered once a process."""
    voices: dict[str, PartnerVoice] = {}
    for partner, categories in LINES.items():
        voice, rate_wpm = VOICES[partner]
        lines: dict[str, list[Pcm]] = {}
        for category, texts in categories.items():
            lines[category] = []
            for text in texts:
                key = (text, voice, rate_wpm)
                if key not in _LINES_RENDERED:
                    _LINES_RENDERED[key] = renderer.render(text, voice, rate_wpm)
                lines[category].append(_LINES_RENDERED[key])
        voices[partner] = PartnerVoice(lines)
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
    at 80% of its limit (they use 45-115% of it), plus the prompts and paraphrases. A
    floor said in pieces takes about ``_PIECES`` of them, each said back."""
    round_s = 0.0
    for step in exercise.round:
        if step.kind is not StepKind.FLOOR:
            continue
        limit_s = exercise.floor_limit_s(step)
        if step.piece_s is None:
            round_s += 0.8 * limit_s + _per_floor_extra_s(exercise)
            continue
        piece_s = min(step.piece_s, limit_s)
        pieces = min(_PIECES, limit_s / (0.8 * piece_s))
        round_s += pieces * (0.8 * piece_s + _per_floor_extra_s(exercise))
    return _OPENING_CLOSING_S + exercise.rounds * round_s


_PIECES = 1.8
"""Pieces a simulated speaker says of a floor said in pieces, on average (they answer
"is there more?" yes after the first piece 80% of the time, 50% after the second, and
the floor's time runs out); 1.75-2.5 were measured on the default demo's seeds."""


def _per_floor_extra_s(exercise: Exercise) -> float:
    """The prompts, the paraphrase and the answers that follow one floor or piece."""
    return exercise.paraphrase_limit_s * 0.5 + _PROMPTS_PER_FLOOR_S


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
    if limit_fixed:
        # The rounds, within their range, whose session comes nearest the time asked for.
        fitted = min(
            (replace(exercise, rounds=n) for n in range(int(ROUNDS.low), int(ROUNDS.high) + 1)),
            key=lambda candidate: abs(estimated_demo_s(candidate) - target_s),
        )
        change = "rounds"
    else:
        # The floor limit, in steps of 5 s, whose session comes nearest the time asked for.
        limits_s = range(int(_SHORTEST_FIT_LIMIT_S), int(FLOOR_LIMIT_S.high) + 1, 5)
        fitted = min(
            (exercise.with_overrides(limit_s=float(limit_s), rounds=None) for limit_s in limits_s),
            key=lambda candidate: abs(estimated_demo_s(candidate) - target_s),
        )
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
