"""The real ``attune-voice run`` and ``check`` in a room made of a PulseAudio null sink.

scripts/test starts a private PulseAudio server whose default sink is the null sink
``attune_room`` and whose default source is that sink's monitor: whatever is played
into the sink is what the session's microphone hears. That is the room. The session
plays its prompts into it through sounddevice and PortAudio; the partners are other
processes (``pacat``) playing espeak-ng speech into the same sink, so partner speech
and prompts mix in the microphone as in a living room.

The test is both partners. It listens to the room with ``parec``, whose 20 ms reads
are its clock (no sleeps), reads the session's events from the store as they are
written, and answers them: the partner given the floor speaks, Sam hands over with a
clicker key (PageDown on the session's terminal), Alex lets the time run out. First
both answer the coach's consent question with a key, each during their own question.

Times are compared through the room's own recording. Each prompt the session logs is
found in the recording (the test renders the same text with the same voice), which
gives the offset between recording time and session time up to the session's round
trip from play() to hearing, and each partner's speech is found there too. The
round trip (tens to a few hundred milliseconds; it changes when the sound server
re-buffers) is estimated once per session from the turns themselves and must be
plausible; every turn edge must then agree with the speech that was played within
``START_TOLERANCE_S`` and ``END_TOLERANCE_S``.

The turns test hears through the prompts (``--hear-through``), in a room with a fan's
noise and the speakers turned down, and Alex talks over the prompt that gives him the
floor; the other sessions keep the default, the microphone gated around prompts.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from attune_voice.events import (
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
    SpokenOver,
)
from attune_voice.session.consent_question import KEPT_TEXT, KEY_QUESTION
from attune_voice.session.room_check import SETTING_KEY, loads_result
from attune_voice.store.database import Store
from attune_voice.voice.tts import SpeechRenderer

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
from busy_home import notification_wav  # a script of the benchmarks, not a package

RATE_HZ = 16_000
CHUNK = 320
"""The recorder reads 20 ms at a time: the test's clock."""
SINK = "attune_room"
SINK48 = os.environ.get("ATTUNE_TEST_SINK48", "attune_room48")
"""The 48 kHz stereo null sink scripts/_pulse.sh makes: PulseAudio's usual rate."""
EXERCISE = Path(__file__).parent / "live" / "live.toml"
OVER_EXERCISE = Path(__file__).parent / "live" / "over.toml"
"""A longer opening (for the echo canceller to learn the room) and a long prompt that
gives Alex the floor, for him to talk over."""
CLICKER = b"\x1b[6~"
"""PageDown: the clicker that hands the floor over."""
VOICES = {"A": ("gmw/en-us+m3", 168), "B": ("gmw/en-gb-x-rp+f4", 176)}
REACTION_S = 0.8
"""How long after being given the floor a partner starts to speak."""
IDLE_S = 1.0
"""A room that plays nothing for this long is idle (the session has not started yet)."""
SESSION_LIMIT_S = 130.0
QUESTION_OVER_S = 0.8
SETTLE_S = 2.5
"""After its stream is back in the room, a session takes this long to hear again."""
OUTAGE_S = 4.0
"""How long the sink stays suspended or unloaded: longer than the device takes to
declare itself lost (STALL_TIMEOUT_S)."""
"""Recorded audio after which a session that has not ended fails the test."""

START_TOLERANCE_S = 0.05
END_TOLERANCE_S = 0.1
"""Turn edges against the played speech, once the round trip is taken out: the
detector puts edges on the audio (10 ms sub-frames, soft word ends kept while they
stand above the noise floor), so starts are tight and ends a little looser."""
ROUND_TRIP_MAX_S = 0.6
"""The most the session's play()-to-hearing round trip may plausibly be."""
SPEAKERS_DB = -12.0
"""The session's speakers in a room where Alex talks over a prompt: a loudspeaker across
a living room, not a loopback."""
NOISE_DBFS = -64.0
"""A fan in that room: below the level taken for a sound in it (an RMS of 30). A null
sink is otherwise digitally silent, where the echo left after cancelling, however faint,
is all there is to hear, and the voice model judges a sound's shape, not its level."""
OVER_AFTER_S = 1.5
"""Alex starts this long after the prompt that gives him the floor starts (6.6 s)."""
LATER_AFTER_S = 2.0
"""And says his last sentence this long after he finished talking over it."""

pytestmark = pytest.mark.pulse


# --- the partners' speech -------------------------------------------------------------


@dataclass(frozen=True)
class Utterance:
    """What one partner says: sentences with pauses the detector must not merge."""

    partner: str
    pcm: np.ndarray
    parts: tuple[tuple[int, int], ...]
    """Sample ranges of speech within ``pcm``."""


def utterance(
    renderer: SpeechRenderer, partner: str, sentences: list[str], gain_db: float = 0.0
) -> Utterance:
    voice, rate_wpm = VOICES[partner]
    gap = np.zeros(round(0.8 * RATE_HZ), dtype=np.int16)
    pieces: list[np.ndarray] = []
    parts: list[tuple[int, int]] = []
    at = 0
    for number, sentence in enumerate(sentences):
        pcm = renderer.render(sentence, voice, rate_wpm)
        if gain_db:
            pcm = np.clip(pcm * 10 ** (gain_db / 20), -32768, 32767).astype(np.int16)
        if number:
            pieces.append(gap)
            at += gap.shape[0]
        pieces.append(pcm)
        parts.append((at, at + pcm.shape[0]))
        at += pcm.shape[0]
    return Utterance(partner, np.concatenate(pieces), tuple(parts))


