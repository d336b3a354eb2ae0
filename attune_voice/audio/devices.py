"""The sound devices PortAudio can see: listing them, finding one by name or index, opening it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ
from attune_voice.audio.latency import Latency
from attune_voice.audio.portaudio import describe, load_sounddevice, stuck_streams
from attune_voice.errors import AudioDeviceError

DeviceKind = Literal["input", "output"]

DEVICE_HINT = (
    "check that PulseAudio or PipeWire is running and a microphone is plugged in; "
    "list devices with: attune-voice devices"
)
"""The end of every device error: what to check first, and how to see the devices."""


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


def refresh_devices() -> None:
    """Make PortAudio look for devices again (a USB microphone plugged in or back).

    PortAudio reads the device list once, when it starts; sounddevice's documented way
    to read it again is to terminate and re-initialise the library. That closes every
    stream of this process, so it is only done while none is open; and never while a
    stream is stuck in PortAudio's start (``start_within``), whose lock it would wait
    on for good.
    """
    sd = load_sounddevice()
    if stuck_streams:
        return
    try:
        sd._terminate()
        sd._initialize()
    except sd.PortAudioError as e:
        raise AudioDeviceError(f"cannot list audio devices ({describe(e)}); {DEVICE_HINT}") from e


def list_devices() -> list[DeviceInfo]:
    """Every input and output device PortAudio can see, in PortAudio's order."""
    sd = load_sounddevice()
    try:
        hostapis = sd.query_hostapis()
        default_api = hostapis[sd.default.hostapi]
        default_input = int(default_api["default_input_device"])
        default_output = int(default_api["default_output_device"])
        raw = sd.query_devices()
    except sd.PortAudioError as e:
        raise AudioDeviceError(f"cannot list audio devices ({describe(e)}); {DEVICE_HINT}") from e
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


def check_settings(sd: Any, info: DeviceInfo, kind: DeviceKind, channels: int) -> None:
    """Fail with a useful line when a device cannot do 16 kHz 16-bit, before opening it."""
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=info.index, channels=channels, dtype="int16", samplerate=SAMPLE_RATE_HZ)
    except (sd.PortAudioError, ValueError) as e:
        raise AudioDeviceError(
            f"the {kind} device '{info.name}' cannot run at {SAMPLE_RATE_HZ} Hz, 16-bit "
            f"({describe(e)}); use 'default' or 'pulse', which resample "
            "(list devices with: attune-voice devices)"
        ) from e


def pick_device(devices: list[DeviceInfo], index: int | None, kind: DeviceKind) -> DeviceInfo:
    """The chosen device, or the system default for ``None``."""
    if index is None:
        defaults = [
            d for d in devices if (d.is_default_input if kind == "input" else d.is_default_output)
        ]
        if not defaults:
            raise AudioDeviceError(f"there is no default {kind} device; {DEVICE_HINT}")
        return defaults[0]
    return next(d for d in devices if d.index == index)


def open_streams(
    input_spec: str | None,
    output_spec: str | None,
    channels: int,
    latency: Latency,
    input_callback: Callable[..., None],
    output_callback: Callable[..., None],
    which: tuple[bool, bool] = (True, True),
) -> tuple[Any, Any]:
    """Open, not start, a 16 kHz int16 input stream of ``channels`` from the input device
    and a mono output stream to the output device (each a spec as ``resolve_device``
    reads it), checked first so a wrong device fails with a useful line. PortAudio calls
    each callback once a frame. ``which`` says which of the two to open (None for the other).

    Two streams, not one duplex stream: see "Live audio" in docs/architecture.md.
    """
    sd = load_sounddevice()
    devices = list_devices()
    if which[0] and not any(d.max_input_channels > 0 for d in devices):
        raise AudioDeviceError(f"no microphone found; {DEVICE_HINT}")
    if which[1] and not any(d.max_output_channels > 0 for d in devices):
        raise AudioDeviceError(f"no speaker found; {DEVICE_HINT}")
    input_info = pick_device(devices, resolve_device(input_spec, "input"), "input")
    output_info = pick_device(devices, resolve_device(output_spec, "output"), "output")
    if which[0] and input_info.max_input_channels < channels:
        raise AudioDeviceError(
            f"the input device '{input_info.name}' has {input_info.max_input_channels} "
            f"channel(s), not {channels}; pick another with --input "
            "(list them with: attune-voice devices)"
        )
    if which[0]:
        check_settings(sd, input_info, "input", channels)
    if which[1]:
        check_settings(sd, output_info, "output", 1)
    latency_in, latency_out = latency if isinstance(latency, tuple) else (latency, latency)
    opened: list[Any] = []
    try:
        if which[0]:
            # A fixed block size makes PortAudio call us with exactly one frame each
            # time, so one callback is one Frame; the buffer behind it is `latency`.
            opened.append(
                sd.InputStream(
                    samplerate=SAMPLE_RATE_HZ,
                    blocksize=FRAME_SAMPLES,
                    device=input_info.index,
                    channels=channels,
                    dtype="int16",
                    latency=latency_in,
                    callback=input_callback,
                )
            )
        else:
            opened.append(None)
        if which[1]:
            opened.append(
                sd.OutputStream(
                    samplerate=SAMPLE_RATE_HZ,
                    blocksize=FRAME_SAMPLES,
                    device=output_info.index,
                    channels=1,
                    dtype="int16",
                    latency=latency_out,
                    callback=output_callback,
                )
            )
        else:
            opened.append(None)
    except (sd.PortAudioError, ValueError) as e:
        for stream in opened:
            if stream is not None:
                stream.close(ignore_errors=True)
        name = input_info.name if len(opened) == 0 else output_info.name
        raise AudioDeviceError(f"cannot open '{name}' ({describe(e)}); {DEVICE_HINT}") from e
    return opened[0], opened[1]


__all__ = [
    "DEVICE_HINT",
    "DeviceInfo",
    "DeviceKind",
    "check_settings",
    "find_device",
    "list_devices",
    "open_streams",
    "pick_device",
    "refresh_devices",
    "resolve_device",
]
