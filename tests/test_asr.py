"""Speech recognition through the real libvosk with the generated test model.

Commands are spoken by espeak-ng voices whose variants the model never heard in
training, in quiet room noise, and go through the session's own listener frame by
frame, as in a session. The truth is where each phrase was placed in the recording.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from vosk_fixtures import (
    TEST_VOICES,
    Said,
    model_info,
    recording,
    speech_renderer,
    vosk_model_path,
)

from attune_voice.audio.frames import FRAME_SAMPLES, Frame, Pcm
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.errors import ModelError
from attune_voice.events import CommandWord
from attune_voice.exercises.library import load_exercise
from attune_voice.listening.asr import (
    DEFAULT_HANDOVER_PHRASES,
    CommandParser,
    Recognizer,
    SpeechModel,
    grammar_supported,
    normalise,
    transcribe_segments,
)
from attune_voice.listening.listener import UTTERANCE_GAP_S, Listener, PauseDetector, Understanding
from attune_voice.session.ports import Command, EngineInput, Heard
from attune_voice.session.wiring import session_understanding
from attune_voice.voice.tts import SpeechRenderer

__all__ = ["model_info", "speech_renderer", "vosk_model_path"]  # fixtures, used by name

SPOKEN_COMMANDS = {
    "pause": CommandWord.PAUSE,
    "resume": CommandWord.RESUME,
    "repeat": CommandWord.REPEAT,
    "more time": CommandWord.MORE_TIME,
    "time out": CommandWord.TIME_OUT,
    "stop": CommandWord.STOP,
    "yes": CommandWord.YES,
    "no": CommandWord.NO,
    "not quite": CommandWord.NOT_QUITE,
    "I'm done": CommandWord.HANDOVER,
    "over to you": CommandWord.HANDOVER,
    "that's all": CommandWord.HANDOVER,
}


@pytest.fixture(scope="module")
def model(vosk_model_path: Path) -> SpeechModel:
    return SpeechModel(vosk_model_path)


def listen(
    model: SpeechModel,
    pcm: Pcm,
    transcripts: bool = False,
    start_t: float = 0.0,
    playing: Sequence[tuple[float, float]] = (),
) -> list[EngineInput]:
    """Frames of ``pcm`` through a listener that understands speech, as a session does.

    ``playing`` marks stretches (recording seconds) when a prompt was playing.
    """
    parser = CommandParser()
    grammar = None if transcripts else parser.phrases
    understanding = Understanding(Recognizer(model, grammar), parser, transcripts)
    listener = Listener(1, understanding=understanding)
    offset = round(start_t * SAMPLE_RATE_HZ)
    inputs: list[EngineInput] = []
    for start in range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        t = start / SAMPLE_RATE_HZ
        frame = Frame(
            pcm[np.newaxis, start : start + FRAME_SAMPLES],
            offset + start,
            playing=any(a <= t < b for a, b in playing),
        )
        inputs.extend(listener.feed(frame))
    inputs.extend(listener.flush((offset + len(pcm)) / SAMPLE_RATE_HZ))
    return inputs


def commands(inputs: list[EngineInput]) -> list[Command]:
    return [i for i in inputs if isinstance(i, Command)]


def heard_for(said: Said, inputs: list[EngineInput], start_t: float = 0.0) -> list[Heard]:
    return [
        i
        for i in inputs
        if isinstance(i, Heard)
        and i.words[0].start < said.end_t + start_t
        and i.words[-1].end > said.start_t + start_t
    ]


# --- the parser, on text ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("stop", CommandWord.STOP),
        ("Stop.", CommandWord.STOP),
        ("  more   time ", CommandWord.MORE_TIME),
        ("Not quite.", CommandWord.NOT_QUITE),
        ("I\u2019m done", CommandWord.HANDOVER),  # a typographic apostrophe
        ("over to you", CommandWord.HANDOVER),
        ("I can't stop thinking about it", None),
        ("[unk] stop", None),
        ("stop stop", None),
        ("yes that is it", None),
        ("I'm done with the dishes", None),
        ("", None),
    ],
)
def test_a_command_is_only_ever_the_whole_utterance(text: str, word: CommandWord | None) -> None:
    assert CommandParser().parse(text) is word


def test_hand_over_phrases_come_from_the_exercise() -> None:
    parser = CommandParser(["Your turn!"])
    assert parser.parse("your turn") is CommandWord.HANDOVER
    assert parser.parse("I'm done") is None
    assert parser.parse("stop") is CommandWord.STOP
    assert CommandParser([]).parse("over to you") is None
    assert "your turn" in parser.phrases
    assert normalise("That's ALL!") == "that's all"
    exercise = load_exercise("speaker-listener")
    assert set(exercise.handover_phrases) == set(DEFAULT_HANDOVER_PHRASES)


def test_an_utterance_ends_a_short_pause_after_the_speech(
    speech_renderer: SpeechRenderer,
) -> None:
    pcm, said = recording(speech_renderer, ["over to you", "I'm done"], TEST_VOICES[0])
    detector = PauseDetector()
    ends = [
        (start + FRAME_SAMPLES) / SAMPLE_RATE_HZ
        for start in range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES)
        if detector.feed(pcm[start : start + FRAME_SAMPLES])
    ]
    assert len(ends) == len(said)
    for end_t, item in zip(ends, said, strict=True):
        assert item.end_t < end_t <= item.end_t + UTTERANCE_GAP_S + 0.03


# --- the real recogniser --------------------------------------------------------------------


def test_the_test_voices_were_never_heard_in_training(model_info: dict[str, object]) -> None:
    trained = set(model_info["training_variants"])  # type: ignore[call-overload]
    assert trained
    assert not {voice.split("+")[1] for voice, _ in TEST_VOICES} & trained


def test_words_heard_in_the_prompts_echo_are_dropped(
    model: SpeechModel, speech_renderer: SpeechRenderer
) -> None:
    # When the echo gate finds that what the listener heard through a prompt was its
    # echo after all, the utterance is dropped, not finished: no command comes of it.
    pcm, said = recording(speech_renderer, ["pause"], TEST_VOICES[0])
    end = round((said[0].end_t + 0.1) * SAMPLE_RATE_HZ)
    frames = [
        Frame(pcm[np.newaxis, start : start + FRAME_SAMPLES], start)
        for start in range(0, end - FRAME_SAMPLES + 1, FRAME_SAMPLES)
    ]
    for finish in ("close", "drop"):
        parser = CommandParser()
        understanding = Understanding(Recognizer(model, parser.phrases), parser)
        inputs = [i for frame in frames for i in understanding.hear(frame)]
        if finish == "close":
            inputs += understanding.close(end / SAMPLE_RATE_HZ)
            assert [c.word for c in commands(inputs)] == [CommandWord.PAUSE]
        else:
            understanding.drop()
            inputs += understanding.close(end / SAMPLE_RATE_HZ)
            assert commands(inputs) == []


def test_over_a_prompt_only_the_words_in_the_partners_speech_make_a_command(
    model: SpeechModel, speech_renderer: SpeechRenderer
) -> None:
    # Over a prompt the recogniser hears a little before the speech detector's onset and
    # until its segment has ended, where what is left of the echo reads as words: here
    # a "yes" just before "pause", in one utterance, stands for such a word.
    pcm, said = recording(speech_renderer, ["yes", "pause"], TEST_VOICES[0], gap_s=0.15)
    end = round((said[1].end_t + 0.4) * SAMPLE_RATE_HZ)
    frames = [
        Frame(pcm[np.newaxis, start : start + FRAME_SAMPLES], start)
        for start in range(0, end - FRAME_SAMPLES + 1, FRAME_SAMPLES)
    ]

    def heard(speech: tuple[float, float] | None) -> list[EngineInput]:
        parser = CommandParser()
        understanding = Understanding(Recognizer(model, parser.phrases), parser, transcripts=True)
        if speech is not None:
            understanding.speech_began(speech[0])
            understanding.speech_ended(speech[1])
        inputs = [i for frame in frames for i in understanding.hear(frame)]
        return inputs + understanding.close(end / SAMPLE_RATE_HZ)

    def texts(inputs: list[EngineInput]) -> list[str]:
        return [" ".join(w.w for w in i.words) for i in inputs if isinstance(i, Heard)]

    whole = heard(None)
    assert texts(whole) == ["yes pause"]
    assert commands(whole) == []
    pause = heard((said[1].start_t - 0.05, said[1].end_t + 0.05))
    assert texts(pause) == ["pause"]
    assert [c.word for c in commands(pause)] == [CommandWord.PAUSE]
    # Speech that ended before the command: the command is the echo's.
    yes = heard((said[0].start_t - 0.05, said[0].end_t + 0.05))
    assert texts(yes) == ["yes"]
    assert [c.word for c in commands(yes)] == [CommandWord.YES]


def test_commands_are_understood_in_voices_never_heard(
    model: SpeechModel, speech_renderer: SpeechRenderer
) -> None:
    total = correct = wrong = 0
    per_voice: dict[str, int] = {}
    latencies: list[float] = []
    for seed, voice in enumerate(TEST_VOICES):
        pcm, said = recording(speech_renderer, list(SPOKEN_COMMANDS), voice, seed=seed)
        found = commands(listen(model, pcm))
        for item in said:
            total += 1
            near = [c for c in found if item.end_t <= c.t <= item.end_t + 0.6]
            if [c.word for c in near] == [SPOKEN_COMMANDS[item.text]]:
                correct += 1
                per_voice[voice[0]] = per_voice.get(voice[0], 0) + 1
                latencies.append(near[0].t - item.end_t)
        wrong += sum(
            1
            for c in found
            if not any(
                item.end_t <= c.t <= item.end_t + 0.6 and c.word is SPOKEN_COMMANDS[item.text]
                for item in said
            )
        )
    # Measured with the generated model: about 95% right, a miss now and then ("no"
    # and "done" alone are the hardest), and next to no command heard where none was.
    assert correct >= 0.9 * total, (correct, total)
    assert min(per_voice.get(v, 0) for v, _ in TEST_VOICES) >= 0.75 * len(SPOKEN_COMMANDS)
    assert wrong <= 2
    # A command is understood a pause after the phrase ends (sooner where its last
    # sound fades into the noise), never more than 0.3 s later.
    assert max(latencies) <= 0.3
    assert min(latencies) > 0.0
    assert np.median(latencies) == pytest.approx(UTTERANCE_GAP_S, abs=0.03)


def test_a_command_word_inside_a_sentence_is_not_a_command(
    model: SpeechModel, speech_renderer: SpeechRenderer
) -> None:
    sentences = [
        "I can't stop thinking about it.",
        "We should pause and think about the weekend.",
        "That is not quite what I meant to say.",
        "Yes, that is exactly right.",
        "I'm done with the dishes for tonight.",
        "Give me a little more time to think.",
    ]
    for seed, voice in enumerate(TEST_VOICES[:3]):
        pcm, _ = recording(speech_renderer, sentences, voice, seed=seed)
        assert commands(listen(model, pcm)) == []


def test_word_times_are_within_100_ms_of_the_truth(
    model: SpeechModel, speech_renderer: SpeechRenderer
) -> None:
    phrases = ["pause", "over to you", "stop", "more time", "resume", "not quite"]
    pcm, said = recording(speech_renderer, phrases, TEST_VOICES[0], gap_s=1.5)
    # The session started long before, and a prompt closed the microphone in the middle
    # of the recording: word times must still land on the session clock.
    start_t = 100.0
    gap = (said[2].end_t + 0.5, said[3].start_t - 0.5)
    inputs = listen(model, pcm, transcripts=True, start_t=start_t, playing=[gap])
    checked = 0
    for item in said:
        heard = heard_for(item, inputs, start_t)
        if len(heard) != 1 or normalise(" ".join(w.w for w in heard[0].words)) != normalise(
            item.text
        ):
            continue
        words = heard[0].words
        assert abs(words[0].start - (start_t + item.start_t)) <= 0.1, (item, words)
        assert abs(words[-1].end - (start_t + item.end_t)) <= 0.1, (item, words)
        checked += 1
    assert checked >= len(phrases) - 1


def test_nothing_is_heard_while_a_prompt_plays(
    model: SpeechModel, speech_renderer: SpeechRenderer
) -> None:
    pcm, said = recording(speech_renderer, ["stop", "yes", "pause"], TEST_VOICES[1])
    playing = [(said[0].start_t - 0.1, said[1].end_t + 0.1)]
    found = commands(listen(model, pcm, playing=playing))
    assert [c.word for c in found] == [CommandWord.PAUSE]


def test_transcripts_keep_every_utterance_with_its_words(
    model: SpeechModel, speech_renderer: SpeechRenderer
) -> None:
    pcm, said = recording(speech_renderer, ["I'm done", "thank you"], TEST_VOICES[2])
    inputs = listen(model, pcm, transcripts=True)
    heard = [i for i in inputs if isinstance(i, Heard)]
    assert len(heard) == 2
    assert [w.w for w in heard[0].words] == ["i'm", "done"]
    # Words the model does not know are kept as [unk], with their times.
    assert {w.w for w in heard[1].words} <= {"[unk]", "you", "to", "done"}
    assert heard[1].words[0].start >= said[1].start_t - 0.1


def test_segments_of_a_recording_are_transcribed(
    vosk_model_path: Path, speech_renderer: SpeechRenderer
) -> None:
    phrases = ["over to you", "not quite", "time out", "yes"]
    pcm, said = recording(speech_renderer, phrases, TEST_VOICES[3])
    words = transcribe_segments(pcm, [(s.start_t, s.end_t) for s in said], vosk_model_path)
    assert len(words) == len(said)
    right = 0
    for item, got in zip(said, words, strict=True):
        if normalise(" ".join(w.w for w in got)) == normalise(item.text):
            right += 1
            assert abs(got[0].start - item.start_t) <= 0.1
            assert abs(got[-1].end - item.end_t) <= 0.1
    assert right >= 3
    assert transcribe_segments(pcm, [], vosk_model_path) == []
    assert words[0][0].to_json().keys() == {"w", "start", "end"}


# --- grammars and broken models ----------------------------------------------------------------


def test_a_grammar_is_only_used_where_the_model_has_the_lookahead_graph(
    model: SpeechModel, tmp_path: Path
) -> None:
    recognizer = Recognizer(model, CommandParser().phrases)
    assert not model.supports_grammar
    assert not recognizer.restricted  # HCLG.fst: free decoding, whole-utterance matching
    graph = tmp_path / "graph"
    graph.mkdir()
    (graph / "HCLr.fst").touch()
    (graph / "Gr.fst").touch()
    assert grammar_supported(tmp_path)
    (graph / "HCLG.fst").touch()
    assert not grammar_supported(tmp_path)


def test_a_damaged_model_is_one_clear_model_error(vosk_model_path: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(vosk_model_path, damaged)
    (damaged / "graph" / "HCLG.fst").write_bytes(b"not an fst")
    with pytest.raises(ModelError, match=r"cannot be loaded: Reading FST: .*HCLG\.fst") as error:
        SpeechModel(damaged)
    assert "\n" not in str(error.value)
    with pytest.raises(ModelError, match=r"has no am/final\.mdl"):
        SpeechModel(tmp_path)


# --- with and without a model in a session ---------------------------------------------------


def test_without_a_model_the_session_listens_for_nothing_and_transcripts_say_how_to_add_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ATTUNE_HOME", str(tmp_path))
    exercise = load_exercise("speaker-listener")
    assert session_understanding(None, exercise, transcripts=False) is None
    # The library says nothing itself: `run` prints the hint (see the command line).
    assert capsys.readouterr().err == ""
    with pytest.raises(
        ModelError,
        match=r"--transcripts needs a speech model.*attune-voice models download "
        r"vosk-model-small-en-us-0\.15",
    ):
        session_understanding(None, exercise, transcripts=True)


def test_with_a_model_the_session_understands_speech(
    vosk_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATTUNE_HOME", str(tmp_path))
    exercise = load_exercise("speaker-listener")
    hearing = session_understanding(vosk_model_path, exercise, transcripts=True)
    assert hearing is not None
    understanding = hearing()
    assert isinstance(understanding, Understanding)
    assert understanding.transcripts
    # The consent question and the session each get their own, on the one model.
    assert hearing() is not understanding


def test_analyze_adds_the_words_of_each_segment(
    vosk_model_path: Path,
    speech_renderer: SpeechRenderer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    from click.testing import CliRunner

    from attune_voice.audio.wav import write_wav
    from attune_voice.cli.main import cli

    monkeypatch.setenv("ATTUNE_HOME", str(tmp_path / "home"))
    pcm, said = recording(speech_renderer, ["pause", "repeat"], ("gmw/en-us", 160), gap_s=1.5)
    wav = tmp_path / "talk.wav"
    write_wav(wav, np.clip(pcm, -32768, 32767).astype(np.int16))
    result = CliRunner().invoke(
        cli,
        ["analyze", str(wav), "--transcripts", "--model", str(vosk_model_path), "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    segments = json.loads(result.stdout)["segments"]
    assert [[w["w"] for w in s["words"]] for s in segments] == [["pause"], ["repeat"]]
    for segment, truth in zip(segments, said, strict=True):
        word = segment["words"][0]
        assert abs(word["start"] - truth.start_t) < 0.1
    missing = CliRunner().invoke(cli, ["analyze", str(wav), "--transcripts"])
    assert missing.exit_code != 0
    assert "speech model" in missing.stderr
