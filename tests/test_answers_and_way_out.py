"""Answers without a speech model, and the way out: readiness, Y / N, time out, pause."""

from __future__ import annotations

import dataclasses

from engine_script import Harness, ready_key

from attune_voice.events import (
    CommandWord,
    Confirmation,
    EndReason,
    Event,
    FloorGiven,
    FloorRole,
    Paraphrase,
    Readiness,
    SessionEnded,
    SessionStarted,
    TimeOut,
)
from attune_voice.exercises.model import Exercise, Step, StepKind, Who
from attune_voice.exercises.timing import estimate_speech_s
from attune_voice.review.metrics import summarize
from attune_voice.review.text import format_summary, metric_rows
from attune_voice.session.ports import Command, KeyPress
from attune_voice.session.readiness import NOT_NOW_TEXT, READY_TEXT


def ready_then_floor() -> Exercise:
    return Exercise(
        name="ready",
        title="Ready",
        goal="",
        skill="empathy",
        opening=(Step(StepKind.READY, "Before we begin, a moment to check in."),),
        round=(Step(StepKind.FLOOR, "{speaker}, the floor is yours.", limit_s=10.0),),
    )


def test_both_answer_by_name_before_the_first_floor() -> None:
    h = Harness(ready_then_floor())
    h.run_until(3.0)
    asked_a = h.prompts("ready")
    assert [p.text for p in asked_a] == [
        "Sam, are you ready to begin? Press Y for yes, or N for not now."
    ]
    h.run_until(asked_a[0].end_t + 1.0, [ready_key(asked_a[0].end_t + 0.5)])
    asked = h.prompts("ready")
    assert asked[1].text.startswith("Alex, are you ready")
    assert not h.of(FloorGiven), "the floor waits for the second answer"
    h.run_until(60.0, [ready_key(asked[1].end_t + 0.5)])
    answers = h.of(Readiness)
    assert [(a.partner, a.answer, a.by) for a in answers] == [
        ("A", "yes", "key"),
        ("B", "yes", "key"),
    ]
    floor = h.of(FloorGiven)[0]
    begin = next(p for p in h.of_prompts() if p.text == READY_TEXT)
    assert floor.t >= begin.end_t > answers[1].t


def test_silence_is_not_now_and_ends_the_session_as_not_started() -> None:
    h = Harness(ready_then_floor())
    h.run_until(120.0)
    assert [a.answer for a in h.of(Readiness)] == ["silent", "silent"]
    assert [p.text for p in h.of_prompts()][-1] == NOT_NOW_TEXT
    assert not h.of(FloorGiven)
    assert h.of(SessionEnded)[0].reason is EndReason.NOT_STARTED


def test_a_topic_to_choose_gets_the_time_its_ready_step_gives() -> None:
    # Eight seconds is enough for a yes, not for agreeing on a topic: a ready step with
    # a limit waits that long for each answer, and still ends kindly after it.
    topic = Step(StepKind.READY, "Let's choose one thing to talk about.", limit_s=60.0)
    h = Harness(dataclasses.replace(ready_then_floor(), opening=(topic,)))
    h.run_until(3.0)
    asked = h.prompts("ready")[0]
    h.run_until(asked.end_t + 40.0, [ready_key(asked.end_t + 35.0)])
    assert [(a.partner, a.answer) for a in h.of(Readiness)] == [("A", "yes")]
    second = h.prompts("ready")[1]
    h.run_until(second.end_t + 70.0)
    assert [(a.partner, a.answer) for a in h.of(Readiness)][1][0] == "B"
    assert h.of(Readiness)[1].t >= second.end_t + 60.0 - 0.1
    assert h.of(SessionEnded)[0].reason is EndReason.NOT_STARTED


def test_a_spoken_not_now_from_one_ends_it_without_saying_who() -> None:
    h = Harness(ready_then_floor(), understands_speech=True)
    h.run_until(3.0)
    first = h.prompts("ready")[0]
    assert first.text == "Sam, are you ready to begin? Say yes, or not now."
    t = first.end_t + 1.0
    h.run_until(t + 0.5, [(t, Command(t, CommandWord.YES, None))])
    second = h.prompts("ready")[1]
    t = second.end_t + 1.0
    h.run_until(60.0, [(t, Command(t, CommandWord.NO, None))])
    assert [a.answer for a in h.of(Readiness)] == ["yes", "no"]
    assert "Sam" not in NOT_NOW_TEXT and "Alex" not in NOT_NOW_TEXT
    assert h.of(SessionEnded)[0].reason is EndReason.NOT_STARTED


def test_y_and_n_answer_a_confirmation_without_a_speech_model() -> None:
    exercise = Exercise(
        name="confirm",
        title="Confirm",
        goal="",
        skill="empathy",
        round=(
            Step(StepKind.FLOOR, "{speaker}, go.", limit_s=10.0),
            Step(StepKind.PARAPHRASE, "{listener}, say it back.", who=Who.LISTENER),
            Step(StepKind.CONFIRM, "{speaker}, right? Press Y, or N."),
        ),
    )
    h = Harness(exercise)
    answers: list[tuple[float, KeyPress]] = []
    for t in (3.0, 8.0):
        answers.append((t, KeyPress(t, "enter")))
    h.run_until(11.0, answers)
    confirm = h.of(FloorGiven)[-1]
    assert confirm.role is FloorRole.CONFIRM
    t = confirm.t + 1.0
    h.run_until(20.0, [(t, KeyPress(t, "n"))])
    assert [c.answer for c in h.of(Confirmation)] == ["not_quite"]


def test_t_calls_a_time_out_with_a_guided_minute_of_breathing() -> None:
    h = Harness(ready_then_floor())
    h.run_until(1.0, [(0.5, KeyPress(0.5, "t"))])
    time_out = h.of(TimeOut)[0]
    assert time_out.break_s >= 20 * 60
    soothing = h.prompts("soothing")
    assert len(soothing) >= 5
    assert "breathe" in h.prompts("time_out")[0].text.lower()
    # About a minute as the coach's voice says it (the counting voice here is quicker).
    assert 50.0 <= sum(estimate_speech_s(p.text) for p in soothing) <= 100.0
    h.run_until(soothing[-1].end_t + time_out.break_s + 1.0)
    come_back = h.prompts("come_back")[0].text
    assert "within a day" in come_back and "press P" in come_back


def confirmations(answer: str) -> list[Event]:
    return [
        SessionStarted(0.0, exercise="x", partners=("Sam", "Alex"), settings={}),
        Paraphrase(10.0, partner="B", attempt=1),
        Confirmation(12.0, partner="A", answer=answer, attempt=1),
        Paraphrase(30.0, partner="A", attempt=1),
        Confirmation(32.0, partner="B", answer=answer, attempt=1),
        SessionEnded(40.0, reason=EndReason.COMPLETED),
    ]


def confirmed_row(events: list[Event]) -> list[str]:
    row = next(r for r in metric_rows(summarize(events)) if r.key == "confirmed_first_time")
    return list(row.values)


def test_confirmations_nobody_could_answer_are_not_recorded_never_0_of_n() -> None:
    assert confirmed_row(confirmations("unheard")) == ["not recorded", "not recorded"]
    assert "0 of" not in format_summary(summarize(confirmations("unheard")))
    assert confirmed_row(confirmations("yes")) == ["1 of 1", "1 of 1"]
    assert confirmed_row(confirmations("not_quite")) == ["0 of 1", "0 of 1"]
