"""The consent question before ``run``: who is asked when, what answers it, what is kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from engine_script import FRAME_S, SECONDS_PER_WORD, CountingVoice
from vosk_fixtures import speech_renderer, vosk_model_path

from attune_voice.audio.frames import Frame, Pcm
from attune_voice.audio.rebased import Rebased
from attune_voice.config import FRAME_SAMPLES, SAMPLE_RATE_HZ, RoomConfig
from attune_voice.errors import AudioDeviceError
from attune_voice.events import CommandWord, PromptMeaning, WordTime
from attune_voice.listening.asr import (
    DEFAULT_HANDOVER_PHRASES,
    CommandParser,
    Recognizer,
    SpeechModel,
)
from attune_voice.listening.enrolment import VoiceEnrolment
from attune_voice.listening.listener import Listener, Understanding
from attune_voice.listening.speaker_encoder import SpeakerEncoder
from attune_voice.session.consent import QUESTION, Answer, Logging
from attune_voice.session.consent_question import (
    KEPT_TEXT,
    KEY_QUESTION,
    TIMING_ONLY_TEXT,
    ConsentQuestion,
    Given,
    Phase,
    ask_consent,
)
from attune_voice.session.ports import Command, EngineInput, Heard, KeyPress, Tick
from attune_voice.simulated.demo import build_room
from attune_voice.voice.player import PromptVoicePlayer
from attune_voice.voice.tts import SpeechRenderer

NAMES = ("Sam", "Alex")


def run_question(
    script: list[tuple[float, EngineInput]], spoken: bool = True, until_t: float = 60.0
) -> tuple[ConsentQuestion, CountingVoice, float]:
    """Feed ticks every 20 ms and the scripted inputs at their times; returns when done."""
    voice = CountingVoice()
    question = ConsentQuestion(NAMES, voice, spoken=spoken)
    pending = sorted(script, key=lambda item: item[0])
    t = 0.0
    while t < until_t and not question.done:
        t = round(t + FRAME_S, 6)
        while pending and pending[0][0] <= t:
            question.handle(pending.pop(0)[1])
        question.handle(Tick(t))
    return question, voice, t


def question_s(name: str, spoken: bool = True) -> float:
    """How long CountingVoice takes to ask ``name``."""
    text = (QUESTION if spoken else KEY_QUESTION).format(name=name)
    return len(text.split()) * SECONDS_PER_WORD


def aloud(
    first: CommandWord, second: CommandWord, after_s: float
) -> tuple[list[tuple[float, EngineInput]], float]:
    """Each partner answers ``after_s`` after their own question has ended; returns the
    script and when the second answer is understood."""
    first_t = question_s("Sam") + after_s
    second_t = first_t + question_s("Alex") + after_s
    return [(first_t, Command(first_t, first)), (second_t, Command(second_t, second))], second_t


def test_two_spoken_yeses_keep_words() -> None:
    script, yes_b = aloud(CommandWord.YES, CommandWord.YES, after_s=1.0)
    question, voice, end_t = run_question(script)
    assert question.given == [Given("A", Answer.YES, "voice"), Given("B", Answer.YES, "voice")]
    assert question.logging is Logging.FULL
    said = [text for text, _ in voice.said]
    assert said[0].startswith("Sam, may this session be logged?")
    assert said[1].startswith("Alex, may this session be logged?")
    assert said[2] == KEPT_TEXT
    assert [m.addressee for _, m in voice.said] == ["A", "B", None]
    # Done once the outcome has been said, not before.
    outcome_s = voice.say(KEPT_TEXT, voice.said[2][1])
    assert end_t == pytest.approx(yes_b + outcome_s, abs=FRAME_S + 1e-9)


def test_silence_is_a_no_after_the_wait() -> None:
    first_s = question_s("Sam")
    question, voice, _ = run_question([(first_s + 0.5, KeyPress(first_s + 0.5, "y"))])
    assert question.given == [Given("A", Answer.YES, "key"), Given("B", Answer.SILENT, "silence")]
    assert question.logging is Logging.TIMING_ONLY
    assert voice.said[-1][0] == TIMING_ONLY_TEXT


def test_silence_counts_from_the_end_of_the_question() -> None:
    """Nobody answers: each partner gets exactly the wait after their own question."""
    question = ConsentQuestion(NAMES, CountingVoice(), spoken=True, wait_s=8.0)
    first_s = question_s("Sam")
    t = 0.0
    while len(question.given) < 1:
        t = round(t + FRAME_S, 6)
        question.handle(Tick(t))
    assert t == pytest.approx(first_s + 8.0, abs=FRAME_S + 1e-9)


def test_a_no_from_either_keeps_timing_only_and_the_outcome_names_nobody() -> None:
    script, _ = aloud(CommandWord.YES, CommandWord.NO, after_s=0.6)
    question, voice, _ = run_question(script)
    assert [g.answer for g in question.given] == [Answer.YES, Answer.NO]
    assert question.logging is Logging.TIMING_ONLY
    outcome = voice.said[-1][0]
    assert outcome == TIMING_ONLY_TEXT
    assert "Sam" not in outcome and "Alex" not in outcome


def test_keys_answer_where_there_is_no_speech_model() -> None:
    first_s = question_s("Sam", spoken=False)
    # Sam presses Y while the question still plays; Alex presses Enter (no).
    during = first_s - 1.0
    enter_at = first_s + question_s("Alex", spoken=False) + 0.4
    question, voice, _ = run_question(
        [(during, KeyPress(during, "y")), (enter_at, KeyPress(enter_at, "enter"))],
        spoken=False,
    )
    assert voice.said[0][0] == KEY_QUESTION.format(name="Sam")
    assert question.given == [Given("A", Answer.YES, "key"), Given("B", Answer.NO, "key")]
    assert question.logging is Logging.TIMING_ONLY


def test_a_key_before_a_partners_question_begins_does_not_answer_it() -> None:
    """Sam presses Y twice while the question plays: the second press is not Alex's yes."""
    first_s = question_s("Sam")
    question, _, _ = run_question(
        [(1.5, KeyPress(1.5, "y")), (2.0, KeyPress(2.0, "y"))], until_t=first_s + 2.0
    )
    assert question.given == [Given("A", Answer.YES, "key")]
    assert question.phase is Phase.ASKING


