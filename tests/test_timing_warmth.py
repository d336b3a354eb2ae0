"""Timing that fits a tender conversation: thinking pauses, check-ins, cues and who opens.

The engine is driven with scripted inputs and its own defaults (``TurnConfig()``), so
the numbers asserted are the ones a couple gets: a check-in after 10 s of quiet that
names the hand-over they have, the floor passing on silence only 30 s after an
unanswered check-in, cues only in a floor's second half, and the partners taking turns
at speaking first from one session to the next.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from engine_script import FRAME_S, Harness, Script, drive, speech

from attune_voice.config import TurnConfig
from attune_voice.events import (
    CheckIn,
    Cue,
    FloorEnded,
    FloorEndReason,
    FloorGiven,
    FloorRole,
    Prompt,
)
from attune_voice.exercises.library import load_exercise
from attune_voice.exercises.model import Exercise, Step, StepKind, Who
from attune_voice.session.floor import first_speaker_for
from attune_voice.session.ports import KeyPress


def one_floor(limit_s: float = 120.0, cues_s: tuple[float, ...] = ()) -> Exercise:
    """One floor with the coach's own prompts (the default check-in among them)."""
    return Exercise(
        name="one-floor",
        title="One floor",
        goal="test",
        skill="test",
        limit_s=limit_s,
        cues_s=cues_s,
        round=(Step(StepKind.FLOOR, text="Go {speaker}.", who=Who.SPEAKER),),
    )


def test_the_defaults_wait_ten_seconds_to_check_in_and_half_a_minute_more() -> None:
    config = TurnConfig()
    assert (config.silence_checkin_s, config.checkin_wait_s) == (10.0, 30.0)


@pytest.mark.parametrize(
    ("understands_speech", "handover"),
    [(True, "say I'm done"), (False, "press the button")],
)
def test_the_check_in_names_the_hand_over_the_couple_has(
    understands_speech: bool, handover: str
) -> None:
    h = Harness(one_floor(), understands_speech=understands_speech)
    h.run_until(25.0, speech(1.0, 8.0))
    [check_in] = h.prompts("check_in")
    assert check_in.text == (
        f"Take your time, Sam. There is no rush. When you have finished, {handover}."
    )
    assert check_in.t == pytest.approx(18.0, abs=FRAME_S)


def test_an_exercise_without_hand_over_phrases_names_the_button_even_with_a_model() -> None:
    exercise = replace(one_floor(), handover_phrases=())
    h = Harness(exercise, understands_speech=True)
    h.run_until(25.0, speech(1.0, 8.0))
    assert h.prompts("check_in")[0].text.endswith("When you have finished, press the button.")


def test_silence_passes_the_floor_only_after_an_unanswered_check_in_and_half_a_minute() -> None:
    h = Harness(one_floor(limit_s=300.0))
    h.run_until(200.0, speech(1.0, 8.0))
    [check_in] = h.prompts("check_in")
    [ended] = h.of(FloorEnded)
    assert ended.reason is FloorEndReason.SILENCE
    assert ended.t == pytest.approx(check_in.end_t + 30.0, abs=FRAME_S)
    # A minute of thinking with a word in between is never the end of a turn.
    h = Harness(one_floor(limit_s=300.0))
    script = speech(1.0, 8.0) + speech(17.9, 20.0) + speech(45.0, 47.0) + speech(76.0, 80.0)
    h.run_until(100.0, script)
    assert h.of(FloorEnded) == []
    # A check-in 10 s into each long quiet (not after the 9.9 s one), each answered.
    assert [c.t for c in h.of(CheckIn)] == pytest.approx([30.0, 57.0, 90.0], abs=FRAME_S)


def test_a_floor_nobody_has_spoken_on_waits_for_its_limit() -> None:
    h = Harness(one_floor(limit_s=90.0))
    h.run_until(120.0)
    [ended] = h.of(FloorEnded)
    assert ended.reason is FloorEndReason.LIMIT
    assert ended.held_s == pytest.approx(90.0, abs=FRAME_S)
    assert h.of(CheckIn) == []


def test_time_cues_never_land_in_the_first_half_of_a_floor() -> None:
    # "Twenty seconds left" would come ten seconds into a 30 s appreciation: not said.
    short = one_floor(limit_s=30.0, cues_s=(20.0, 10.0))
    assert short.step_cues_s(short.round[0]) == (10.0,)
    h = Harness(short)
    h.run_until(40.0, speech(0.5, 29.0))
    assert [(c.remaining_s, round(c.t - h.of(FloorGiven)[0].t)) for c in h.of(Cue)] == [(10.0, 20)]
    # A two-minute floor keeps "one minute left" at its half, and "thirty seconds".
    long = one_floor(limit_s=120.0, cues_s=(60.0, 30.0))
    assert long.step_cues_s(long.round[0]) == (60.0, 30.0)


def test_no_built_in_exercise_gives_a_cue_in_the_first_half_of_any_floor() -> None:
    for name in ("speaker-listener", "speaker-listener-easy", "empathy", "love-maps"):
        exercise = load_exercise(name)
        for _, step in exercise.unrolled():
            if step.kind is StepKind.FLOOR:
                limit_s = exercise.floor_limit_s(step)
                assert all(c <= limit_s / 2 for c in exercise.step_cues_s(step)), name


def test_the_partners_take_turns_at_speaking_first() -> None:
    assert [first_speaker_for(n) for n in range(4)] == ["A", "B", "A", "B"]
    h = Harness(load_exercise("speaker-listener-easy"), first_speaker="B")
    drive(h, 80.0, lambda number, floor: [])
    first = h.of(FloorGiven)[0]
    assert first.partner == "B"
    prompt = next(p for p in h.of(Prompt) if p.purpose == "floor")
    assert prompt.text.startswith("Alex, you have the floor.")


def test_a_clarification_hears_no_cue_meant_for_a_longer_floor() -> None:
    # Cues of 1m and 30s belong to the two-minute floor; the clarification after "not
    # quite" lasts the paraphrase limit (45 s), so "one minute left" would come at once.
    exercise = Exercise(
        name="clarify",
        title="Clarify",
        goal="test",
        skill="test",
        limit_s=120.0,
        paraphrase_limit_s=45.0,
        cues_s=(60.0, 30.0),
        round=(
            Step(StepKind.FLOOR, text="Speak.", who=Who.SPEAKER),
            Step(StepKind.PARAPHRASE, text="Say back.", who=Who.LISTENER),
            Step(StepKind.CONFIRM, text="Right?", who=Who.SPEAKER),
        ),
    )
    answers = iter(["n", "y"])

    def behave(number: int, floor: FloorGiven) -> Script:
        t = floor.t
        if floor.role is FloorRole.CONFIRM:
            return [(t + 1.0, KeyPress(t + 1.0, next(answers)))]
        return [*speech(t + 0.5, t + 40.0, floor.partner), (t + 41.0, KeyPress(t + 41.0, "enter"))]

    h = Harness(exercise)
    drive(h, 400.0, behave)
    assert FloorRole.CLARIFY in [f.role for f in h.of(FloorGiven)]
    assert h.of(Cue) == []