@pytest.fixture(scope="module")
def sam(renderer: SpeechRenderer) -> Utterance:
    return utterance(
        renderer,
        "A",
        ["The best part of my week was the walk by the river.", "We saw two herons there."],
    )


@pytest.fixture(scope="module")
def alex(renderer: SpeechRenderer) -> Utterance:
    return utterance(
        renderer,
        "B",
        [
            "I liked the dinner with my sister on Friday.",
            "She made a lemon cake for us.",
            "We ate it in the garden.",
        ],
    )


@pytest.fixture(scope="module")
def alex_over(renderer: SpeechRenderer) -> Utterance:
    """What Alex says over the prompt that gives him the floor."""
    return utterance(
        renderer,
        "B",
        ["Sorry, I already know what I want to say about my week.", "It was a good one."],
    )


@pytest.fixture(scope="module")
def alex_later(renderer: SpeechRenderer) -> Utterance:
    """What Alex says once the prompt and his speech over it are over."""
    return utterance(renderer, "B", ["She made a lemon cake for us."])


# --- the room -------------------------------------------------------------------------


@dataclass
class Played:
    utterance: Utterance
    launched_s: float
    """Recording time when pacat was started (the sound follows a little later)."""
    process: subprocess.Popen[bytes]


class Room:
    """The test's ears (parec on the sink's monitor) and mouths (pacat into the sink)."""

    def __init__(self, folder: Path, sink: str = SINK) -> None:
        self._folder = folder
        self.sink = sink
        self._chunks: list[bytes] = []
        self._recorder: subprocess.Popen[bytes] | None = None
        self.played: list[Played] = []
        self.listen()

    def listen(self) -> None:
        """(Re)start recording; after a gap the recording simply continues."""
        self._recorder = subprocess.Popen(
            [
                "parec",
                f"--device={self.sink}.monitor",
                "--raw",
                "--format=s16le",
                f"--rate={RATE_HZ}",
                "--channels=1",
                "--latency-msec=20",
            ],
            stdout=subprocess.PIPE,
        )

    def deaf(self) -> None:
        """Stop recording (the sink is about to go away)."""
        if self._recorder is not None:
            self._recorder.terminate()
            self._recorder.wait()
            if self._recorder.stdout is not None:
                self._recorder.stdout.close()
            self._recorder = None

    def read(self) -> bool:
        """Record the next 20 ms of the room, as soon as they have been played.

        False when nothing came for a second: the room is idle (the null sink's monitor
        only runs while something plays into it) or the recorder stopped.
        """
        assert self._recorder is not None and self._recorder.stdout is not None
        stdout = self._recorder.stdout
        if not select.select([stdout], [], [], IDLE_S)[0]:
            return False
        data = stdout.read(CHUNK * 2)
        assert data, "parec stopped recording"
        self._chunks.append(data)
        return True

    @property
    def now_s(self) -> float:
        return len(self._chunks) * CHUNK / RATE_HZ

    def play(self, said: Utterance) -> Played:
        path = self._folder / f"{said.partner}-{len(self.played)}.raw"
        path.write_bytes(said.pcm.astype("<i2").tobytes())
        process = subprocess.Popen(
            [
                "pacat",
                f"--device={self.sink}",
                "--raw",
                "--format=s16le",
                f"--rate={RATE_HZ}",
                "--channels=1",
                str(path),
            ],
        )
        played = Played(said, self.now_s, process)
        self.played.append(played)
        return played

    def last_chunk(self) -> np.ndarray:
        return np.frombuffer(self._chunks[-1], dtype="<i2")

    def recording(self) -> np.ndarray:
        return np.frombuffer(b"".join(self._chunks), dtype="<i2").astype(np.int16)

    def close(self) -> None:
        self.deaf()
        for played in self.played:
            if played.process.poll() is None:
                played.process.kill()
            played.process.wait()


class Session:
    """``attune-voice`` in its own process, with a pseudo-terminal as its keyboard."""

    def __init__(self, folder: Path, *args: str, sink: str = SINK) -> None:
        self._keyboard, terminal = os.openpty()
        self._out = (folder / "stdout.txt").open("wb")
        self._err = (folder / "stderr.txt").open("wb")
        self._folder = folder
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from attune_voice.cli.main import main; main()",
                *args,
            ],
            stdin=terminal,
            stdout=self._out,
            stderr=self._err,
            start_new_session=True,
            # Read by PulseAudio's client library when PortAudio opens `default`.
            env={**os.environ, "PULSE_SINK": sink, "PULSE_SOURCE": f"{sink}.monitor"},
        )
        os.close(terminal)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def press(self, keys: bytes) -> None:
        os.write(self._keyboard, keys)

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout_s: float = 30.0) -> tuple[int, str, str]:
        code = self.process.wait(timeout_s)
        self._out.close()
        self._err.close()
        os.close(self._keyboard)
        out = (self._folder / "stdout.txt").read_text()
        err = (self._folder / "stderr.txt").read_text()
        return code, out, err

    def kill(self) -> None:
        """After a failure: end the process and release what ``finish`` would have."""
        if self.running:
            self.process.kill()
            self.process.wait()
        if not self._out.closed:
            self._out.close()
            self._err.close()
            os.close(self._keyboard)


