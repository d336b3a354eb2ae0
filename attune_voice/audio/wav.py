"""WAV files in and out: a careful RIFF/WAVE reader, 16 kHz loading, and 16-bit writers."""

from __future__ import annotations

import contextlib
import json
import os
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from attune_voice.audio.resample import FloatPcm, Resampler, output_length, to_int16
from attune_voice.config import SAMPLE_RATE_HZ
from attune_voice.errors import AudioFileError
from attune_voice.store.paths import open_private

StrPath: TypeAlias = "str | os.PathLike[str]"

MIN_RATE_HZ = 4_000
MAX_RATE_HZ = 384_000
MAX_CHANNELS = 8

_ACCEPTED = "use 16-, 24- or 32-bit PCM, 32-bit float, mu-law or A-law WAV"
_CONVERT_HINT = "(e.g. convert with: sox in.wav -b 16 out.wav)"

COACH_CHUNK_ID = b"atvc"
"""A chunk of a session's saved audio, after its data: where the coach's prompts (or
their echo) were in the microphone, as JSON ``{"coach_frames": [[start, end], ...]}``
in sample frames. Other programs skip a chunk they do not know."""
_MAX_COACH_CHUNK_BYTES = 1 << 22
"""A day of sessions' marks is a few hundred kilobytes; a larger claim is damage."""

_FORMAT_PCM = 0x0001
_FORMAT_FLOAT = 0x0003
_FORMAT_ALAW = 0x0006
_FORMAT_MULAW = 0x0007
_FORMAT_EXTENSIBLE = 0xFFFE
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
"""Bytes 2-15 of every KSDATAFORMAT_SUBTYPE GUID whose first two bytes are a format tag."""

_FORMAT_NAMES = {
    0x0002: "Microsoft ADPCM",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0011: "IMA ADPCM",
    0x0022: "TrueSpeech",
    0x0031: "GSM 6.10",
    0x0040: "G.721 ADPCM",
    0x0050: "MPEG",
    0x0055: "MP3",
    0x0064: "G.726 ADPCM",
    0x0065: "G.722 ADPCM",
    0x00FF: "AAC",
    0x0160: "WMA",
    0x0161: "WMA",
    0x0162: "WMA Pro",
    0x1610: "HE-AAC",
    0x2000: "AC-3",
    0x2001: "DTS",
    0xF1AC: "FLAC",
}

_MAX_FMT_BYTES = 4096
"""A real fmt chunk is 16 to 40 bytes; reading a damaged header's claim is bounded."""

_READ_FRAMES = 1 << 16
"""Frames decoded at a time: bounds the raw-byte buffer whatever the file's size."""

_FLOAT_LIMIT = 1000.0
"""Float samples are nominally within +-1; beyond +60 dB they are corrupt data, and
clipping them keeps every later sum finite."""

Encoding = Literal["uint8", "int16", "int24", "int32", "float32", "float64", "mulaw", "alaw"]


@dataclass(frozen=True)
class WavInfo:
    """What the header of a readable WAV file says, after validation."""

    channels: int
    rate_hz: int
    encoding: Encoding
    frames: int
    """Whole sample frames present: the data chunk's claim, clipped to the file."""
    frame_bytes: int
    data_offset: int
    truncated: bool
    """The data chunk claimed more bytes than the file holds; ``frames`` is what is there."""
    coach_frames: tuple[tuple[int, int], ...] = ()
    """Where the coach spoke, in sample frames [start, end), when a session saved the
    file (``COACH_CHUNK_ID``); empty otherwise."""


def read_wav(path: StrPath) -> tuple[FloatPcm, int]:
    """Read a WAV file as float samples shaped (channels, n) in [-1, 1], and its rate in Hz.

    Reads PCM 8-bit (unsigned), 16-, 24- and 32-bit, IEEE float 32 and 64, 8-bit
    mu-law and A-law (G.711, as telephone recordings use), plain or
    WAVE_FORMAT_EXTENSIBLE, 1 to 8 channels. A file cut short inside its audio gives the
    whole frames it holds. Anything else raises :class:`AudioFileError` with one line
    saying what is wrong and what is accepted.
    """
    file_path = Path(path)
    with _Reader(file_path) as file:
        info = _parse(file_path, file)
        out = np.empty((info.channels, info.frames), dtype=np.float32)
        filled = 0
        for block in iter_wav_blocks(file_path, file, info):
            out[:, filled : filled + block.shape[1]] = block
            filled += block.shape[1]
    return out[:, :filled], info.rate_hz


