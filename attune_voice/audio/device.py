"""The live microphone and speakers: one sounddevice duplex stream behind ``DuplexAudio``."""

from __future__ import annotations

import contextlib
import ctypes
import enum
import functools
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Frame, Pcm, PromptMeaning
from attune_voice.errors import AudioDeviceError

DeviceKind = Literal["input", "output"]

KeySource = Callable[[], Iterable[str]] | queue.Queue[str] | queue.SimpleQueue[str]
"""Where hand-over keys come from: a poll function (``KeyReader.poll``) or a queue."""

INPUT_RING_S = 10.0
"""How far the reader may fall behind the microphone before blocks are dropped."""

PLAYBACK_RING_S = 60.0
"""Prompt audio that can be queued without ``play`` having to wait for the speakers."""

Latency = float | str | tuple[float, float]
"""What PortAudio is asked to buffer: seconds for both directions, an (input, output)
pair of seconds, or PortAudio's own "low" or "high"."""

STREAM_LATENCY_S: tuple[float, float] = (0.06, 0.04)
"""The (input, output) buffer PortAudio is asked for; ALSA's PulseAudio plugin gives
60 ms each way for it (with 20 ms blocks nothing below 40 ms in and 60 ms out).

The output side is most of the time from a decision to the prompt's first sound, which
must stay under 100 ms: measured by scripts/bench-live on a two-core machine, 86-92 ms
(95th percentile) from the decision to the speaker, idle or with three busy loops
running, where 0.1 s gives 202-215 ms and 0.05 s 89-106 ms. The input side is kept
larger than the output's: asking both for PortAudio's "low" (40 ms in, 60 out) gave
the same prompt start but more underflows under load. Lower is not safer: a stream
that runs dry adds its gap to the round trip from speaker to microphone for good (80 ms
grew to 3.2 s on a loaded machine). A machine that underruns (underflows in ``run``'s
closing figures) can ask for more with ``attune-voice devices --latency 0.1 --save``
(kept in config.toml) or, for one run, ``$ATTUNE_AUDIO_LATENCY`` (``LATENCY_ENV``)."""

LATENCY_ENV = "ATTUNE_AUDIO_LATENCY"
"""Environment variable that overrides ``STREAM_LATENCY_S`` and the saved setting for a
machine whose sound runs dry (underflows in ``attune-voice run``'s closing figures):
``0.1``, ``0.08,0.1`` (input, output) or ``high``. See ``parse_latency``."""

START_TIMEOUT_S = 5.0
"""A freshly started stream may take this long to deliver its first block (PulseAudio
through ALSA takes about 1.5 s on a busy machine)."""

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

MAX_ECHO_DELAY_S = 1.0
"""The longest speaker-to-microphone delay the echo gate looks for (Bluetooth speakers
and a re-buffering sound server stay well under it)."""

ECHO_MARGIN_S = 0.06
"""Extra gating after the measured end of a prompt's echo: the delay can shift by a
block or two between measurements, and a small room's reverberation lasts this long."""

ECHO_WINDOW_S = 0.3
"""Length of heard audio matched against what was played to measure the echo delay."""

ECHO_MATCH = 0.5
"""Normalised correlation above which heard audio is taken to be the played prompt."""

ECHO_TRACK_S = 0.03
"""A new echo delay this close to the one known so far is the same echo, drifting or a
voice's pitch period off; a farther one must be the only good match (``ECHO_CLEAR``)."""

ECHO_CLEAR = 0.9
"""A match counts when no delay outside ``ECHO_TRACK_S`` of it matches this well
relative to it: a steady tone matches itself at many delays, speech at one."""

_LIVENESS_CHECK_S = 0.25
"""How often a reader waiting for audio checks whether PortAudio's stream thread died."""

_HINT = (
    "check that PulseAudio or PipeWire is running and a microphone is plugged in; "
    "list devices with: attune-voice devices"
)

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device as ``attune-voice devices`` shows it."""

    index: int
    name: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    """Hz; the device's own rate. Streams here always ask for 16 kHz."""
    is_default_input: bool
    is_default_output: bool
    hostapi: str = ""
    """ALSA, OSS, JACK…: the same card can appear once per host API."""


@dataclass(frozen=True)
class EchoReport:
    """How the prompts came back into the microphone, as the echo gate measured it."""

    delay_ms: float | None
    """Latest measured delay from a sample leaving for the speakers to its echo in the
    microphone; None until a prompt's echo has been heard clearly."""
    delay_min_ms: float | None
    delay_max_ms: float | None
    """The range of every delay measured so far (it moves when the sound server re-buffers)."""
    gain_db: float | None
    """Echo level relative to what was played: 0 dB on a loopback, -10 to -40 in a room."""
    leak_db: float | None
    """The prompts' echo energy that reached ungated frames, relative to all of their
    echo (at the measured delay); None when none leaked past the gate."""
    leaked_ms: float
    """Total length of ungated frames that carried a prompt's echo."""
    measurements: int
    prompts: int
    """Prompts (runs of played audio) whose echo can no longer arrive."""


@dataclass(frozen=True)
class BlockTiming:
    """When one 20 ms block went through the stream callback (``DeviceAudio.timing``)."""

    arrived_s: float
    """``time.perf_counter()`` when the callback that stored it began."""
    playback_position: int
    """Prompt samples queued before the output block written in that callback."""
    prompt_samples: int
    """How many samples of that output block were prompt (the rest was silence)."""
    input_age_s: float | None
    """How long before the callback the input block's first sample was captured, as
    PortAudio tells (None where the host API does not)."""
    output_delay_s: float | None
    """How long after the callback the output block's first sample is played, as
    PortAudio tells (None where the host API does not)."""


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
    """Times the stream was restarted after PortAudio's own thread gave up."""
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


def parse_latency(text: str) -> Latency:
    """A latency setting as a person writes it: ``0.05`` (seconds, both directions),
    ``0.08,0.05`` (input, output), or ``low`` / ``high`` (PortAudio's own choice)."""
    value = text.strip().lower()
    if value in ("low", "high"):
        return value
    try:
        parts = [float(part) for part in value.split(",")]
    except ValueError as e:
        raise AudioDeviceError(
            f"the audio latency '{text}' is not seconds like 0.05, a pair like 0.08,0.05 "
            "(input, output), low or high"
        ) from e
    if len(parts) not in (1, 2) or not all(0.0 < part <= 2.0 for part in parts):
        raise AudioDeviceError(
            f"the audio latency '{text}' must be one or two times (input, output) between "
            "0 and 2 seconds, like 0.05 or 0.08,0.05"
        )
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def stream_latency(configured: str | None = None) -> Latency:
    """The latency streams are opened with: ``$ATTUNE_AUDIO_LATENCY`` if set, else
    ``configured`` (a saved setting, written as ``parse_latency`` reads it), else
    ``STREAM_LATENCY_S``."""
    return latency_choice(configured)[0]


def latency_choice(configured: str | None = None) -> tuple[Latency, str]:
    """``stream_latency`` and where it comes from, in words: ``from $ATTUNE_AUDIO_LATENCY``,
    ``saved`` or ``built in``."""
    for source, value in ((LATENCY_ENV, os.environ.get(LATENCY_ENV)), ("", configured)):
        if value is None or not value.strip():
            continue
        try:
            latency = parse_latency(value)
        except AudioDeviceError as e:
            raise AudioDeviceError(f"{source}: {e}" if source else str(e)) from e
        return latency, f"from ${source}" if source else "saved"
    return STREAM_LATENCY_S, "built in"


