"""The session commands: ``demo`` (the simulated room) and ``run`` (the microphone)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from attune_voice.bounds import DEMO_MINUTES, SEED
from attune_voice.cli.app import (
    Counted,
    Measured,
    Progress,
    cli,
    dump_json,
    hear_through_option,
    limit_option,
    load_cli_exercise,
    parse_partners,
    remembered_partners,
    rounds_option,
    session_hear_through,
    session_voice,
    text_or_json_option,
    transcript_model,
    voice_option,
    warn,
)
from attune_voice.config import RoomConfig
from attune_voice.errors import AttuneError, UsageError
from attune_voice.events import EndReason, Event


@contextmanager
def closing_writer(writer: Any) -> Iterator[None]:
    """Closes ``writer`` (a ``WavWriter`` or None) when the block ends, however it ends."""
    try:
        yield
    finally:
        if writer is not None:
            writer.close()


def remember_summary(session_id: int, summary: Any) -> None:
    """Keep the summary for ``history``, so it never has to re-read this session."""
    from attune_voice.review.history import cache_path_for, remember
    from attune_voice.store.database import Store

    with Store.open() as store:
        remember(store, session_id, summary, cache_path_for(store.path))


def print_review(events: list[Event], session_id: int, output: str) -> None:
    from attune_voice.review.data import summary_to_json
    from attune_voice.review.metrics import summarize
    from attune_voice.review.text import format_summary

    summary = summarize(events)
    remember_summary(session_id, summary)
    if output == "json":
        data = summary_to_json(summary)
        data["session"] = session_id
        dump_json(data)
    else:
        click.echo(format_summary(summary))
        click.echo(
            f"Stored as session {session_id}. See it again with: attune-voice review {session_id}"
        )


_exercise_argument = click.argument("exercise", default="speaker-listener")
_limit_option = limit_option
_rounds_option = rounds_option
_model_option = click.option(
    "--model",
    type=click.Path(file_okay=False, path_type=Path),
    help="Listen with the vosk model in this folder (default: the one in use).",
)
_transcripts_option = click.option(
    "--transcripts",
    is_flag=True,
    help="Keep the recognised words of every turn, with their times, for the review.",
)
DEMO_BREAK_S = 60.0
"""A time-out in the demo lasts a minute, not twenty."""


@cli.command(short_help="Play a whole simulated session, then show its review.")
@_exercise_argument
@click.option(
    "--minutes",
    type=Measured(DEMO_MINUTES),
    help=f"Scale the session to last about this long ({DEMO_MINUTES.said()}; not below"
    " what the exercise needs).",
)
@click.option(
    "--seed",
    type=Counted(SEED),
    default=1,
    show_default=True,
    help=f"Changes what the simulated partners say and do ({SEED.said()}).",
)
@click.option(
    "--partners",
    default=",".join(("Sam", "Alex")),
    show_default=True,
    help='Names of the two simulated partners, "A,B".',
)
@click.option(
    "--microphones",
    type=click.Choice(["1", "2"]),
    default="2",
    show_default=True,
    help="One room microphone (the partners told apart by voice), or one per partner.",
)
@_limit_option
@_rounds_option
@text_or_json_option("How to print the review.")
@click.option("--play", is_flag=True, help="Also play the room through the speakers, in real time.")
@click.option(
    "--save-audio",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write what the room's microphones heard to this WAV file (the coach's prompts marked).",
)
@_model_option
@_transcripts_option
@voice_option
@hear_through_option
def demo(
    exercise: str,
    minutes: float | None,
    seed: int,
    partners: str,
    microphones: str,
    limit: str | None,
    rounds: int | None,
    output: str,
    play: bool,
    save_audio: Path | None,
    model: Path | None,
    transcripts: bool,
    voice: str | None,
    hear_through: bool | None,
) -> None:
    """Play a whole session between two simulated partners and print the review."""
    from attune_voice.audio.wav import WavWriter
    from attune_voice.exercises.timing import estimated_duration_s
    from attune_voice.listening.listener import Listener
    from attune_voice.session.commands import CommandConfig
    from attune_voice.session.engine import SessionEngine
    from attune_voice.session.loop import EventLog, SessionLoop
    from attune_voice.session.wiring import (
        learning_voices,
        recording,
        session_far_voices,
        session_understanding,
        session_voices,
    )
    from attune_voice.simulated.demo import build_room, fit_to_minutes
    from attune_voice.voice.coach import CoachVoice
    from attune_voice.voice.player import PromptVoicePlayer
    from attune_voice.voice.tts import SpeechRenderer

    names = parse_partners(partners)
    voice_name = session_voice(voice)
    through = session_hear_through(hear_through)
    chosen = load_cli_exercise(exercise, limit, rounds)
    if minutes is not None:
        try:
            chosen = fit_to_minutes(
                chosen, minutes, limit_fixed=limit is not None, rounds_fixed=rounds is not None
            )
        except ValueError as e:
            raise UsageError(f"--minutes {minutes:g}: {e}") from e
    room_config = RoomConfig(seed=seed, microphones=int(microphones))
    if transcripts:
        transcript_model(model)  # a missing model fails here, saying how to get one
    # The simulated partners need no model; the hint about one is for real sessions.
    hearing = session_understanding(model, chosen, transcripts)
    understanding = hearing() if hearing is not None else None
    # The file is opened before the session starts: a path that cannot be written
    # fails the command before anything is stored.
    writer = WavWriter(save_audio, room_config.microphones) if save_audio else None
    with (
        closing_writer(writer),
        SpeechRenderer() as renderer,
        recording(chosen, names, "demo", warn=warn) as (append, finish),
    ):
        # The partners keep their espeak-ng voices whatever the coach speaks with.
        coach = CoachVoice(voice_name, renderer)
        room = build_room(renderer, room_config)
        # With a model the simulated partners hand over and answer by voice.
        room.voice_commands = understanding is not None
        voices = session_voices(room.channels, warn)
        far = session_far_voices(room.channels, warn)
        log = EventLog(learning_voices(append, voices))
        engine = SessionEngine(
            chosen,
            names,
            PromptVoicePlayer(coach, room),
            log,
            commands=CommandConfig(break_s=DEMO_BREAK_S),
            understands_speech=understanding is not None,
        )
        listener = Listener(
            room.channels,
            understanding=understanding,
            voices=voices,
            hear_through=through,
            far=far,
        )
        loop = SessionLoop(room, engine, listener)
        progress = Progress("simulating", estimated_duration_s(chosen))
        loop.on_progress = progress
        if writer is not None:
            # The coach's prompts are marked in the file, so that ``analyze`` leaves out
            # what the session's listener did.
            loop.frame_sinks.append(
                lambda frame: writer.write(frame.pcm, coach=listener.heard_coach(frame))
            )
        monitor = None
        if play:
            from attune_voice.audio.monitor import MonitorOutput

            room.monitor_prompts = True
            monitor = MonitorOutput()
            loop.frame_sinks.append(lambda _frame: monitor.write(room.monitor))
        try:
            reason = loop.run()
            # The log is whole once the engine is done: the session is finished in the
            # store before the summary is spoken, so nothing after it can leave it open.
            session_id = finish(reason, loop.t)
            _say_summary(loop, coach, log.events, reason)
        finally:
            progress.done()
            if monitor is not None:
                monitor.close()
    print_review(log.events, session_id, output)


@cli.command(short_help="Run a session aloud with the microphone and speakers.")
@_exercise_argument
@click.option("--partners", help='The two partners\' names, "Sam,Alex" (remembered).')
@click.option("--input", "input_device", help="Microphone: a name fragment or an index.")
@click.option("--output", "output_device", help="Speaker: a name fragment or an index.")
@_limit_option
@_rounds_option
@_model_option
@_transcripts_option
@voice_option
@hear_through_option
def run(
    exercise: str,
    partners: str | None,
    input_device: str | None,
    output_device: str | None,
    limit: str | None,
    rounds: int | None,
    model: Path | None,
    transcripts: bool,
    voice: str | None,
    hear_through: bool | None,
) -> None:
    """Run a session aloud with the microphone and speakers."""
    from attune_voice.audio.rebased import Rebased
    from attune_voice.audio.stream import DeviceAudio
    from attune_voice.cli.app import format_stats
    from attune_voice.listening.listener import Listener
    from attune_voice.session.consent import Logging
    from attune_voice.session.engine import SessionEngine
    from attune_voice.session.floor import first_speaker_for
    from attune_voice.session.keys import KeyReader
    from attune_voice.session.loop import EventLog, SessionLoop
    from attune_voice.session.room_check import (
        SETTING_KEY,
        detector_config,
        heard_through,
        loads_result,
        microphone_balance_db,
    )
    from attune_voice.session.wiring import (
        device_choice,
        device_notices,
        learning_voices,
        recording,
        session_far_voices,
        session_understanding,
        session_voices,
        with_fresh_questions,
    )
    from attune_voice.store.database import Store
    from attune_voice.voice.coach import CoachVoice
    from attune_voice.voice.player import PromptVoicePlayer

    chosen = load_cli_exercise(exercise, limit, rounds)
    voice_name = session_voice(voice)
    through = session_hear_through(hear_through)
    # --input/--output, else the choice saved by `devices --save`, else the defaults.
    input_device, output_device, latency = device_choice(input_device, output_device)
    with Store.open() as store:
        names = remembered_partners(partners, store)
        # The partners take turns at speaking first, from one real session to the next.
        earlier = sum(1 for r in store.sessions() if r.mode == "run" and r.status != "not_started")
        # Questions from a bank are drawn without repeats across this couple's sessions.
        chosen = with_fresh_questions(chosen, store)
        # The detector's thresholds for this room, and the two microphones' balance,
        # from the last `attune-voice check`.
        last_check = loads_result(store.get_setting(SETTING_KEY))
    if not heard_through(last_check, input_device):
        warn(
            "The last room check was made with another microphone; this session uses the "
            "usual settings. Run `attune-voice check` with this one."
        )
        last_check = None
    detector = detector_config(last_check)
    if transcripts:
        transcript_model(model)  # a missing model fails here, saying how to get one
    # The model loads before the devices open: nothing waits on a running stream.
    hearing = session_understanding(model, chosen, transcripts)
    # The voice starts before the devices open, as the model does.
    renderer = CoachVoice(voice_name)
    with (
        KeyReader() as keys,
        DeviceAudio(input_device, output_device, latency=latency) as audio,
    ):
        hand_over = 'Say "I\'m done", or press' if hearing else "Press"
        click.echo(
            f"{names[0]} and {names[1]}: {chosen.title}. {hand_over} Enter, space or the "
            "clicker to hand over; Ctrl-C ends the session and keeps the log.",
            err=True,
        )
        if hearing is None:
            from attune_voice.listening.models import NO_MODEL_HINT

            click.echo(f"attune-voice: {NO_MODEL_HINT}", err=True)
        # A lost device pauses the session: said aloud if the speakers still work,
        # printed always; frames resume on the same clock when it is back.
        audio.on_status = device_notices(audio, renderer, warn)
        player = PromptVoicePlayer(renderer, audio)
        # With one microphone, each partner's answer by voice is their voice's first lesson.
        voices = session_voices(audio.channels, warn)
        logging, origin_sample = _ask_consent(
            audio, player, names, detector, hearing, keys, voices, through
        )
        if voices is not None:
            voices.start_session(origin_sample)
        understanding = hearing() if hearing is not None else None
        # Recording starts only once the devices are open and both partners have
        # answered, so a wrong device or a Ctrl-C during the question leaves no empty
        # session behind. The session's clock starts after the question.
        with recording(
            chosen, names, "run", timing_only=logging is Logging.TIMING_ONLY, warn=warn
        ) as (
            append,
            finish,
        ):
            session_audio = Rebased(audio, origin_sample)
            log = EventLog(learning_voices(append, voices))
            engine = SessionEngine(
                chosen,
                names,
                PromptVoicePlayer(renderer, session_audio),
                log,
                understands_speech=understanding is not None,
                first_speaker=first_speaker_for(earlier),
            )
            far = session_far_voices(audio.channels, warn, microphone_balance_db(last_check))
            listener = Listener(audio.channels, detector, understanding, voices, through, far)
            loop = SessionLoop(session_audio, engine, listener)
            session_id: int | None = None
            try:
                reason = loop.run(extra_keys=keys.poll)
                session_id = finish(reason, loop.t)
                _say_summary(loop, renderer, log.events, reason)
            except AttuneError:
                # The device stayed lost (or another boundary failed): the session ends
                # there with its log kept; the group prints the one-line reason.
                if not engine.done:
                    loop.stop(EndReason.DEVICE_LOST)
                if session_id is None:
                    finish(EndReason.DEVICE_LOST, loop.t)
                click.echo(format_stats(audio.stats()), err=True)
                raise
        stats = audio.stats()
    print_review(log.events, session_id, "text")
    click.echo(format_stats(stats), err=True)
    click.echo(listener.echo.summary(), err=True)


def _ask_consent(
    audio: Any,
    player: Any,
    names: tuple[str, str],
    detector: Any,
    hearing: Callable[[], Any] | None,
    keys: Any,
    voices: Any = None,
    hear_through: bool = False,
) -> tuple[Any, int]:
    """Ask both partners whether the session may keep words; returns (logging, origin).

    The origin is the stream sample where the question ended: the session's time zero.
    """
    from attune_voice.listening.listener import Listener
    from attune_voice.session.consent import KEY_HINT, Logging
    from attune_voice.session.consent_question import ConsentQuestion, ask_consent

    question = ConsentQuestion(names, player, spoken=hearing is not None)
    listener = Listener(
        audio.channels,
        detector,
        understanding=hearing() if hearing is not None else None,
        voices=voices,
        hear_through=hear_through,
    )
    answer_by = "say yes or no, or" if hearing is not None else ""
    click.echo(
        f"attune-voice: may this session keep your words? Each of you: {answer_by} "
        f"{KEY_HINT}.".replace("  ", " "),
        err=True,
    )
    keys.poll()  # a key pressed before the question is not an answer to it
    try:
        origin_sample = ask_consent(
            audio,
            question,
            listener,
            extra_keys=keys.poll,
            teach=voices.learn if voices is not None else None,
        )
    except KeyboardInterrupt:
        click.echo(
            "attune-voice: stopped before the session started; nothing was recorded", err=True
        )
        raise click.exceptions.Exit(130) from None
    if question.logging is Logging.FULL:
        click.echo("attune-voice: both said yes: the session is logged.", err=True)
    else:
        click.echo("attune-voice: not two yeses: only the timing is kept, no words.", err=True)
    return question.logging, origin_sample


def _say_summary(loop: Any, renderer: Any, events: list[Event], reason: EndReason) -> None:
    """A few warm words at the end of a completed session, through the same speakers."""
    if reason is not EndReason.COMPLETED:
        return
    from attune_voice.review.metrics import summarize
    from attune_voice.review.text import spoken_summary

    loop.play_to_end(renderer.render(spoken_summary(summarize(events))))
