"""Whole sessions in the simulated room with real espeak-ng partners and the real voice model.

The room's own record of who spoke when is the truth; the engine never sees it. With
the generated vosk test model the partners hand over and answer by voice, and the
session understands them through the real libvosk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from vosk_fixtures import vosk_model_path

from attune_voice.config import FRAME_MS, DetectorConfig, RoomConfig
from attune_voice.events import (
    CommandWord,
    Confirmation,
    EndReason,
    Event,
    FloorEnded,
    FloorEndReason,
    FloorGiven,
    Key,
    Prompt,
    SessionEnded,
    Speech,
    SpeechKind,
    Transcript,
    VoiceCommand,
)
from attune_voice.exercises.library import load_exercise
from attune_voice.listening.asr import CommandParser, Recognizer, SpeechModel
from attune_voice.listening.listener import Listener, Understanding
from attune_voice.session.engine import SessionEngine
from attune_voice.session.loop import EventLog, SessionLoop
from attune_voice.simulated.demo import partner_voices
from attune_voice.simulated.room import SimulatedRoom, TruthSegment
from attune_voice.voice.player import PromptVoicePlayer
from attune_voice.voice.tts import SpeechRenderer

__all__ = ["vosk_model_path"]  # a fixture, used by name

GOLDEN = Path(__file__).parent / "golden"
NAMES = ("Sam", "Alex")


@dataclass
class Played:
    events: list[Event]
    room: SimulatedRoom
    reason: EndReason
    end_t: float
    player: PromptVoicePlayer


def play(
    renderer: SpeechRenderer,
    seed: int,
    microphones: int = 2,
    limit_s: float = 60.0,
    rounds: int = 1,
    exercise: str = "speaker-listener",
    model: SpeechModel | None = None,
    transcripts: bool = False,
    prepare_ahead: bool | None = None,
    room_class: type[SimulatedRoom] = SimulatedRoom,
) -> Played:
    chosen = load_exercise(exercise).with_overrides(limit_s=limit_s, rounds=rounds)
    voices = partner_voices(renderer)
    room = room_class(voices, RoomConfig(seed=seed, microphones=microphones))
    log = EventLog()
    player = PromptVoicePlayer(renderer, room)
    engine = SessionEngine(chosen, NAMES, player, log, understands_speech=model is not None)
    understanding = None
    if model is not None:
        room.voice_commands = True
        parser = CommandParser(chosen.handover_phrases)
        recognizer = Recognizer(model, None if transcripts else parser.phrases)
        understanding = Understanding(recognizer, parser, transcripts)
    loop = SessionLoop(
        room,
        engine,
        Listener(room.channels, understanding=understanding),
        prepare_ahead=prepare_ahead,
    )
    reason = loop.run()
    return Played(log.events, room, reason, loop.t, player)


def prompt_windows(events: list[Event], tail_s: float = 0.3) -> list[tuple[float, float]]:
    return [(e.t, e.end_t + tail_s) for e in events if isinstance(e, Prompt)]


def overlaps(a0: float, a1: float, b0: float, b1: float) -> bool:
    return a0 < b1 and b0 < a1


def timing_errors(played: Played) -> tuple[np.ndarray, np.ndarray, int]:
    """Start and end errors (detected minus truth, seconds) of clean truth segments.

    A truth segment is clean when no prompt and no other partner's speech overlaps it,
    so exactly one detected segment should cover it. Also returns how many were missed.
    """
    speech = [e for e in played.events if isinstance(e, Speech)]
    windows = prompt_windows(played.events)
    starts, ends, missed = [], [], 0
    truth = played.room.truth
    for seg in truth:
        if any(overlaps(seg.start_t - 0.05, seg.end_t + 0.05, a, b) for a, b in windows):
            continue
        if any(
            o is not seg and overlaps(seg.start_t, seg.end_t, o.start_t, o.end_t) for o in truth
        ):
            continue
        found = [s for s in speech if overlaps(s.t, s.end_t, seg.start_t, seg.end_t)]
        if not found:
            missed += 1
            continue
        starts.append(min(s.t for s in found) - seg.start_t)
        ends.append(max(s.end_t for s in found) - seg.end_t)
    return np.array(starts), np.array(ends), missed


@pytest.fixture(scope="module")
def two_mic_session(renderer: SpeechRenderer) -> Played:
    return play(renderer, seed=3, microphones=2)


def test_a_whole_session_completes(two_mic_session: Played) -> None:
    played = two_mic_session
    assert played.reason is EndReason.COMPLETED
    assert isinstance(played.events[-1], SessionEnded)
    given = [e for e in played.events if isinstance(e, FloorGiven)]
    ended = [e for e in played.events if isinstance(e, FloorEnded)]
    # Every floor given ends, in order; a speaker's floor comes in one or more pieces.
    assert [(e.partner, e.role) for e in given] == [(e.partner, e.role) for e in ended]
    assert len(given) >= 14


class LiveRoom(SimulatedRoom):
    """The simulated room, declared to run in real time as the device does."""

    real_time = True


@pytest.mark.parametrize("microphones", [2, 1])
def test_on_live_audio_every_prompt_is_rendered_before_it_is_due(
    renderer: SpeechRenderer, microphones: int
) -> None:
    played = play(renderer, seed=3, microphones=microphones, room_class=LiveRoom)
    # The loop rendered each prompt while the one before it played: the engine's
    # decisions were never followed by a rendering.
    player = played.player
    prompts = [e for e in played.events if isinstance(e, Prompt)]
    assert played.reason is EndReason.COMPLETED
    assert player.said_on_demand == 0
    assert player.said_prepared == len(prompts)
    # Rendered and never said: what nobody needed, at most once per partner each (the
    # overtime reminder, the end of a piece, "go on", the clarification, the thanks after
    # a paraphrase that did not land) and "not now".
    assert player.prepared - len({p.text for p in prompts}) <= 2 * 5 + 1


def test_a_simulated_room_renders_each_prompt_when_it_is_first_said(
    two_mic_session: Played,
) -> None:
    # No clock to beat: rendering ahead would only add the prompts that never come.
    player = two_mic_session.player
    prompts = [e for e in two_mic_session.events if isinstance(e, Prompt)]
    assert player.prepared == 0
    assert player.said_on_demand == len({p.text for p in prompts})


def test_turn_times_match_the_rooms_truth(two_mic_session: Played) -> None:
    starts, ends, missed = timing_errors(two_mic_session)
    assert len(starts) >= 20
    assert missed == 0
    # Tolerances reached: median within 20 ms at both edges; 90% of starts within 30 ms
    # and of ends within 150 ms (fading word endings under the noise are the slack).
    assert abs(np.median(starts)) <= 0.02
    assert abs(np.median(ends)) <= 0.02
    assert np.percentile(np.abs(starts), 90) <= 0.03
    assert np.percentile(np.abs(ends), 90) <= 0.15


def test_no_prompt_becomes_speech(two_mic_session: Played) -> None:
    # The microphone hears through prompts now: speech over a prompt is a partner's.
    windows = [(e.t, e.end_t) for e in two_mic_session.events if isinstance(e, Prompt)]
    assert len(windows) > 10
    truth = [(s.start_t, s.end_t) for s in two_mic_session.room.truth]
    for seg in (e for e in two_mic_session.events if isinstance(e, Speech)):
        if any(overlaps(seg.t, seg.end_t, a, b) for a, b in windows):
            assert any(overlaps(seg.t, seg.end_t, a, b) for a, b in truth), seg


def test_each_partners_microphone_attributes_their_speech(two_mic_session: Played) -> None:
    speech = [e for e in two_mic_session.events if isinstance(e, Speech)]
    assert {s.attributed_by for s in speech} == {"channel"}
    wrong = 0
    checked = 0
    truth = two_mic_session.room.truth
    for seg in truth:
        if any(
            o is not seg and overlaps(seg.start_t, seg.end_t, o.start_t, o.end_t) for o in truth
        ):
            continue
        for s in speech:
            if overlaps(s.t, s.end_t, seg.start_t, seg.end_t):
                checked += 1
                wrong += s.partner != seg.partner
    assert checked >= 30
    assert wrong == 0


def test_backchannels_and_interruptions_are_told_apart(renderer: SpeechRenderer) -> None:
    played = play(renderer, seed=3, microphones=2, limit_s=90.0, rounds=2)
    truth_kinds = {seg.kind for seg in played.room.truth}
    logged = [e for e in played.events if isinstance(e, Speech)]
    if "backchannel" in truth_kinds:
        assert any(e.speech_kind is SpeechKind.BACKCHANNEL for e in logged)
    interrupts = [seg for seg in played.room.truth if seg.kind == "interrupt"]
    found = [e for e in logged if e.speech_kind is SpeechKind.INTERRUPTION]
    assert len(found) == len(interrupts)
    for seg, event in zip(interrupts, found, strict=True):
        assert event.partner == seg.partner
        # The detector's start targets: a median error within 30 ms, and 150 ms at the
        # 90th percentile. One interruption here has measured 95 ms late when espeak-ng
        # had rendered other texts before in the same process (3-21 ms when it had not).
        assert abs(event.t - seg.start_t) < 0.15, (seg, event)
    errors_s = [abs(e.t - seg.start_t) for seg, e in zip(interrupts, found, strict=True)]
    assert np.median(errors_s) < 0.03


def test_one_microphone_attributes_speech_by_the_floor(renderer: SpeechRenderer) -> None:
    played = play(renderer, seed=5, microphones=1)
    speech = [e for e in played.events if isinstance(e, Speech)]
    assert speech
    assert {s.attributed_by for s in speech} == {"floor"}
    assert SpeechKind.INTERRUPTION not in {s.speech_kind for s in speech}
    starts, ends, missed = timing_errors(played)
    assert missed == 0
    assert abs(np.median(starts)) <= 0.02 and abs(np.median(ends)) <= 0.03


def test_the_same_seed_gives_the_same_session(renderer: SpeechRenderer) -> None:
    first = play(renderer, seed=11, limit_s=30.0, exercise="speaker-listener-easy")
    second = play(renderer, seed=11, limit_s=30.0, exercise="speaker-listener-easy")
    assert first.events == second.events
    third = play(renderer, seed=12, limit_s=30.0, exercise="speaker-listener-easy")
    assert third.events != first.events


def _shape(events: list[Event]) -> list[dict[str, object]]:
    """The session as JSON values: every event, speech included, and every prompt's
    words; only the exercise's settings are left out (the exercise tests cover them)."""
    shape = []
    for event in events:
        data = event.to_json()
        data.pop("settings", None)
        shape.append(json.loads(json.dumps(data)))
    return shape