@dataclass
class Partners:
    """Reacts to the session's events as the couple would: a script of reactions."""

    room: Room
    store: Store
    reactions: list[Callable[[list[Event], Partners], bool]]
    """Each returns True once it has done its part; the rest wait for theirs."""
    events: list[Event] = field(default_factory=list)
    session_id: int | None = None
    due: list[tuple[float, Callable[[], None]]] = field(default_factory=list)
    idle: int = 0
    """Seconds the room played nothing (before the session opened its stream)."""
    last_sound_s: float = 0.0
    """Recording time of the last sound in the room."""

    def after(self, delay_s: float, action: Callable[[], None]) -> None:
        self.due.append((self.room.now_s + delay_s, action))

    def step(self) -> None:
        if not self.room.read():
            # The room plays nothing: the session has no stream in it (yet, or again).
            self.idle += 1
            self.reactions = [r for r in self.reactions if not r(self.events, self)]
            return
        if _loud(self.room.last_chunk()):
            self.last_sound_s = self.room.now_s
        for entry in [d for d in self.due if d[0] <= self.room.now_s]:
            self.due.remove(entry)
            entry[1]()
        if len(self.room._chunks) % 5:
            return
        if self.session_id is None:
            self.session_id = self.store.latest_session_id()
        # Before the session is in the store (the consent question) there are no
        # events yet, but the partners still react to what they hear.
        if self.session_id is not None:
            self.events = self.store.events(self.session_id)
        self.reactions = [r for r in self.reactions if not r(self.events, self)]

    def run_until(self, session: Session, done: Callable[[], bool]) -> None:
        while session.running and not done():
            assert self.room.now_s + self.idle < SESSION_LIMIT_S, "the session did not end"
            self.step()


def answer_consent(
    session: Session, renderer: SpeechRenderer, keys: tuple[bytes, bytes]
) -> Callable[..., bool]:
    """A reaction: each partner answers the consent question with a key, a second and a
    half into their own question (the first sound in the room is Sam's; Alex's follows
    as soon as Sam's has played out, as Sam answered while it played)."""
    sam_asked_s = renderer.render(KEY_QUESTION.format(name="Sam")).shape[0] / RATE_HZ

    def react(events: list[Event], partners: Partners) -> bool:
        if partners.last_sound_s <= 0.0:
            return False
        partners.after(1.5, lambda: session.press(keys[0]))
        partners.after(sam_asked_s + 1.5, lambda: session.press(keys[1]))
        return True

    return react


def floor_given(partner: str, then: Callable[[Partners], None]) -> Callable[..., bool]:
    """A reaction: when ``partner`` is given the floor, do ``then``."""

    def react(events: list[Event], partners: Partners) -> bool:
        if any(isinstance(e, FloorGiven) and e.partner == partner for e in events):
            then(partners)
            return True
        return False

    return react


def when_back(action: Callable[[], None]) -> Callable[..., bool]:
    """A reaction: once the session plays into the room again after an outage, and the
    room has then been quiet for a second (with the coach's notice said, if any), act.

    The session's stream is back once the sink has an input again (nothing else plays
    into it meanwhile); it then takes a moment to deliver audio and say it is back.
    """
    back_at_s: list[float] = []

    def react(events: list[Event], partners: Partners) -> bool:
        if not back_at_s:
            if _pactl("list", "short", "sink-inputs").strip():
                back_at_s.append(partners.room.now_s)
            return False
        now_s = partners.room.now_s
        if now_s - back_at_s[0] < SETTLE_S or now_s - partners.last_sound_s < 1.0:
            return False
        action()
        return True

    return react


def when_quiet(played: Played, delay_s: float, action: Callable[[], None]) -> Callable[..., bool]:
    """A reaction: ``delay_s`` after the partner's speech has finished, do ``action``."""

    def react(events: list[Event], partners: Partners) -> bool:
        if played.process.poll() is None:
            return False
        partners.after(delay_s, action)
        return True

    return react


def _play(room: Room, said: Utterance) -> None:
    room.play(said)


def speaks_then_clicker(
    room: Room, session: Session, said: Utterance, after_s: float = REACTION_S
) -> Callable[[Partners], None]:
    """What a partner does with the floor: speaks ``said`` ``after_s`` from now, then
    hands over with the clicker a second after finishing."""

    def then(partners: Partners) -> None:
        def speak() -> None:
            played = room.play(said)
            partners.reactions.append(when_quiet(played, 1.0, lambda: session.press(CLICKER)))

        partners.after(after_s, speak)

    return then


def over_the_prompt(
    room: Room, session: Session, over: Utterance, later: Utterance
) -> Callable[..., bool]:
    """A reaction: once Alex's floor prompt is logged, he talks over it from
    ``OVER_AFTER_S`` into it, then says ``later`` in the quiet and hands over with the
    clicker."""

    def react(events: list[Event], partners: Partners) -> bool:
        if not any(isinstance(e, Prompt) and e.text.startswith("Alex") for e in events):
            return False

        def speak() -> None:
            played = room.play(over)
            last = speaks_then_clicker(room, session, later, LATER_AFTER_S)
            partners.reactions.append(when_quiet(played, 0.0, lambda: last(partners)))

        partners.after(OVER_AFTER_S, speak)
        return True

    return react


def fan(folder: Path) -> subprocess.Popen[bytes]:
    """Two minutes of pink-ish noise at ``NOISE_DBFS`` played into the room from now on."""
    rng = np.random.default_rng(19)
    count = 120 * RATE_HZ
    spectrum = np.fft.rfft(rng.standard_normal(count))
    spectrum /= np.sqrt(np.maximum(np.fft.rfftfreq(count, 1.0 / RATE_HZ), 50.0) / 50.0)
    noise = np.fft.irfft(spectrum, count)
    noise *= 10 ** (NOISE_DBFS / 20) * 32768 / np.sqrt(np.mean(noise**2))
    path = folder / "fan.raw"
    path.write_bytes(noise.astype("<i2").tobytes())
    return subprocess.Popen(
        [
            "pacat",
            f"--device={SINK}",
            "--raw",
            "--format=s16le",
            f"--rate={RATE_HZ}",
            "--channels=1",
            str(path),
        ]
    )


