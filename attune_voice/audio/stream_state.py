"""The live stream's life: its states and one transition function, its limits, its figures."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from attune_voice.audio.echo_gate import EchoReport

STALL_TIMEOUT_S = 2.0
"""A running stream that delivers nothing for this long is lost (unplugged, server gone)."""

BEHIND_LIMIT_S = 0.4
"""How late, beyond the stream's own input latency, the microphone's audio may reach the
callback before the stream is reopened to catch up (see ``DeviceAudio._catch_up``)."""

BEHIND_BLOCKS = 25
"""Blocks in a row that must be that late, and no less late at the end than at the
start: half a second of audio. A starting stream also hands over its first blocks late,
but reads them faster than real time, so each is 20 ms less late than the one before."""

LOST_TIMEOUT_S = 120.0
"""How long a session waits for a lost device to come back before it ends."""

RETRY_S = 1.0
"""Pause between attempts to reopen a lost device."""


@dataclass(frozen=True)
class BlockTiming:
    """When one 20 ms block went through the stream callback (``DeviceAudio.timing``)."""

    arrived_s: float
    """``time.perf_counter()`` when the microphone's callback that stored it began."""
    playback_position: int
    """Prompt samples queued before the output block played during it (the one paired
    with it, see ``Pairing``)."""
    prompt_samples: int
    """How many samples of that output block were prompt (the rest was silence)."""
    input_age_s: float | None
    """How long before the callback the input block's first sample was captured, as
    PortAudio tells (None where the host API does not)."""
    output_delay_s: float | None
    """How long after its callback the output block's first sample is played, as
    PortAudio tells (None where the host API does not)."""
    handed_s: float | None = None
    """``time.perf_counter()`` when the speakers' callback wrote that output block (None
    when no output block was paired with it)."""


@dataclass(frozen=True)
class DeviceStats:
    """Health of a running stream; non-zero counts mean audible glitches or lost audio."""

    overflows: int
    """Callbacks where PortAudio reported input lost before we got it."""
    underflows: int
    """Callbacks where the speakers ran dry before our output arrived."""
    dropped_frames: int
    """Microphone frames discarded because the reader fell more than ``INPUT_RING_S`` behind."""
    callbacks: int
    restarts: int
    """Times a stream (microphone or speakers) was replaced after PortAudio's own thread
    gave up (a death)."""
    worst_callback_ms: float
    """Longest time spent inside our callback (a 20 ms frame is the budget)."""
    latency_s: tuple[float, float]
    """(input, output) latency PortAudio reports for the open stream."""
    losses: int = 0
    """Times the device was lost; each either came back or ended the session."""
    catch_ups: int = 0
    """Times the stream was reopened because the microphone's audio arrived seconds late
    (after the machine stalled); the late audio was dropped."""
    alsa_messages: int = 0
    """Messages alsa-lib reported (each underrun is one) and that were kept off the terminal."""
    deaths: int = 0
    """Times PortAudio's thread of a stream ended by itself (each replaced or backed off)."""
    silent_deaths: int = 0
    """Deaths with no underflow or overflow flag from that stream before them."""
    backoffs: int = 0
    """Times a replaced stream died again at once and was left down for a while."""
    stalls: int = 0
    """Times the microphone's audio reached the callback over 0.1 s late: this process or
    the machine stalled (each is audio the session heard late, not lost)."""
    library_lines: int = 0
    """Lines PortAudio and alsa-lib printed, kept off the terminal in their log file."""
    echo: EchoReport | None = None


class DeviceState(enum.Enum):
    OPEN = "open"
    """Opened, not started: the session clock has not begun."""
    RUNNING = "running"
    LOST = "lost"
    """No audio arrives; the session is paused while the device is reopened."""
    CLOSED = "closed"


class DeviceChange(enum.Enum):
    START = "start"
    STALL = "stall"
    BACK = "back"
    GIVE_UP = "give_up"
    CLOSE = "close"


_TRANSITIONS: dict[tuple[DeviceState, DeviceChange], DeviceState] = {
    (DeviceState.OPEN, DeviceChange.START): DeviceState.RUNNING,
    (DeviceState.RUNNING, DeviceChange.STALL): DeviceState.LOST,
    (DeviceState.LOST, DeviceChange.BACK): DeviceState.RUNNING,
    (DeviceState.LOST, DeviceChange.GIVE_UP): DeviceState.CLOSED,
}


def next_state(state: DeviceState, change: DeviceChange) -> DeviceState:
    """The device's one transition function.

    ::

        OPEN --START (first frames())--> RUNNING
        RUNNING --STALL (no audio for STALL_TIMEOUT_S)--> LOST     (session paused)
        LOST --BACK (a reopened stream delivers audio)--> RUNNING  (clock goes on)
        LOST --GIVE_UP (lost for LOST_TIMEOUT_S)--> CLOSED         (AudioDeviceError)
        any --CLOSE--> CLOSED

    Anything else leaves the state as it is (a second START, a STALL while LOST).
    """
    if change is DeviceChange.CLOSE:
        return DeviceState.CLOSED
    return _TRANSITIONS.get((state, change), state)


@dataclass(frozen=True)
class DeviceStatus:
    """What ``DeviceAudio.on_status`` is told when the device is lost or comes back."""

    state: DeviceState
    message: str
    """One plain sentence for the couple, without a trailing full stop."""
    lost_timeout_s: float


def wait_words(seconds: float) -> str:
    """ "2 minutes", "90 s": how long a lost device is waited for, in a message."""
    minutes, rest = divmod(seconds, 60.0)
    if minutes and not rest:
        return f"{minutes:g} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} s"


__all__ = [
    "BEHIND_BLOCKS",
    "BEHIND_LIMIT_S",
    "LOST_TIMEOUT_S",
    "RETRY_S",
    "STALL_TIMEOUT_S",
    "BlockTiming",
    "DeviceChange",
    "DeviceState",
    "DeviceStats",
    "DeviceStatus",
    "next_state",
    "wait_words",
]
