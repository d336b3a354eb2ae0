"""Voice commands in the engine: hand-over phrases, pause, repeat, more time, time-out, stop.

As in test_engine.py, the engine is driven by scripted inputs and a prompt player that
speaks a fifth of a second per word, so every expected time can be worked out by hand.
The commands arrive already understood; recognising them is test_asr.py's business.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from engine_script import FRAME_S, Harness, Script, speech

from attune_voice.events import (
    CheckIn,
    CommandWord,
    Confirmation,
    EndReason,
    Event,
    FloorEnded,
    FloorEndReason,
    FloorGiven,
    FloorRole,
    Overtime,
    Paused,
    Resumed,
    SessionEnded,
    Speech,
    SpeechKind,
    TimeOut,
    Transcript,
    VoiceCommand,
    WordTime,
    event_from_json,
)
from attune_voice.exercises.model import Exercise, Prompts, Step, StepKind, Who
from attune_voice.session.commands import CommandConfig, CommandPrompts
from attune_voice.session.phases import Phase
from attune_voice.session.ports import Answer, Command, Heard, KeyPress

FLOOR_START_T = 0.42
"""The first tick (0.02 s) says "Go Sam." (two words): the floor opens at 0.42 s."""

PROMPTS = CommandPrompts(
    paused="Paused.",
    resumed="Carry on.",
    resumed_floor="Carry on, {holder}.",
    more_time="More time, {holder}.",
    time_out="Break for {break_length}.",
    come_back="Come back.",
    confirm_stop="End? Say yes or no.",
    stopping="Stopping.",
    not_stopping="Going on.",
)


def one_floor(limit_s: float = 60.0) -> Exercise:
    return Exercise(
        name="one-floor",
        title="One floor",
        goal="test",
        skill="test",
        limit_s=limit_s,
        cues_s=(),
        prompts=Prompts(check_in="Still there?", overtime="Time, {holder}.", unheard=""),
        round=(Step(StepKind.FLOOR, text="Go {speaker}.", who=Who.SPEAKER),),
    )


def paraphrase_exercise() -> Exercise:
    return Exercise(
        name="paraphrase",
        title="Paraphrase",
        goal="test",
        skill="test",
        prompts=Prompts(clarify="Clarify.", retry="Again.", confirmed="Thanks.", unheard=""),
        round=(
            Step(StepKind.FLOOR, text="Speak.", who=Who.SPEAKER),
            Step(StepKind.PARAPHRASE, text="Say back.", who=Who.LISTENER),
            Step(StepKind.CONFIRM, text="Right?", who=Who.SPEAKER),
        ),
    )


def harness(exercise: Exercise, commands: CommandConfig | None = None) -> Harness:
    """The scripted harness with this file's command prompts."""
    return Harness(exercise, commands=commands, command_prompts=PROMPTS)


def said(t: float, word: CommandWord, partner: str | None = None) -> tuple[float, Command]:
    return (t, Command(t, word, partner))


# --- hand-over ------------------------------------------------------------------------------


def test_a_handover_phrase_ends_the_floor_at_once() -> None:
    h = harness(one_floor())
    h.run_until(20.0, [*speech(1.0, 5.0), said(5.5, CommandWord.HANDOVER)])
    ended = h.of(FloorEnded)
    assert [(e.t, e.reason) for e in ended] == [(5.5, FloorEndReason.HANDOVER_PHRASE)]
    assert ended[0].held_s == pytest.approx(5.5 - FLOOR_START_T)
    command = h.of(VoiceCommand)[0]
    assert command == VoiceCommand(5.5, word=CommandWord.HANDOVER, partner=None, applied=True)
    # The command is logged before what it caused.
    assert h.events.index(command) < h.events.index(ended[0])
    assert h.engine.end_reason is EndReason.COMPLETED


def test_a_thinking_pause_is_not_a_handover() -> None:
    h = harness(one_floor(limit_s=120.0))
    h.run_until(12.0, speech(1.0, 4.0) + speech(7.5, 11.0))
    assert h.of(FloorEnded) == []


