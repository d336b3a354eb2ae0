"""What PortAudio is asked to buffer: the built-in choice, the saved setting, the override."""

from __future__ import annotations

import os

from attune_voice.errors import AudioDeviceError

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
grew to 3.2 s on a loaded machine). Higher is no cure either: underruns come from the
machine stalling longer than any buffer (another program's sound starting, a freeze),
and what keeps them harmless is the microphone and speakers on separate streams, so an
underrun neither ends the stream nor holds up the microphone (``DeviceAudio``). More
buffer only delays every prompt; a machine that wants it anyway can set it with
``attune-voice devices --latency 0.1 --save`` (kept in config.toml) or, for one run,
``$ATTUNE_AUDIO_LATENCY`` (``LATENCY_ENV``)."""

LATENCY_ENV = "ATTUNE_AUDIO_LATENCY"
"""Environment variable that overrides ``STREAM_LATENCY_S`` and the saved setting for
one run: ``0.1``, ``0.08,0.1`` (input, output) or ``high``. See ``parse_latency``."""


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


def output_latency(latency: Latency) -> float | str:
    """The output side of a latency setting, for an output-only stream."""
    return latency[1] if isinstance(latency, tuple) else latency


__all__ = [
    "LATENCY_ENV",
    "STREAM_LATENCY_S",
    "Latency",
    "latency_choice",
    "output_latency",
    "parse_latency",
    "stream_latency",
]
