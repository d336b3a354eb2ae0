"""The live tests' room: a PulseAudio null sink, the partners in it, and the session.

scripts/test starts a private PulseAudio server whose default sink is the null sink
``attune_room`` and whose default source is that sink's monitor: whatever is played
into the sink is what the session's microphone hears. That is the room. The session
plays its prompts into it through sounddevice and PortAudio; the partners are other
processes (``pacat``) playing espeak-ng speech into the same sink, so partner speech
and prompts mix in the microphone as in a living room.

The test is both partners. It listens to the room with ``parec``, whose 20 ms reads
are its clock (no sleeps), reads the session's events from the store as they are
written, and answers them: the partner given the floor speaks, and hands over with a
clicker key (PageDown on the session's terminal) or lets the time run out. First both
answer the coach's consent question with a key, each during their own question.

Times are compared through the room's own recording. Each prompt the session logs is
found in the recording (the test renders the same text with the same voice), which
gives the offset between recording time and session time up to the session's round
trip from play() to hearing, and each partner's speech is found there too. The
round trip (tens to a few hundred milliseconds; it changes when the sound server
re-buffers) is estimated once per session from the turns themselves and must be
plausible.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from attune_voice.events import Event, FloorGiven, Prompt, Speech
from attune_voice.session.consent_question import KEY_QUESTION
from attune_voice.store.database import Store
from attune_voice.voice.tts import SpeechRenderer

RATE_HZ = 16_000
CHUNK = 320
"""The recorder reads 20 ms at a time: the test's clock."""
SINK = "attune_room"
SINK48 = os.environ.get("ATTUNE_TEST_SINK48", "attune_room48")
"""The 48 kHz stereo null sink scripts/_pulse.sh makes: PulseAudio's usual rate."""
CLICKER = b"\x1b[6~"
"""PageDown: the clicker that hands the floor over."""
VOICES = {"A": ("gmw/en-us+m3", 168), "B": ("gmw/en-gb-x-rp+f4", 176)}
REACTION_S = 0.8
"""How long after being given the floor a partner starts to speak."""
IDLE_S = 1.0
"""A room that plays nothing for this long is idle (the session has not started yet)."""
SESSION_LIMIT_S = 130.0
"""Recorded audio after which a session that has not ended fails the test."""
SETTLE_S = 2.5
"""After its stream is back in the room, a session takes this long to hear again."""
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
            # Read by PulseAudio's client library when PortAudio opens `default`; the
            # fault handler lets ``kill`` show where a session that did not end was.
            env={
                **os.environ,
                "PULSE_SINK": sink,
                "PULSE_SOURCE": f"{sink}.monitor",
                "PYTHONFAULTHANDLER": "1",
            },
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
        """After a failure: end the process and release what ``finish`` would have.

        A session still running is first made to write every thread's stack (SIGABRT,
        with Python's fault handler on), printed here for the failure's report.
        """
        if self.running:
            self.process.send_signal(signal.SIGABRT)
            try:
                self.process.wait(5.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self._err.flush()
            stacks = (self._folder / "stderr.txt").read_text(errors="replace")
            print("the session was still running; its stderr ends:", stacks[-6000:])
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
        if is_loud(self.room.last_chunk()):
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
            if pactl("list", "short", "sink-inputs").strip():
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


def play_in(room: Room, said: Utterance) -> None:
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
        for line in pactl("list", "short", "sink-inputs").splitlines()[1:]:
            pactl("set-sink-input-volume", line.split()[0], f"{SPEAKERS_DB:g}dB")
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


def find_start(
    recording: np.ndarray, pcm: np.ndarray, from_s: float, to_s: float, piece_s: float = 0.4
) -> tuple[int, float]:
    """Where ``pcm`` starts in ``recording`` between the two times, by whichever of its
    first three pieces matches best: a stall or another program's sound in one or two
    of them leaves another whole. The pieces are short because espeak-ng times a text a
    little differently after what its process rendered before, and the session renders
    in a process of its own: the first question's 0.75 s pieces (two, then three),
    found at its first sound, matched no better than 0.24 in two runs in a row.
    (sample, match)"""
    piece = round(piece_s * RATE_HZ)
    whole = range(max(1, min(3, pcm.shape[0] // piece)))
    found = [
        find(recording, pcm[k * piece : (k + 1) * piece], from_s + k * piece_s, to_s + k * piece_s)
        for k in whole
    ]
    k = max(whole, key=lambda k: found[k][1])
    return found[k][0] - k * piece, found[k][1]


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


# --- the sink ----------------------------------------------------------------------------


def pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], check=True, capture_output=True, text=True).stdout


def load_sink() -> None:
    pactl(
        "load-module",
        "module-null-sink",
        f"sink_name={SINK}",
        "rate=16000",
        "channels=1",
        f"sink_properties=device.description={SINK}",
    )
    pactl("set-default-sink", SINK)
    pactl("set-default-source", f"{SINK}.monitor")


def unload_sink() -> None:
    for line in pactl("list", "short", "modules").splitlines():
        if f"sink_name={SINK} " in line:
            pactl("unload-module", line.split()[0])


def is_loud(chunk: np.ndarray) -> bool:
    """Sound in the room, which is digital silence otherwise (above -60 dBFS)."""
    return float(np.sqrt(np.mean(chunk.astype(np.float64) ** 2))) > 30.0