@pytest.mark.parametrize("second", ["y", "enter"])
def test_a_double_press_after_the_question_is_not_the_next_partners_answer(second: str) -> None:
    """Y, then Y or Enter a tenth of a second later, once Sam's question has ended:
    Alex's question has only just begun, so the second key is not Alex's answer."""
    pressed = question_s("Sam") + 0.5
    question, _, _ = run_question(
        [(pressed, KeyPress(pressed, "y")), (pressed + 0.1, KeyPress(pressed + 0.1, second))],
        until_t=pressed + 3.0,
    )
    assert question.given == [Given("A", Answer.YES, "key")]
    # Alex's own key, once their name has been said, does answer.
    later = pressed + 3.0
    question.handle(KeyPress(later, "y"))
    assert question.given[-1] == Given("B", Answer.YES, "key")


def test_the_audio_ending_before_the_answers_is_a_device_error() -> None:
    class Short:
        """Two seconds of silent frames, then the stream is gone."""

        channels = 1
        real_time = True

        def frames(self) -> Iterator[Frame]:
            for number in range(100):
                yield Frame(np.zeros((1, FRAME_SAMPLES), np.int16), number * FRAME_SAMPLES)

        def play(self, pcm: Pcm, meaning: PromptMeaning | None = None) -> None:
            pass

        def queued_s(self) -> float:
            return 0.0

        def close(self) -> None:
            pass

    question = ConsentQuestion(NAMES, CountingVoice(), spoken=False)
    with pytest.raises(AudioDeviceError, match="before both partners had answered"):
        ask_consent(Short(), question, Listener(1))


def test_with_a_microphone_each_only_the_asked_partner_answers() -> None:
    first_s = question_s("Sam")
    other = first_s + 0.5
    own = first_s + 1.0
    question, _, _ = run_question(
        [
            (other, Command(other, CommandWord.YES, partner="B")),
            (own, Command(own, CommandWord.NO, partner="A")),
        ],
        until_t=own + 0.1,
    )
    assert question.given == [Given("A", Answer.NO, "voice")]


def test_a_question_back_is_not_an_answer() -> None:
    first_s = question_s("Sam")
    at = first_s + 1.0
    said = ("okay", "what", "does", "logged", "mean")
    words = tuple(WordTime(w, at - 1.0 + 0.2 * n, at - 0.8 + 0.2 * n) for n, w in enumerate(said))
    question, _, _ = run_question([(at, Heard(at, words))], until_t=at + 0.1)
    assert question.given == []


def test_other_words_do_not_answer_and_a_transcript_can() -> None:
    first_s = question_s("Sam")
    pause_at = first_s + 0.5
    heard_at = first_s + 1.0
    words = (
        WordTime("yeah", heard_at - 0.5, heard_at - 0.3),
        WordTime("sure", heard_at - 0.3, heard_at),
    )
    question, _, _ = run_question(
        [
            (pause_at, Command(pause_at, CommandWord.PAUSE)),
            (heard_at, Heard(heard_at, words)),
        ],
        until_t=heard_at + 0.1,
    )
    assert question.given == [Given("A", Answer.YES, "voice")]


