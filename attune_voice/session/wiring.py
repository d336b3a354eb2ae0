"""What a session is made of: its record in the store, the devices, the model, the questions.

The command line calls these and does the printing: ``tell`` and ``warn`` are how they
speak to the person at the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from attune_voice.errors import ModelError, StoreError
from attune_voice.events import EndReason, Event
from attune_voice.exercises.model import Exercise, pick_questions

if TYPE_CHECKING:
    from attune_voice.audio.latency import Latency
    from attune_voice.audio.stream import DeviceAudio
    from attune_voice.audio.stream_state import DeviceStatus
    from attune_voice.listening.crosstalk import FarVoices
    from attune_voice.listening.enrolment import VoiceEnrolment
    from attune_voice.listening.listener import Understanding
    from attune_voice.listening.speaker_encoder import SpeakerEncoder
    from attune_voice.voice.player import Renderer


def now_iso() -> str:
    """The wall-clock time a session started, for the store (not the session's clock)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- the recording in the store --------------------------------------------------------


@contextmanager
def recording(
    exercise: Exercise,
    names: tuple[str, str],
    mode: str,
    timing_only: bool = False,
    *,
    warn: Callable[[str], None],
) -> Iterator[tuple[Callable[[Event], None], Callable[[EndReason, float], int]]]:
    """Opens the store and yields (append event, finish session)."""
    from attune_voice.store.database import Store
    from attune_voice.store.running import SessionClaim, is_recording

    with Store.open() as store:
        exposed = store.exposure_warning()
        if exposed:
            warn(exposed)
        folder = store.path.parent
        # A session another attune-voice is recording right now is not a crashed one.
        store.mark_unfinished_interrupted(lambda other: is_recording(folder, other))
        holder = SessionClaim(folder)

        def claim(new_id: int) -> None:
            try:
                holder.claim(new_id)
            except OSError as e:
                raise StoreError(
                    f"cannot mark the session as being recorded in {folder}/running "
                    f"({e.strerror or e}); check that the folder is yours and the disk "
                    "has room"
                ) from e

        try:
            session_id = store.start_session(
                exercise=exercise.name,
                partners=names,
                mode=mode,
                started_at=now_iso(),
                settings=exercise.settings(),
                timing_only=timing_only,
                claim=claim,
            )
        except BaseException:
            # Not started after all (a full disk at the commit, Ctrl-C): no lock is left.
            holder.release()
            raise

        kept = False

        def append(event: Event) -> None:
            nonlocal kept
            store.append(session_id, event)
            # What the engine logs at its start (t = 0) is not yet anything the couple did.
            kept = kept or event.t > 0

        def finish(reason: EndReason, duration_s: float) -> int:
            nonlocal kept
            store.finish_session(session_id, str(reason), duration_s)
            kept = True
            return session_id

        try:
            yield append, finish
        finally:
            try:
                if not kept:
                    # Nothing but its start was stored (the command failed before the
                    # session's clock moved): such a session would only be an empty row.
                    store.delete_sessions([session_id])
            finally:
                holder.release()


# --- the devices --------------------------------------------------------------------------

LOST_NOTICE = (
    "The sound has stopped, so we are pausing. I will carry on when it is back. "
    "Press Control C to end the session; everything so far is kept."
)
"""Said (when the speakers still work) when the microphone or speakers go."""
BACK_NOTICE = "The sound is back. Let's carry on."


def device_choice(
    input_device: str | None, output_device: str | None
) -> tuple[str | None, str | None, Latency]:
    """The devices and sound buffer for ``run`` and ``check``: ``--input``/``--output``
    when given, else what config.toml saved, else the defaults; the buffer from
    ``$ATTUNE_AUDIO_LATENCY``, else config.toml, else the built-in one."""
    from attune_voice.audio.latency import stream_latency
    from attune_voice.store.settings_file import load_settings

    saved = load_settings()
    return (
        input_device if input_device is not None else saved.input_device,
        output_device if output_device is not None else saved.output_device,
        stream_latency(saved.latency),
    )


def device_notices(
    audio: DeviceAudio, renderer: Renderer, tell: Callable[[str], None]
) -> Callable[[DeviceStatus], None]:
    """``DeviceAudio.on_status`` for a session: say (if the speakers work) and tell the
    terminal that the sound stopped, then that it is back."""
    from attune_voice.audio.stream_state import DeviceState

    def notice(status: DeviceStatus) -> None:
        if status.state is DeviceState.LOST:
            spoken = audio.announce(renderer.render(LOST_NOTICE))
            heard = "" if spoken else " (the speakers are gone too, so this is only printed)"
            tell(f"\n{status.message}{heard}; Ctrl-C ends it, keeping all recorded")
        else:
            audio.play(renderer.render(BACK_NOTICE))
            tell(status.message)

    return notice


# --- the speech model ---------------------------------------------------------------------


def model_for_transcripts(model: Path | None) -> Path:
    """The model to transcribe with (``--model``, else the one in use), or a ModelError
    saying how to get one."""
    from attune_voice.listening import models
    from attune_voice.store.database import Store

    with Store.open(create=False) as store:
        path = models.model_in_use(model, store)
    if path is None:
        raise ModelError(f"--transcripts needs a speech model; {models.NO_MODEL_HINT}")
    return path


def session_understanding(
    model: Path | None, exercise: Exercise, transcripts: bool
) -> Callable[[], Understanding] | None:
    """What the session listens with: None without a model.

    Each call of the returned function starts a fresh recogniser on the one loaded
    model, so the consent question and the session never share what they heard.

    The model is ``--model``, else the one chosen with ``models use``, else the default
    one once downloaded. Transcripts need a model, so asking for them without one is an
    error rather than a silent no.
    """
    from attune_voice.listening import models
    from attune_voice.listening.asr import CommandParser, Recognizer, SpeechModel
    from attune_voice.listening.listener import Understanding
    from attune_voice.store.database import Store

    if transcripts:
        path: Path | None = model_for_transcripts(model)
    else:
        with Store.open(create=False) as store:
            path = models.model_in_use(model, store)
    if path is None:
        return None
    parser = CommandParser(exercise.handover_phrases)
    # Transcripts need every word; commands alone can use a grammar where the model allows.
    speech_model = SpeechModel(path)
    grammar = None if transcripts else parser.phrases

    def understanding() -> Understanding:
        return Understanding(Recognizer(speech_model, grammar), parser, transcripts)

    return understanding


# --- the partners' voices ----------------------------------------------------------------


def session_voices(
    channels: int, warn: Callable[[str], None] | None = None
) -> VoiceEnrolment | None:
    """With one microphone, the partners' voices learnt as the session goes; else None.

    Without the voice encoder's weights the session still runs, attributing speech by
    the floor, and ``warn`` says why; without the segmentation network's, two voices
    at once are told by the voices alone.
    """
    if channels != 1:
        return None
    from attune_voice.listening.at_once import AtOnce
    from attune_voice.listening.enrolment import VoiceEnrolment

    encoder = _voice_encoder(warn, "speech counts for whoever holds the floor")
    if encoder is None:
        return None
    try:
        at_once: AtOnce | None = AtOnce()
    except ModelError as e:
        if warn is not None:
            warn(f"{e}; a mm-hm said over the other's words is heard as theirs")
        at_once = None
    return VoiceEnrolment(encoder, at_once=at_once)


def session_far_voices(
    channels: int, warn: Callable[[str], None] | None = None, balance_db: float = 0.0
) -> FarVoices | None:
    """With a microphone each, what each microphone hears of the other partner's voice,
    learnt as the session goes; else None. ``balance_db``: how much louder microphone A
    hears alike sound than B, as the room check measured it (until the session measures
    it itself). Without the voice encoder's weights the session still runs, attributing
    speech by microphone alone, and ``warn`` says why."""
    if channels != 2:
        return None
    from attune_voice.listening.crosstalk import FarVoices

    encoder = _voice_encoder(warn, "speech counts for whichever microphone is louder")
    return None if encoder is None else FarVoices(encoder, balance_db=balance_db)


def _voice_encoder(warn: Callable[[str], None] | None, instead: str) -> SpeakerEncoder | None:
    """The voice encoder; None, said through ``warn`` with what happens ``instead``, when
    its weights are missing or damaged."""
    from attune_voice.listening.speaker_encoder import SpeakerEncoder

    try:
        return SpeakerEncoder()
    except ModelError as e:
        if warn is not None:
            warn(f"{e}; {instead}")
        return None


def learning_voices(
    append: Callable[[Event], None], voices: VoiceEnrolment | None
) -> Callable[[Event], None]:
    """``append``, and with ``voices`` each logged event also teaches them who spoke when."""
    if voices is None:
        return append
    learn = voices.learn

    def both(event: Event) -> None:
        append(event)
        learn(event)

    return both


# --- the questions ------------------------------------------------------------------------

QUESTIONS_KEPT = 1000
"""How many asked questions are remembered per exercise: far more than any bank holds."""


class SettingStore(Protocol):
    """The part of ``attune_voice.store.database.Store`` that remembers asked questions."""

    def get_setting(self, key: str) -> str | None: ...

    def set_setting(self, key: str, value: str) -> None: ...


def questions_key(exercise: Exercise) -> str:
    return f"questions_asked:{exercise.name}"


def with_fresh_questions(exercise: Exercise, store: SettingStore) -> Exercise:
    """The exercise with new questions from its bank for this session, remembered in the
    store so that the next session asks others; an exercise without a bank is unchanged."""
    needed = exercise.questions_needed()
    if not exercise.questions or not needed:
        return exercise
    saved = store.get_setting(questions_key(exercise))
    try:
        used = json.loads(saved) if saved else []
    except ValueError:
        used = []
    if not isinstance(used, list) or not all(isinstance(q, str) for q in used):
        # A damaged record only costs the variety of the next questions, not the session.
        used = []
    asked = pick_questions(exercise.questions, used, needed)
    store.set_setting(questions_key(exercise), json.dumps([*used, *asked][-QUESTIONS_KEPT:]))
    return exercise.with_questions(asked)