def test_commands_that_mean_nothing_now_are_logged_but_not_applied() -> None:
    h = harness(one_floor())
    script: Script = [
        said(2.0, CommandWord.RESUME),  # nothing is paused
        said(3.0, CommandWord.YES),  # nothing was asked
        said(4.0, CommandWord.NOT_QUITE),
    ]
    h.run_until(10.0, script)
    assert [(c.word, c.applied) for c in h.of(VoiceCommand)] == [
        (CommandWord.RESUME, False),
        (CommandWord.YES, False),
        (CommandWord.NOT_QUITE, False),
    ]
    assert h.of(FloorEnded) == []
    assert h.engine.phase is Phase.FLOOR


# --- pause and resume --------------------------------------------------------------------


def test_pause_freezes_the_floor_until_resume() -> None:
    h = harness(one_floor(limit_s=20.0))
    script = [
        *speech(1.0, 3.0),
        said(4.0, CommandWord.PAUSE),
        *speech(10.0, 12.0),  # talking about something else while paused
        said(30.0, CommandWord.RESUME),
        *speech(31.0, 45.0),
    ]
    h.run_until(60.0, script)
    assert h.of(Paused) == [Paused(4.0)]
    # "Carry on, Sam." is three words: timing goes on when it has been said.
    assert [(r.t, round(r.paused_s, 6)) for r in h.of(Resumed)] == [(30.0, 26.6)]
    assert [p.text for p in h.prompts("paused")] == ["Paused."]
    assert [p.text for p in h.prompts("resumed")] == ["Carry on, Sam."]
    # No check-in while paused, though the holder was quiet for 27 s.
    assert h.of(CheckIn) == []
    ended = h.of(FloorEnded)[0]
    assert ended.reason is FloorEndReason.LIMIT
    assert ended.t == pytest.approx(FLOOR_START_T + 20.0 + 26.6, abs=FRAME_S)
    assert ended.held_s == pytest.approx(20.0, abs=FRAME_S)
    aside = [s for s in h.of(Speech) if s.t == 10.0]
    assert [(s.partner, s.speech_kind) for s in aside] == [(None, SpeechKind.ASIDE)]


def test_a_key_press_also_resumes_a_pause() -> None:
    h = harness(one_floor())
    h.run_until(15.0, [said(4.0, CommandWord.PAUSE), (10.0, KeyPress(10.0, "enter"))])
    assert len(h.of(Resumed)) == 1
    assert h.of(FloorEnded) == []
    assert h.engine.phase is Phase.FLOOR


# --- repeat and more time ----------------------------------------------------------------


def test_repeat_says_the_last_prompt_again_without_costing_floor_time() -> None:
    h = harness(one_floor(limit_s=20.0))
    h.run_until(30.0, [said(5.0, CommandWord.REPEAT)])
    repeated = h.prompts("repeat")
    assert [(p.t, p.text) for p in repeated] == [(5.0, "Go Sam.")]
    assert repeated[0].end_t == pytest.approx(5.4)
    # The limit moved on by the time the repeat took.
    assert h.of(FloorEnded)[0].t == pytest.approx(FLOOR_START_T + 20.0 + 0.4, abs=FRAME_S)


def test_more_time_adds_a_minute_once_per_floor() -> None:
    h = harness(one_floor(limit_s=20.0))
    script = [
        *speech(1.0, 19.0),
        said(19.5, CommandWord.MORE_TIME),
        said(30.0, CommandWord.MORE_TIME),
        *speech(20.5, 77.0),
    ]
    h.run_until(100.0, script)
    assert [(c.t, c.applied) for c in h.of(VoiceCommand)] == [(19.5, True), (30.0, False)]
    assert [p.text for p in h.prompts("more_time")] == ["More time, Sam."]
    assert h.of(Overtime) == []
    ended = h.of(FloorEnded)[0]
    assert ended.reason is FloorEndReason.LIMIT
    assert ended.t == pytest.approx(FLOOR_START_T + 80.0, abs=FRAME_S)


def test_more_time_after_the_limit_lifts_the_overtime() -> None:
    h = harness(one_floor(limit_s=20.0))
    h.run_until(60.0, [*speech(1.0, 25.0), said(22.0, CommandWord.MORE_TIME)])
    assert len(h.of(Overtime)) == 1
    ended = h.of(FloorEnded)[0]
    # Not the limit a second after the speech: the silence path, well after it.
    assert ended.reason is FloorEndReason.SILENCE
    assert ended.overtime_s == 0.0


