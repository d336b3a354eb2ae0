"""Live enrolment with one microphone: the partners' voices learnt from the session's log.

Real espeak-ng speech made at test time, the real voice encoder, and whole sessions in
the simulated room, whose own record of who spoke when is the truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pytest
from bench_detection import convolve, pcm16, room_response  # a script of the benchmarks

from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame
from attune_voice.config import RoomConfig, TurnConfig
from attune_voice.events import (
    CommandWord,
    Event,
    FloorGiven,
    FloorRole,
    Prompt,
    PromptMeaning,
    Readiness,
    Speech,
    SpeechKind,
    WordTime,
    dumps,
)
from attune_voice.exercises.library import load_exercise
from attune_voice.listening.at_once import AtOnce
from attune_voice.listening.enrolment import EnrolmentConfig, VoiceEnrolment
from attune_voice.listening.islands import ISLAND_MARGIN_DB, ISLAND_PAUSE_S, cut_at
from attune_voice.listening.listener import Listener
from attune_voice.listening.speaker_encoder import SpeakerEncoder
from attune_voice.listening.subframes import SUBFRAME_S, subframe_dbfs
from attune_voice.listening.voice_parts import VoicePart
from attune_voice.review.metrics import summarize
from attune_voice.session.attribution import Attribution
from attune_voice.session.consent_question import AnswerVoices, ConsentQuestion
from attune_voice.session.engine import SessionEngine
from attune_voice.session.floor import Floor
from attune_voice.session.loop import EventLog, SessionLoop
from attune_voice.session.ports import (
    Command,
    Heard,
    KeyPress,
    SpeechSegment,
    Tick,
    VoiceLabel,
)
from attune_voice.session.wiring import learning_voices
from attune_voice.simulated.demo import partner_voices
from attune_voice.simulated.partners import LINES, VOICES
from attune_voice.simulated.room import SimulatedRoom
from attune_voice.voice.player import PromptVoicePlayer
from attune_voice.voice.tts import SpeechRenderer

Pcm16 = npt.NDArray[np.int16]


@pytest.fixture(scope="module")
def encoder() -> SpeakerEncoder:
    return SpeakerEncoder()


def _say(renderer: SpeechRenderer, partner: str, text: str, level_dbfs: float = -24.0) -> Pcm16:
    voice, rate_wpm = VOICES[partner]
    pcm = renderer.render(text, voice, rate_wpm).astype(np.float32)
    # Without the renderer's leading and trailing silence: the speech's own edges.
    sounding = np.flatnonzero(np.abs(pcm) > 0.02 * np.abs(pcm).max())
    pcm = pcm[sounding[0] : sounding[-1] + 1]
    rms = float(np.sqrt(np.mean(pcm**2)))
    return (pcm * (32768 * 10 ** (level_dbfs / 20) / rms)).astype(np.int16)


_ROOM_NOISE_DBFS = -55.0


class _Room:
    """Audio laid out on one microphone over quiet noise, fed to enrolment frame by frame."""

    def __init__(self, voices: VoiceEnrolment) -> None:
        self.voices = voices
        self.t_samples = 0
        self._rng = np.random.default_rng(0)

    def add(self, *pieces: Pcm16 | float) -> tuple[float, float]:
        """Speech and pauses (seconds) one after the other; returns their (start, end)."""
        chunks = [
            p if not isinstance(p, float) else np.zeros(int(p * SAMPLE_RATE_HZ)) for p in pieces
        ]
        audio = np.concatenate(chunks).astype(np.float32)
        audio = np.pad(audio, (0, -len(audio) % FRAME_SAMPLES))
        noise = 32768 * 10 ** (_ROOM_NOISE_DBFS / 20)
        audio += self._rng.normal(0, noise, len(audio)).astype(np.float32)
        start = self.t_samples
        for k in range(0, len(audio), FRAME_SAMPLES):
            pcm = audio[k : k + FRAME_SAMPLES].astype(np.int16)[np.newaxis]
            self.voices.hear(Frame(pcm=pcm, start_sample=self.t_samples, playing=False))
            self.t_samples += FRAME_SAMPLES
        return start / SAMPLE_RATE_HZ, self.t_samples / SAMPLE_RATE_HZ


def _turn(partner: str, span: tuple[float, float]) -> Speech:
    return Speech(
        span[0], end_t=span[1], partner=partner, speech_kind=SpeechKind.TURN, attributed_by="floor"
    )


def _enrol(room: _Room, renderer: SpeechRenderer, partner: str, lines: int = 3) -> None:
    for text in LINES[partner]["share"][-lines:]:
        span = room.add(0.5, _say(renderer, partner, text), 0.5)
        room.voices.parts(*span)
        room.voices.learn(_turn(partner, span))


def test_nothing_is_labelled_until_both_voices_are_enrolled(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    voices = VoiceEnrolment(encoder)
    room = _Room(voices)
    _enrol(room, renderer, "A")
    a_s, b_s = voices.enrolled_s()
    assert a_s > 6.0 and b_s == 0.0
    span = room.add(0.5, _say(renderer, "B", LINES["B"]["share"][0]), 0.5)
    [part] = voices.parts(*span)
    assert part.voice is None  # B is not known yet
    assert (part.start_t, part.end_t) == span


def test_a_mm_hm_in_the_speakers_pause_is_split_off_and_told_apart(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    voices = VoiceEnrolment(encoder)
    room = _Room(voices)
    _enrol(room, renderer, "A", lines=5)
    _enrol(room, renderer, "B", lines=5)
    # One segment to the detector (the pause is under its 0.3 s merge gap): A's sentence,
    # then B's "mm-hm" 0.15 s after it.
    sentence = _say(renderer, "A", LINES["A"]["share"][5])
    start_t, end_t = room.add(0.3, sentence, 0.15, _say(renderer, "B", "Mm-hm.", -26.0), 0.3)
    sentence_end_t = start_t + 0.3 + len(sentence) / SAMPLE_RATE_HZ
    first, second = voices.parts(start_t + 0.3, end_t - 0.3)
    assert first.voice is not None and second.voice is not None
    assert (first.voice.partner, second.voice.partner) == ("A", "B")
    assert first.voice.margin > 0.2
    assert second.voice.margin > TurnConfig().clear_voice_margin
    assert abs(first.end_t - sentence_end_t) < 0.1
    assert abs(second.start_t - (sentence_end_t + 0.15)) < 0.05


def test_the_listeners_pieces_in_the_holders_turn_are_not_enrolled(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    voices = VoiceEnrolment(encoder)
    room = _Room(voices)
    _enrol(room, renderer, "A")
    _enrol(room, renderer, "B")
    before = voices.enrolled_s()
    interruption = _say(renderer, "B", LINES["B"]["interrupt"][0])
    span = room.add(0.3, _say(renderer, "A", LINES["A"]["share"][6]), 0.2, interruption, 0.3)
    parts = voices.parts(*span)
    assert [p.voice.partner for p in parts if p.voice is not None] == ["A", "B"]
    # Logged as A's turn (as if the margin were unsure): only A's pieces join A's voice.
    voices.learn(_turn("A", span))
    after = voices.enrolled_s()
    assert after[1] == before[1]
    assert 1.5 < after[0] - before[0] < 3.5


def test_an_island_is_cut_where_the_voice_changes_unless_a_side_would_be_too_short() -> None:
    # 40: 40 before and 60 after; 60: 20 after the cut at 40; 95: 5 before the end;
    # 130: 10 into the second island.
    assert cut_at([(0, 100), (120, 150)], [95, 40, 130, 60], 30) == [(0, 40), (40, 100), (120, 150)]
    assert cut_at([(0, 100)], [], 30) == [(0, 100)]
    assert cut_at([(0, 100)], [0, 100], 1) == [(0, 100)]  # an edge is no cut


def _echoing(tracks: dict[str, npt.NDArray[np.float32]], seed: int) -> Pcm16:
    """Each partner's track through a room of their own that echoes (RT60 0.35 s), a
    metre from the microphone: as much tail as voice, as ``RoomConfig.living_room``
    makes with one microphone."""
    rng = np.random.default_rng(seed)
    heard = sum(
        convolve(np.pad(track, (0, SAMPLE_RATE_HZ // 2)), room_response(0.35, rng, 0.0))
        for track in tracks.values()
    )
    return pcm16(np.asarray(heard))


def test_in_a_room_that_echoes_a_mm_hm_in_the_breath_is_cut_off_where_the_voice_changes(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    voices = VoiceEnrolment(encoder, at_once=AtOnce())
    room = _Room(voices)
    for partner in "AB":
        for text in LINES[partner]["share"][-5:]:
            line = _say(renderer, partner, text).astype(np.float32)
            span = room.add(0.5, _echoing({partner: line}, seed=len(text)), 0.5)
            voices.parts(*span)
            voices.learn(_turn(partner, span))
    given_t = room.t_samples / SAMPLE_RATE_HZ
    voices.learn(FloorGiven(given_t, partner="A", role=FloorRole.SHARE, limit_s=90.0))
    # A's sentence, then B's "mm-hm" 0.1 s after it: the echo of A's last word fills
    # the breath, so that it is no pause between two islands.
    sentence = _say(renderer, "A", LINES["A"]["share"][5]).astype(np.float32)
    mm_hm = _say(renderer, "B", "Mm-hm.", -26.0).astype(np.float32)
    at = len(sentence) + round(0.1 * SAMPLE_RATE_HZ)
    a_track = np.zeros(at + len(mm_hm), dtype=np.float32)
    a_track[: len(sentence)] = sentence
    b_track = np.zeros_like(a_track)
    b_track[at:] = mm_hm
    start_t, _ = room.add(0.3, _echoing({"A": a_track, "B": b_track}, seed=7), 0.3)
    breath = subframe_dbfs(_echoing({"A": a_track}, seed=7)[len(sentence) : at])
    quiet = breath < _ROOM_NOISE_DBFS + ISLAND_MARGIN_DB
    assert np.sum(quiet) < round(ISLAND_PAUSE_S / SUBFRAME_S)
    mm_hm_t = start_t + 0.3 + at / SAMPLE_RATE_HZ
    # The segment ends as the mm-hm's own echo falls under the detector's ear.
    parts = voices.parts(start_t + 0.3, mm_hm_t + len(mm_hm) / SAMPLE_RATE_HZ + 0.15)
    told = [p for p in parts if p.voice is not None and not p.voice.over]
    assert [p.voice.partner for p in told if p.voice is not None] == ["A", "B"]
    _, b_part = told
    assert b_part.voice is not None and b_part.voice.margin >= TurnConfig().clear_voice_margin
    assert abs(b_part.start_t - mm_hm_t) < 0.15
    # A short response, as the engine counts one (a mm-hm, not an interruption).
    assert b_part.end_t - b_part.start_t < TurnConfig().backchannel_max_s


def test_with_the_network_the_holder_alone_is_never_taken_for_two_voices(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    # Enrolled close to the microphone; then the holder speaks from across a room that
    # echoes: their pieces depart from their own voice, with nobody else speaking.
    voices = VoiceEnrolment(encoder, at_once=AtOnce())
    room = _Room(voices)
    _enrol(room, renderer, "A", lines=6)
    _enrol(room, renderer, "B", lines=6)
    voices.learn(FloorGiven(room.t_samples / SAMPLE_RATE_HZ, "A", FloorRole.SHARE, 90.0))
    for k in range(4):
        line = _say(renderer, "A", LINES["A"]["share"][k]).astype(np.float32)
        span = room.add(0.3, _echoing({"A": line}, seed=k), 0.3)
        parts = voices.parts(*span)
        assert [p.voice.partner for p in parts if p.voice is not None] == ["A"], k


@pytest.mark.parametrize("network", [True, False])
def test_a_mm_hm_said_over_the_holders_words_is_heard_by_the_segmentation_network(
    encoder: SpeakerEncoder, renderer: SpeechRenderer, network: bool
) -> None:
    voices = VoiceEnrolment(encoder, at_once=AtOnce() if network else None)
    room = _Room(voices)
    _enrol(room, renderer, "A", lines=4)
    _enrol(room, renderer, "B", lines=4)
    given_t = room.t_samples / SAMPLE_RATE_HZ
    voices.learn(FloorGiven(given_t, partner="A", role=FloorRole.SHARE, limit_s=90.0))
    # B's mm-hm 4 dB under A's sentence, 1.5 s into it: no pause to split it off.
    sentence = _say(renderer, "A", LINES["A"]["share"][3]).astype(np.float32)
    mm_hm = _say(renderer, "B", "Mm-hm.", -28.0)
    at = round(1.5 * SAMPLE_RATE_HZ)
    sentence[at : at + len(mm_hm)] += mm_hm
    start_t, end_t = room.add(0.3, sentence.astype(np.int16), 0.3)
    mm_hm_t = start_t + 0.3 + 1.5
    parts = voices.parts(start_t + 0.3, end_t - 0.3)
    told = [p for p in parts if p.voice is not None and not p.voice.over]
    assert [p.voice.partner for p in told if p.voice is not None] == ["A"]
    over = [p for p in parts if p.voice is not None and p.voice.over]
    if not network:
        # An embedding of two voices sounds like the louder one: the encoder alone
        # hears A's sentence.
        assert over == []
        return
    [heard] = over
    assert heard.voice is not None and heard.voice.partner == "B"
    assert abs(heard.start_t - mm_hm_t) < 0.15
    assert abs(heard.end_t - (mm_hm_t + len(mm_hm) / SAMPLE_RATE_HZ)) < 0.15
    # Logged beside A's turn, as B's mm-hm.
    attribution = Attribution(TurnConfig())
    floor = Floor("A", FloorRole.SHARE, start_t=given_t, limit_s=90.0, cues_s=[], attempt=1)
    segment = SpeechSegment(heard.start_t, heard.end_t, None, heard.voice)
    assert attribution.adds(segment, floor)
    assert attribution.speech(segment, floor).speech_kind is SpeechKind.BACKCHANNEL


@dataclass
class _FirstFloor:
    """A's first floor with B's mm-hm in it, heard before B's voice was known."""

    holders_part: VoicePart
    """The segment as it reached the engine: one part, no voice."""
    mm_hm: tuple[float, float]
    """Where B's mm-hm was (the truth)."""
    late_before_b: list[VoicePart]
    late: list[VoicePart]
    """What was handed back late once B had spoken alone, and then again."""
    late_again: list[VoicePart]
    heard_now: VoicePart
    """The same mm-hm at the end of the same sentence, heard once both voices are known."""