def _input_latency_s(stream: Any) -> float:
    """The input latency PortAudio reports for an open stream (0 if it cannot tell)."""
    try:
        return float(stream.latency[0])
    except _sounddevice().PortAudioError:
        return 0.0


def _output_latency(latency: Latency) -> float | str:
    return latency[1] if isinstance(latency, tuple) else latency


# -- the outside libraries -------------------------------------------------------------

_alsa_messages = [0]
"""Messages alsa-lib reported since the handler was installed (a list: written from
PortAudio's thread, read by the reader; an int store is atomic under the GIL)."""
_alsa_handler: list[Any] = []
"""The installed ctypes handler; kept referenced so it is never freed while alsa-lib
may call it."""


def _count_alsa_message(*_args: object) -> None:
    # alsa-lib calls this on PortAudio's audio thread: count, nothing else.
    _alsa_messages[0] += 1


def _route_alsa_messages() -> None:
    """Count alsa-lib's messages instead of letting it print them on the terminal.

    alsa-lib prints "ALSA lib pcm.c:…(snd_pcm_recover) underrun occurred" to stderr from
    inside PortAudio for every xrun; the stream's own status flags already count them
    (``DeviceStats``). The handler is process-wide in alsa-lib, so it is installed once.
    Its C type is variadic; the arguments after ``fmt`` are simply not read, which the
    Linux calling conventions (x86-64, ARM, AArch64) allow.
    """
    if _alsa_handler:
        return
    try:
        alsa = ctypes.CDLL("libasound.so.2")
    except OSError:
        return  # no alsa-lib: PortAudio uses another host API, which prints nothing
    handler_type = ctypes.CFUNCTYPE(
        None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
    )
    handler = handler_type(_count_alsa_message)
    alsa.snd_lib_error_set_handler(handler)
    _alsa_handler.append(handler)


def _sounddevice() -> Any:
    """Import sounddevice on first use, so the rest of the package works without PortAudio."""
    try:
        import sounddevice
    except OSError as e:
        # sounddevice raises OSError when ctypes cannot find libportaudio.so.
        raise AudioDeviceError(
            "the PortAudio library is missing; install it with: sudo apt-get install libportaudio2"
        ) from e
    except ImportError as e:
        raise AudioDeviceError(
            "the sounddevice package is missing; reinstall attune-voice (pip install -e .)"
        ) from e
    _route_alsa_messages()
    return sounddevice


def _describe(e: BaseException) -> str:
    """One line from a PortAudio error, whose text may span lines."""
    return " ".join(str(e).split())


def refresh_devices() -> None:
    """Make PortAudio look for devices again (a USB microphone plugged in or back).

    PortAudio reads the device list once, when it starts; sounddevice's documented way
    to read it again is to terminate and re-initialise the library. That closes every
    stream of this process, so it is only done while none is open; and never while a
    stream is stuck in PortAudio's start (``_start_within``), whose lock it would wait
    on for good.
    """
    sd = _sounddevice()
    if _stuck_streams:
        return
    try:
        sd._terminate()
        sd._initialize()
    except sd.PortAudioError as e:
        raise AudioDeviceError(f"cannot list audio devices ({_describe(e)}); {_HINT}") from e


def list_devices() -> list[DeviceInfo]:
    """Every input and output device PortAudio can see, in PortAudio's order."""
    sd = _sounddevice()
    try:
        hostapis = sd.query_hostapis()
        default_api = hostapis[sd.default.hostapi]
        default_input = int(default_api["default_input_device"])
        default_output = int(default_api["default_output_device"])
        raw = sd.query_devices()
    except sd.PortAudioError as e:
        raise AudioDeviceError(f"cannot list audio devices ({_describe(e)}); {_HINT}") from e
    return [
        DeviceInfo(
            index=index,
            name=str(info["name"]),
            max_input_channels=int(info["max_input_channels"]),
            max_output_channels=int(info["max_output_channels"]),
            default_samplerate=float(info["default_samplerate"]),
            is_default_input=index == default_input,
            is_default_output=index == default_output,
            hostapi=str(hostapis[info["hostapi"]]["name"]),
        )
        for index, info in enumerate(raw)
    ]


def _channels(device: DeviceInfo, kind: DeviceKind) -> int:
    return device.max_input_channels if kind == "input" else device.max_output_channels


def resolve_device(spec: str | None, kind: DeviceKind) -> int | None:
    """Turn a device index or a case-insensitive name fragment into a PortAudio index.

    ``None`` (or an empty string) keeps the system default, which is what most rooms
    want: PulseAudio or PipeWire then decides, and resamples to 16 kHz for us.
    """
    if spec is None or not spec.strip():
        return None
    return find_device(spec, kind).index