def read_wav_16k(path: StrPath, *, mono: bool = False) -> npt.NDArray[np.int16]:
    """Read a WAV file as 16 kHz 16-bit PCM shaped (channels, n), or (1, n) when ``mono``.

    The file is decoded and resampled in blocks, so an hour at 48 kHz never sits in
    memory at its own rate. ``mono`` averages the channels.
    """
    file_path = Path(path)
    with _Reader(file_path) as file:
        info = _parse(file_path, file)
        channels = 1 if mono else info.channels
        resampler = Resampler(info.rate_hz, SAMPLE_RATE_HZ, channels)
        out = np.empty(
            (channels, output_length(info.frames, info.rate_hz, SAMPLE_RATE_HZ)),
            dtype=np.int16,
        )
        filled = 0
        for block in iter_wav_blocks(file_path, file, info):
            mixed = block.mean(axis=0, keepdims=True, dtype=np.float32) if mono else block
            converted = resampler.process(mixed)
            out[:, filled : filled + converted.shape[1]] = to_int16(converted)
            filled += converted.shape[1]
        tail = resampler.flush()
        out[:, filled : filled + tail.shape[1]] = to_int16(tail)
        filled += tail.shape[1]
    # Short only if the file shrank while it was read.
    return out[:, :filled]


def wav_info(path: StrPath) -> WavInfo:
    """Validate a WAV file's header without reading its audio."""
    file_path = Path(path)
    with _Reader(file_path) as file:
        return _parse(file_path, file)


def write_wav(path: StrPath, pcm: npt.NDArray[np.int16], rate_hz: int = SAMPLE_RATE_HZ) -> None:
    """Write 16-bit PCM shaped (channels, n), or (n,) for one channel, as a WAV file."""
    channels = 1 if pcm.ndim == 1 else int(pcm.shape[0])
    with WavWriter(path, channels, rate_hz) as writer:
        writer.write(pcm)


class WavWriter:
    """A 16-bit PCM WAV file written block by block; the header is kept valid as it grows.

    Use it as a context manager, or call :meth:`close`. Failures to create or write the
    file (no such folder, no permission, disk full) raise :class:`AudioFileError`.
    """

    def __init__(self, path: StrPath, channels: int, rate_hz: int = SAMPLE_RATE_HZ) -> None:
        if not 1 <= channels <= 0xFFFF:
            raise ValueError(f"channels must be 1 to 65535, got {channels}")
        if not 1 <= rate_hz <= 0xFFFFFFFF:
            raise ValueError(f"rate_hz must be a positive 32-bit number, got {rate_hz}")
        self.path = Path(path)
        self.channels = channels
        self.rate_hz = rate_hz
        self.frames_written = 0
        self._coach: list[list[int]] = []
        try:
            # Room audio is the most private thing written: owner only, like the database.
            self._file: BinaryIO | None = open_private(self.path)
        except OSError as e:
            raise AudioFileError(_os_message(self.path, e, writing=True)) from e
        # The file object is ours to close (close() and _abandon() do), so that a failed
        # flush on a full disk never leaves it for the garbage collector to report.
        self._wave: wave.Wave_write | None = wave.open(self._file, "wb")  # noqa: SIM115
        self._wave.setnchannels(channels)
        self._wave.setsampwidth(2)
        self._wave.setframerate(rate_hz)

    def write(self, pcm: npt.NDArray[np.int16], coach: bool = False) -> None:
        """Append samples shaped (channels, n); (n,) is accepted for one channel.

        ``coach`` marks them as holding the coach's prompt or its echo: the marks are
        written in a chunk of their own when the file is closed (``COACH_CHUNK_ID``).
        """
        if pcm.dtype != np.int16:
            raise TypeError(f"WavWriter writes int16 samples, got {pcm.dtype}")
        planar = pcm.reshape(1, -1) if pcm.ndim == 1 else pcm
        if planar.ndim != 2 or planar.shape[0] != self.channels:
            raise ValueError(f"expected shape ({self.channels}, n), got {pcm.shape}")
        if self._wave is None:
            raise ValueError(f"{self.path}: the WavWriter is closed")
        interleaved = np.ascontiguousarray(planar.T, dtype="<i2")
        try:
            self._wave.writeframes(interleaved.tobytes())
        except OSError as e:
            self._abandon()
            raise AudioFileError(_os_message(self.path, e, writing=True)) from e
        start = self.frames_written
        self.frames_written += int(planar.shape[1])
        if coach:
            if self._coach and self._coach[-1][1] == start:
                self._coach[-1][1] = self.frames_written
            else:
                self._coach.append([start, self.frames_written])

    def close(self) -> None:
        """Finish the header and close the file; closing twice does nothing."""
        wave_file, file = self._wave, self._file
        self._wave = self._file = None
        if wave_file is None or file is None:
            return
        try:
            try:
                wave_file.close()
                if self._coach:
                    _append_chunk(file, COACH_CHUNK_ID, {"coach_frames": self._coach})
            finally:
                file.close()
        except OSError as e:
            raise AudioFileError(_os_message(self.path, e, writing=True)) from e

    def _abandon(self) -> None:
        """Close after a failed write, keeping the first error as the one reported."""
        wave_file, file = self._wave, self._file
        self._wave = self._file = None
        for closer in (wave_file, file):
            if closer is None:
                continue
            # The write error already says what went wrong (usually a full disk); the
            # flush inside close fails for the same reason.
            with contextlib.suppress(OSError):
                closer.close()

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        else:
            self._abandon()


