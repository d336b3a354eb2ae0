"""The real ``attune-voice run`` in the null-sink room, with a partner talking over a prompt.

The room and the partners are those of ``test_live.py``. The session's speakers are
turned down to -12 dB in the room (a loudspeaker across a living room, not a loopback),
and once the canceller has heard the opening, Alex starts speaking a second and a half
into the long prompt that gives him the floor and talks through the rest of it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from test_live import (
    REACTION_S,
    Partners,
    Room,
    Session,
    Utterance,
    answer_consent,
    find,
    floor_given,
    home,
    merged,
    needs_pulse,
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

pytestmark = [pytest.mark.pulse, needs_pulse]

EXERCISE = Path(__file__).parent / "live" / "over.toml"
SPEAKERS_DB = -12.0
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


def _turn_down_the_speakers() -> None:
    for line in subprocess.run(
        ["pactl", "list", "short", "sink-inputs"], check=True, capture_output=True, text=True
    ).stdout.splitlines():
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


def _over_the_prompt(room: Room, said: Utterance) -> Callable[[list[Event], Partners], bool]:
    """A reaction: once Alex's floor prompt is logged, speak over it."""

    def react(events: list[Event], partners: Partners) -> bool:
        if not any(isinstance(e, Prompt) and e.text.startswith("Alex") for e in events):
            return False
        partners.after(OVER_AFTER_S, lambda: room.play(said))
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
    session = Session(tmp_path, "run", "--partners", "Sam,Alex", str(EXERCISE))
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
                _over_the_prompt(room, alex_over),
            ],
        )
        partners.run_until(session, lambda: False)
        code, out, err = session.finish()
    finally:
        session.kill()
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
    assert len(heard) == len(expected), (heard, expected)
    # Sam spoke in the quiet: the round trip, as the live tests take it.
    round_trip_s = heard[0][0] - expected[0].start_t
    assert 0.0 <= round_trip_s <= 0.6
    floor_prompt = next(p for p in prompts if p.text.startswith("Alex"))
    alex = [x for x in expected if x.partner == "B"]
    alex_heard = heard[len(expected) - len(alex) :]
    over = alex[0]
    # Alex's speech began over the prompt, and was heard from its start.
    assert floor_prompt.t + 1.0 < over.start_t + round_trip_s < floor_prompt.end_t - 1.0
    start_t = alex_heard[0][0]
    assert start_t - round_trip_s == pytest.approx(over.start_t, abs=0.1)
    said_s = sum(x.end_t - x.start_t for x in alex)
    found_s = sum(
        max(0.0, min(b - round_trip_s, x.end_t) - max(a - round_trip_s, x.start_t))
        for a, b, _ in alex_heard
        for x in alex
    )
    assert found_s >= 0.9 * said_s
    spoken_over = [e for e in events if isinstance(e, SpokenOver)]
    assert [(e.purpose, e.cut) for e in spoken_over] == [("floor", False)]
    assert "microphone closed for echo" in err
    print(
        f"round trip {round_trip_s * 1000:.0f} ms; over the prompt: start "
        f"{(start_t - round_trip_s - over.start_t) * 1000:+.0f} ms, "
        f"{100 * found_s / said_s:.0f}% of {said_s:.1f} s timed; " + err.strip().splitlines()[-1]
    )
