"""PREP's loop on the floor: short pieces, each said back and confirmed, then "is there more?".

The demo's speaker-listener session, as ``attune-voice demo`` plays it (seed 1, the
exercise's own limits and rounds), with real espeak-ng partners in the simulated room,
with and without a speech model; and the checker's rules for a script's pieces.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_script import FRAME_S, Behaviour, Harness, Script, drive, key, speech
from test_session import Played, play
from vosk_fixtures import vosk_model_path

from attune_voice.events import (
    Confirmation,
    Cue,
    Event,
    FloorEnded,
    FloorGiven,
    FloorRole,
    More,
    Overtime,
    Paraphrase,
    Prompt,
    Readiness,
)
from attune_voice.exercises.loader import check_exercise_text
from attune_voice.exercises.model import Exercise, Prompts, Step, StepKind, Who
from attune_voice.listening.asr import SpeechModel
from attune_voice.review.metrics import summarize
from attune_voice.session.ports import KeyPress
from attune_voice.voice.tts import SpeechRenderer

__all__ = ["vosk_model_path"]  # a fixture, used by name

DEMO_SEED = 1
"""``attune-voice demo``'s default seed."""


def demo(renderer: SpeechRenderer, model: SpeechModel | None) -> Played:
    # The exercise's own limit (2m, in pieces of 40s) and rounds (2), as the demo plays it.
    return play(renderer, seed=DEMO_SEED, limit_s=120.0, rounds=2, model=model)


@pytest.fixture(scope="module")
def by_key(renderer: SpeechRenderer) -> Played:
    return demo(renderer, None)


@pytest.fixture(scope="module")
def by_voice(renderer: SpeechRenderer, vosk_model_path: Path) -> Played:
    return demo(renderer, SpeechModel(vosk_model_path))


def pieces_said_back(events: list[Event]) -> list[int]:
    """For each speaker's floor, how many of its pieces the listener said back: the first
    paraphrase attempts before the answer to "is there more?" that closed the floor."""
    counts: list[int] = []
    said_back = 0
    for event in events:
        if isinstance(event, Paraphrase) and event.attempt == 1:
            said_back += 1
        elif isinstance(event, More) and event.answer != "yes":
            counts.append(said_back)
            said_back = 0
    return counts


@pytest.mark.parametrize("which", ["by_key", "by_voice"])
def test_each_floor_is_said_back_piece_by_piece(which: str, request: pytest.FixtureRequest) -> None:
    played: Played = request.getfixturevalue(which)
    events = played.events
    counts = pieces_said_back(events)
    # Two rounds, each partner's floor once a round.
    assert len(counts) == 4
    assert min(counts) >= 1
    assert sum(counts) / len(counts) > 1.0
    # Every paraphrase in the rounds belongs to a piece of a floor: none is left over.
    assert sum(isinstance(e, Paraphrase) and e.attempt == 1 for e in events) == sum(counts)
    # The review counts the same from the log: each partner's floors, and the pieces of
    # them the other said back.
    a, b = summarize(events).partners_summary
    assert (a.floors_in_pieces, b.floors_in_pieces) == (2, 2)
    assert b.paraphrase_rounds + a.paraphrase_rounds == sum(counts)
    assert b.paraphrase_rounds / a.floors_in_pieces == sum(counts[0::2]) / 2


@pytest.mark.parametrize("which", ["by_key", "by_voice"])
def test_a_yes_to_is_there_more_gives_the_speaker_another_piece(
    which: str, request: pytest.FixtureRequest
) -> None:
    played: Played = request.getfixturevalue(which)
    events = played.events
    limit_s = 120.0
    yeses = [i for i, e in enumerate(events) if isinstance(e, More) and e.answer == "yes"]
    assert yeses
    for index in yeses:
        more = events[index]
        assert isinstance(more, More)
        assert more.left_s >= 10.0
        go_on = next(e for e in events[index:] if isinstance(e, Prompt))
        assert go_on.text == f"Go on, {('Sam', 'Alex')['AB'.index(more.partner)]}."
        piece = next(e for e in events[index:] if isinstance(e, FloorGiven))
        assert (piece.partner, piece.role) == (more.partner, FloorRole.CONTINUE)
        # A piece never runs past what is left of the floor, nor past 40 seconds.
        assert piece.limit_s == pytest.approx(min(40.0, more.left_s))
    assert all(m.left_s < limit_s for m in events if isinstance(m, More))


