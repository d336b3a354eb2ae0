"""The session engine on scripted inputs: floors, cues, check-ins, overtime, hand-overs.

The engine imports no audio library by design, so these tests drive it with scripted
speech and ticks. The prompt player here is the engine's own ``PromptPlayer`` contract
with a fixed speaking rate (a fifth of a second per word) so that every time in the
expected logs can be worked out by hand; real espeak-ng prompts are covered by the
session tests in test_session.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from engine_script import FRAME_S, CountingVoice, Harness, Script, speech

from attune_voice.config import TurnConfig
from attune_voice.events import (
    CheckIn,
    Confirmation,
    Cue,
    EndReason,
    FloorEnded,
    FloorEndReason,
    FloorGiven,
    FloorRole,
    Overtime,
    Prompt,
    SessionEnded,
    Speech,
    SpeechKind,
)
from attune_voice.exercises.library import load_exercise
from attune_voice.exercises.model import Exercise, Prompts, Step, StepKind, Who
from attune_voice.session.ports import Answer, KeyPress, Stop


def one_floor_exercise(limit_s: float = 60.0, cues_s: tuple[float, ...] = (30.0,)) -> Exercise:
    return Exercise(
        name="one-floor",
        title="One floor",
        goal="test",
        skill="test",
        rounds=1,
        limit_s=limit_s,
        cues_s=cues_s,
        prompts=Prompts(
            cue="{remaining} left.",
            overtime="Time, {holder}.",
            check_in="Still there, {holder}?",
            confirmed="Thanks.",
            unheard="",
        ),
        round=(Step(StepKind.FLOOR, text="Go {speaker}.", who=Who.SPEAKER),),
    )


def test_the_floor_is_given_after_its_prompt_and_ends_on_the_key() -> None:
    h = Harness(one_floor_exercise())
    h.run_until(30.0, [*speech(1.0, 8.0), (9.0, KeyPress(9.0, "enter"))])
    given = h.of(FloorGiven)
    assert len(given) == 1
    assert given[0].t == pytest.approx(0.42)  # "Go Sam." is two words
    assert given[0] == FloorGiven(given[0].t, partner="A", role=FloorRole.SPEAK, limit_s=60.0)
    ended = h.of(FloorEnded)
    assert len(ended) == 1
    assert ended[0].reason is FloorEndReason.HANDOVER_KEY
    assert ended[0].t == pytest.approx(9.0)
    assert ended[0].held_s == pytest.approx(9.0 - 0.42)
    assert h.of(Speech) == [
        Speech(1.0, end_t=8.0, partner="A", speech_kind=SpeechKind.TURN, attributed_by="floor")
    ]
    assert h.engine.done
    assert isinstance(h.events[-1], SessionEnded)


def test_thinking_pauses_never_end_the_turn() -> None:
    h = Harness(one_floor_exercise(limit_s=120.0, cues_s=()))
    # Pauses of 1.5, 3.0 and 3.9 s: all under the 4 s check-in threshold.
    script = speech(1.0, 5.0) + speech(6.5, 10.0) + speech(13.0, 20.0) + speech(23.9, 30.0)
    h.run_until(33.0, script)
    assert h.of(FloorEnded) == []
    assert h.of(CheckIn) == []


def test_long_silence_gets_a_check_in_then_hands_over() -> None:
    h = Harness(one_floor_exercise(limit_s=120.0, cues_s=()))
    h.run_until(40.0, speech(1.0, 10.0))
    check_ins = h.of(CheckIn)
    assert len(check_ins) == 1
    assert check_ins[0].t == pytest.approx(14.0, abs=FRAME_S)  # 4 s after speech ended
    check_in_prompt = next(p for p in h.of(Prompt) if p.purpose == "check_in")
    assert check_in_prompt.text == "Still there, Sam?"
    ended = h.of(FloorEnded)
    assert [e.reason for e in ended] == [FloorEndReason.SILENCE]
    # 4 more seconds of quiet after the check-in has finished playing.
    assert ended[0].t == pytest.approx(check_in_prompt.end_t + 4.0, abs=FRAME_S)


def test_speech_after_a_check_in_keeps_the_floor() -> None:
    h = Harness(one_floor_exercise(limit_s=120.0, cues_s=()))
    h.run_until(23.0, speech(1.0, 10.0) + speech(16.0, 20.0))
    assert len(h.of(CheckIn)) == 1
    assert h.of(FloorEnded) == []


def test_cues_are_spoken_at_their_points() -> None:
    h = Harness(one_floor_exercise(limit_s=60.0, cues_s=(30.0, 10.0)))
    h.run_until(55.0, speech(1.0, 54.0))
    cues = h.of(Cue)
    assert [(round(c.t - 0.42, 2), c.remaining_s) for c in cues] == [(30.0, 30.0), (50.0, 10.0)]
    texts = [p.text for p in h.of(Prompt) if p.purpose == "cue"]
    assert texts == ["thirty seconds left.", "ten seconds left."]


def test_over_the_limit_a_reminder_then_the_turn_ends_at_a_pause() -> None:
    h = Harness(one_floor_exercise(limit_s=20.0, cues_s=()))
    h.run_until(40.0, speech(1.0, 26.0))
    overtime = h.of(Overtime)
    assert len(overtime) == 1
    assert overtime[0].t == pytest.approx(20.42, abs=FRAME_S)
    ended = h.of(FloorEnded)[0]
    assert ended.reason is FloorEndReason.LIMIT
    assert ended.overtime_s == pytest.approx(26.0 - 20.42, abs=FRAME_S)
    # Not a cut-off: the floor lasted until a one-second pause after the speech.
    assert ended.t == pytest.approx(27.0, abs=2 * FRAME_S)


def test_a_quiet_holder_at_the_limit_simply_hands_over() -> None:
    h = Harness(one_floor_exercise(limit_s=20.0, cues_s=()))
    h.run_until(
        40.0,
        speech(1.0, 3.0)
        + speech(4.5, 6.0)
        + speech(8.0, 9.0)
        + speech(11.0, 14.0)
        + speech(16.0, 17.5),
    )
    assert h.of(Overtime) == []
    ended = h.of(FloorEnded)[0]
    assert (ended.reason, ended.overtime_s) == (FloorEndReason.LIMIT, 0.0)
    assert ended.t == pytest.approx(20.42, abs=FRAME_S)


def test_channel_attribution_tells_backchannels_from_interruptions() -> None:
    h = Harness(one_floor_exercise(limit_s=120.0, cues_s=()))
    script = (
        speech(1.0, 20.0, "A")
        + speech(5.0, 5.6, "B")  # "mm-hm"
        + speech(10.0, 12.5, "B")  # talking over the speaker
    )
    h.run_until(22.0, script)
    kinds = {(s.partner, s.speech_kind, s.attributed_by) for s in h.of(Speech)}
    assert kinds == {
        ("A", SpeechKind.TURN, "channel"),
        ("B", SpeechKind.BACKCHANNEL, "channel"),
        ("B", SpeechKind.INTERRUPTION, "channel"),
    }


def test_the_listeners_speech_does_not_hold_the_speakers_floor_open() -> None:
    h = Harness(one_floor_exercise(limit_s=120.0, cues_s=()))
    h.run_until(30.0, speech(1.0, 5.0, "A") + speech(6.0, 8.0, "B"))
    # Quiet for the holder counts from 5.0, whatever the listener did.
    assert h.of(CheckIn)[0].t == pytest.approx(9.0, abs=FRAME_S)


def test_speech_outside_any_floor_is_an_aside() -> None:
    exercise = replace(
        one_floor_exercise(), opening=(Step(StepKind.SAY, text=" ".join(["word"] * 50)),)
    )
    h = Harness(exercise)
    h.run_until(8.0, speech(2.0, 3.0))
    assert [s.speech_kind for s in h.of(Speech)] == [SpeechKind.ASIDE]
    assert h.of(Speech)[0].partner is None


def paraphrase_exercise(max_attempts: int = 2) -> Exercise:
    return Exercise(
        name="paraphrase",
        title="Paraphrase",
        goal="test",
        skill="test",
        max_attempts=max_attempts,
        confirm_limit_s=20.0,
        prompts=Prompts(
            clarify="Clarify, {speaker}.",
            retry="Again, {listener}.",
            confirmed="Thanks.",
            unheard="",
        ),
        round=(
            Step(StepKind.FLOOR, text="Speak.", who=Who.SPEAKER),
            Step(StepKind.PARAPHRASE, text="Say back.", who=Who.LISTENER),
            Step(StepKind.CONFIRM, text="Right?", who=Who.SPEAKER),
        ),
    )


def test_not_quite_gives_a_clarification_and_a_second_attempt() -> None:
    h = Harness(paraphrase_exercise())
    keys: Script = [(t, KeyPress(t, "enter")) for t in (5.0, 10.0, 16.0, 22.0)]
    answers: Script = [(12.0, Answer(12.0, "not_quite")), (24.0, Answer(24.0, "yes"))]
    h.run_until(60.0, keys + answers)
    floors = [(f.partner, f.role, f.attempt) for f in h.of(FloorGiven)]
    assert floors == [
        ("A", FloorRole.SPEAK, 1),
        ("B", FloorRole.PARAPHRASE, 1),
        ("A", FloorRole.CONFIRM, 1),
        ("A", FloorRole.CLARIFY, 2),
        ("B", FloorRole.PARAPHRASE, 2),
        ("A", FloorRole.CONFIRM, 2),
    ]
    confirmations = [(c.answer, c.attempt) for c in h.of(Confirmation)]
    assert confirmations == [("not_quite", 1), ("yes", 2)]
    assert [p.text for p in h.of(Prompt)][-1] == "Thanks."
    assert h.engine.end_reason is EndReason.COMPLETED


def test_attempts_stop_at_the_exercise_maximum() -> None:
    h = Harness(paraphrase_exercise(max_attempts=1))
    keys: Script = [(t, KeyPress(t, "enter")) for t in (5.0, 10.0)]
    h.run_until(40.0, [*keys, (12.0, Answer(12.0, "not_quite"))])
    assert [c.answer for c in h.of(Confirmation)] == ["not_quite"]
    assert FloorRole.CLARIFY not in {f.role for f in h.of(FloorGiven)}
    assert h.engine.done


def test_a_confirmation_nobody_understood_is_logged_as_unheard() -> None:
    h = Harness(paraphrase_exercise())
    keys: Script = [(t, KeyPress(t, "enter")) for t in (5.0, 10.0)]
    h.run_until(40.0, keys + speech(11.0, 11.6))
    confirmation = h.of(Confirmation)[0]
    assert confirmation.answer == "unheard"
    # A short answer: 1.5 s of quiet after it ends the confirmation floor.
    assert h.of(FloorEnded)[-1].t == pytest.approx(11.6 + 1.5, abs=FRAME_S)


def test_stop_closes_the_open_floor_and_ends_the_session() -> None:
    h = Harness(one_floor_exercise())
    h.run_until(5.0, speech(1.0, 3.0))
    h.engine.handle(Stop(5.0, EndReason.STOPPED))
    assert [e.reason for e in h.of(FloorEnded)] == [FloorEndReason.SESSION_END]
    assert h.events[-1] == SessionEnded(5.0, reason=EndReason.STOPPED)
    assert h.engine.done


def test_the_built_in_exercise_alternates_floors_and_names_the_partners() -> None:
    h = Harness(load_exercise("speaker-listener").with_overrides(limit_s=20.0, rounds=1))
    h.run_until(600.0)
    floors = [(f.partner, f.role) for f in h.of(FloorGiven)]
    assert floors == [
        ("A", FloorRole.SPEAK),
        ("B", FloorRole.PARAPHRASE),
        ("A", FloorRole.CONFIRM),
        ("B", FloorRole.SPEAK),
        ("A", FloorRole.PARAPHRASE),
        ("B", FloorRole.CONFIRM),
        ("A", FloorRole.SPEAK),  # appreciation
        ("B", FloorRole.SPEAK),
    ]
    spoken = " ".join(text for text, _ in h.voice.said)
    assert "Sam" in spoken and "Alex" in spoken
    assert "{" not in spoken
    assert h.engine.end_reason is EndReason.COMPLETED


def test_the_log_is_in_time_order_except_speech_which_is_stamped_with_its_start() -> None:
    h = Harness(load_exercise("speaker-listener").with_overrides(limit_s=20.0, rounds=1))
    h.run_until(600.0, speech(30.0, 35.0))
    others = [e.t for e in h.events if not isinstance(e, Speech)]
    assert others == sorted(others)


def test_turn_config_changes_the_check_in_threshold() -> None:
    h = Harness(
        one_floor_exercise(limit_s=120.0, cues_s=()), config=TurnConfig(silence_checkin_s=2.0)
    )
    h.run_until(20.0, speech(1.0, 5.0))
    assert h.of(CheckIn)[0].t == pytest.approx(7.0, abs=FRAME_S)


class ChimingVoice(CountingVoice):
    """Also sounds chimes, each taking one second, and remembers them."""

    def __init__(self) -> None:
        super().__init__()
        self.chimes: list[str] = []

    def chime(self, name: str) -> float:
        self.chimes.append(name)
        return 1.0


def test_chimes_sound_for_cues_overtime_and_the_end_of_a_floor() -> None:
    voice = ChimingVoice()
    h = Harness(one_floor_exercise(limit_s=20.0, cues_s=(10.0,)), voice)
    h.run_until(60.0, speech(1.0, 26.0))
    assert voice.chimes == ["bell", "bowl", "fall"]  # cue, overtime, end of the floor
    # The chime comes first: the cue's words start once it has sounded.
    cue = next(p for p in h.of(Prompt) if p.purpose == "cue")
    assert cue.t == pytest.approx(h.of(Cue)[0].t + 1.0)


def test_a_silent_exercise_sounds_no_chimes() -> None:
    exercise = one_floor_exercise(limit_s=20.0, cues_s=(10.0,)).with_overrides(
        limit_s=None, rounds=None, silent=True
    )
    voice = ChimingVoice()
    h = Harness(exercise, voice)
    h.run_until(60.0, speech(1.0, 26.0))
    assert voice.chimes == []
    assert len(h.of(Cue)) == 1