def find_device(spec: str, kind: DeviceKind) -> DeviceInfo:
    """The device an index or a name fragment means (see ``resolve_device``)."""
    wanted = spec.strip()
    devices = [d for d in list_devices() if _channels(d, kind) > 0]
    if wanted.isdigit():
        index = int(wanted)
        for device in devices:
            if device.index == index:
                return device
        raise AudioDeviceError(
            f"there is no {kind} device with index {index}; list them with: attune-voice devices"
        )
    fragment = wanted.casefold()
    exact = [d for d in devices if d.name.casefold() == fragment]
    if exact:
        return exact[0]
    matches = [d for d in devices if fragment in d.name.casefold()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise AudioDeviceError(
            f"no {kind} device matches '{wanted}'; list them with: attune-voice devices"
        )
    names = ", ".join(f"{d.index} {d.name}" for d in matches)
    raise AudioDeviceError(
        f"'{wanted}' matches several {kind} devices ({names}); give the index instead"
    )


# -- the echo gate ---------------------------------------------------------------------


class EchoGate:
    """Says which microphone frames carry the prompts' echo, from what was played and heard.

    The duplex stream pairs each input block with the output block written in the same
    callback, but an output block's sound reaches the microphone later by the stream's
    output and input latency (and the air path), and that delay moves whenever the
    sound server re-buffers: 40 ms at one moment, 220 ms the next, without an error.
    So the gate measures it from the audio itself. While a prompt plays and until its
    echo can no longer arrive, it matches the last ``window_s`` heard against what was
    played at every delay up to ``max_delay_s`` (normalised cross-correlation) and takes
    the best delay when the match is clear: near the delay known so far, or far from it
    only when no other delay matches nearly as well, twice in a row (see ``_best_lag``;
    a chime matches itself at many delays). A frame is gated from the first played
    block of a prompt until the echo of its last sample, at the measured delay plus
    ``margin_s``, has passed. Before the first clear match the whole ``max_delay_s`` is
    gated; when a long prompt was played and never heard (headphones, muted speakers),
    ``fallback_delay_s`` is used instead.

    It also keeps account of leaks: the share of each prompt's echo (at the measured
    delay) that fell into frames the gate let through.

    Time is the sample count of the frames pushed; nothing here reads a clock.
    """

    def __init__(
        self,
        frame_samples: int = FRAME_SAMPLES,
        max_delay_s: float = MAX_ECHO_DELAY_S,
        margin_s: float = ECHO_MARGIN_S,
        window_s: float = ECHO_WINDOW_S,
        fallback_delay_s: float = sum(STREAM_LATENCY_S),
    ) -> None:
        self._n_frame = frame_samples
        self._max_delay = round(max_delay_s * SAMPLE_RATE_HZ)
        self._margin = round(margin_s * SAMPLE_RATE_HZ)
        self._window = round(window_s * SAMPLE_RATE_HZ)
        self._track = round(ECHO_TRACK_S * SAMPLE_RATE_HZ)
        self._fallback = round(fallback_delay_s * SAMPLE_RATE_HZ)
        history_frames = -(-(self._max_delay + self._window) // frame_samples) + 2
        self._history = history_frames * frame_samples
        self._heard = np.zeros(self._history, dtype=np.float64)
        self._played = np.zeros(self._history, dtype=np.float64)
        self._frame_energy = np.zeros(history_frames, dtype=np.float64)
        self._frame_gated = np.zeros(history_frames, dtype=np.bool_)
        self._frames = 0
        """Frames pushed: the gate's clock."""
        self._delay: int | None = None
        """Measured delay in samples."""
        self._delay_range: tuple[int, int] | None = None
        self._unconfirmed: int | None = None
        """A clear match far from the known delay, waiting for the next to agree."""
        self._gain: float | None = None
        self._heard_any = True
        """False once a long prompt went by without its echo being heard."""
        self._measurements = 0
        self._run_start = -1
        """Sample where the latest run of played audio started; -1 before any."""
        self._run_end = -1
        """Sample just past its last played sample."""
        self._run_measured = False
        self._run_finished = True
        self._accounted_frames = 0
        """Played blocks before this one have had their echo accounted for."""
        self._echo_total = 0.0
        """Energy of every accounted played block: the echo to expect, up to the gain."""
        self._echo_blocks = 0
        self._echo_leaked = 0.0
        """The part of it that fell into frames the gate let through."""
        self._last_leaked_frame = -1
        self._leaked_frames = 0
        self._prompts = 0

    @property
    def delay_s(self) -> float | None:
        """The measured echo delay, or None until the echo has been heard clearly."""
        return None if self._delay is None else self._delay / SAMPLE_RATE_HZ

    def reset(self) -> None:
        """The stream was reopened: its delay is unknown again, and nothing is playing."""
        self._delay = None
        self._unconfirmed = None
        self._heard_any = True
        self._run_start = self._run_end = -1
        self._run_finished = True
        self._accounted_frames = self._frames

    def push(self, heard: Pcm, played: Pcm, taken: int) -> bool:
        """Take the next frame; True when it must be gated.

        ``heard`` is the microphone block (channels, samples), ``played`` the output
        block written in the same callback, whose first ``taken`` samples are prompt.
        """
        n = self._frames
        start = n * self._n_frame
        slot = n % self._frame_energy.shape[0]
        at = start % self._history
        mono = heard.astype(np.float64).sum(axis=0) if heard.ndim == 2 else heard
        self._heard[at : at + self._n_frame] = mono
        self._played[at : at + self._n_frame] = played
        prompt = played[:taken].astype(np.float64)
        energy = float(np.dot(prompt, prompt))
        self._frame_energy[slot] = energy
        if taken:
            if start > self._run_end:
                self._new_run(start)
            self._run_end = start + taken
        self._frames += 1
        end = start + self._n_frame
        if self._echo_possible(end) and self._measure_due(n, taken):
            self._measure(end)
        gated = self._run_start >= 0 and end > self._run_start and start < self._gate_end()
        self._frame_gated[slot] = gated
        self._account(n)
        return gated

    def _new_run(self, start: int) -> None:
        self._finish_run()
        self._run_start = start
        self._run_measured = False
        self._run_finished = False

    def _gate_delay(self) -> int:
        if self._delay is not None:
            # Not the longer of it and an unconfirmed new delay: a chime's stretched echo
            # offers one now and then, and would hold the microphone for up to a second.
            return self._delay
        return self._max_delay if self._heard_any else self._fallback

    def _gate_end(self) -> int:
        return self._run_end + self._gate_delay() + self._margin

    def _echo_possible(self, end: int) -> bool:
        """Could the heard window ending at ``end`` hold a played sample's echo?"""
        return self._run_end >= 0 and end - self._window - self._max_delay < self._run_end

    def _measure_due(self, n: int, taken: int) -> bool:
        # Every 100 ms while a prompt plays; every 40 ms around its end, where a missed
        # change of delay would let its last words through.
        return n % (2 if not taken else 5) == 0

    def _measure(self, end: int) -> None:
        window, lags = self._window, self._max_delay
        # Before the first second the ring still holds zeros where the past would be.
        positions = np.arange(end - window - lags, end) % self._history
        played = self._played[positions]
        heard = self._heard[positions[lags:]]
        heard_energy = float(np.dot(heard, heard))
        if heard_energy <= 0.0:
            return
        size = 1 << int(np.ceil(np.log2(played.shape[0] + window)))
        spectrum = np.fft.rfft(played, size) * np.conj(np.fft.rfft(heard, size))
        # products[k]: heard window against played[k : k + window], i.e. delay lags - k.
        products = np.fft.irfft(spectrum, size)[: lags + 1]
        cumulative = np.concatenate(([0.0], np.cumsum(played * played)))
        played_energy = cumulative[window : window + lags + 1] - cumulative[: lags + 1]
        # A stretch of prompt this quiet (-50 dBFS) or shorter than a tenth of the
        # window says nothing about the delay.
        enough = played_energy > window * 0.1 * 100.0**2
        if not enough.any():
            return
        match = np.zeros(lags + 1)
        match[enough] = products[enough] / np.sqrt(played_energy[enough] * heard_energy)
        k = self._best_lag(match)
        if k is None:
            return
        self._delay = lags - k
        self._gain = float(products[k] / played_energy[k])
        low, high = self._delay_range or (self._delay, self._delay)
        self._delay_range = (min(low, self._delay), max(high, self._delay))
        self._heard_any = True
        self._run_measured = True
        self._measurements += 1

    def _best_lag(self, match: npt.NDArray[np.float64]) -> int | None:
        """The lag (index into ``match``) of the echo, or None when the match is unclear.

        ``match[k]`` belongs to a delay of ``len(match) - 1 - k`` samples.
        """
        best = float(match.max())
        if best < ECHO_MATCH:
            return None
        lags = len(match) - 1
        track = self._track
        if self._delay is not None:
            # Voiced speech matches itself one pitch period away almost as well, and
            # separate clocks for speaker and microphone let the delay drift: near the
            # delay known so far, the best match is the same echo.
            prior = lags - self._delay
            low, high = max(prior - track, 0), min(prior + track, lags) + 1
            nearby = match[low:high]
            nearby_best = float(nearby.max())
            if nearby_best >= max(ECHO_CLEAR * best, ECHO_MATCH):
                close = np.flatnonzero(nearby >= max(0.97 * nearby_best, ECHO_MATCH))
                self._unconfirmed = None
                return low + int(close[int(np.argmin(np.abs(low + close - prior)))])
        # Anywhere else only a match that stands alone counts. A steady tone (a chime,
        # a held vowel) matches itself at every whole number of periods, and when the
        # echo comes back slightly faster or slower than it was played (a sound server
        # adapting its rate) the best of those wanders far from the true delay.
        k = int(np.argmax(match))
        rivals = match.copy()
        rivals[max(k - track, 0) : k + track + 1] = 0.0
        if float(rivals.max()) >= ECHO_CLEAR * best:
            return None
        if self._delay is None:
            return k
        # Moving away from a known delay takes two clear matches in a row that agree:
        # one alone may be a prompt's edge lining up by chance.
        delay, waiting = lags - k, self._unconfirmed
        self._unconfirmed = delay
        if waiting is not None and abs(delay - waiting) <= track:
            self._unconfirmed = None
            return k
        return None

    def _account(self, n: int) -> None:
        """Account the echo of played blocks whose echo can no longer arrive."""
        delay = self._delay
        if delay is None:
            # Nowhere known for the echo to go: nothing to account.
            self._accounted_frames = n + 1
        else:
            whole, part = divmod(delay, self._n_frame)
            frames = self._frame_energy.shape[0]
            shares = ((whole, 1.0 - part / self._n_frame), (whole + 1, part / self._n_frame))
            # A block is accounted for only once no later measurement could still move
            # its echo: the delay it is accounted at is the one measured last.
            settled = -(-self._max_delay // self._n_frame) + 1
            while self._accounted_frames + settled <= n:
                block = self._accounted_frames
                self._accounted_frames += 1
                energy = float(self._frame_energy[block % frames])
                if energy == 0.0 or block <= n - frames:
                    continue
                self._echo_total += energy
                self._echo_blocks += 1
                mean = self._echo_total / self._echo_blocks
                for offset, share in shares:
                    target = block + offset
                    if share <= 0.0 or self._frame_gated[target % frames]:
                        continue
                    self._echo_leaked += share * energy
                    # Echo more than 30 dB below the prompts' average level is inaudible
                    # under the room's own noise: only louder leaks count as leaked time.
                    if share * energy >= 1e-3 * mean and target > self._last_leaked_frame:
                        self._last_leaked_frame = target
                        self._leaked_frames += 1
        if self._run_start >= 0 and (n + 1) * self._n_frame >= (
            self._run_end + self._max_delay + self._window
        ):
            self._finish_run()

    def _finish_run(self) -> None:
        """The latest run's echo can no longer arrive: was it heard at all?"""
        if self._run_finished or self._run_start < 0:
            return
        self._run_finished = True
        self._prompts += 1
        played_s = (self._run_end - self._run_start) / SAMPLE_RATE_HZ
        if not self._run_measured and played_s >= 1.0 and self._delay is None:
            self._heard_any = False

    def report(self) -> EchoReport:
        def ms(samples: int | None) -> float | None:
            return None if samples is None else samples * 1000.0 / SAMPLE_RATE_HZ

        low, high = self._delay_range or (None, None)
        return EchoReport(
            delay_ms=ms(self._delay),
            delay_min_ms=ms(low),
            delay_max_ms=ms(high),
            gain_db=None
            if self._gain is None
            else 20.0 * float(np.log10(max(abs(self._gain), 1e-6))),
            leak_db=None
            if self._echo_leaked <= 0.0
            else 10.0 * float(np.log10(self._echo_leaked / self._echo_total)),
            leaked_ms=self._leaked_frames * self._n_frame * 1000.0 / SAMPLE_RATE_HZ,
            measurements=self._measurements,
            prompts=self._prompts,
        )


# -- the device ------------------------------------------------------------------------


class DeviceAudio:
    """Microphone frames and prompt playback from one duplex PortAudio stream.

    The stream is opened by the constructor, so a wrong device fails at once, and
    started by the first call to ``frames()``: the session clock (samples consumed)
    starts when the engine starts reading. Prompts queued with ``play()`` before that
    start with the first frame.

    ``Frame.playing`` comes from the ``EchoGate``: it is True while a prompt or its
    echo is in the microphone, following the measured delay between the two.

    ``latency`` is what PortAudio buffers in each direction (see ``Latency``); None
    takes the couple's setting (``stream_latency``). The output side is most of the
    time from ``play()`` to the speakers.

    Faults: input overflows and output underflows are counted (``stats()``), never
    fatal. A stream whose PortAudio thread gave up is restarted. A device that stops
    delivering audio is lost: ``frames()`` then yields nothing (the engine, whose
    clock is the samples consumed, simply pauses), ``on_status`` is told, and the
    device is reopened every ``RETRY_S`` until it delivers again, when ``on_status``
    hears it is back and frames continue on the same clock. After ``lost_timeout_s``
    ``frames()`` raises ``AudioDeviceError`` instead.

    Threads: the PortAudio callback is the only writer of the input ring and the only
    reader of the playback ring; ``frames()`` and ``play()`` are their counterparts.
    Each side publishes progress by rebinding a plain int counter, which is atomic
    under the GIL, so the callback never takes a lock the other side could hold.
    """

    real_time = True
    """Frames come at the pace of the sound card: what can be done ahead of time
    (rendering the next prompts, ``SessionLoop``) should be, between decisions."""

    def __init__(
        self,
        input_device: str | None = None,
        output_device: str | None = None,
        channels: int = 1,
        key_source: KeySource | None = None,
        latency: Latency | None = None,
        stall_timeout_s: float = STALL_TIMEOUT_S,
        lost_timeout_s: float = LOST_TIMEOUT_S,
        on_status: Callable[[DeviceStatus], None] | None = None,
    ) -> None:
        if channels < 1:
            raise AudioDeviceError(f"channels must be 1 or more, not {channels}")
        self.channels = channels
        self.on_status = on_status
        """Told when the device is lost and when it is back; called from ``frames()``."""
        self._key_source = key_source
        self._specs = (input_device, output_device)
        self._latency = stream_latency() if latency is None else latency
        self._stall_timeout_s = stall_timeout_s
        self._lost_timeout_s = lost_timeout_s

        ring_blocks = round(INPUT_RING_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        self._in_ring: npt.NDArray[np.int16] = np.zeros(
            (ring_blocks, channels, FRAME_SAMPLES), dtype=np.int16
        )
        self._in_played: npt.NDArray[np.int16] = np.zeros(
            (ring_blocks, FRAME_SAMPLES), dtype=np.int16
        )
        """What was written to the speakers in the callback that stored each input block."""
        self._in_taken: npt.NDArray[np.int32] = np.zeros(ring_blocks, dtype=np.int32)
        """How many of those samples were prompt (the rest is silence)."""
        self._in_out_pos: npt.NDArray[np.int64] = np.zeros(ring_blocks, dtype=np.int64)
        """Playback position (samples queued before) at the start of each such block."""
        self._in_wall_s: npt.NDArray[np.float64] = np.zeros(ring_blocks, dtype=np.float64)
        """``time.perf_counter()`` when each block arrived, for latency measurements."""
        self._in_times: npt.NDArray[np.float64] = np.zeros((ring_blocks, 3), dtype=np.float64)
        """PortAudio's stream times of each callback: (now, when the input block was
        captured, when the output block will be played), for latency measurements."""
        self._in_written = 0
        """Blocks the callback has stored; only the callback rebinds it."""
        self._in_read = 0
        """Blocks ``frames()`` has taken; only the reader rebinds it."""
        self._input_ready = threading.Event()

        self._out_ring: npt.NDArray[np.int16] = np.zeros(
            round(PLAYBACK_RING_S * SAMPLE_RATE_HZ), dtype=np.int16
        )
        self._out_written = 0
        """Samples ``play()`` has queued since the start; only ``play()`` rebinds it."""
        self._out_read = 0
        """Samples the callback has sent to the speakers; only the callback rebinds it
        (and the reader, while no stream is running)."""
        self._output_space = threading.Event()
        self._play_lock = threading.Lock()
        """Serialises producers only; the callback never touches it."""

        self._overflows = 0
        self._underflows = 0
        self._dropped = 0
        self._callbacks = 0
        self._restarts = 0
        self._catch_ups = 0
        self._behind_blocks = 0
        """Blocks in a row, up to the one last read, that arrived over the limit late."""
        self._may_catch_up = False
        """True once a block of the current stream arrived in time. A new stream
        hands over its first second or so late (0.6 s late on PulseAudio after a
        reopening) and soon catches up by itself; and a host API that always reports
        late audio is not reopened over and over."""
        self._callbacks_at_restart = 0
        self._restart_failed_at = -1
        """Callback count when restarting failed; no second try until audio flowed again."""
        self._generation = 0
        """Which stream the callback serves; a stream left behind keeps an old number."""
        self._losses = 0
        self._worst_callback_s: npt.NDArray[np.float64] = np.zeros(1, dtype=np.float64)
        self._alsa_at_open = 0
        self._logged = (0, 0, 0, 0)
        """(overflows, underflows, dropped, alsa messages) already logged."""

        self._echo = EchoGate()
        self._consumed_samples = 0
        self._state = DeviceState.OPEN
        self._closed = threading.Event()
        """Set by close(); an Event because other threads poll it."""
        self._stream: Any = self._open()
        self._input_latency_s = _input_latency_s(self._stream)
        """The input latency PortAudio reports for the current stream."""
        self._alsa_at_open = _alsa_messages[0]

    @property
    def state(self) -> DeviceState:
        return self._state

    def _change(self, change: DeviceChange) -> None:
        self._state = next_state(self._state, change)

    # -- opening ---------------------------------------------------------------------

    def _open(self) -> Any:
        sd = _sounddevice()
        input_spec, output_spec = self._specs
        devices = list_devices()
        if not any(d.max_input_channels > 0 for d in devices):
            raise AudioDeviceError(f"no microphone found; {_HINT}")
        if not any(d.max_output_channels > 0 for d in devices):
            raise AudioDeviceError(f"no speaker found; {_HINT}")
        input_index = resolve_device(input_spec, "input")
        output_index = resolve_device(output_spec, "output")
        input_info = _pick(devices, input_index, "input")
        output_info = _pick(devices, output_index, "output")
        if input_info.max_input_channels < self.channels:
            raise AudioDeviceError(
                f"the input device '{input_info.name}' has {input_info.max_input_channels} "
                f"channel(s), not {self.channels}; pick another with --input "
                "(list them with: attune-voice devices)"
            )
        _check_settings(sd, input_info, "input", self.channels)
        _check_settings(sd, output_info, "output", 1)
        try:
            return sd.Stream(
                samplerate=SAMPLE_RATE_HZ,
                # A fixed block size makes PortAudio call us with exactly one frame each
                # time, so one callback is one Frame; the buffer behind it is `latency`.
                blocksize=FRAME_SAMPLES,
                device=(input_info.index, output_info.index),
                channels=(self.channels, 1),
                dtype="int16",
                latency=self._latency,
                callback=functools.partial(self._callback, self._generation),
            )
        except (sd.PortAudioError, ValueError) as e:
            raise AudioDeviceError(
                f"cannot open '{input_info.name}' and '{output_info.name}' "
                f"({_describe(e)}); {_HINT}"
            ) from e

    # -- the real-time side ----------------------------------------------------------

    def _callback(
        self,
        generation: int,
        indata: npt.NDArray[np.int16],
        outdata: npt.NDArray[np.int16],
        frames: int,
        time_info: Any,
        status: Any,
    ) -> None:
        # Contract: this runs on PortAudio's audio thread every 20 ms. It only copies
        # between PortAudio's buffers and rings allocated up front, and bumps counters.
        # No buffer allocation, no logging or printing, no file or network I/O, no lock
        # held for longer than an Event.set(), nothing that can raise: a slow callback
        # is an audible glitch and an exception ends the stream. `frames` is always
        # FRAME_SAMPLES because the stream was opened with that fixed block size.
        started_s = time.perf_counter()
        if generation != self._generation:
            # A stream given up on that came to life after all: it must not write.
            outdata.fill(0)
            return
        if status:
            if status.input_overflow:
                self._overflows += 1
            if status.output_underflow:
                self._underflows += 1

        ring = self._out_ring
        capacity = ring.shape[0]
        position = self._out_read
        start = position % capacity
        take = min(frames, self._out_written - position)
        first = min(take, capacity - start)
        outdata[:first, 0] = ring[start : start + first]
        outdata[first:take, 0] = ring[: take - first]
        outdata[take:, 0] = 0
        if take:
            self._out_read = position + take
            self._output_space.set()

        if self._in_written - self._in_read < self._in_ring.shape[0]:
            slot = self._in_written % self._in_ring.shape[0]
            self._in_ring[slot] = indata.T
            self._in_played[slot] = outdata[:, 0]
            self._in_taken[slot] = take
            self._in_out_pos[slot] = position
            self._in_wall_s[slot] = started_s
            self._in_times[slot, 0] = time_info.currentTime
            self._in_times[slot, 1] = time_info.inputBufferAdcTime
            self._in_times[slot, 2] = time_info.outputBufferDacTime
            self._in_written += 1
            self._input_ready.set()
        else:
            self._dropped += 1

        self._callbacks += 1
        elapsed_s = time.perf_counter() - started_s
        self._worst_callback_s[0] = max(self._worst_callback_s[0], elapsed_s)

    # -- the DuplexAudio side --------------------------------------------------------

    def _start(self) -> None:
        if self._state is not DeviceState.OPEN:
            return
        sd = _sounddevice()
        try:
            started = self._start_stream(self._stream)
        except sd.PortAudioError as e:
            raise AudioDeviceError(
                f"cannot start the audio stream ({_describe(e)}); {_HINT}"
            ) from e
        if not started:
            raise AudioDeviceError(f"the audio stream did not start; {_HINT}")
        self._callbacks_at_restart = self._callbacks
        self._change(DeviceChange.START)

    def _start_stream(self, stream: Any) -> bool:
        """Start ``stream``; False if PortAudio hangs in the attempt (see ``_start_within``).

        A stream that hung is given up: never touched again, its callback fenced off
        by the generation number, and a new one opened later.
        """
        if _start_within(stream, START_TIMEOUT_S):
            return True
        self._generation += 1
        if stream is self._stream:
            self._stream = None
        _log.info("PortAudio did not start the stream; it is left behind")
        return False

    def frames(self) -> Iterator[Frame]:
        """Yield the microphone's frames in order until ``close()``; starts the stream."""
        self._start()
        while not self._closed.is_set():
            if not self._wait_for_input():
                return
            ring_slots = self._in_ring.shape[0]
            slot = self._in_read % ring_slots
            pcm = self._in_ring[slot].copy()
            gated = self._echo.push(pcm, self._in_played[slot], int(self._in_taken[slot]))
            behind = self._is_behind(slot)
            self._in_read += 1
            start_sample = self._consumed_samples
            self._consumed_samples += FRAME_SAMPLES
            if self._in_read % 50 == 0:
                self._log_glitches()
            yield Frame(pcm=pcm, start_sample=start_sample, playing=gated, keys=self._keys())
            if behind:
                self._catch_up()

    def _is_behind(self, slot: int) -> bool:
        """Has the audio reached the callback too late for ``BEHIND_BLOCKS`` in a row,
        this block included, without getting less late, by PortAudio's capture times?"""
        age_s = self._input_age_s(slot)
        if age_s is None or age_s <= BEHIND_LIMIT_S + self._input_latency_s:
            self._behind_blocks = 0
            self._may_catch_up = age_s is not None
            return False
        self._behind_blocks += 1
        if not self._may_catch_up or self._behind_blocks < BEHIND_BLOCKS:
            return False
        earlier_s = self._input_age_s((slot - BEHIND_BLOCKS + 1) % self._in_ring.shape[0])
        # A stream catching up by itself is a block less late with every block it
        # hands over; half of that over these blocks is taken as catching up.
        draining_s = BEHIND_BLOCKS * FRAME_SAMPLES / SAMPLE_RATE_HZ / 2
        return earlier_s is not None and age_s > earlier_s - draining_s

    def _input_age_s(self, slot: int) -> float | None:
        """How old the first sample of the block in ``slot`` was when its callback
        began, by PortAudio's stream times; None where the host API does not tell."""
        now, captured = (float(x) for x in self._in_times[slot, :2])
        return now - captured if captured > 0.0 and now > 0.0 else None

    def _catch_up(self) -> None:
        """Reopen a stream whose microphone audio arrives seconds late.

        When the machine stalls (the process stopped, or starved of CPU), PulseAudio
        and PipeWire keep what the microphone captured meanwhile and hand it over
        afterwards at the normal pace, one block per block played, so the stream stays
        that far behind for good: the coach would answer seconds late, and the echo of
        its prompts would arrive after the gate (``MAX_ECHO_DELAY_S``) and count as
        speech. A new stream starts from the present. The late audio still queued is
        dropped, as audio missed during a stall is: the clock counts what was heard.
        Prompt audio still queued plays on the new stream.
        """
        self._behind_blocks = 0
        late_s = self._input_age_s((self._in_read - 1) % self._in_ring.shape[0]) or 0.0
        self._close_stream()
        with _stderr_silenced():
            reopened = self._reopen(refresh=False, drop_queued=False)
        if not reopened:
            # Gone for real: the next read finds no audio and waits for it as lost.
            return
        self._catch_ups += 1
        self._echo.reset()
        _log.info("audio stream reopened: the microphone was %.1f s behind", late_s)

    def _wait_for_input(self) -> bool:
        """Block until the callback has stored a block; False once closed.

        A stream that stalls is revived or, failing that, lost: this then waits for the
        device to come back, or raises ``AudioDeviceError`` after ``lost_timeout_s``.
        """
        checked_s = time.monotonic()
        deadline_s = checked_s + self._wait_limit_s()
        while self._in_written == self._in_read:
            if self._closed.is_set():
                return False
            # Clear, then re-check, then wait: a set() between the check and the
            # clear would otherwise be lost and cost a whole timeout.
            self._input_ready.clear()
            if self._in_written != self._in_read:
                break
            remaining_s = deadline_s - time.monotonic()
            woken = remaining_s > 0 and self._input_ready.wait(min(remaining_s, _LIVENESS_CHECK_S))
            now_s = time.monotonic()
            away_s = now_s - checked_s - _LIVENESS_CHECK_S
            checked_s = now_s
            if away_s > _LIVENESS_CHECK_S:
                # This process itself was not running (stopped, or starved of CPU), so
                # the stream had no chance to deliver: that time is not the device's.
                deadline_s += away_s
            if woken or away_s > _LIVENESS_CHECK_S:
                continue
            if self._closed.is_set():
                return False
            if self._revive():
                deadline_s = time.monotonic() + START_TIMEOUT_S
            elif time.monotonic() >= deadline_s:
                if not self._wait_while_lost():
                    return False
                deadline_s = time.monotonic() + START_TIMEOUT_S
        return not self._closed.is_set()

    def _wait_limit_s(self) -> float:
        """How long the next block may take: longer right after a (re)start."""
        if self._callbacks == self._callbacks_at_restart:
            return max(START_TIMEOUT_S, self._stall_timeout_s)
        return self._stall_timeout_s

    def _revive(self) -> bool:
        """Replace a stream whose PortAudio thread gave up; True if the new one runs.

        PortAudio 19.6's ALSA duplex code (Debian 12, Raspberry Pi OS) can end its
        callback thread after an xrun on the output side ("Expression 'err' failed in
        pa_linux_alsa.c", PortAudio issue #758) while the device itself is fine. That
        stream reports itself inactive. It is closed and a new one opened, rather than
        restarted: restarting a stream whose PulseAudio sink has gone blocks in
        PortAudio for good, while opening a new one fails at once. A stalled but active
        stream (an unplugged microphone, a suspended server) is left alone and is lost
        when it times out. The samples missed meanwhile are simply not in the session:
        the clock counts what was heard.
        """
        stream = self._stream
        if stream is None or stream.active:
            return False
        if self._restarts and self._callbacks == self._callbacks_at_restart:
            # Restarted already and not one callback since: the device is really gone.
            return False
        if self._restart_failed_at == self._callbacks:
            return False
        self._close_stream()
        with _stderr_silenced():
            replaced = self._reopen(refresh=False)
        if not replaced:
            # The device is gone; the stall timeout will find it lost.
            self._restart_failed_at = self._callbacks
            return False
        self._restarts += 1
        self._echo.reset()
        _log.info("audio stream replaced after PortAudio stopped it")
        return True

    def _wait_while_lost(self) -> bool:
        """The device stopped: pause, say so, reopen until it is back; False if closed."""
        self._close_stream()
        self._losses += 1
        self._change(DeviceChange.STALL)
        self._echo.reset()
        wait = _wait_words(self._lost_timeout_s)
        self._tell(
            DeviceState.LOST,
            "the microphone or the speakers stopped (unplugged, or the sound server "
            f"stopped?); the session is paused and waits up to {wait} for them",
        )
        give_up_s = time.monotonic() + self._lost_timeout_s
        while not self._closed.is_set():
            with _stderr_silenced():
                back = self._reopen()
            if back:
                self._change(DeviceChange.BACK)
                self._tell(DeviceState.RUNNING, "the sound is back; the session goes on")
                return True
            if time.monotonic() >= give_up_s:
                self._change(DeviceChange.GIVE_UP)
                raise AudioDeviceError(
                    f"the microphone or the speakers were gone for {wait}; the session "
                    "ended there and everything before is kept; check them with: "
                    "attune-voice devices"
                )
            self._closed.wait(RETRY_S)
        return False

    def _tell(self, state: DeviceState, message: str) -> None:
        # Saying it to the couple is on_status's job; the log is for whoever reads it.
        _log.info("%s", message)
        if self.on_status is not None:
            self.on_status(DeviceStatus(state, message, self._lost_timeout_s))

    def _reopen(self, refresh: bool = True, drop_queued: bool = True) -> bool:
        """Open and start a new stream on the same devices; True once it delivers audio.

        With ``refresh``, a device not found is looked for again in a fresh device list;
        with ``drop_queued``, prompt audio not yet played is dropped.
        """
        sd = _sounddevice()
        self._generation += 1
        stream = None
        try:
            try:
                stream = self._open()
            except AudioDeviceError:
                if not refresh:
                    raise
                # Not there under the name or index PortAudio knew: read the list again
                # (a USB device that comes back may come back under another index).
                refresh_devices()
                stream = self._open()
            if drop_queued:
                # What was queued when the device went is a prompt cut off mid-sentence.
                self._out_read = self._out_written
            callbacks = self._callbacks
            started = self._start_stream(stream)
        except (AudioDeviceError, sd.PortAudioError):
            if stream is not None:
                stream.close(ignore_errors=True)
            return False
        if not started:
            return False
        deadline_s = time.monotonic() + START_TIMEOUT_S
        while self._callbacks == callbacks and time.monotonic() < deadline_s:
            if self._closed.is_set():
                break
            self._input_ready.wait(_LIVENESS_CHECK_S)
            self._input_ready.clear()
        if self._callbacks == callbacks or self._closed.is_set():
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)
            return False
        self._stream = stream
        self._input_latency_s = _input_latency_s(stream)
        self._may_catch_up = False
        self._callbacks_at_restart = callbacks
        return True

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            # abort, not stop: a stalled stream has nothing worth playing out.
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)

    def _log_glitches(self) -> None:
        """Log new overflows, underflows, drops and alsa-lib messages (from the reader)."""
        now = (self._overflows, self._underflows, self._dropped, self.alsa_messages)
        if now == self._logged:
            return
        self._logged = now
        _log.info(
            "audio glitches so far: %d input overflows, %d output underflows, "
            "%d frames dropped, %d alsa-lib messages",
            *now,
        )

    @property
    def alsa_messages(self) -> int:
        return _alsa_messages[0] - self._alsa_at_open

    def _keys(self) -> tuple[str, ...]:
        source = self._key_source
        if source is None:
            return ()
        if isinstance(source, (queue.Queue, queue.SimpleQueue)):
            keys: list[str] = []
            while True:
                try:
                    keys.append(source.get_nowait())
                except queue.Empty:
                    return tuple(keys)
        return tuple(source())

    def play(self, pcm: Pcm, meaning: PromptMeaning | None = None) -> None:
        """Queue mono 16 kHz audio after what is queued; waits only if 60 s are queued.

        ``meaning`` is for simulated listeners; a real room hears the words instead.
        """
        del meaning
        samples = np.asarray(pcm)
        if samples.ndim != 1 or samples.dtype != np.int16:
            raise AudioDeviceError(
                f"play() takes mono int16 samples, not {samples.dtype} of shape {samples.shape}"
            )
        with self._play_lock:
            done = 0
            while done < samples.shape[0]:
                if self._closed.is_set():
                    raise AudioDeviceError("cannot play: the audio device is closed")
                free = self._out_ring.shape[0] - (self._out_written - self._out_read)
                if free == 0:
                    self._wait_for_space()
                    continue
                done += self._write_out(samples[done : done + free])

    def _write_out(self, chunk: Pcm) -> int:
        """Copy into the free part of the playback ring, then publish it."""
        ring = self._out_ring
        capacity = ring.shape[0]
        start = self._out_written % capacity
        first = min(chunk.shape[0], capacity - start)
        ring[start : start + first] = chunk[:first]
        ring[: chunk.shape[0] - first] = chunk[first:]
        # Publish after the copy: the callback reads only below _out_written.
        self._out_written += chunk.shape[0]
        return int(chunk.shape[0])

    def _wait_for_space(self) -> None:
        if self._state is DeviceState.OPEN:
            raise AudioDeviceError(
                f"more than {PLAYBACK_RING_S:g} s of prompt audio queued before the "
                "stream started; read frames() first"
            )
        self._output_space.clear()
        if self._out_written - self._out_read < self._out_ring.shape[0]:
            return
        if not self._output_space.wait(self._stall_timeout_s):
            raise AudioDeviceError(
                f"the speakers stopped taking audio for {self._stall_timeout_s:g} s "
                "(unplugged, or the sound server stopped?); check them with: "
                "attune-voice devices"
            )

    def queued_s(self) -> float:
        """Seconds of prompt audio queued and not yet handed to the speakers."""
        return (self._out_written - self._out_read) / SAMPLE_RATE_HZ

    def play_position(self) -> int:
        """Samples queued for the speakers since the start: where the next ``play`` begins."""
        return self._out_written

    def timing(self, start_sample: int) -> BlockTiming | None:
        """How the block holding session sample ``start_sample`` went through the
        callback, if it is still in the input ring (the last ``INPUT_RING_S``).

        For latency measurements: the rest of the package never looks at the clock.
        """
        block = start_sample // FRAME_SAMPLES
        if not self._in_written - self._in_ring.shape[0] <= block < self._in_written:
            return None
        slot = block % self._in_ring.shape[0]
        now, played = float(self._in_times[slot, 0]), float(self._in_times[slot, 2])
        # A host API that does not know these times reports 0 for them; PortAudio's ALSA
        # side reports the output time as now while an underrun empties its buffer.
        return BlockTiming(
            arrived_s=float(self._in_wall_s[slot]),
            playback_position=int(self._in_out_pos[slot]),
            prompt_samples=int(self._in_taken[slot]),
            input_age_s=self._input_age_s(slot),
            output_delay_s=played - now if played > now > 0.0 else None,
        )

    def announce(self, pcm: Pcm) -> bool:
        """Play ``pcm`` on the output device alone and wait until it has played.

        For a notice while the device is lost: perhaps only the microphone went. Returns
        False when the speakers cannot play it either; never raises for that.
        """
        if self._state is not DeviceState.LOST:
            raise AudioDeviceError("announce() is for a lost device; use play()")
        return play_alone(pcm, self._specs[1], self._latency)

    def stats(self) -> DeviceStats:
        """Glitch counters, the callback's worst duration and the echo gate's figures."""
        sd = _sounddevice()
        latency = (0.0, 0.0)
        if self._stream is not None:
            # Closed after a loss: no latency figure; the counters still stand.
            with contextlib.suppress(sd.PortAudioError):
                latency = self._stream.latency
        return DeviceStats(
            overflows=self._overflows,
            underflows=self._underflows,
            dropped_frames=self._dropped,
            callbacks=self._callbacks,
            restarts=self._restarts,
            catch_ups=self._catch_ups,
            worst_callback_ms=float(self._worst_callback_s[0]) * 1000.0,
            latency_s=(float(latency[0]), float(latency[1])),
            losses=self._losses,
            alsa_messages=self.alsa_messages,
            echo=self._echo.report(),
        )

    def close(self) -> None:
        """Stop the stream now (queued prompt audio is dropped); safe to call twice."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._change(DeviceChange.CLOSE)
        # Wake a reader or a player waiting on the other thread so it sees _closed.
        self._input_ready.set()
        self._output_space.set()
        if self._stream is not None:
            self._stream.close(ignore_errors=True)

    def __enter__(self) -> DeviceAudio:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_stuck_streams: list[Any] = []
"""Streams PortAudio never finished starting: kept referenced so their memory is never
freed under the thread still blocked in them."""


def _start_within(stream: Any, timeout_s: float) -> bool:
    """Start a PortAudio stream; False if the start has not returned after ``timeout_s``.

    PortAudio 19.6 can block for good in Pa_StartStream when the PulseAudio stream
    behind an ALSA device cannot be created (the sink was unloaded: "pulse_prepare:
    Unable to create stream"). So the start runs on a helper thread, which is left
    blocked if it never returns. A PortAudioError from the start is raised here.
    """
    finished = threading.Event()
    errors: list[Exception] = []

    def start() -> None:
        try:
            stream.start()
        except Exception as e:  # handed over to the waiting thread, which raises it
            errors.append(e)
        finally:
            finished.set()

    threading.Thread(target=start, name="attune-stream-start", daemon=True).start()
    if not finished.wait(timeout_s):
        _stuck_streams.append(stream)
        return False
    if errors:
        raise errors[0]
    return True


def play_alone(pcm: Pcm, output_device: str | None = None, latency: Latency | None = None) -> bool:
    """Play mono 16 kHz ``pcm`` on an output-only stream and wait; False if it cannot.

    ``latency`` is as for ``DeviceAudio``; only its output side is used.

    The wait ends after the sound's own length plus ``START_TIMEOUT_S`` even when a
    stalled device never takes it.
    """
    samples = np.ascontiguousarray(pcm, dtype=np.int16)
    position = [0]
    finished = threading.Event()

    def callback(outdata: npt.NDArray[np.int16], frames: int, time_info: Any, status: Any) -> None:
        start = position[0]
        take = max(0, min(frames, samples.shape[0] - start))
        outdata[:take, 0] = samples[start : start + take]
        outdata[take:, 0] = 0
        position[0] = start + frames
        if start >= samples.shape[0]:
            finished.set()

    sd = _sounddevice()
    try:
        info = _pick(list_devices(), resolve_device(output_device, "output"), "output")
        stream = sd.OutputStream(
            samplerate=SAMPLE_RATE_HZ,
            blocksize=FRAME_SAMPLES,
            device=info.index,
            channels=1,
            dtype="int16",
            latency=_output_latency(stream_latency() if latency is None else latency),
            callback=callback,
        )
    except (AudioDeviceError, sd.PortAudioError, ValueError):
        return False
    played = False
    try:
        if not _start_within(stream, START_TIMEOUT_S):
            return False  # left to the thread stuck in it
        played = finished.wait(samples.shape[0] / SAMPLE_RATE_HZ + START_TIMEOUT_S)
    except sd.PortAudioError:
        played = False
    if played:
        # stop() returns once what is buffered has been played.
        stream.stop(ignore_errors=True)
    else:
        stream.abort(ignore_errors=True)
    stream.close(ignore_errors=True)
    return played


class MonitorOutput:
    """Plays a stream of frames through the speakers in real time (``demo --play``).

    Unlike ``DeviceAudio`` this is PortAudio's blocking mode: ``write`` waits while the
    device buffer is full, and that wait is what paces a simulation that would
    otherwise run as fast as the CPU allows. ``close`` lets what is queued play out.
    """

    def __init__(self, output_device: str | None = None) -> None:
        sd = _sounddevice()
        info = _pick(list_devices(), resolve_device(output_device, "output"), "output")
        _check_settings(sd, info, "output", 1)
        self.underflows = 0
        """Writes that found the speakers had already run dry (the producer was late)."""
        self._closed = False
        try:
            self._stream = sd.OutputStream(
                samplerate=SAMPLE_RATE_HZ,
                blocksize=FRAME_SAMPLES,
                device=info.index,
                channels=1,
                dtype="int16",
                # Smooth playback matters here, not latency: nothing listens back.
                latency="high",
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as e:
            raise AudioDeviceError(f"cannot open '{info.name}' ({_describe(e)}); {_HINT}") from e

    def write(self, pcm: npt.NDArray[Any] | None) -> None:
        """Play mono samples at int16 scale (int or float; several channels are mixed).

        ``None`` (a frame with nothing to monitor) plays nothing.
        """
        if pcm is None or self._closed:
            return
        samples = np.asarray(pcm)
        if samples.ndim == 2:
            samples = samples.mean(axis=0)
        mono = np.clip(np.rint(samples), -32768, 32767).astype(np.int16)
        sd = _sounddevice()
        try:
            if self._stream.write(mono.reshape(-1, 1)):
                self.underflows += 1
        except sd.PortAudioError as e:
            raise AudioDeviceError(
                f"the speakers stopped taking audio ({_describe(e)}); check them with: "
                "attune-voice devices"
            ) from e

    def close(self) -> None:
        """Play out what is queued, then release the device; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._stream.stop(ignore_errors=True)
        finally:
            self._stream.close(ignore_errors=True)

    def __enter__(self) -> MonitorOutput:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block.

    PortAudio prints its own failures with fprintf ("Expression 'ret' failed in
    pa_linux_alsa.c"), a few lines for every attempt to reopen a device that is still
    gone: once a second while a session waits. Nothing else can quiet them; only this
    thread writes to the terminal meanwhile, and nothing it says is lost.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _wait_words(seconds: float) -> str:
    """ "2 minutes", "90 s": how long a lost device is waited for, in a message."""
    minutes, rest = divmod(seconds, 60.0)
    if minutes and not rest:
        return f"{minutes:g} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} s"


def _check_settings(sd: Any, info: DeviceInfo, kind: DeviceKind, channels: int) -> None:
    """Fail with a useful line when a device cannot do 16 kHz 16-bit, before opening it."""
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=info.index, channels=channels, dtype="int16", samplerate=SAMPLE_RATE_HZ)
    except (sd.PortAudioError, ValueError) as e:
        raise AudioDeviceError(
            f"the {kind} device '{info.name}' cannot run at {SAMPLE_RATE_HZ} Hz, 16-bit "
            f"({_describe(e)}); use 'default' or 'pulse', which resample "
            "(list devices with: attune-voice devices)"
        ) from e


def _pick(devices: list[DeviceInfo], index: int | None, kind: DeviceKind) -> DeviceInfo:
    """The chosen device, or the system default for ``None``."""
    if index is None:
        defaults = [
            d for d in devices if (d.is_default_input if kind == "input" else d.is_default_output)
        ]
        if not defaults:
            raise AudioDeviceError(f"there is no default {kind} device; {_HINT}")
        return defaults[0]
    return next(d for d in devices if d.index == index)


__all__ = [
    "LATENCY_ENV",
    "STREAM_LATENCY_S",
    "BlockTiming",
    "DeviceAudio",
    "DeviceChange",
    "DeviceInfo",
    "DeviceState",
    "DeviceStats",
    "DeviceStatus",
    "EchoGate",
    "EchoReport",
    "MonitorOutput",
    "find_device",
    "latency_choice",
    "list_devices",
    "next_state",
    "parse_latency",
    "play_alone",
    "refresh_devices",
    "resolve_device",
    "stream_latency",
]