@pytest.mark.parametrize(("which", "by"), [("by_key", "key"), ("by_voice", "voice")])
def test_both_partners_answer_the_readiness_question_before_the_first_floor(
    which: str, by: str, request: pytest.FixtureRequest
) -> None:
    played: Played = request.getfixturevalue(which)
    events = played.events
    first_floor = next(e for e in events if isinstance(e, FloorGiven))
    answers = [e for e in events if isinstance(e, Readiness)]
    assert [(a.partner, a.answer, a.by) for a in answers] == [("A", "yes", by), ("B", "yes", by)]
    assert all(a.t < first_floor.t for a in answers)


# --- the checker ------------------------------------------------------------------------

HEAD = """\
name = "pieces"
skill = "empathy"
limit = "2m"
"""

FLOOR = """
[[round]]
kind = "floor"
piece = "{piece}"
text = "{{speaker}}, a piece at a time."
"""
PARAPHRASE = """
[[round]]
kind = "paraphrase"
text = "{listener}, what did you hear?"
"""
CONFIRM = """
[[round]]
kind = "confirm"
text = "{speaker}, was that it?"
"""
MORE = """
[[round]]
kind = "more"
text = "{speaker}, is there more?"
"""
SWAP = """
[[round]]
kind = "swap"
"""


def problems_of(*steps: str, piece: str = "40s") -> list[str]:
    text = HEAD + "".join(steps).replace("{piece}", piece)
    _, problems = check_exercise_text(text, "pieces.toml")
    return [p.message for p in problems]


def test_a_floor_in_pieces_with_its_more_step_after_the_confirm_is_fine() -> None:
    assert problems_of(FLOOR, PARAPHRASE, CONFIRM, MORE, SWAP) == []


def test_a_more_step_must_follow_a_confirm_of_a_floor_in_pieces() -> None:
    assert problems_of(FLOOR, PARAPHRASE, MORE) == [
        "this more step in [[round]] does not follow a confirm step"
    ]
    assert problems_of(PARAPHRASE.replace("paraphrase", "floor", 1), MORE) == [
        "this more step in [[round]] has no floor to go back to"
    ]
    # A swap between the floor and the question: the floor to go back to is another's.
    assert "this more step in [[round]] has no floor to go back to" in problems_of(
        FLOOR, PARAPHRASE, CONFIRM, SWAP, MORE
    )


def test_a_floor_in_pieces_needs_a_more_step() -> None:
    assert problems_of(FLOOR, PARAPHRASE, CONFIRM, SWAP) == [
        "this floor step in [[round]] is said in pieces, but no more step asks for the next piece"
    ]


def test_a_piece_is_shorter_than_its_floor_and_only_a_floor_has_one() -> None:
    assert problems_of(FLOOR, PARAPHRASE, CONFIRM, MORE, piece="2m") == [
        "a piece of 2m is not shorter than the floor's limit 2m"
    ]
    with_piece = CONFIRM.replace('kind = "confirm"', 'kind = "confirm"\npiece = "20s"')
    assert "only a floor step is said in pieces, not a confirm step" in problems_of(
        FLOOR, PARAPHRASE, with_piece, MORE
    )


# --- the engine, scripted ---------------------------------------------------------------


def pieces_exercise(limit_s: float = 60.0, piece_s: float = 25.0) -> Exercise:
    return Exercise(
        name="pieces",
        title="Pieces",
        goal="test",
        skill="test",
        limit_s=limit_s,
        cues_s=(20.0,),
        prompts=Prompts(
            go_on="Go on, {speaker}.",
            piece_end="Stop there, {holder}.",
            confirmed="Thanks.",
            unheard="Thank you, {speaker}.",
        ),
        round=(
            Step(StepKind.FLOOR, text="Speak.", who=Who.SPEAKER, piece_s=piece_s),
            Step(StepKind.PARAPHRASE, text="Say back.", who=Who.LISTENER),
            Step(StepKind.CONFIRM, text="Right?", who=Who.SPEAKER),
            Step(StepKind.MORE, text="More?", who=Who.SPEAKER),
            Step(StepKind.FLOOR, text="Makes sense?", who=Who.LISTENER, limit_s=15.0),
        ),
    )