def speakers_down() -> Callable[..., bool]:
    """A reaction: at the session's first sound, its speakers go down to ``SPEAKERS_DB``
    in the room (every stream into the sink but the first, the fan)."""

    def react(events: list[Event], partners: Partners) -> bool:
        if partners.last_sound_s <= 0.0:
            return False
        for line in _pactl("list", "short", "sink-inputs").splitlines()[1:]:
            _pactl("set-sink-input-volume", line.split()[0], f"{SPEAKERS_DB:g}dB")
        return True

    return react


# --- finding things in the recording -----------------------------------------------------


def find(
    recording: np.ndarray, template: np.ndarray, from_s: float, to_s: float
) -> tuple[int, float]:
    """Where ``template`` starts in ``recording`` between the two times: (sample, match)."""
    first = max(0, round(from_s * RATE_HZ))
    last = min(recording.shape[0], max(round(to_s * RATE_HZ), first) + template.shape[0])
    region = recording[first:last].astype(np.float64)
    shape = template.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(region.shape[0] + shape.shape[0])))
    products = np.fft.irfft(np.fft.rfft(region, size) * np.conj(np.fft.rfft(shape, size)), size)
    lags = region.shape[0] - shape.shape[0] + 1
    assert lags > 0, "the recording ends before the template could"
    products = products[:lags]
    cumulative = np.concatenate(([0.0], np.cumsum(region * region)))
    energy = cumulative[shape.shape[0] : shape.shape[0] + lags] - cumulative[:lags]
    match = products / np.sqrt(np.maximum(energy, 1.0) * float(np.dot(shape, shape)))
    best = int(np.argmax(match))
    return first + best, float(match[best])


@dataclass(frozen=True)
class Truth:
    partner: str
    start_t: float
    end_t: float


def partner_spans(
    recording: np.ndarray, room: Room, least_match: float = 0.99
) -> list[tuple[Utterance, int]]:
    """Where each utterance the partners played starts in the recording (pacat plays our
    samples unchanged, so the match is exact, unless another sound was mixed in)."""
    spans: list[tuple[Utterance, int]] = []
    for played in room.played:
        said = played.utterance
        at, match = find(recording, said.pcm, played.launched_s - 0.2, played.launched_s + 3.0)
        assert match > least_match, f"partner {said.partner}'s speech is not in the recording"
        spans.append((said, at))
    return spans


