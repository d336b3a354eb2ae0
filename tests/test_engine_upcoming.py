"""The engine's predictions of its next prompts, which the player renders ahead of time.

A prompt the engine says should have been named by ``upcoming_prompts`` at the decision
before it (when the previous prompt was queued), with every placeholder as it is then
spoken: that is what lets the player render it while the previous prompt plays, so
that nothing is rendered between a decision and its sound. The harness keeps the
predictions as the session loop does and lists the prompts none of them named.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from engine_script import Behaviour, Harness, Script, busy_session, drive, speech

from attune_voice.events import CommandWord, FloorGiven, FloorRole, Prompt
from attune_voice.exercises.folders import builtin_names
from attune_voice.exercises.library import load_exercise
from attune_voice.exercises.model import Exercise, Prompts, Step, StepKind, Who
from attune_voice.session.commands import CommandConfig, CommandPrompts
from attune_voice.session.phases import Phase
from attune_voice.session.ports import Command, KeyPress


def couple(understands_speech: bool) -> Behaviour:
    """Holders who, floor after floor, hand over with the key, fall quiet (a check-in,
    then the floor passes), or talk through the cues past the limit (overtime). With
    speech understood, confirmations are answered "not quite", then "yes"."""
    answers = iter([CommandWord.NOT_QUITE, CommandWord.YES] * 100)
    kinds = iter(range(1000))

    def behave(number: int, floor: FloorGiven) -> Script:
        t, who = floor.t, floor.partner
        if floor.role is FloorRole.CONFIRM:
            if not understands_speech:
                return speech(t + 0.5, t + 1.0, who)
            answer = next(answers)
            return [*speech(t + 0.5, t + 1.0, who), (t + 1.3, Command(t + 1.3, answer, who))]
        kind = next(kinds) % 3
        if kind == 0:
            return [*speech(t + 0.5, t + 2.0, who), (t + 2.5, KeyPress(t + 2.5, "enter"))]
        if kind == 1:
            return speech(t + 0.5, t + 2.0, who)
        return speech(t + 0.5, t + floor.limit_s + 2.0, who)

    return behave


@pytest.mark.parametrize("name", builtin_names())
@pytest.mark.parametrize("understands_speech", [False, True])
def test_every_prompt_of_a_built_in_exercise_was_predicted(
    name: str, understands_speech: bool
) -> None:
    exercise = load_exercise(name).with_overrides(limit_s=40.0, rounds=2)
    h = Harness(exercise, understands_speech=understands_speech)
    drive(h, 3600.0, couple(understands_speech))
    assert h.engine.done
    assert h.misses == []
    purposes = {p.purpose for p in h.of(Prompt)}
    assert {"floor", "check_in", "overtime"} <= purposes


def test_the_speaker_listener_session_covers_every_kind_of_prompt() -> None:
    exercise = load_exercise("speaker-listener").with_overrides(limit_s=40.0, rounds=2)
    h = Harness(exercise, understands_speech=True)
    drive(h, 3600.0, couple(True))
    assert h.misses == []
    assert {p.purpose for p in h.of(Prompt)} == {
        "step",
        "floor",
        "cue",
        "check_in",
        "overtime",
        "confirmed",
        "closing",
    }
    roles = {f.role for f in h.of(FloorGiven)}
    assert roles == {FloorRole.SPEAK, FloorRole.PARAPHRASE, FloorRole.CONFIRM, FloorRole.CLARIFY}


# --- every command and key at every moment ---------------------------------------------------


@pytest.mark.parametrize("name", builtin_names())
def test_every_prompt_was_predicted_whatever_commands_come(name: str) -> None:
    h = busy_session(name)
    assert h.engine.done
    assert h.misses == []


def test_the_busy_couple_hears_every_kind_of_prompt() -> None:
    h = busy_session("speaker-listener")
    assert {p.purpose for p in h.of(Prompt)} == {
        "step",
        "floor",
        "cue",
        "check_in",
        "overtime",
        "confirmed",
        "closing",
        "paused",
        "resumed",
        "more_time",
        "time_out",
        "come_back",
        "confirm_stop",
        "repeat",
    }


# --- what is predicted, step by step ---------------------------------------------------------


def exercise() -> Exercise:
    return Exercise(
        name="steps",
        title="Steps",
        goal="test",
        skill="test",
        limit_s=60.0,
        paraphrase_limit_s=30.0,
        cues_s=(30.0, 10.0),
        prompts=Prompts(
            cue="{holder}, {remaining} left.",
            overtime="Time, {holder}.",
            check_in="Still there, {holder}?",
            clarify="{speaker}, tell {listener} more.",
            retry="{listener}, once more.",
            confirmed="Thanks, {listener}.",
            unheard="Thank you both.",
        ),
        opening=(Step(StepKind.SAY, text="Welcome, {partner_a} and {partner_b}."),),
        round=(
            Step(StepKind.FLOOR, text="{speaker}, you have {limit}.", who=Who.SPEAKER),
            Step(StepKind.PARAPHRASE, text="{listener}, say it back.", who=Who.LISTENER),
            Step(StepKind.CONFIRM, text="{speaker}, is that it?", who=Who.SPEAKER),
            Step(StepKind.SWAP),
        ),
        closing=(Step(StepKind.SAY, text="Goodbye."),),
    )


def test_before_the_start_the_first_prompt_is_predicted() -> None:
    h = Harness(exercise())
    assert h.engine.upcoming_prompts() == ["Welcome, Sam and Alex."]


def test_a_say_step_predicts_the_floor_prompt_after_it() -> None:
    h = Harness(exercise())
    h.run_until(0.02)
    assert h.engine.phase is Phase.PROMPTING
    assert h.engine.upcoming_prompts() == ["Sam, you have one minute."]


def test_a_floor_predicts_what_follows_it_then_its_own_prompts() -> None:
    h = Harness(exercise())
    h.run_until(1.5)  # the floor prompt plays
    expected = [
        "Alex, say it back.",
        "Still there, Sam?",
        "Sam, thirty seconds left.",
        "Sam, ten seconds left.",
        "Time, Sam.",
    ]
    assert h.engine.upcoming_prompts() == expected
    # Once the floor is open, what has been said or can no longer come drops out.
    h.run_until(33.0, speech(3.0, 32.5, "A"))
    assert [p.text for p in h.prompts("cue")] == ["Sam, thirty seconds left."]
    assert h.engine.upcoming_prompts() == [
        "Alex, say it back.",
        "Still there, Sam?",
        "Sam, ten seconds left.",
        "Time, Sam.",
    ]
    h.run_until(38.0)
    assert len(h.prompts("check_in")) == 1
    assert h.engine.upcoming_prompts() == [
        "Alex, say it back.",
        "Sam, ten seconds left.",
        "Time, Sam.",
    ]


def to_confirm(h: Harness) -> None:
    keys: Script = [(t, KeyPress(t, "enter")) for t in (5.0, 10.0)]
    h.run_until(12.0, keys)
    assert h.engine.phase is Phase.FLOOR
    assert h.of(FloorGiven)[-1].role is FloorRole.CONFIRM


def test_a_confirmation_predicts_unheard_without_speech_and_every_outcome_with_it() -> None:
    h = Harness(exercise())
    to_confirm(h)
    assert h.engine.upcoming_prompts() == ["Thank you both.", "Time, Sam."]
    assert h.engine.upcoming_prompts(understands_speech=True)[:3] == [
        "Thanks, Alex.",
        "Thank you both.",
        "Sam, tell Alex more.",
    ]


def test_an_empty_outcome_predicts_the_next_step_instead() -> None:
    plain = exercise()
    h = Harness(replace(plain, prompts=replace(plain.prompts, unheard=""), rounds=2))
    to_confirm(h)
    # After the swap, Alex speaks: the next floor prompt follows at once.
    assert h.engine.upcoming_prompts()[0] == "Alex, you have one minute."


def test_a_clarification_predicts_the_retry_prompt() -> None:
    h = Harness(exercise(), understands_speech=True)
    to_confirm(h)
    h.run_until(14.0, [(12.5, Command(12.5, CommandWord.NOT_QUITE, "A"))])
    assert h.of(FloorGiven)[-1].role is FloorRole.CLARIFY
    assert h.engine.upcoming_prompts()[0] == "Alex, once more."
    # The last attempt: no clarification can follow this confirmation.
    h.run_until(30.0, [(t, KeyPress(t, "enter")) for t in (16.0, 22.0)])
    assert h.of(FloorGiven)[-1] == replace(h.of(FloorGiven)[-1], role=FloorRole.CONFIRM, attempt=2)
    assert "Sam, tell Alex more." not in h.engine.upcoming_prompts(understands_speech=True)
    assert h.misses == []


COMMAND_PROMPTS = CommandPrompts(
    paused="Paused.",
    resumed="Carry on.",
    resumed_floor="Carry on, {holder}.",
    more_time="More time, {holder}: {limit}.",
    time_out="Break for {break_length}.",
    come_back="Come back.",
    confirm_stop="End?",
    stopping="Stopping, {holder}.",
    not_stopping="Going on.",
)


def command_harness() -> Harness:
    return Harness(
        exercise(),
        understands_speech=True,
        commands=CommandConfig(break_s=60.0),
        command_prompts=COMMAND_PROMPTS,
    )


def said(t: float, word: CommandWord) -> tuple[float, Command]:
    return (t, Command(t, word, "A"))


def test_the_answers_to_commands_are_predicted_only_when_speech_is_understood() -> None:
    h = command_harness()
    h.run_until(3.0)
    assert h.engine.phase is Phase.FLOOR
    answers = ["Paused.", "End?", "Break for one minute.", "More time, Sam: two minutes."]
    assert h.engine.upcoming_prompts(understands_speech=True)[-4:] == answers
    assert not set(answers) & set(h.engine.upcoming_prompts())


def test_a_session_standing_still_predicts_what_takes_it_back() -> None:
    h = command_harness()
    h.run_until(5.0, [said(3.0, CommandWord.PAUSE)])
    assert h.engine.upcoming_prompts()[0] == "Carry on, Sam."
    h.run_until(8.0, [said(6.0, CommandWord.STOP)])
    assert h.engine.upcoming_prompts()[:2] == ["Going on.", "Stopping, Sam."]
    h.run_until(9.0, [said(8.5, CommandWord.NO)])
    assert h.engine.phase is Phase.PAUSED
    h.run_until(12.0, [said(10.0, CommandWord.TIME_OUT)])
    assert h.engine.upcoming_prompts()[:2] == ["Come back.", "Carry on, Sam."]
    # The break ends, the reminder is said, "resume" and "more time" are answered, and
    # "stop" then "yes" closes the floor and says goodbye: every prompt was predicted.
    h.run_until(
        120.0,
        [
            said(80.0, CommandWord.RESUME),
            said(85.0, CommandWord.MORE_TIME),
            said(90.0, CommandWord.STOP),
            said(92.0, CommandWord.YES),
        ],
    )
    assert h.engine.done
    assert [p.text for p in h.of(Prompt)][-1] == "Stopping, Sam."
    assert h.misses == []


def test_a_prompt_nobody_predicted_is_still_said() -> None:
    # Predicted as if no speech were understood, yet a command comes: its answer was not
    # predicted (the player renders it when it is said), and the session goes on.
    h = Harness(exercise(), commands=CommandConfig(), command_prompts=COMMAND_PROMPTS)
    h.run_until(5.0, [said(3.0, CommandWord.MORE_TIME)])
    assert h.misses == ["More time, Sam: two minutes."]
    assert h.prompts("more_time")[0].text == "More time, Sam: two minutes."
    h.run_until(8.0, [(6.0, KeyPress(6.0, "enter"))])
    assert h.prompts("floor")[-1].text == "Alex, say it back."


def test_the_end_predicts_nothing() -> None:
    h = Harness(exercise())
    h.run_until(600.0, [(t, KeyPress(t, "enter")) for t in range(5, 60, 5)])
    assert h.engine.done
    assert h.engine.upcoming_prompts() == []