GOLDEN_FRAME_S = 0.02
"""Times in the golden log agree to one frame of the room's audio."""


def _same_shape(got: list[dict[str, object]], want: list[dict[str, object]]) -> None:
    # espeak-ng renders the same text within a fraction of a millisecond of itself from
    # one process to the next, which can move a decision across a frame boundary: times
    # are compared to one frame (and a hair for the float rounding); everything else,
    # the order and number of events above all, must match exactly.
    assert [e["kind"] for e in got] == [e["kind"] for e in want]
    for index, (a, b) in enumerate(zip(got, want, strict=True)):
        assert a.keys() == b.keys(), (index, a, b)
        for key in a:
            where = (index, key, a, b)
            if isinstance(b[key], float):
                assert a[key] == pytest.approx(b[key], abs=GOLDEN_FRAME_S + 1e-6), where
            else:
                assert a[key] == b[key], where


def golden_shape() -> list[dict[str, object]]:
    """The golden session, played with a renderer of its own; see the test below."""
    with SpeechRenderer() as renderer:
        played = play(renderer, seed=7, limit_s=30.0, exercise="speaker-listener-easy")
    return _shape(played.events)


def test_golden_event_sequence_of_a_short_seeded_session() -> None:
    # espeak-ng times a text differently depending on everything it rendered before in
    # the process (by up to a tenth of a second on a long prompt), so the session is
    # played in a process of its own: there it renders the same texts in the same order
    # whichever tests ran first.
    code = "import json, test_session; print(json.dumps(test_session.golden_shape()))"
    env = os.environ | {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert child.returncode == 0, child.stderr
    shape = json.loads(child.stdout)
    path = GOLDEN / "easy-seed7.json"
    if os.environ.get("ATTUNE_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(shape, indent=1) + "\n")
        pytest.skip(f"wrote {path}; check it in")
    _same_shape(shape, json.loads(path.read_text()))


def test_truth_is_never_handed_to_the_engine(two_mic_session: Played) -> None:
    # The engine only ever saw frames: its log has no speech the room did not make.
    truth: list[TruthSegment] = two_mic_session.room.truth
    for event in two_mic_session.events:
        if isinstance(event, Speech):
            assert any(overlaps(event.t, event.end_t, s.start_t, s.end_t) for s in truth)


# --- with a speech model: the spoken protocol ----------------------------------------------


@pytest.fixture(scope="module")
def model(vosk_model_path: Path) -> SpeechModel:
    return SpeechModel(vosk_model_path)


@pytest.fixture(scope="module")
def spoken_session(renderer: SpeechRenderer, model: SpeechModel) -> Played:
    return play(renderer, seed=4, microphones=2, model=model, prepare_ahead=True)


@pytest.fixture(scope="module")
def transcribed_session(renderer: SpeechRenderer, model: SpeechModel) -> Played:
    return play(renderer, seed=9, microphones=1, model=model, transcripts=True, prepare_ahead=True)


@pytest.mark.parametrize("which", ["spoken_session", "transcribed_session"])
def test_a_spoken_hand_over_ends_the_turn_at_once(
    which: str, request: pytest.FixtureRequest
) -> None:
    played: Played = request.getfixturevalue(which)
    assert played.reason is EndReason.COMPLETED
    said = [seg for seg in played.room.truth if seg.kind == "handover"]
    assert len(said) >= 4
    ended = [e for e in played.events if isinstance(e, FloorEnded)]
    # The floor passes once the quiet after the phrase is a pause, not a breath inside
    # speech (the merge gap, counted in whole frames): how soon after the phrase's last
    # sound depends on how the voice fades, which espeak-ng renders a little differently
    # from one process to the next.
    pause_s = DetectorConfig().merge_gap_s + 2 * FRAME_MS / 1000
    for seg in said:
        matched = [
            e
            for e in ended
            if e.reason is FloorEndReason.HANDOVER_PHRASE and seg.end_t < e.t <= seg.end_t + pause_s
        ]
        near = [(e.t, e.reason.value) for e in ended if abs(e.t - seg.end_t) < 5.0]
        assert [e.partner for e in matched] == [seg.partner], (seg, near)
    # Nobody pressed a key: with a model the partners hand over by voice.
    assert not any(isinstance(e, Key) for e in played.events)
    assert not any(e.reason is FloorEndReason.HANDOVER_KEY for e in ended)


@pytest.mark.parametrize("which", ["spoken_session", "transcribed_session"])
def test_spoken_answers_confirm_the_paraphrase(which: str, request: pytest.FixtureRequest) -> None:
    played: Played = request.getfixturevalue(which)
    answers = [
        seg.kind.removeprefix("say_")
        for seg in played.room.truth
        if seg.kind in ("say_yes", "say_not_quite")
    ]
    confirmations = [e.answer for e in played.events if isinstance(e, Confirmation)]
    assert answers
    assert confirmations == answers


@pytest.mark.parametrize("which", ["spoken_session", "transcribed_session"])
def test_with_a_model_every_prompt_was_rendered_before_it_was_due(
    which: str, request: pytest.FixtureRequest
) -> None:
    played: Played = request.getfixturevalue(which)
    prompts = [e for e in played.events if isinstance(e, Prompt)]
    assert played.player.said_on_demand == 0
    assert played.player.said_prepared == len(prompts)


def test_commands_come_only_from_what_the_partners_said(spoken_session: Played) -> None:
    commands = [e for e in spoken_session.events if isinstance(e, VoiceCommand)]
    assert {c.word for c in commands} <= {
        CommandWord.HANDOVER,
        CommandWord.YES,
        CommandWord.NOT_QUITE,
        CommandWord.NO,  # nothing more to say
    }
    windows = prompt_windows(spoken_session.events, tail_s=0.0)
    for command in commands:
        # Each was said by the partner the microphones say, just before it was understood.
        assert any(
            seg.partner == command.partner and 0 < command.t - seg.end_t <= 0.4
            for seg in spoken_session.room.truth
        ), command
        assert not any(a < command.t < b for a, b in windows)


def test_transcripts_keep_each_utterance_and_turn_times_still_match(
    transcribed_session: Played,
) -> None:
    transcripts = [e for e in transcribed_session.events if isinstance(e, Transcript)]
    assert len(transcripts) > 10
    handovers = [t for t in transcripts if t.text in ("i'm done", "over to you", "that's all")]
    assert handovers
    floors = [e for e in transcribed_session.events if isinstance(e, FloorGiven)]
    for transcript in transcripts:
        assert transcript.words[0].start == transcript.t
        assert transcript.words[-1].end == transcript.end_t
        holder = [f.partner for f in floors if f.t - 0.5 <= transcript.t][-1:]
        assert [transcript.partner] == holder or transcript.partner is None
    # Word times refine the speech segments; they must not make them worse.
    starts, ends, missed = timing_errors(transcribed_session)
    assert missed == 0
    assert abs(np.median(starts)) <= 0.02 and abs(np.median(ends)) <= 0.03
    assert np.percentile(np.abs(ends), 90) <= 0.15