def test_the_session_clock_starts_where_the_question_ended() -> None:
    class Steady:
        """Silent frames on a sample counter, as a device gives them."""

        channels = 1
        real_time = True

        def __init__(self) -> None:
            self.played: list[int] = []

        def frames(self) -> Iterator[Frame]:
            sample = 0
            while True:
                yield Frame(np.zeros((1, FRAME_SAMPLES), np.int16), sample)
                sample += FRAME_SAMPLES

        def play(self, pcm: Pcm, meaning: PromptMeaning | None = None) -> None:
            self.played.append(len(pcm))

        def queued_s(self) -> float:
            return 0.0

        def close(self) -> None:
            pass

    audio = Steady()
    origin = 123 * FRAME_SAMPLES
    rebased = Rebased(audio, origin)
    first = next(iter(rebased.frames()))
    assert first.start_sample == -origin
    frames = rebased.frames()
    starts = [next(frames).start_sample for _ in range(3)]
    assert starts == [-origin, -origin + FRAME_SAMPLES, -origin + 2 * FRAME_SAMPLES]
    rebased.play(np.zeros(SAMPLE_RATE_HZ, np.int16))
    assert audio.played == [SAMPLE_RATE_HZ]


# --- by voice, through the real recogniser --------------------------------------------------


def test_partners_answer_yes_aloud_in_the_simulated_room(
    vosk_model_path: Path, speech_renderer: SpeechRenderer
) -> None:
    """Real espeak-ng partners say "yes" into the room; the real listener and libvosk
    (with the generated test model) hear it; the session's clock then starts at zero."""
    room = build_room(speech_renderer, RoomConfig(seed=5, microphones=2))
    room.voice_commands = True
    parser = CommandParser(DEFAULT_HANDOVER_PHRASES)
    recognizer = Recognizer(SpeechModel(vosk_model_path), parser.phrases)
    listener = Listener(room.channels, understanding=Understanding(recognizer, parser))
    question = ConsentQuestion(NAMES, PromptVoicePlayer(speech_renderer, room), spoken=True)

    origin = ask_consent(room, question, listener)

    assert question.given == [Given("A", Answer.YES, "voice"), Given("B", Answer.YES, "voice")]
    assert question.logging is Logging.FULL
    # Each partner said yes once, after their own question, and nobody else spoke.
    said = [(seg.partner, seg.kind) for seg in room.truth]
    assert said == [("A", "say_yes"), ("B", "say_yes")]
    # It ended once the outcome had been said: a few seconds, not the silent waits.
    assert origin / SAMPLE_RATE_HZ < room.truth[-1].end_t + 6.0
    first = next(iter(Rebased(room, origin).frames()))
    assert first.start_sample == 0


def test_with_one_microphone_each_spoken_answer_teaches_the_one_asked(
    vosk_model_path: Path, speech_renderer: SpeechRenderer
) -> None:
    """One room microphone: each partner's "yes" teaches the session's voice enrolment
    their voice, and what was learnt stays when the session's clock starts."""
    room = build_room(speech_renderer, RoomConfig(seed=5, microphones=1))
    room.voice_commands = True
    parser = CommandParser(DEFAULT_HANDOVER_PHRASES)
    recognizer = Recognizer(SpeechModel(vosk_model_path), parser.phrases)
    voices = VoiceEnrolment(SpeakerEncoder())
    listener = Listener(1, understanding=Understanding(recognizer, parser), voices=voices)
    question = ConsentQuestion(NAMES, PromptVoicePlayer(speech_renderer, room), spoken=True)

    origin = ask_consent(room, question, listener, teach=voices.learn)

    assert [(g.partner, g.by) for g in question.given] == [("A", "voice"), ("B", "voice")]
    said_s = {seg.partner: seg.end_t - seg.start_t for seg in room.truth}
    learnt = dict(zip("AB", voices.enrolled_s(), strict=True))
    for partner in "AB":
        # Each one's own "yes", and nothing of the other's (the pieces cover the speech).
        assert 0.3 <= learnt[partner] <= said_s[partner] + 0.1, (partner, learnt, said_s)
    voices.start_session(origin)
    assert voices.enrolled_s() == (learnt["A"], learnt["B"])


__all__ = ["speech_renderer", "vosk_model_path"]  # pytest fixtures, used by name
