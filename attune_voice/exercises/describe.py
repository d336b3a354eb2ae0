"""An exercise in plain lines (settings, steps, questions), for ``attune-voice exercises show``."""

from __future__ import annotations

from attune_voice.durations import format_duration
from attune_voice.exercises.model import NO_SOUND, SOUND_EVENTS, Exercise, Step, StepKind
from attune_voice.exercises.talked_over import said_name
from attune_voice.exercises.timing import estimated_duration_s

__all__ = ["describe"]

_TIMES = "\u00d7"
"""The multiplication sign of "Round (\u00d72):", escaped because it looks like an x."""


def describe(exercise: Exercise) -> list[str]:
    """Plain lines describing an exercise, for ``attune-voice exercises show``."""
    lines = [f"{exercise.title} ({exercise.name})"]
    if exercise.goal:
        lines.append(f"Goal: {exercise.goal}")
    lines.append(f"Skill: {exercise.skill}")
    cues = " and ".join(format_duration(c) for c in exercise.cues_s)
    lines.append(
        f"Timings: {exercise.rounds} {_plural(exercise.rounds, 'round')}; "
        f"floor {format_duration(exercise.limit_s)}, "
        f"paraphrase {format_duration(exercise.paraphrase_limit_s)}, "
        f"confirm {format_duration(exercise.confirm_limit_s)}; "
        f"{f'cues at {cues} left' if cues else 'no time cues'}; "
        f"up to {exercise.max_attempts} paraphrase {_plural(exercise.max_attempts, 'attempt')}"
    )
    lines.append(
        f"Length: about {_minutes(estimated_duration_s(exercise))} with every floor used in full"
    )
    handover = ", ".join(f'"{p}"' for p in exercise.handover_phrases) or "the button only"
    lines.append(f"Hand-over: {handover}; a break lasts {format_duration(exercise.break_s)}")
    lines.append(f"Sounds: {_describe_sounds(exercise)}")
    lines.append(f"Talked over (with --hear-through): {_describe_may_cut(exercise)}")
    number = 0
    sections = (
        ("Opening:", exercise.opening),
        (f"Round ({_TIMES}{exercise.rounds}):", exercise.round),
        ("Closing:", exercise.closing),
    )
    for heading, steps in sections:
        if not steps:
            continue
        lines.append(heading)
        for step in steps:
            number += 1
            lines.append(f"  {number}. {_describe_step(exercise, step)}")
    if exercise.questions:
        lines.append(
            f"Questions ({len(exercise.questions)}; a session asks "
            f"{exercise.questions_needed()}, and none comes back until all have been asked):"
        )
        lines.extend(f"  - {question}" for question in exercise.questions)
    return lines


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} {_plural(minutes, 'minute')}"


def _describe_sounds(exercise: Exercise) -> str:
    sounds = exercise.sounds
    if sounds.silent:
        return "silent"
    labels = {"cue": "before a cue", "floor_end": "when a floor ends", "overtime": "at the limit"}
    return ", ".join(
        f"{'no sound' if getattr(sounds, event) == NO_SOUND else getattr(sounds, event)} "
        f"{labels[event]}"
        for event in SOUND_EVENTS
    )


def _describe_may_cut(exercise: Exercise) -> str:
    if not exercise.may_cut:
        return "every prompt is said to the end"
    purposes = ", ".join(said_name(purpose) for purpose in sorted(exercise.may_cut))
    return f"its {purposes} prompts stop; the rest is said to the end"


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def _describe_step(exercise: Exercise, step: Step) -> str:
    if step.kind is StepKind.SAY:
        return f"say: {step.text}"
    if step.kind is StepKind.READY:
        return f"ready (each of you answers yes, or not now): {step.text}"
    if step.kind is StepKind.SWAP:
        return f"swap roles{': ' + step.text if step.text else ''}"
    timing = format_duration(exercise.floor_limit_s(step))
    if step.piece_s is not None:
        timing += f" in pieces of up to {format_duration(step.piece_s)}"
    if step.kind is StepKind.MORE:
        timing += ", yes gives another piece"
    cues = exercise.step_cues_s(step)
    if cues:
        timing += ", cues at " + " and ".join(format_duration(c) for c in cues)
    return f"{step.kind.value} ({step.who.value}, {timing}): {step.text}"
