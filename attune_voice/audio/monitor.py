"""Output-only streams: a notice played alone, and the demo's monitor paced by the speakers."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from attune_voice.audio.devices import (
    DEVICE_HINT,
    check_settings,
    list_devices,
    pick_device,
    resolve_device,
)
from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, Pcm
from attune_voice.audio.latency import Latency, output_latency, stream_latency
from attune_voice.audio.portaudio import START_TIMEOUT_S, describe, load_sounddevice, start_within
from attune_voice.errors import AudioDeviceError


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

    sd = load_sounddevice()
    try:
        info = pick_device(list_devices(), resolve_device(output_device, "output"), "output")
        stream = sd.OutputStream(
            samplerate=SAMPLE_RATE_HZ,
            blocksize=FRAME_SAMPLES,
            device=info.index,
            channels=1,
            dtype="int16",
            latency=output_latency(stream_latency() if latency is None else latency),
            callback=callback,
        )
    except (AudioDeviceError, sd.PortAudioError, ValueError):
        return False
    played = False
    try:
        if not start_within(stream, START_TIMEOUT_S):
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
        sd = load_sounddevice()
        info = pick_device(list_devices(), resolve_device(output_device, "output"), "output")
        check_settings(sd, info, "output", 1)
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
            raise AudioDeviceError(
                f"cannot open '{info.name}' ({describe(e)}); {DEVICE_HINT}"
            ) from e

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
        sd = load_sounddevice()
        try:
            if self._stream.write(mono.reshape(-1, 1)):
                self.underflows += 1
        except sd.PortAudioError as e:
            raise AudioDeviceError(
                f"the speakers stopped taking audio ({describe(e)}); check them with: "
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


__all__ = ["MonitorOutput", "play_alone"]