@pytest.fixture(scope="module")
def first_floor(encoder: SpeakerEncoder, renderer: SpeechRenderer) -> _FirstFloor:
    voices = VoiceEnrolment(encoder)
    room = _Room(voices)
    _enrol(room, renderer, "A", lines=4)
    # A's first floor goes on with B's mm-hm at the end of a segment: nobody knows B yet.
    sentence = _say(renderer, "A", LINES["A"]["share"][2])
    mm_hm = _say(renderer, "B", "Mm-hm.", -26.0)
    start_t, end_t = room.add(0.3, sentence, 0.15, mm_hm, 0.3)
    mm_hm_t = start_t + 0.3 + (len(sentence) + 0.15 * SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ
    [part] = voices.parts(start_t + 0.3, end_t - 0.3)
    voices.learn(_turn("A", (part.start_t, part.end_t)))
    late_before_b = voices.late_parts()
    _enrol(room, renderer, "B", lines=4)
    late = voices.late_parts()
    late_again = voices.late_parts()
    start_t, end_t = room.add(0.3, sentence, 0.15, mm_hm, 0.3)
    *_, heard_now = voices.parts(start_t + 0.3, end_t - 0.3)
    return _FirstFloor(
        part,
        (mm_hm_t, mm_hm_t + len(mm_hm) / SAMPLE_RATE_HZ),
        late_before_b,
        late,
        late_again,
        heard_now,
    )


def test_the_listeners_mm_hm_before_their_voice_was_known_is_told_late(
    first_floor: _FirstFloor,
) -> None:
    assert first_floor.holders_part.voice is None
    assert first_floor.late_before_b == []
    [late] = first_floor.late
    assert late.voice is not None and late.voice.partner == "B"
    assert late.voice.over  # the holder's turn, logged before, covers its time
    assert abs(late.start_t - first_floor.mm_hm[0]) < 0.05
    assert abs(late.end_t - first_floor.mm_hm[1]) < 0.05
    assert first_floor.late_again == []  # each is told once
    # Told against A's voice without it (it was enrolled in A's turn): as clearly as
    # the same mm-hm heard now that both voices are known.
    now = first_floor.heard_now.voice
    assert now is not None and now.partner == "B"
    assert late.voice.margin > max(TurnConfig().clear_voice_margin, 0.8 * now.margin)


@pytest.mark.parametrize("clear", [True, False])
def test_a_late_part_adds_to_the_log_only_when_clearly_the_listeners(
    first_floor: _FirstFloor, clear: bool
) -> None:
    # The holder's turn was logged when the segment ended, over the mm-hm's time too;
    # a late part is logged beside it only when its voice is clearly the listener's.
    attribution = Attribution(TurnConfig())
    floor = Floor("A", FloorRole.SHARE, start_t=0.0, limit_s=90.0, cues_s=[], attempt=1)
    part = first_floor.holders_part
    [late] = first_floor.late
    assert late.voice is not None
    margin = TurnConfig().clear_voice_margin + (0.01 if clear else -0.01)
    heard = [
        SpeechSegment(part.start_t, part.end_t, None, part.voice),
        SpeechSegment(late.start_t, late.end_t, None, replace(late.voice, margin=margin)),
    ]
    logged = [attribution.speech(seg, floor) for seg in heard if attribution.adds(seg, floor)]
    holders = [s for s in logged if s.partner == "A"]
    # The holder's speech is counted once: their logged turns never overlap.
    assert [(s.t, s.end_t) for s in holders] == [(part.start_t, part.end_t)]
    assert summarize(logged).partners_summary[0].talk_s == pytest.approx(part.end_t - part.start_t)
    listeners = [(s.partner, s.speech_kind, s.attributed_by) for s in logged[1:]]
    assert listeners == ([("B", SpeechKind.BACKCHANNEL, "voice")] if clear else [])


@pytest.mark.parametrize("by", ["voice", "key"])
def test_a_spoken_answer_to_a_question_by_name_enrols_the_one_asked(
    encoder: SpeakerEncoder, renderer: SpeechRenderer, by: str
) -> None:
    voices = VoiceEnrolment(encoder)
    room = _Room(voices)
    _enrol(room, renderer, "A")
    asked_t = room.t_samples / SAMPLE_RATE_HZ
    voices.learn(Prompt(asked_t, end_t=asked_t + 1.0, text="Alex, ready?", purpose="ready"))
    room.add(1.0)
    span = room.add(0.4, _say(renderer, "B", "Yes, I am ready when you are."), 0.3)
    span = (span[0] + 0.4, span[1] - 0.3)
    [part] = voices.parts(*span)
    assert part.voice is None  # B is not known yet
    voices.learn(Readiness(span[1] - 0.05, partner="B", answer="yes", by=by))
    voices.learn(
        Speech(
            span[0],
            end_t=span[1],
            partner=None,
            speech_kind=SpeechKind.ASIDE,
            attributed_by="floor",
        )
    )
    b_s = voices.enrolled_s()[1]
    if by == "voice":
        assert 1.2 < b_s < 2.5
    else:
        assert b_s == 0.0


def test_enrolments_are_kept_to_the_latest_speech_and_used_at_the_same_length(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    voices = VoiceEnrolment(encoder, EnrolmentConfig(enrol_max_s=8.0))
    room = _Room(voices)
    _enrol(room, renderer, "A", lines=6)
    _enrol(room, renderer, "B", lines=1)
    a_s, b_s = voices.enrolled_s()
    # Until both voices are known, all is kept (to tell the listener's speech late).
    assert a_s > 14.0
    assert 2.0 < b_s < 5.0
    assert voices._voice_prints() is None  # B has less than enrol_min_s
    _enrol(room, renderer, "B", lines=4)
    prints = voices._voice_prints()
    assert prints is not None
    assert float(prints[0] @ prints[1]) < 0.8
    most_s = 8.0 + EnrolmentConfig().piece_s * 1.5
    assert all(8.0 <= held_s < most_s for held_s in voices.enrolled_s())
    voices.forget()
    assert voices.enrolled_s() == (0.0, 0.0)
    assert voices._voice_prints() is None


def test_the_listener_talking_over_the_holder_gets_a_part_of_their_own(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    voices = VoiceEnrolment(encoder)
    room = _Room(voices)
    _enrol(room, renderer, "A", lines=6)
    _enrol(room, renderer, "B", lines=6)
    floor_t = room.t_samples / SAMPLE_RATE_HZ
    voices.learn(FloorGiven(floor_t, partner="A", role=FloorRole.SHARE, limit_s=90.0))
    clear = TurnConfig().clear_voice_margin
    # A alone in A's floor: nobody else is heard.
    alone = room.add(0.3, _say(renderer, "A", LINES["A"]["share"][0]), 0.3)
    assert all(p.voice is not None and not p.voice.over for p in voices.parts(*alone))
    # B, 4 dB softer, comes in half-way through A's sentence, which A talks through.
    sentence = _say(renderer, "A", LINES["A"]["share"][1])
    over = _say(renderer, "B", LINES["B"]["interrupt"][1], -28.0)
    mixed = np.zeros(len(sentence) // 2 + len(over), dtype=np.float32)
    mixed[: len(sentence)] += sentence
    mixed[len(sentence) // 2 :] += over
    start_t, end_t = room.add(0.3, np.clip(mixed, -32768, 32767).astype(np.int16), 0.3)
    over_t = start_t + 0.3 + len(sentence) / 2 / SAMPLE_RATE_HZ
    ends_t = start_t + 0.3 + len(sentence) / SAMPLE_RATE_HZ
    parts = voices.parts(start_t + 0.3, end_t - 0.3)
    heard_over = [p for p in parts if p.voice is not None and p.voice.over]
    own = [p for p in parts if p.voice is not None and not p.voice.over]
    # A's own parts still cover the whole segment, and none of them is B's.
    assert own[0].start_t == start_t + 0.3 and own[-1].end_t == end_t - 0.3
    assert {p.voice.partner for p in own if p.voice is not None} == {"A"}
    [b_over] = heard_over
    assert b_over.voice is not None and b_over.voice.partner == "B"
    assert b_over.voice.margin >= clear
    # Where both talk (to within a piece), and long enough to be an interruption.
    assert over_t - 1.0 < b_over.start_t and b_over.end_t < ends_t + 1.5
    assert b_over.end_t - b_over.start_t > TurnConfig().backchannel_max_s
    # What sounds like both teaches neither voice.
    before = voices.enrolled_s()
    voices.learn(_turn("A", (start_t + 0.3, end_t - 0.3)))
    assert voices.enrolled_s()[0] - before[0] < (ends_t - start_t) - 1.0


def test_the_listener_talking_over_the_first_floor_is_told_late(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    voices = VoiceEnrolment(encoder)
    room = _Room(voices)
    voices.learn(FloorGiven(0.0, partner="A", role=FloorRole.SHARE, limit_s=90.0))
    _enrol(room, renderer, "A", lines=8)
    # In A's first floor, before anyone knows B, B (4 dB softer) talks over A, who
    # talks on through it.
    sentence = np.concatenate([_say(renderer, "A", LINES["A"]["share"][k]) for k in (3, 4)])
    over = _say(renderer, "B", LINES["B"]["interrupt"][1], -28.0)
    mixed = sentence.astype(np.float32)
    at = len(sentence) // 4
    mixed[at : at + len(over)] += over[: len(sentence) - at]
    start_t, end_t = room.add(0.3, np.clip(mixed, -32768, 32767).astype(np.int16), 0.3)
    over_t = start_t + 0.3 + at / SAMPLE_RATE_HZ
    ends_t = over_t + len(over) / SAMPLE_RATE_HZ
    [part] = voices.parts(start_t + 0.3, end_t - 0.3)
    assert part.voice is None
    voices.learn(_turn("A", (start_t + 0.3, end_t - 0.3)))
    _enrol(room, renderer, "A", lines=4)
    assert voices.late_parts() == []
    # B's own floor: once B's voice is known well enough, B's part over A is told.
    _enrol(room, renderer, "B", lines=8)
    [late] = voices.late_parts()
    assert late.voice is not None and late.voice.partner == "B" and late.voice.over
    assert late.voice.margin >= TurnConfig().clear_voice_margin
    assert over_t - 1.0 < late.start_t and late.end_t < ends_t + 1.5
    assert voices.late_parts() == []  # told once


def test_speech_over_the_holder_is_logged_only_when_clearly_the_listeners() -> None:
    attribution = Attribution(TurnConfig())
    floor = Floor("A", FloorRole.SPEAK, start_t=0.0, limit_s=60.0, cues_s=[], attempt=1)
    clear = TurnConfig().clear_voice_margin

    def over(partner: str, margin: float) -> SpeechSegment:
        return SpeechSegment(5.0, 6.5, None, VoiceLabel(partner, margin, over=True))

    assert attribution.adds(over("B", clear + 0.01), floor)
    assert not attribution.adds(over("B", clear - 0.01), floor)
    assert not attribution.adds(over("A", 0.2), floor)  # the holder's own part has it
    assert attribution.adds(SpeechSegment(5.0, 5.5, None, VoiceLabel("A", 0.0)), floor)
    logged = attribution.speech(over("B", 0.2), floor)
    assert (logged.partner, logged.speech_kind) == ("B", SpeechKind.INTERRUPTION)


def test_words_go_to_the_voice_their_speech_was_told_to() -> None:
    attribution = Attribution(TurnConfig())
    floor = Floor("A", FloorRole.SPEAK, start_t=0.0, limit_s=60.0, cues_s=[], attempt=1)
    clear = TurnConfig().clear_voice_margin

    def words(start_t: float, end_t: float) -> Heard:
        said = (WordTime("but", start_t, start_t + 0.2), WordTime("no", end_t - 0.2, end_t))
        return Heard(end_t, said)

    attribution.speech(SpeechSegment(2.0, 4.0, None, VoiceLabel("A", 0.3)), floor)
    attribution.speech(SpeechSegment(5.0, 6.5, None, VoiceLabel("B", 0.2)), floor)
    attribution.speech(SpeechSegment(7.0, 8.0, None, VoiceLabel("B", clear / 2)), floor)
    attribution.speech(SpeechSegment(9.0, 10.0, None, VoiceLabel("A", 0.3)), floor)
    attribution.speech(SpeechSegment(9.2, 10.0, None, VoiceLabel("B", 0.2, over=True)), floor)

    def whose(start_t: float, end_t: float) -> str | None:
        transcript = attribution.transcript(words(start_t, end_t), floor)
        assert transcript is not None
        return transcript.partner

    assert whose(5.1, 6.4) == "B"  # the listener's, told by voice
    assert whose(2.1, 3.9) == "A"
    assert whose(7.1, 7.9) == "A"  # unsure: the floor holder's
    assert whose(9.3, 9.9) == "A"  # both voices at once: the floor holder's
    assert whose(11.0, 12.0) == "A"  # no speech told by voice there


def test_a_voice_counts_only_with_a_clear_margin() -> None:
    attribution = Attribution(TurnConfig())
    floor = Floor("A", FloorRole.SPEAK, start_t=0.0, limit_s=60.0, cues_s=[], attempt=1)
    clear = TurnConfig().clear_voice_margin
    told = attribution.speech(SpeechSegment(5.0, 5.5, None, VoiceLabel("B", clear + 0.01)), floor)
    unsure = attribution.speech(SpeechSegment(5.0, 5.5, None, VoiceLabel("B", clear - 0.01)), floor)
    long = attribution.speech(SpeechSegment(5.0, 8.0, None, VoiceLabel("B", 0.2)), floor)
    assert (told.partner, told.speech_kind, told.attributed_by) == (
        "B",
        SpeechKind.BACKCHANNEL,
        "voice",
    )
    assert (unsure.partner, unsure.speech_kind, unsure.attributed_by) == (
        "A",
        SpeechKind.TURN,
        "floor",
    )
    assert long.speech_kind is SpeechKind.INTERRUPTION


@dataclass
class _Session:
    events: list[Event]
    room: SimulatedRoom
    voices: VoiceEnrolment


def _one_microphone_session(
    renderer: SpeechRenderer, encoder: SpeakerEncoder, seed: int
) -> _Session:
    exercise = load_exercise("speaker-listener").with_overrides(limit_s=90.0, rounds=1)
    # Half the listener's mm-hms are said over the speaker's words, as people do.
    config = RoomConfig(seed=seed, microphones=1, mm_hms_over_words=0.5)
    room = SimulatedRoom(partner_voices(renderer), config)
    voices = VoiceEnrolment(encoder, at_once=AtOnce())
    log = EventLog(learning_voices(lambda _event: None, voices))
    engine = SessionEngine(exercise, ("Sam", "Alex"), PromptVoicePlayer(renderer, room), log)
    SessionLoop(room, engine, Listener(1, voices=voices)).run()
    return _Session(log.events, room, voices)


def test_one_microphone_tells_the_listeners_mm_hms_and_interruptions(
    renderer: SpeechRenderer, encoder: SpeakerEncoder
) -> None:
    played = _one_microphone_session(renderer, encoder, seed=2)
    speech = [e for e in played.events if isinstance(e, Speech)]
    summary = summarize(played.events)
    assert summary.voices_told_apart
    by_voice = [s for s in speech if s.attributed_by == "voice"]

    # Every part told by voice is the speech of the partner it went to: wrong only where
    # the other partner speaks and they do not (10 ms steps). Speech heard over the
    # holder's stands for whole pieces (about 1.5 s): their edges may be the holder's alone.
    def speaking(partner: str | None, t: float) -> bool:
        return any(x.start_t <= t < x.end_t for x in played.room.truth if x.partner == partner)

    wrong_s = 0.0
    for s in by_voice:
        other = "B" if s.partner == "A" else "A"
        for t in np.arange(s.t, s.end_t, 0.01):
            wrong_s += 0.01 * (speaking(other, t) and not speaking(s.partner, t))
    told_s = sum(s.end_t - s.t for s in by_voice)
    # espeak-ng renders a text a little differently after what its process rendered
    # before, and this session's share wrong moved with that: 1.2% with this module
    # alone, 0.8% after the other files of its worker in order, 2.5% once in a parallel
    # run (the target for one microphone is 5% at most).
    assert wrong_s / told_s < 0.03
    truth = played.room.truth
    for kind, logged in (
        ("backchannel", SpeechKind.BACKCHANNEL),
        ("interrupt", SpeechKind.INTERRUPTION),
    ):
        for partner in "AB":
            real = sum(1 for t in truth if t.kind == kind and t.partner == partner)
            found = sum(1 for s in speech if s.speech_kind is logged and s.partner == partner)
            assert abs(found - real) <= max(1, 0.3 * real), (kind, partner, found, real)
    # Unsure: the first floor, before the listener has spoken alone, and little after.
    # A voice print never reaches the log: a speech event is its times, whose and how.
    keys = {key for s in by_voice for key in json.loads(dumps(s))}
    assert keys <= {"kind", "t", "end_t", "partner", "speech_kind", "attributed_by"}
    total_s = sum(s.end_t - s.t for s in speech)
    # Known from the end of the last speech logged before the first turn told by voice
    # (the first told are late: the listener's reactions heard before; a mm-hm over the
    # holder's words is told by the network before both voices are known).
    first = speech.index(next(s for s in by_voice if s.speech_kind is SpeechKind.TURN))
    known_t = max(s.end_t for s in speech[:first])
    later = [s for s in speech if s.t >= known_t]
    later_unsure_s = sum(s.end_t - s.t for s in later if s.attributed_by == "floor")
    assert 0 < summary.unsure_talk_s / total_s < 0.6
    assert later_unsure_s / sum(s.end_t - s.t for s in later) < 0.1


class _Saying:
    """A prompt player that only says how long each prompt takes."""

    def say(self, text: str, meaning: PromptMeaning) -> float:
        return 2.0


def test_answers_to_the_consent_question_by_voice_teach_each_partners_voice(
    encoder: SpeakerEncoder, renderer: SpeechRenderer
) -> None:
    voices = VoiceEnrolment(encoder)
    room = _Room(voices)
    question = ConsentQuestion(("Sam", "Alex"), _Saying(), spoken=True)
    answers = AnswerVoices(question, voices.learn)
    answers.handle(Tick(0.0))  # Sam is asked, for 2 s
    room.add(2.0)
    answers.handle(Tick(2.0))

    def answer(partner: str, text: str) -> tuple[float, float]:
        start_t, end_t = room.add(0.3, _say(renderer, partner, text), 0.3)
        span = (start_t + 0.3, end_t - 0.3)
        voices.parts(*span)  # as the listener does when a segment ends
        answers.handle(SpeechSegment(*span, None))
        return span

    answer("A", "Yes, that is fine with me, you may keep my words.")
    answers.handle(Command(room.t_samples / SAMPLE_RATE_HZ, CommandWord.YES))
    assert [g.partner for g in question.given] == ["A"]
    a_s = voices.enrolled_s()[0]
    assert a_s > 1.5
    # Alex is asked next; what is said meanwhile and answered by key teaches nothing.
    asked_t = room.t_samples / SAMPLE_RATE_HZ
    room.add(2.0)
    answers.handle(Tick(asked_t + 2.0))
    answer("B", "Let me think about it for a moment, please.")
    answers.handle(KeyPress(room.t_samples / SAMPLE_RATE_HZ, "y"))
    assert [g.by for g in question.given] == ["voice", "key"]
    assert voices.enrolled_s() == (a_s, 0.0)
    # The session's clock starts after the question: what was learnt stays, before zero.
    voices.start_session(room.t_samples)
    assert voices.enrolled_s() == (a_s, 0.0)
    assert all(p.end_t <= 0.0 for p in voices._enrolled["A"])