def answering(more: list[str], *, speak_s: float = 10.0) -> Behaviour:
    """A couple in which the speaker talks ``speak_s`` a piece and hands over by key, the
    listener says it back in 3 s, the speaker confirms with Y and answers "is there
    more?" with the keys in ``more`` in turn."""
    answers = iter(more)

    def behave(number: int, floor: FloorGiven) -> Script:
        t = floor.t
        if floor.role in (FloorRole.SPEAK, FloorRole.CONTINUE):
            end_t = t + 0.5 + min(speak_s, floor.limit_s + 3.0)
            return [*speech(t + 0.5, end_t, floor.partner), key(end_t + 1.0)]
        if floor.role is FloorRole.PARAPHRASE:
            return [*speech(t + 0.5, t + 3.5, floor.partner), key(t + 4.0)]
        if floor.role is FloorRole.CONFIRM:
            return [(t + 1.0, KeyPress(t + 1.0, "y"))]
        assert floor.role is FloorRole.MORE
        pressed = next(answers)
        return [(t + 1.0, KeyPress(t + 1.0, pressed))]

    return behave


def test_yes_gives_another_piece_until_no_and_each_piece_is_said_back() -> None:
    h = Harness(pieces_exercise())
    drive(h, 300.0, answering(["y", "y", "n"]))
    assert h.engine.done
    roles = [(f.partner, f.role) for f in h.of(FloorGiven)]
    loop = [
        ("B", FloorRole.PARAPHRASE),
        ("A", FloorRole.CONFIRM),
        ("A", FloorRole.MORE),
    ]
    assert roles == [
        ("A", FloorRole.SPEAK),
        *loop,
        ("A", FloorRole.CONTINUE),
        *loop,
        ("A", FloorRole.CONTINUE),
        *loop,
        ("B", FloorRole.SPEAK),  # what makes sense to the listener
    ]
    assert [m.answer for m in h.of(More)] == ["yes", "yes", "no"]
    # Each piece held the floor 11.5 s (0.5 s, 10 s of speech, 1 s), taken from 60 s.
    assert [m.left_s for m in h.of(More)] == pytest.approx([48.5, 37.0, 25.5], abs=0.05)
    assert [p.text for p in h.prompts("floor")].count("Go on, Sam.") == 2
    assert [p.attempt for p in h.of(Paraphrase)] == [1, 1, 1]


def test_a_piece_ends_at_its_length_without_overtime_and_time_left_decides_the_question() -> None:
    # Pieces of 25 s in a floor of 60 s, and a speaker who talks on 3 s past each piece's
    # end: each piece holds the floor 29.5 s (0.5 s, 28 s of speech, 1 s of quiet).
    h = Harness(pieces_exercise())
    drive(h, 400.0, answering(["y", "y"], speak_s=40.0))
    assert h.engine.done
    pieces = [f for f in h.of(FloorGiven) if f.role in (FloorRole.SPEAK, FloorRole.CONTINUE)][:-1]
    assert [f.limit_s for f in pieces] == [25.0, 25.0]
    # The piece's end asks the speaker to stop for the listener: never "overtime".
    assert [p.text for p in h.prompts("piece_end")] == ["Stop there, Sam."] * 2
    # (The listener's own short floor afterwards runs over: that is overtime.)
    assert [o.partner for o in h.of(Overtime)] == ["B"]
    assert all(e.overtime_s == 0.0 for e in h.of(FloorEnded) if e.partner == "A")
    # 30.5 s left after the first piece; 1 s after the second, too little to ask again.
    assert [m.answer for m in h.of(More)] == ["yes", "no_time"]
    assert [m.left_s for m in h.of(More)] == pytest.approx([30.5, 1.0], abs=2 * FRAME_S)
    # The floor's cue (20 s left) belongs to its last piece, which never came.
    assert h.of(Cue) == []


def test_an_unconfirmed_piece_thanks_the_speaker_by_name() -> None:
    h = Harness(pieces_exercise())

    def not_quite(number: int, floor: FloorGiven) -> Script:
        t = floor.t
        if floor.role is FloorRole.CONFIRM:
            return [(t + 1.0, KeyPress(t + 1.0, "n"))]
        if floor.role is FloorRole.MORE:
            return [(t + 1.0, KeyPress(t + 1.0, "n"))]
        return [*speech(t + 0.5, t + 3.0, floor.partner), key(t + 3.5)]

    drive(h, 300.0, not_quite)
    assert [c.answer for c in h.of(Confirmation)] == ["not_quite", "not_quite"]
    assert "Thank you, Sam." in [p.text for p in h.prompts("confirmed")]
    assert [m.answer for m in h.of(More)] == ["no"]