def session_offset_s(
    recording: np.ndarray,
    prompts: list[Prompt],
    spans: list[tuple[Utterance, int]],
    renderer: SpeechRenderer,
) -> float:
    """Recording time minus session time of the prompts as logged, round trip included.

    The room is digital silence but for the prompts and the partners, so with the
    partners' speech taken out, a prompt that follows a second or more of quiet is the
    next sound. (Matching the prompts' waveforms is only good to a few tens of
    milliseconds: espeak-ng renders a text a little differently each time, even in one
    process.) The session's first prompt follows the consent question without a pause,
    so it is found by its waveform, roughly, and only tells where to look for the rest.
    """
    frames = recording[: recording.shape[0] // CHUNK * CHUNK].reshape(-1, CHUNK)
    loud = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) > 30.0
    for said, at in spans:
        loud[at // CHUNK : (at + said.pcm.shape[0]) // CHUNK + 1] = False
    opening = renderer.render(prompts[0].text)
    at, match = find(recording, opening, 0.0, recording.shape[0] / RATE_HZ)
    assert match > 0.3, "the session's first prompt is not in the room's recording"
    rough_offset_s = at / RATE_HZ - prompts[0].t
    offsets: list[float] = []
    quiet_since_t = prompts[0].end_t
    for prompt in prompts[1:]:
        if prompt.t - quiet_since_t < 1.0:
            # Straight after the one before: no onset of its own to find.
            quiet_since_t = prompt.end_t
            continue
        # Half a second into the quiet: past the previous prompt's tail, which may run
        # a few frames longer than scheduled.
        search_s = quiet_since_t + float(np.median(offsets or [rough_offset_s])) + 0.5
        first = round(search_s * RATE_HZ / CHUNK)
        sounds = np.flatnonzero(loud[first:])
        assert sounds.size, f"prompt {prompt.text!r} is not in the room's recording"
        offsets.append((first + int(sounds[0])) * CHUNK / RATE_HZ - prompt.t)
        quiet_since_t = prompt.end_t
    # The round trip moves by up to a few hundred milliseconds within a session.
    assert offsets, "no prompt after a pause to time the session by"
    assert max(offsets) - min(offsets) < ROUND_TRIP_MAX_S, offsets
    assert abs(float(np.median(offsets)) - rough_offset_s) < ROUND_TRIP_MAX_S
    return float(np.median(offsets))


def truths(spans: list[tuple[Utterance, int]], offset_s: float) -> list[Truth]:
    """The partners' speech parts, in session time (up to the round trip)."""
    return [
        Truth(said.partner, (at + a) / RATE_HZ - offset_s, (at + b) / RATE_HZ - offset_s)
        for said, at in spans
        for a, b in said.parts
    ]


def merged(speech: list[Speech], gap_s: float = 0.35) -> list[tuple[float, float, list[Speech]]]:
    """Speech events joined across pauses shorter than ``gap_s`` (a breath in a sentence)."""
    joined: list[tuple[float, float, list[Speech]]] = []
    for event in sorted(speech, key=lambda e: e.t):
        if joined and event.t - joined[-1][1] < gap_s:
            start, end, members = joined[-1]
            joined[-1] = (start, max(end, event.end_t), [*members, event])
        else:
            joined.append((event.t, event.end_t, [event]))
    return joined


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ATTUNE_HOME", str(folder))
    for program in ("parec", "pacat", "pactl"):
        if shutil.which(program) is None:
            pytest.fail(f"{program} (pulseaudio-utils) is missing; scripts/test installs it")
    return folder


@pytest.fixture
def room(tmp_path: Path, home: Path) -> Iterator[Room]:
    the_room = Room(tmp_path)
    yield the_room
    the_room.close()


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    with Store.open() as opened:
        yield opened


def _pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def sink() -> Iterator[None]:
    """Whatever a test does to the null sink, it is back as scripts/test made it after."""
    yield
    modules = _pactl("list", "short", "modules")
    if f"sink_name={SINK} " not in modules:
        _load_sink()
    _pactl("suspend-sink", SINK, "0")


def _load_sink() -> None:
    _pactl(
        "load-module",
        "module-null-sink",
        f"sink_name={SINK}",
        "rate=16000",
        "channels=1",
        f"sink_properties=device.description={SINK}",
    )
    _pactl("set-default-sink", SINK)
    _pactl("set-default-source", f"{SINK}.monitor")


def _unload_sink() -> None:
    for line in _pactl("list", "short", "modules").splitlines():
        if f"sink_name={SINK} " in line:
            _pactl("unload-module", line.split()[0])


# --- the tests ---------------------------------------------------------------------------


def test_turns_match_the_speech_played_into_the_room_and_over_a_prompt(
    tmp_path: Path,
    room: Room,
    store: Store,
    renderer: SpeechRenderer,
    sam: Utterance,
    alex_over: Utterance,
    alex_later: Utterance,
) -> None:
    # Hearing through prompts, in a room with a fan and the speakers turned down: Sam
    # speaks in the quiet and hands over with the clicker; Alex talks over the long
    # prompt that gives him the floor, says one more sentence in the quiet, and hands
    # over too. (The busy home's test lets both floors' time run out.)
    noise = fan(tmp_path)
    session = Session(
        tmp_path, "run", "--hear-through", "--partners", "Sam,Alex", str(OVER_EXERCISE)
    )
    try:
        partners = Partners(
            room,
            store,
            [
                speakers_down(),
                answer_consent(session, renderer, (b"y", b"y")),
                floor_given("A", speaks_then_clicker(room, session, sam)),
                over_the_prompt(room, session, alex_over, alex_later),
            ],
        )
        partners.run_until(session, lambda: False)
        code, out, err = session.finish()
    finally:
        session.kill()
        noise.kill()
        noise.wait()
    assert code == 0, err
    # alsa-lib's messages (an underrun on a busy machine) are counted, not printed.
    assert "Traceback" not in err and "ALSA lib" not in err, err
    assert "(completed)" in out

    session_id = store.latest_session_id()
    assert session_id is not None
    events = store.events(session_id)
    assert store.session(session_id).status == "completed"
    # Both pressed Y when asked: the session may keep words.
    assert "both said yes" in err
    assert not store.session(session_id).timing_only
    ended = {e.partner: e for e in events if isinstance(e, FloorEnded)}
    assert ended["A"].reason is FloorEndReason.HANDOVER_KEY
    assert ended["B"].reason is FloorEndReason.HANDOVER_KEY
    assert [e.key for e in events if isinstance(e, Key)] == ["pagedown", "pagedown"]

    recording = room.recording()
    prompts = [e for e in events if isinstance(e, Prompt)]
    # Alex's speech over the prompt is mixed with its sound: it matches less than exactly.
    spans = partner_spans(recording, room, least_match=0.9)
    assert [said for said, _ in spans] == [sam, alex_over, alex_later]
    offset_s = session_offset_s(recording, prompts, spans, renderer)
    sam_said, over_said, later_said = (truths([span], offset_s) for span in spans)
    heard = merged([e for e in events if isinstance(e, Speech)])
    # Every sentence said in the quiet is one turn: the heard speech that overlaps it
    # at any plausible round trip.
    quiet = [*sam_said, *later_said]
    turns = []
    for truth in quiet:
        overlapping = [
            h for h in heard if h[0] < truth.end_t + ROUND_TRIP_MAX_S and h[1] > truth.start_t
        ]
        assert len(overlapping) == 1, (truth, heard)
        turns.append(overlapping[0])
    round_trip_s = float(np.median([h[0] - x.start_t for h, x in zip(turns, quiet, strict=True)]))
    # The prompts are found in the recording by their onsets, which the speakers turned
    # down make a frame or two later: to within 50 ms.
    assert -0.05 <= round_trip_s <= ROUND_TRIP_MAX_S
    for (start_t, end_t, members), truth in zip(turns, quiet, strict=True):
        assert start_t - round_trip_s == pytest.approx(truth.start_t, abs=START_TOLERANCE_S)
        assert end_t - round_trip_s == pytest.approx(truth.end_t, abs=END_TOLERANCE_S)
        assert {(m.partner, m.speech_kind) for m in members} == {(truth.partner, SpeechKind.TURN)}
    # Nothing the coach said became speech: all that was heard, a partner said.
    said = [*sam_said, *over_said, *later_said]
    for a, b, members in heard:
        assert any(
            min(b - round_trip_s, x.end_t) > max(a - round_trip_s, x.start_t) for x in said
        ), members
    floor_prompt = next(p for p in prompts if p.text.startswith("Alex"))
    over = over_said[0]
    # Alex's first sentence began over the prompt and ended before it, and was heard
    # from its start to its end.
    assert floor_prompt.t + 1.0 < over.start_t + round_trip_s < floor_prompt.end_t - 1.0
    assert over.end_t + round_trip_s < floor_prompt.end_t
    over_start_t = min(a for a, b, _ in heard if b - round_trip_s > over.start_t)
    assert over_start_t - round_trip_s == pytest.approx(over.start_t, abs=0.1)
    first_found_s = sum(
        max(0.0, min(b - round_trip_s, over.end_t) - max(a - round_trip_s, over.start_t))
        for a, b, _ in heard
    )
    assert first_found_s >= 0.9 * (over.end_t - over.start_t)
    # His second sentence often loses its start or all of it (target: 90% of both): the
    # echo left after talking over the prompt closes the microphone (the fallback).
    said_over_s = sum(x.end_t - x.start_t for x in over_said)
    found_over_s = sum(
        max(0.0, min(b - round_trip_s, x.end_t) - max(a - round_trip_s, x.start_t))
        for a, b, _ in heard
        for x in over_said
    )
    spoken_over = [e for e in events if isinstance(e, SpokenOver)]
    assert [(e.purpose, e.cut) for e in spoken_over] == [("floor", False)]
    assert "microphone closed for echo" in err
    print(
        f"round trip {round_trip_s * 1000:.0f} ms; quiet edges (start, end) off by ms: "
        + ", ".join(
            f"({(h[0] - round_trip_s - x.start_t) * 1000:+.0f}, "
            f"{(h[1] - round_trip_s - x.end_t) * 1000:+.0f})"
            for h, x in zip(turns, quiet, strict=True)
        )
        + f"; over the prompt: start {(over_start_t - round_trip_s - over.start_t) * 1000:+.0f}"
        f" ms, {100 * found_over_s / said_over_s:.0f}% of {said_over_s:.1f} s timed; "
        + err.strip().splitlines()[-1]
    )


BUSY_STALL_S = 0.15
BUSY_STALL_EVERY_S = 4.0
BUSY_SOUND_EVERY_S = (5.0, 8.0, 6.0, 10.0, 7.0)


def test_a_busy_home_on_a_48k_sink_keeps_the_session_whole(
    tmp_path: Path, store: Store, renderer: SpeechRenderer, sam: Utterance
) -> None:
    # A 48 kHz stereo sink, where PortAudio's duplex ALSA stream died after any
    # underrun; another program plays a notification every 5-10 s, and the session's
    # process is frozen for 150 ms every 4 s, so its speakers run dry again and again.
    room = Room(tmp_path, SINK48)
    session = Session(
        tmp_path, "run", "--partners", "Sam,Alex", "--limit", "12s", str(EXERCISE), sink=SINK48
    )
    ding = notification_wav(tmp_path / "ding.wav")
    players: list[subprocess.Popen[bytes]] = []
    marks: dict[str, float] = {}
    """Room (recording) time of the first sound heard, when the first floor was seen
    given, and when the session was seen ended."""
    session_t: dict[str, float] = {}
    stalls: list[float] = []

    def busy(events: list[Event], partners: Partners) -> bool:
        # From the session's first sound on (its consent question).
        if partners.last_sound_s <= 0.0:
            return False
        marks["first sound"] = partners.last_sound_s

        def freeze() -> None:
            if session.running:
                os.kill(session.process.pid, signal.SIGSTOP)
                stalls.append(room.now_s)
                partners.after(BUSY_STALL_S, thaw)
            partners.after(BUSY_STALL_EVERY_S, freeze)

        def thaw() -> None:
            os.kill(session.process.pid, signal.SIGCONT)

        def ding_once(number: int = 0) -> None:
            players.append(subprocess.Popen(["paplay", f"--device={SINK48}", str(ding)]))
            gap_s = BUSY_SOUND_EVERY_S[number % len(BUSY_SOUND_EVERY_S)]
            partners.after(gap_s, lambda: ding_once(number + 1))

        partners.after(BUSY_STALL_EVERY_S, freeze)
        partners.after(3.0, ding_once)
        return True

    def clocks(events: list[Event], partners: Partners) -> bool:
        floors = [e for e in events if isinstance(e, FloorGiven)]
        if floors and "floor" not in marks:
            marks["floor"], session_t["floor"] = room.now_s, floors[0].t
        ended = [e for e in events if isinstance(e, SessionEnded)]
        if ended:
            marks["end"], session_t["end"] = room.now_s, ended[0].t
            return True
        return False

    def sam_speaks(partners: Partners) -> None:
        partners.after(REACTION_S, lambda: _play(room, sam))

    try:
        partners = Partners(
            room,
            store,
            [
                answer_consent(session, renderer, (b"y", b"y")),
                busy,
                clocks,
                floor_given("A", sam_speaks),
            ],
        )
        partners.run_until(session, lambda: False)
        code, out, err = session.finish()
    finally:
        if session.running:
            os.kill(session.process.pid, signal.SIGCONT)
        session.kill()
        room.close()
        for player in players:
            player.wait()
    assert code == 0, err
    assert "(completed)" in out
    # Nothing from PortAudio or alsa-lib on the terminal: it is in the log file.
    assert not re.search(r"PortAudio|pa_linux_alsa|ALSA lib|Expression '", err), err
    figures = re.search(r"(\d+) stream deaths.*?(\d+) restarts", err)
    assert figures is not None, err
    deaths, restarts = (int(x) for x in figures.groups())
    assert restarts <= 1 and deaths <= 1, err
    assert len(stalls) >= 4
    session_id = store.latest_session_id()
    assert session_id is not None
    events = store.events(session_id)
    # Nobody pressed the clicker: both floors ran out their time (Sam spoke for less than
    # the silence that would have had the coach check in on him).
    ended = [(e.partner, e.reason) for e in events if isinstance(e, FloorEnded)]
    assert ended == [("A", FloorEndReason.LIMIT), ("B", FloorEndReason.LIMIT)]
    # The session's clock kept up with the room's from the first floor to the end: no
    # audio lost beyond the stalls (which the room's own recording did not stop for).
    wall_s = marks["end"] - marks["floor"]
    heard_s = session_t["end"] - session_t["floor"]
    assert heard_s == pytest.approx(wall_s, rel=0.02, abs=0.3), (heard_s, wall_s)

    # The consent question took the room no more than its own waits and 2 s: from the
    # first sound of the question to Sam to where the session's clock starts, which is
    # where its opening prompt (said at its session time) is heard. Both are found in
    # the room's recording by their first second and a half (espeak-ng times a long
    # text a little differently each time), so the speakers' latency cancels but for
    # what the stalls added to it. Each key came while its question played, so the
    # question's own waits are the three prompts it said: its clock (the samples the
    # session heard) ran that long, and the room's should run no more than 2 s longer.
    recording = room.recording()
    said = [renderer.render(KEY_QUESTION.format(name=name)) for name in ("Sam", "Alex")]
    said.append(renderer.render(KEPT_TEXT))
    own_samples = sum(pcm.shape[0] for pcm in said)
    own_s = own_samples / RATE_HZ
    head = round(1.5 * RATE_HZ)
    asked_at, asked_match = find(recording, said[0][:head], 0.0, marks["first sound"] + 0.5)
    asked_s = asked_at / RATE_HZ
    opening = next(e for e in events if isinstance(e, Prompt))
    opening_at, opening_match = find(
        recording,
        renderer.render(opening.text)[:head],
        asked_s + own_s - 1.0,
        asked_s + own_s + 4.0,
    )
    consent_wall_s = opening_at / RATE_HZ - opening.t - asked_s
    stalled = [s for s in stalls if asked_s <= s < asked_s + consent_wall_s]
    # How late the room heard each prompt after the first against the question's own
    # clock (each is queued to play straight after the one before): what stalls added.
    late_ms = []
    due_s = asked_s
    for before, pcm in itertools.pairwise(said):
        due_s += before.shape[0] / RATE_HZ
        at, _ = find(recording, pcm[:head], due_s - 0.5, due_s + 2.0)
        late_ms.append(f"{(at / RATE_HZ - due_s) * 1000:+.0f}")
    loud_at = next(
        k for k in range(asked_at, recording.shape[0], CHUNK) if _loud(recording[k:][:CHUNK])
    )
    # A cross-check from the session's input side: when the test saw the first floor
    # given, less its session time (the test's polling adds up to 0.1 s; the speakers'
    # lateness is not in it).
    seen_s = marks["floor"] - session_t["floor"] - asked_s
    consent = (
        f"consent: wall {consent_wall_s:.2f} s, its own waits {own_s:.2f} s ({own_samples} "
        f"samples), margin {consent_wall_s - own_s:+.2f} s; {len(stalled)} stalls in it; "
        f"Alex's question and the outcome heard {', '.join(late_ms)} ms late; "
        f"by the first floor seen {seen_s:.2f} s; its first sound "
        f"{(loud_at - asked_at) * 1000 // RATE_HZ} ms into the question's audio; "
        f"matches {asked_match:.2f}, {opening_match:.2f}"
    )
    print(consent)
    assert asked_match > 0.3 and opening_match > 0.3, consent
    assert own_s - 0.2 < consent_wall_s <= own_s + 2.0, consent


def test_lost_sound_pauses_the_session_and_ctrl_c_keeps_the_log(
    tmp_path: Path,
    room: Room,
    store: Store,
    sink: None,
    renderer: SpeechRenderer,
    sam: Utterance,
    alex: Utterance,
) -> None:
    # A longer floor: an outage takes the stall timeout to notice, and its notices
    # are said within the floor.
    session = Session(tmp_path, "run", "--partners", "Sam,Alex", "--limit", "20s", str(EXERCISE))
    survived: list[str] = []

    def outage(name: str, cut: Callable[[], None], restore: Callable[[], None]) -> None:
        room.deaf()
        cut()
        # The one wait on the clock: the session must still be there, paused, after
        # longer than it takes to notice the sound is gone.
        with pytest.raises(subprocess.TimeoutExpired):
            session.process.wait(OUTAGE_S)
        restore()
        room.listen()
        survived.append(name)

    def suspend() -> None:
        _pactl("suspend-sink", SINK, "1")

    def resume() -> None:
        _pactl("suspend-sink", SINK, "0")

    try:

        def sam_speaks(partners: Partners) -> None:
            def speak() -> None:
                played = room.play(sam)

                def suspended_then_clicker() -> None:
                    outage("suspended", suspend, resume)
                    partners.after(1.0, lambda: session.press(b"\x1b[6~"))

                partners.reactions.append(when_quiet(played, 0.5, suspended_then_clicker))

            partners.after(REACTION_S, speak)

        def alex_speaks(partners: Partners) -> None:
            def speak() -> None:
                played = room.play(alex)
                partners.reactions.append(when_quiet(played, 0.5, session.interrupt))

            def unloaded_then_speak() -> None:
                outage("unloaded", _unload_sink, _load_sink)
                partners.reactions.append(when_back(speak))

            partners.after(REACTION_S, unloaded_then_speak)

        partners = Partners(
            room,
            store,
            [
                # Alex says no to keeping words: the session keeps the timing only.
                answer_consent(session, renderer, (b"y", b"n")),
                floor_given("A", sam_speaks),
                floor_given("B", alex_speaks),
            ],
        )
        partners.run_until(session, lambda: False)
        code, out, err = session.finish()
    finally:
        session.kill()
    assert survived == ["suspended", "unloaded"]
    assert "only the timing is kept" in err
    # Ctrl-C ended it cleanly: exit status 0, the review printed, nothing else.
    assert code == 0, err
    assert "Traceback" not in err and "ALSA lib" not in err, err
    assert "(stopped)" in out

    session_id = store.latest_session_id()
    assert session_id is not None
    assert store.session(session_id).status == "stopped"
    assert store.session(session_id).timing_only
    events = store.events(session_id)
    assert isinstance(events[-1], SessionEnded) and events[-1].reason is EndReason.STOPPED
    ended = {e.partner: e.reason for e in events if isinstance(e, FloorEnded)}
    # The clicker press after the first outage still handed over; Alex's floor was open
    # when Ctrl-C came.
    assert ended == {"A": FloorEndReason.HANDOVER_KEY, "B": FloorEndReason.SESSION_END}
    turns = [e for e in events if isinstance(e, Speech)]
    assert all(e.speech_kind is SpeechKind.TURN for e in turns)
    # Both partners were heard: Sam before the sink was suspended, Alex after it had
    # been unloaded and loaded again.
    assert {e.partner for e in turns} == {"A", "B"}
    heard_s = {p: sum(e.end_t - e.t for e in turns if e.partner == p) for p in "AB"}
    assert heard_s["A"] > 0.8 * sum(b - a for a, b in sam.parts) / RATE_HZ
    assert heard_s["B"] > 0.8 * sum(b - a for a, b in alex.parts) / RATE_HZ


def _loud(chunk: np.ndarray) -> bool:
    """Sound in the room, which is digital silence otherwise (above -60 dBFS)."""
    return float(np.sqrt(np.mean(chunk.astype(np.float64) ** 2))) > 30.0


def test_room_check_measures_the_partners_and_says_what_to_change(
    tmp_path: Path, room: Room, store: Store, renderer: SpeechRenderer, sam: Utterance
) -> None:
    # Alex sits far from the microphone: 20 dB quieter than Sam.
    alex = utterance(
        renderer,
        "B",
        ["I liked the dinner with my sister on Friday.", "She made a lemon cake for us."],
        gain_db=-20.0,
    )
    session = Session(tmp_path, "check", "--partners", "Sam,Alex", "--format", "json")
    # The check stores nothing until it is done, so the partners go by ear, as people
    # would: the first sound after the quiet part is the question to Sam; the next
    # sound after Sam has spoken is the question to Alex. A question is over after
    # QUESTION_OVER_S of silence (espeak-ng pauses less than half that between
    # sentences).
    turns = [sam, alex]
    stage = "intro"
    silent_s = 0.0
    speaking: Played | None = None
    try:
        while session.running:
            assert room.now_s < SESSION_LIMIT_S, "the check did not end"
            if not room.read():
                continue
            loud = _loud(room.last_chunk())
            silent_s = 0.0 if loud else silent_s + CHUNK / RATE_HZ
            if speaking is not None:
                if speaking.process.poll() is None:
                    continue
                speaking = None
                stage = "waiting"
            if stage == "intro" and loud:
                stage = "introducing"
            elif stage == "introducing" and silent_s >= 1.5:
                stage = "waiting"
            elif stage == "waiting" and loud and turns:
                stage = "asking"
            elif stage == "asking" and silent_s >= QUESTION_OVER_S:
                speaking = room.play(turns.pop(0))
        code, out, err = session.finish(60.0)
    finally:
        session.kill()
    assert code == 0, err
    assert "Traceback" not in err and "ALSA lib" not in err, err
    assert not turns, "the check never asked for both partners"

    result = json.loads(out)
    saved = loads_result(store.get_setting(SETTING_KEY))
    assert saved is not None and saved.to_json() == {
        k: v for k, v in result.items() if k not in ("findings", "audio")
    }
    # The room is digital silence: the check measures it as such.
    assert result["noise_dbfs"] == -100.0
    played_dbfs = []
    for said in (sam, alex):
        speech = np.concatenate([said.pcm[a:b] for a, b in said.parts]).astype(np.float64)
        played_dbfs.append(10 * np.log10(np.mean(speech * speech) / 32768.0**2))
    for measured, played in zip(result["partners"], played_dbfs, strict=True):
        # The null sink passes samples unchanged; the detector's segments leave out
        # the pause between the sentences, and hold a few quiet edges.
        assert measured["level_dbfs"] == pytest.approx(played, abs=1.5)
        assert measured["heard_s"] > 2.0
    # The echo was measured and never taken for speech.
    assert result["echo"]["delay_ms"] is not None
    assert 0 < result["echo"]["delay_ms"] <= ROUND_TRIP_MAX_S * 1000
    assert result["prompt_speech_s"] == 0.0
    assert [f["code"] for f in result["findings"]] == ["unbalanced"]
    assert "Alex sounds much quieter than Sam" in result["findings"][0]["text"]