# --- time out --------------------------------------------------------------------------------


def test_time_out_is_a_spoken_break_then_a_reminder_then_resume() -> None:
    h = harness(one_floor(limit_s=20.0), CommandConfig(break_s=60.0))
    script: Script = [said(5.0, CommandWord.TIME_OUT), said(70.0, CommandWord.RESUME)]
    h.run_until(200.0, script)
    assert h.of(TimeOut) == [TimeOut(5.0, break_s=60.0)]
    assert [p.text for p in h.prompts("time_out")] == ["Break for one minute."]
    come_back = h.prompts("come_back")
    assert len(come_back) == 1
    # The break runs its full length after the break prompt (four words, 0.8 s).
    assert come_back[0].t == pytest.approx(5.8 + 60.0, abs=FRAME_S)
    assert [(r.t, round(r.paused_s, 6)) for r in h.of(Resumed)] == [(70.0, 65.6)]
    ended = h.of(FloorEnded)[0]
    assert ended.held_s == pytest.approx(20.0, abs=FRAME_S)
    assert ended.t == pytest.approx(FLOOR_START_T + 20.0 + 65.6, abs=FRAME_S)


def test_without_resume_the_session_waits_after_the_break() -> None:
    h = harness(one_floor(limit_s=20.0), CommandConfig(break_s=30.0))
    h.run_until(300.0, [said(5.0, CommandWord.TIME_OUT)])
    assert h.engine.phase is Phase.PAUSED
    assert h.of(FloorEnded) == []


def test_the_break_lasts_the_exercises_length_by_default() -> None:
    h = harness(replace(one_floor(), break_s=25 * 60.0))
    h.run_until(10.0, [said(5.0, CommandWord.TIME_OUT)])
    assert h.of(TimeOut)[0].break_s == 25 * 60.0
    assert h.prompts("time_out")[0].text == "Break for twenty-five minutes."


# --- stop ------------------------------------------------------------------------------------


def test_stop_asks_first_and_no_carries_on() -> None:
    h = harness(one_floor())
    h.run_until(20.0, [said(5.0, CommandWord.STOP), said(7.0, CommandWord.NO)])
    assert [p.text for p in h.prompts("confirm_stop")] == ["End? Say yes or no."]
    assert [p.text for p in h.prompts("resumed")] == ["Going on."]
    assert [(r.t, round(r.paused_s, 6)) for r in h.of(Resumed)] == [(7.0, 2.4)]
    assert h.of(FloorEnded) == []
    assert not h.engine.done


def test_stop_confirmed_with_yes_ends_the_session_cleanly() -> None:
    h = harness(one_floor())
    h.run_until(20.0, [*speech(1.0, 4.0), said(5.0, CommandWord.STOP), said(7.0, CommandWord.YES)])
    ended = h.of(FloorEnded)
    assert [(e.t, e.reason) for e in ended] == [(7.0, FloorEndReason.COMMAND)]
    # The floor's clock stood still while the question was open.
    assert ended[0].held_s == pytest.approx(5.0 - FLOOR_START_T)
    assert [p.text for p in h.prompts("stopping")] == ["Stopping."]
    # The session ends once the goodbye has been said.
    last = h.events[-1]
    assert isinstance(last, SessionEnded)
    assert last.reason is EndReason.STOPPED
    assert last.t == pytest.approx(7.2, abs=FRAME_S)
    assert h.engine.end_reason is EndReason.STOPPED


def test_an_unanswered_stop_question_means_no() -> None:
    h = harness(one_floor(), CommandConfig(stop_answer_s=5.0))
    h.run_until(20.0, [said(5.0, CommandWord.STOP)])
    resumed = h.of(Resumed)
    assert len(resumed) == 1
    # The question ends at 6.0; five quiet seconds later the session goes on.
    assert resumed[0].t == pytest.approx(11.0, abs=FRAME_S)
    assert not h.engine.done


def test_stop_during_a_break_and_no_goes_back_to_the_break() -> None:
    h = harness(one_floor(), CommandConfig(break_s=60.0))
    h.run_until(
        40.0,
        [
            said(5.0, CommandWord.TIME_OUT),
            said(10.0, CommandWord.STOP),
            said(13.0, CommandWord.NO),
        ],
    )
    assert h.engine.phase is Phase.BREAK
    assert h.of(Resumed) == []
    h.run_until(70.0)
    assert len(h.prompts("come_back")) == 1