def _append_chunk(file: BinaryIO, chunk_id: bytes, content: object) -> None:
    """Add a JSON chunk after the audio and count it in the RIFF header's size."""
    body = json.dumps(content, separators=(",", ":")).encode()
    if len(body) & 1:
        body += b" "  # chunks are of even size
    file.seek(0, os.SEEK_END)
    file.write(chunk_id + struct.pack("<I", len(body)) + body)
    riff_bytes = file.tell() - 8
    file.seek(4)
    file.write(struct.pack("<I", riff_bytes))


def _coach_frames(path: Path, body: bytes) -> tuple[tuple[int, int], ...]:
    """The coach's marks in a chunk; a damaged chunk is one clear line."""
    try:
        marks = json.loads(body)["coach_frames"]
        frames = tuple((int(a), int(b)) for a, b in marks)
        if any(not 0 <= a < b for a, b in frames):
            raise ValueError("a stretch ends before it starts")
    except (ValueError, KeyError, TypeError) as e:
        raise AudioFileError(
            f"{path}: the marks of where the coach spoke are damaged ({e}); the audio is "
            "whole: copy it without them with: sox in.wav out.wav"
        ) from e
    return frames


class _Reader:
    """An open file that always gets closed, with OS errors turned into one line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.file: BinaryIO = path.open("rb")
        except OSError as e:
            raise AudioFileError(_os_message(path, e, writing=False)) from e

    def __enter__(self) -> BinaryIO:
        return self.file

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.file.close()


def _os_message(path: Path, error: OSError, *, writing: bool) -> str:
    if isinstance(error, IsADirectoryError):
        return f"{path}: is a folder, not a WAV file"
    if isinstance(error, FileNotFoundError):
        if writing:
            return f"{path}: cannot write: the folder {path.parent} does not exist"
        return f"{path}: no such file"
    if isinstance(error, PermissionError):
        verb = "write" if writing else "read"
        return f"{path}: permission denied: cannot {verb} it"
    verb = "write" if writing else "read"
    return f"{path}: cannot {verb} it: {error.strerror or error}"


def _parse(path: Path, file: BinaryIO) -> WavInfo:
    """Walk the RIFF chunks and validate everything before any audio is allocated."""
    try:
        size = os.fstat(file.fileno()).st_size
        head = file.read(12)
        if size == 0:
            raise AudioFileError(f"{path}: the file is empty (0 bytes); attune-voice reads WAV")
        if head[:4] not in (b"RIFF", b"RF64", b"BW64"):
            raise AudioFileError(_not_wav_message(path, head + file.read(500)))
        if len(head) < 12:
            raise AudioFileError(
                f"{path}: the WAV header is truncated (the file is only {size} bytes); "
                "the file is damaged or was not fully written",
            )
        if head[8:12] != b"WAVE":
            kind = head[8:12].decode("latin-1").strip()
            raise AudioFileError(
                f"{path}: is a RIFF {kind!r} file, not a WAV file; attune-voice reads WAV",
            )
        return _walk_chunks(path, file, size, is_rf64=head[:4] != b"RIFF")
    except OSError as e:
        raise AudioFileError(_os_message(path, e, writing=False)) from e


def _walk_chunks(path: Path, file: BinaryIO, size: int, *, is_rf64: bool) -> WavInfo:
    fmt: bytes | None = None
    data: tuple[int, int] | None = None
    rf64_data_bytes: int | None = None
    coach: tuple[tuple[int, int], ...] = ()
    position = 12
    # Every chunk is looked at: the coach's marks come after the audio.
    while position + 8 <= size:
        file.seek(position)
        chunk_id, chunk_bytes = struct.unpack("<4sI", file.read(8))
        body = position + 8
        # The first format and data chunks are the file's: later ones (trailing bytes
        # read as chunks, now that the walk goes on past the audio) are not looked at.
        if chunk_id == b"fmt " and fmt is None:
            if body + chunk_bytes > size:
                raise AudioFileError(
                    f"{path}: the WAV header is truncated (the format chunk runs past the "
                    "end of the file); the file is damaged or was not fully written",
                )
            fmt = file.read(min(chunk_bytes, _MAX_FMT_BYTES))
        elif chunk_id == b"ds64" and is_rf64 and chunk_bytes >= 16:
            rf64_data_bytes = struct.unpack("<8xQ", file.read(16))[0]
        elif chunk_id == b"data" and data is None:
            if is_rf64 and chunk_bytes == 0xFFFFFFFF and rf64_data_bytes is not None:
                chunk_bytes = rf64_data_bytes
            data = (body, chunk_bytes)
        elif chunk_id == COACH_CHUNK_ID and chunk_bytes <= _MAX_COACH_CHUNK_BYTES:
            coach = _coach_frames(path, file.read(chunk_bytes))
        # Chunks are padded to an even size; the pad byte is not counted in the size.
        position = body + chunk_bytes + (chunk_bytes & 1)
    if fmt is None:
        raise AudioFileError(
            f"{path}: the WAV file has no format ('fmt ') chunk, so its sample format is "
            "unknown; the file is damaged",
        )
    if data is None:
        raise AudioFileError(f"{path}: the WAV file has no audio data (no 'data' chunk)")
    channels, rate_hz, encoding, frame_bytes = _parse_format(path, fmt)
    data_offset, claimed_bytes = data
    if claimed_bytes == 0:
        raise AudioFileError(f"{path}: the WAV file has no audio (its data chunk is empty)")
    present_bytes = min(claimed_bytes, max(0, size - data_offset))
    frames = present_bytes // frame_bytes
    if frames == 0:
        raise AudioFileError(
            f"{path}: the WAV file has no audio (its data chunk holds {present_bytes} bytes, "
            f"less than one {frame_bytes}-byte sample frame)",
        )
    return WavInfo(
        channels=channels,
        rate_hz=rate_hz,
        encoding=encoding,
        frames=frames,
        frame_bytes=frame_bytes,
        data_offset=data_offset,
        truncated=present_bytes < claimed_bytes,
        coach_frames=coach,
    )


def _parse_format(path: Path, fmt: bytes) -> tuple[int, int, Encoding, int]:
    """Return channels, rate, encoding and frame size from a fmt chunk, or raise."""
    if len(fmt) < 16:
        raise AudioFileError(
            f"{path}: the WAV format chunk is truncated ({len(fmt)} bytes, needs 16); "
            "the file is damaged",
        )
    tag, channels, rate_hz, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _FORMAT_EXTENSIBLE:
        if len(fmt) < 40:
            raise AudioFileError(
                f"{path}: the WAV format chunk is truncated (an extensible format needs "
                f"40 bytes, it has {len(fmt)}); the file is damaged",
            )
        guid = fmt[24:40]
        tag = struct.unpack("<H", guid[:2])[0]
        if guid[2:] != _GUID_TAIL:
            raise AudioFileError(
                f"{path}: WAV sub-format {guid.hex()} is not supported; "
                f"{_ACCEPTED} {_CONVERT_HINT}",
            )
    bits_text = f"{bits}-bit " if bits else ""
    if tag not in (_FORMAT_PCM, _FORMAT_FLOAT, _FORMAT_MULAW, _FORMAT_ALAW):
        name = _FORMAT_NAMES.get(tag, f"format 0x{tag:04X}")
        raise AudioFileError(
            f"{path}: {bits_text}{name} WAV is not supported; {_ACCEPTED} {_CONVERT_HINT}",
        )
    if channels == 0:
        raise AudioFileError(
            f"{path}: the WAV header says 0 channels; attune-voice reads WAV with "
            f"1 to {MAX_CHANNELS} channels",
        )
    if channels > MAX_CHANNELS:
        raise AudioFileError(
            f"{path}: the WAV file has {channels} channels; attune-voice reads 1 to "
            f"{MAX_CHANNELS} (mix down first, e.g. sox in.wav -c 2 out.wav)",
        )
    if not MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ:
        raise AudioFileError(
            f"{path}: the WAV header says a sample rate of {rate_hz} Hz; attune-voice reads "
            f"{MIN_RATE_HZ} to {MAX_RATE_HZ} Hz",
        )
    # The container size comes from the block alignment when it is consistent: it is
    # what lays the bytes out (20-bit audio in 24-bit containers, 24 in 32).
    container_bytes = (bits + 7) // 8
    if block_align and block_align % channels == 0:
        container_bytes = block_align // channels
    encoding: Encoding | None = None
    if tag == _FORMAT_PCM and 0 < bits <= 8 * container_bytes:
        pcm_encodings: dict[int, Encoding] = {1: "uint8", 2: "int16", 3: "int24", 4: "int32"}
        encoding = pcm_encodings.get(container_bytes)
    elif tag == _FORMAT_FLOAT and bits == 8 * container_bytes:
        float_encodings: dict[int, Encoding] = {4: "float32", 8: "float64"}
        encoding = float_encodings.get(container_bytes)
    elif tag in (_FORMAT_MULAW, _FORMAT_ALAW) and bits == 8 and container_bytes == 1:
        encoding = "mulaw" if tag == _FORMAT_MULAW else "alaw"
    if encoding is None:
        kind = {_FORMAT_FLOAT: "float", _FORMAT_MULAW: "mu-law", _FORMAT_ALAW: "A-law"}.get(
            tag, "integer PCM"
        )
        stored = f" in {8 * container_bytes}-bit containers" if bits != 8 * container_bytes else ""
        raise AudioFileError(
            f"{path}: {bits}-bit {kind} WAV{stored} is not supported; {_ACCEPTED} {_CONVERT_HINT}",
        )
    return channels, rate_hz, encoding, container_bytes * channels


def iter_wav_blocks(path: Path, file: BinaryIO, info: WavInfo) -> Iterator[FloatPcm]:
    """Yield the audio as float blocks shaped (channels, frames), a bounded read at a time."""
    try:
        file.seek(info.data_offset)
        remaining = info.frames
        while remaining > 0:
            frames = min(remaining, _READ_FRAMES)
            raw = file.read(frames * info.frame_bytes)
            frames = len(raw) // info.frame_bytes
            if frames == 0:
                return
            remaining -= frames
            yield _decode(raw[: frames * info.frame_bytes], info.encoding, info.channels)
    except OSError as e:
        raise AudioFileError(_os_message(path, e, writing=False)) from e


def _decode(raw: bytes, encoding: Encoding, channels: int) -> FloatPcm:
    """Interleaved little-endian samples to planar float32 in [-1, 1]."""
    samples: npt.NDArray[np.float32]
    if encoding == "uint8":
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif encoding in ("mulaw", "alaw"):
        table = _MULAW if encoding == "mulaw" else _ALAW
        samples = table[np.frombuffer(raw, dtype=np.uint8)]
    elif encoding == "int16":
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif encoding == "int24":
        # Each 3-byte sample goes into the top of a 4-byte word: the int32 view is then the
        # sample scaled by 256, sign included, and float32 holds its 24 bits exactly.
        words = np.zeros((len(raw) // 3, 4), dtype=np.uint8)
        words[:, 1:] = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        samples = words.view("<i4").reshape(-1).astype(np.float32) / 2147483648.0
    elif encoding == "int32":
        samples = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    else:
        wide = np.frombuffer(raw, dtype="<f4" if encoding == "float32" else "<f8")
        finite = np.nan_to_num(wide, nan=0.0, posinf=1.0, neginf=-1.0)
        samples = np.clip(finite, -_FLOAT_LIMIT, _FLOAT_LIMIT).astype(np.float32)
    return np.ascontiguousarray(samples.reshape(-1, channels).T)


def _g711_table(law: Literal["mulaw", "alaw"]) -> npt.NDArray[np.float32]:
    """The 256 linear values of G.711 mu-law or A-law bytes, scaled to [-1, 1]."""
    code = np.arange(256, dtype=np.int32)
    if law == "mulaw":
        inverted = ~code & 0xFF
        exponent = (inverted >> 4) & 0x07
        magnitude = ((((inverted & 0x0F) << 3) + 0x84) << exponent) - 0x84
        linear = np.where(inverted & 0x80, -magnitude, magnitude)
    else:
        toggled = code ^ 0x55
        exponent = (toggled >> 4) & 0x07
        mantissa = toggled & 0x0F
        magnitude = np.where(
            exponent == 0,
            (mantissa << 4) + 8,
            ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
        )
        # A-law's sign bit set is the positive half.
        linear = np.where(toggled & 0x80, magnitude, -magnitude)
    return (linear / 32768.0).astype(np.float32)


_MULAW = _g711_table("mulaw")
_ALAW = _g711_table("alaw")


_SIGNATURES: tuple[tuple[int, bytes, str, str], ...] = (
    (0, b"ID3", "MP3", "mp3"),
    (0, b"OggS", "OGG", "ogg"),
    (0, b"fLaC", "FLAC", "flac"),
    (4, b"ftyp", "MP4/M4A", "m4a"),
    (0, b"\x1a\x45\xdf\xa3", "WebM/Matroska", "webm"),
    (0, b"#!AMR", "AMR", "amr"),
    (0, b"caff", "CAF", "caf"),
    (0, b".snd", "Sun AU", "au"),
    (0, b"wvpk", "WavPack", "wv"),
    (0, b"MAC ", "Monkey's Audio", "ape"),
    (0, b"riff\x2e\x91\xcf\x11", "Wave64", "w64"),
    (0, b"RIFX", "big-endian WAV (RIFX)", "wav"),
    (0, b"\x30\x26\xb2\x75", "WMA", "wma"),
)


def _not_wav_message(path: Path, head: bytes) -> str:
    """Name what a non-WAV file looks like and how to convert it."""
    if len(head) < 4 and b"RIFF".startswith(head):
        return (
            f"{path}: the WAV header is truncated (the file is only {len(head)} bytes); "
            "the file is damaged or was not fully written"
        )
    kind, extension = _sniff(head)
    if kind == "text":
        return f"{path}: is not a WAV file (it looks like text); attune-voice reads WAV recordings"
    source = f"in.{extension}" if extension else "in.ext"
    looks = f"it looks like {kind}" if kind else "it has no RIFF/WAVE header"
    return (
        f"{path}: is not a WAV file ({looks}); attune-voice reads WAV: convert it first, "
        f"e.g. sox {source} out.wav{_SOX_NEEDS.get(extension, '')}"
    )


_SOX_NEEDS = {"mp3": " (MP3 needs libsox-fmt-mp3)"}
"""What sox needs beyond itself to read a format."""


def _sniff(head: bytes) -> tuple[str, str]:
    """Return (kind, usual extension) of a file from its first bytes; ("", "") if unknown."""
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF", "aiff"
    for offset, magic, kind, extension in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return kind, extension
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # An MPEG audio frame sync; layer bits 00 with it mean an ADTS AAC stream instead.
        return ("AAC", "aac") if head[1] & 0x06 == 0 else ("MP3", "mp3")
    if _looks_like_text(head):
        return "text", ""
    return "", ""


def _looks_like_text(head: bytes) -> bool:
    # Cut a possibly split UTF-8 character off the end before decoding.
    for cut in range(4):
        try:
            text = head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return bool(text) and all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)
    return False


__all__ = [
    "MAX_CHANNELS",
    "MAX_RATE_HZ",
    "MIN_RATE_HZ",
    "WavInfo",
    "WavWriter",
    "read_wav",
    "read_wav_16k",
    "wav_info",
    "write_wav",
]
