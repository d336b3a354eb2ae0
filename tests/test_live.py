"""The real ``attune-voice run`` and ``check`` in a room made of a PulseAudio null sink.

``live_room`` is the room: the session in its own process, the partners as other
programs playing espeak-ng speech into the sink, and the test listening to it all. Each
turn edge must agree with the speech that was played within ``START_TOLERANCE_S`` and
``END_TOLERANCE_S``, once the session's round trip is taken out.

The turns test hears through the prompts (``--hear-through``), in a room with a fan's
noise and the speakers turned down, and Alex talks over the prompt that gives him the
floor; the other sessions keep the default, the microphone gated around prompts.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from busy_home import notification_wav  # a script of the benchmarks, not a package
from live_room import (
    CHUNK,
    CLICKER,
    RATE_HZ,
    REACTION_S,
    ROUND_TRIP_MAX_S,
    SESSION_LIMIT_S,
    SINK,
    SINK48,
    Partners,
    Played,
    Room,
    Session,
    Utterance,
    answer_consent,
    fan,
    find_start,
    floor_given,
    is_loud,
    load_sink,
    merged,
    over_the_prompt,
    pactl,
    partner_spans,
    play_in,
    session_offset_s,
    speakers_down,
    speaks_then_clicker,
    truths,
    unload_sink,
    utterance,
    when_back,
    when_quiet,
)

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

EXERCISE = Path(__file__).parent / "live" / "live.toml"
OVER_EXERCISE = Path(__file__).parent / "live" / "over.toml"
"""A longer opening (for the echo canceller to learn the room) and a long prompt that
gives Alex the floor, for him to talk over."""
QUESTION_OVER_S = 0.8
OUTAGE_S = 4.0
"""How long the sink stays suspended or unloaded: longer than the device takes to
declare itself lost (STALL_TIMEOUT_S)."""
START_TOLERANCE_S = 0.05
END_TOLERANCE_S = 0.1
"""Turn edges against the played speech, once the round trip is taken out: the
detector puts edges on the audio (10 ms sub-frames, soft word ends kept while they
stand above the noise floor), so starts are tight and ends a little looser."""

pytestmark = pytest.mark.pulse


# --- the partners' speech -------------------------------------------------------------


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


@pytest.fixture
def sink() -> Iterator[None]:
    """Whatever a test does to the null sink, it is back as scripts/test made it after."""
    yield
    modules = pactl("list", "short", "modules")
    if f"sink_name={SINK} " not in modules:
        load_sink()
    pactl("suspend-sink", SINK, "0")


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
    assert 0.0 <= round_trip_s <= ROUND_TRIP_MAX_S
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
        partners.after(REACTION_S, lambda: play_in(room, sam))

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
    # the room's recording by the best of their first three 0.4 s pieces (espeak-ng
    # times a long text a little differently each time), so the speakers' latency cancels but for
    # what the stalls added to it. Each key came while its question played, so the
    # question's own waits are the three prompts it said: its clock (the samples the
    # session heard) ran that long, and the room's should run no more than 2 s longer.
    recording = room.recording()
    said = [renderer.render(KEY_QUESTION.format(name=name)) for name in ("Sam", "Alex")]
    said.append(renderer.render(KEPT_TEXT))
    own_samples = sum(pcm.shape[0] for pcm in said)
    own_s = own_samples / RATE_HZ
    asked_at, asked_match = find_start(recording, said[0], 0.0, marks["first sound"] + 0.5)
    asked_s = asked_at / RATE_HZ
    opening = next(e for e in events if isinstance(e, Prompt))
    opening_at, opening_match = find_start(
        recording,
        renderer.render(opening.text),
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
        at, _ = find_start(recording, pcm, due_s - 0.5, due_s + 2.0)
        late_ms.append(f"{(at / RATE_HZ - due_s) * 1000:+.0f}")
    loud_at = next(
        k for k in range(asked_at, recording.shape[0], CHUNK) if is_loud(recording[k:][:CHUNK])
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
    marks: dict[str, float] = {}
    """Room (recording) times of what Alex did, and of the session's end: said on failure."""

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
        pactl("suspend-sink", SINK, "1")

    def resume() -> None:
        pactl("suspend-sink", SINK, "0")

    try:

        def sam_speaks(partners: Partners) -> None:
            def speak() -> None:
                played = room.play(sam)

                def suspended_then_clicker() -> None:
                    outage("suspended", suspend, resume)
                    partners.after(1.0, lambda: session.press(CLICKER))

                partners.reactions.append(when_quiet(played, 0.5, suspended_then_clicker))

            partners.after(REACTION_S, speak)

        def alex_speaks(partners: Partners) -> None:
            def speak() -> None:
                played = room.play(alex)
                marks["Alex speaks"] = room.now_s

                def ctrl_c() -> None:
                    marks["Ctrl-C"] = room.now_s
                    session.interrupt()

                partners.reactions.append(when_quiet(played, 0.5, ctrl_c))

            def unloaded_then_speak() -> None:
                outage("unloaded", unload_sink, load_sink)
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
        marks["ended"] = room.now_s
        code, out, err = session.finish()
    finally:
        session.kill()
    assert survived == ["suspended", "unloaded"]
    assert "only the timing is kept" in err
    # Ctrl-C ended it cleanly: exit status 0, the review printed, nothing else.
    assert code == 0, err
    assert "Traceback" not in err and "ALSA lib" not in err, err
    assert "(stopped)" in out, (marks, out)

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
            loud = is_loud(room.last_chunk())
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
    played_s = []
    for said in (sam, alex):
        speech = np.concatenate([said.pcm[a:b] for a, b in said.parts]).astype(np.float64)
        played_dbfs.append(10 * np.log10(np.mean(speech * speech) / 32768.0**2))
        played_s.append(len(speech) / RATE_HZ)
    for measured, played, spoken_s in zip(result["partners"], played_dbfs, played_s, strict=True):
        # The null sink passes samples unchanged; the detector's segments leave out
        # the pause between the sentences, and hold a few quiet edges. Where the level
        # is off, the time heard against the time spoken says whether the segments
        # held quiet or speech went missing on the way.
        heard = f"{measured['heard_s']:.2f} s heard of {spoken_s:.2f} s spoken"
        assert measured["level_dbfs"] == pytest.approx(played, abs=1.5), heard
        assert measured["heard_s"] > 2.0
    # The echo was measured and never taken for speech.
    assert result["echo"]["delay_ms"] is not None
    assert 0 < result["echo"]["delay_ms"] <= ROUND_TRIP_MAX_S * 1000
    assert result["prompt_speech_s"] == 0.0
    assert [f["code"] for f in result["findings"]] == ["unbalanced"]
    assert "Alex sounds much quieter than Sam" in result["findings"][0]["text"]
