"""The real ``attune-voice run`` in the null-sink room, with a partner talking over a prompt.

The room and the partners are those of ``test_live.py``, with a room's noise: a fan
at -64 dBFS plays into the sink throughout (a null sink is otherwise digitally silent,
where the echo left after cancelling, however faint, is all there is to hear, and the
voice model judges a sound's shape, not its level). The session's speakers are turned
down to -12 dB in the room (a loudspeaker across a living room, not a loopback), and
once the canceller has heard the opening, Alex starts speaking a second and a half
into the long prompt that gives him the floor and talks through the rest of it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from test_live import (
    RATE_HZ,
    REACTION_S,
    SINK,
    Partners,
    Room,
    Session,
    Utterance,
    answer_consent,
    find,
    floor_given,
    home,
    merged,
    room,
    sam,
    session_offset_s,
    store,
    truths,
    utterance,
    when_quiet,
)

from attune_voice.events import Event, Prompt, Speech, SpokenOver
from attune_voice.store.database import Store
from attune_voice.voice.tts import SpeechRenderer

__all__ = ["home", "room", "sam", "store"]  # fixtures, used by name

pytestmark = pytest.mark.pulse

EXERCISE = Path(__file__).parent / "live" / "over.toml"
SPEAKERS_DB = -12.0
NOISE_DBFS = -64.0
"""Below the level ``test_live`` takes for a sound in the room (an RMS of 30)."""
OVER_AFTER_S = 1.5
"""Alex starts this long after his floor's prompt starts (it lasts about 5 s)."""


@pytest.fixture(scope="module")
def alex_over(renderer: SpeechRenderer) -> Utterance:
    return utterance(
        renderer,
        "B",
        ["Sorry, I already know what I want to say about my week.", "It was a good one."],
    )


def partner_spans(recording: np.ndarray, room: Room) -> list[tuple[Utterance, int]]:
    """As ``test_live.partner_spans``, but Alex's speech is mixed with a prompt's
    sound in the room, so it matches less than exactly."""
    spans: list[tuple[Utterance, int]] = []
    for played in room.played:
        said = played.utterance
        at, match = find(recording, said.pcm, played.launched_s - 0.2, played.launched_s + 3.0)
        assert match > 0.9, f"partner {said.partner}'s speech is not in the recording"
        spans.append((said, at))
    return spans


def _fan(folder: Path) -> subprocess.Popen[bytes]:
    """Two minutes of pink-ish noise played into the room from now on."""
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


def _turn_down_the_speakers() -> None:
    for line in subprocess.run(
        ["pactl", "list", "short", "sink-inputs"], check=True, capture_output=True, text=True
    ).stdout.splitlines()[1:]:
        # The first is the fan, playing since before the session.
        subprocess.run(
            ["pactl", "set-sink-input-volume", line.split()[0], f"{SPEAKERS_DB:g}dB"], check=True
        )


def _speakers_down() -> Callable[[list[Event], Partners], bool]:
    def react(events: list[Event], partners: Partners) -> bool:
        if partners.last_sound_s <= 0.0:
            return False
        _turn_down_the_speakers()
        return True

    return react


def _over_the_prompt(
    room: Room, said: Utterance, session: Session
) -> Callable[[list[Event], Partners], bool]:
    """A reaction: once Alex's floor prompt is logged, speak over it; hand over with
    the clicker once finished (rather than waiting out the floor's time)."""

    def react(events: list[Event], partners: Partners) -> bool:
        if not any(isinstance(e, Prompt) and e.text.startswith("Alex") for e in events):
            return False

        def speak() -> None:
            played = room.play(said)
            partners.reactions.append(when_quiet(played, 1.0, lambda: session.press(b"\x1b[6~")))

        partners.after(OVER_AFTER_S, speak)
        return True

    return react


def test_speech_over_a_prompt_is_heard_and_timed(
    tmp_path: Path,
    room: Room,
    store: Store,
    renderer: SpeechRenderer,
    sam: Utterance,
    alex_over: Utterance,
) -> None:
    fan = _fan(tmp_path)
    session = Session(tmp_path, "run", "--hear-through", "--partners", "Sam,Alex", str(EXERCISE))
    try:

        def sam_speaks(partners: Partners) -> None:
            def speak() -> None:
                played = room.play(sam)
                partners.reactions.append(
                    when_quiet(played, 1.0, lambda: session.press(b"\x1b[6~"))
                )

            partners.after(REACTION_S, speak)

        partners = Partners(
            room,
            store,
            [
                _speakers_down(),
                answer_consent(session, renderer, (b"y", b"y")),
                floor_given("A", sam_speaks),
                _over_the_prompt(room, alex_over, session),
            ],
        )
        partners.run_until(session, lambda: False)
        code, out, err = session.finish()
    finally:
        session.kill()
        fan.kill()
        fan.wait()
    assert code == 0, err
    assert "(completed)" in out
    session_id = store.latest_session_id()
    assert session_id is not None
    events = store.events(session_id)

    recording = room.recording()
    prompts = [e for e in events if isinstance(e, Prompt)]
    spans = partner_spans(recording, room)
    offset_s = session_offset_s(recording, prompts, spans, renderer)
    expected = truths(spans, offset_s)
    heard = merged([e for e in events if isinstance(e, Speech)])
    # Sam spoke in the quiet: the round trip, as the live tests take it.
    round_trip_s = heard[0][0] - expected[0].start_t
    # The prompts are found in the recording over the fan's noise: to within 50 ms.
    assert -0.05 <= round_trip_s <= 0.6
    # Nothing the coach said became speech: all that was heard, a partner said.
    for a, b, members in heard:
        assert any(
            min(b - round_trip_s, x.end_t) > max(a - round_trip_s, x.start_t) for x in expected
        ), members
    floor_prompt = next(p for p in prompts if p.text.startswith("Alex"))
    alex = [x for x in expected if x.partner == "B"]
    over = alex[0]
    # Alex's first sentence began over the prompt and ended before it, and was heard
    # from its start to its end.
    assert floor_prompt.t + 1.0 < over.start_t + round_trip_s < floor_prompt.end_t - 1.0
    assert over.end_t + round_trip_s < floor_prompt.end_t
    start_t = min(a for a, b, _ in heard if b - round_trip_s > over.start_t)
    assert start_t - round_trip_s == pytest.approx(over.start_t, abs=0.1)
    first_found_s = sum(
        max(0.0, min(b - round_trip_s, over.end_t) - max(a - round_trip_s, over.start_t))
        for a, b, _ in heard
    )
    assert first_found_s >= 0.9 * (over.end_t - over.start_t)
    # His second sentence often loses its start or all of it (target: 90% of both): the
    # echo left after talking over the prompt closes the microphone (the fallback).
    said_s = sum(x.end_t - x.start_t for x in alex)
    found_s = sum(
        max(0.0, min(b - round_trip_s, x.end_t) - max(a - round_trip_s, x.start_t))
        for a, b, _ in heard
        for x in alex
    )
    spoken_over = [e for e in events if isinstance(e, SpokenOver)]
    assert [(e.purpose, e.cut) for e in spoken_over] == [("floor", False)]
    assert "microphone closed for echo" in err
    print(
        f"round trip {round_trip_s * 1000:.0f} ms; over the prompt: start "
        f"{(start_t - round_trip_s - over.start_t) * 1000:+.0f} ms, "
        f"{100 * found_s / said_s:.0f}% of {said_s:.1f} s timed; " + err.strip().splitlines()[-1]
    )