def test_stop_is_heard_even_while_paused() -> None:
    h = harness(one_floor())
    h.run_until(
        20.0,
        [said(3.0, CommandWord.PAUSE), said(8.0, CommandWord.STOP), said(10.0, CommandWord.YES)],
    )
    assert h.engine.end_reason is EndReason.STOPPED


# --- confirmations -----------------------------------------------------------------------------


@pytest.mark.parametrize("negative", [CommandWord.NOT_QUITE, CommandWord.NO])
def test_spoken_answers_confirm_the_paraphrase(negative: CommandWord) -> None:
    h = harness(paraphrase_exercise())
    keys: Script = [(t, KeyPress(t, "enter")) for t in (5.0, 10.0, 16.0, 22.0)]
    h.run_until(60.0, [*keys, said(12.0, negative), said(24.0, CommandWord.YES)])
    floors = [(f.partner, f.role, f.attempt) for f in h.of(FloorGiven)]
    assert floors == [
        ("A", FloorRole.SPEAK, 1),
        ("B", FloorRole.PARAPHRASE, 1),
        ("A", FloorRole.CONFIRM, 1),
        ("A", FloorRole.CLARIFY, 2),
        ("B", FloorRole.PARAPHRASE, 2),
        ("A", FloorRole.CONFIRM, 2),
    ]
    assert [(c.answer, c.attempt) for c in h.of(Confirmation)] == [
        ("not_quite", 1),
        ("yes", 2),
    ]


def test_the_answer_input_still_confirms() -> None:
    h = harness(paraphrase_exercise())
    keys: Script = [(t, KeyPress(t, "enter")) for t in (5.0, 10.0)]
    h.run_until(40.0, [*keys, (12.0, Answer(12.0, "yes"))])
    assert [c.answer for c in h.of(Confirmation)] == ["yes"]


def test_a_handover_phrase_does_not_answer_a_confirmation() -> None:
    h = harness(paraphrase_exercise())
    keys: Script = [(t, KeyPress(t, "enter")) for t in (5.0, 10.0)]
    h.run_until(14.0, [*keys, said(12.0, CommandWord.HANDOVER)])
    assert h.of(VoiceCommand)[-1].applied is False
    assert h.of(Confirmation) == []


# --- transcripts -------------------------------------------------------------------------------


def test_heard_words_become_a_transcript_attributed_by_the_floor() -> None:
    h = harness(one_floor())
    words = (WordTime("over", 4.0, 4.3), WordTime("to", 4.3, 4.4), WordTime("you", 4.4, 4.7))
    h.run_until(10.0, [(5.0, Heard(5.0, words))])
    assert h.of(Transcript) == [
        Transcript(4.0, end_t=4.7, partner="A", text="over to you", words=words)
    ]


def test_new_events_survive_their_json_form() -> None:
    events: list[Event] = [
        VoiceCommand(1.0, word=CommandWord.MORE_TIME, partner="B", applied=True),
        VoiceCommand(2.0, word=CommandWord.STOP, partner=None, applied=False),
        Paused(3.0),
        Resumed(4.0, paused_s=1.0),
        TimeOut(5.0, break_s=1200.0),
        Transcript(
            6.0,
            end_t=6.5,
            partner=None,
            text="yes",
            words=(WordTime("yes", 6.0, 6.5),),
        ),
    ]
    for event in events:
        assert event_from_json(json.loads(json.dumps(event.to_json()))) == event
    transcript = events[-1].to_json()
    assert transcript["words"] == [{"w": "yes", "start": 6.0, "end": 6.5}]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"kind": "command", "t": 1, "word": "dance", "partner": None, "applied": True}, "dance"),
        ({"kind": "command", "t": 1, "word": "stop", "partner": None, "applied": 1}, "applied"),
        (
            {"kind": "transcript", "t": 1, "end_t": 2, "partner": None, "text": "x", "words": [1]},
            "word",
        ),
    ],
)
def test_malformed_new_events_are_rejected(data: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        event_from_json(data)
