"""WAV reading and writing: every accepted encoding, damaged files, and one-line errors."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from attune_voice.audio.resample import resample, to_float32, to_int16
from attune_voice.audio.wav import WavWriter, read_wav, read_wav_16k, wav_info, write_wav
from attune_voice.errors import AudioFileError


def _tool(name: str, *args: str | Path) -> None:
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed")
    subprocess.run([name, *map(str, args)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few seconds of espeak-ng speech: 22050 Hz mono 16-bit."""
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    _tool("espeak-ng", "-w", path, "Over to you. Say back what you heard, then ask one question.")
    return path


def _format_tag(path: Path) -> int:
    """The format tag of a canonical WAV header (what sox writes): 1 PCM, 3 float, 0xFFFE."""
    tag: int = struct.unpack("<H", path.read_bytes()[20:22])[0]
    return tag


def _chunk(chunk_id: bytes, body: bytes, claimed_bytes: int | None = None) -> bytes:
    size = len(body) if claimed_bytes is None else claimed_bytes
    return struct.pack("<4sI", chunk_id, size) + body + (b"\x00" if len(body) % 2 else b"")


def _fmt(
    channels: int = 1, rate_hz: int = 16000, bits: int = 16, tag: int = 1, extra: bytes = b""
) -> bytes:
    frame_bytes = channels * ((bits + 7) // 8)
    body = struct.pack("<HHIIHH", tag, channels, rate_hz, rate_hz * frame_bytes, frame_bytes, bits)
    return _chunk(b"fmt ", body + extra)


def _riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return struct.pack("<4sI", b"RIFF", len(body)) + body


def _write(path: Path, content: bytes | str) -> Path:
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    return path


def _pcm(samples: list[int]) -> bytes:
    return np.array(samples, dtype="<i2").tobytes()


# Writing and reading back


@pytest.mark.parametrize("rate_hz", [16000, 44100])
def test_int16_round_trip_is_exact(tmp_path: Path, rate_hz: int) -> None:
    pcm = np.random.default_rng(5).integers(-32768, 32768, size=(2, 5000)).astype(np.int16)
    pcm[:, :2] = [[-32768, 32767], [32767, -32768]]
    write_wav(tmp_path / "a.wav", pcm, rate_hz)
    samples, read_rate_hz = read_wav(tmp_path / "a.wav")
    assert read_rate_hz == rate_hz
    assert samples.dtype == np.float32
    np.testing.assert_array_equal(to_int16(samples), pcm)


def test_one_dimensional_pcm_is_one_channel(tmp_path: Path) -> None:
    pcm = np.arange(-500, 500, dtype=np.int16)
    write_wav(tmp_path / "mono.wav", pcm)
    samples, _ = read_wav(tmp_path / "mono.wav")
    np.testing.assert_array_equal(to_int16(samples), pcm.reshape(1, -1))


def test_wav_writer_streams_blocks(tmp_path: Path) -> None:
    blocks = [np.full((2, n), n, dtype=np.int16) for n in (320, 1, 0, 4000)]
    with WavWriter(tmp_path / "stream.wav", channels=2) as writer:
        for block in blocks:
            writer.write(block)
    assert writer.frames_written == 4321
    np.testing.assert_array_equal(read_wav_16k(tmp_path / "stream.wav"), np.concatenate(blocks, 1))
    writer.close()  # closing twice does nothing


def test_stdlib_wave_reads_what_we_write(tmp_path: Path) -> None:
    import wave

    write_wav(tmp_path / "a.wav", np.zeros((3, 10), dtype=np.int16), 22050)
    with wave.open(str(tmp_path / "a.wav")) as reader:
        assert (reader.getnchannels(), reader.getframerate(), reader.getnframes()) == (3, 22050, 10)


def test_the_coach_s_marks_are_kept_in_a_chunk_others_skip(tmp_path: Path) -> None:
    import wave

    path = tmp_path / "session.wav"
    with WavWriter(path, channels=1) as writer:
        for coach in (False, True, True, False, True):
            writer.write(np.full(320, 7, dtype=np.int16), coach=coach)
    info = wav_info(path)
    assert info.coach_frames == ((320, 960), (1280, 1600))
    assert info.frames == 1600
    assert read_wav_16k(path).shape == (1, 1600)
    with wave.open(str(path)) as reader:  # the RIFF size counts the chunk: still whole
        assert reader.getnframes() == 1600
    assert path.stat().st_size == struct.unpack("<I", path.read_bytes()[4:8])[0] + 8
    # A file with no prompt in it has no chunk at all.
    write_wav(tmp_path / "plain.wav", np.zeros(320, dtype=np.int16))
    assert wav_info(tmp_path / "plain.wav").coach_frames == ()
    assert b"atvc" not in (tmp_path / "plain.wav").read_bytes()


@pytest.mark.parametrize("body", [b"{not json", b'{"coach_frames": [[5, 2]]}', b"[]"])
def test_damaged_coach_marks_give_one_line_and_say_the_audio_is_whole(
    tmp_path: Path, body: bytes
) -> None:
    content = _riff(_fmt(), _chunk(b"data", _pcm([1, 2, 3])), _chunk(b"atvc", body))
    with pytest.raises(AudioFileError, match=r"where the coach spoke are damaged.*sox in\.wav"):
        wav_info(_write(tmp_path / "marks.wav", content))


def test_writer_refuses_float_samples(tmp_path: Path) -> None:
    with WavWriter(tmp_path / "a.wav", channels=1) as writer, pytest.raises(TypeError):
        writer.write(np.zeros(10, dtype=np.float32))


# Encodings made by sox from real speech


@pytest.mark.parametrize(
    ("sox_args", "tag", "tolerance"),
    [
        (["-b", "24"], 0xFFFE, 0.0),
        (["-t", "wavpcm", "-b", "24"], 1, 0.0),
        (["-b", "32"], 0xFFFE, 0.0),
        (["-e", "floating-point", "-b", "32"], 3, 0.0),
        (["-e", "floating-point", "-b", "64"], 3, 0.0),
        # -D: no dither, so the only change is rounding to the 8-bit step.
        (["-b", "8", "-e", "unsigned", "-D"], 1, 0.5 / 128),
    ],
    ids=["pcm24-extensible", "pcm24", "pcm32-extensible", "float32", "float64", "u8"],
)
def test_sox_encodings_hold_the_same_speech(
    speech: Path, tmp_path: Path, sox_args: list[str], tag: int, tolerance: float
) -> None:
    converted = tmp_path / "converted.wav"
    _tool("sox", speech, *sox_args, converted)
    assert _format_tag(converted) == tag
    original, original_rate_hz = read_wav(speech)
    samples, rate_hz = read_wav(converted)
    assert rate_hz == original_rate_hz == 22050
    assert samples.shape == original.shape
    np.testing.assert_allclose(samples, original, rtol=0, atol=tolerance + 1e-7)


def test_48khz_six_channels_extensible(speech: Path, tmp_path: Path) -> None:
    converted = tmp_path / "six.wav"
    gains = [0.125, 0.25, 0.375, 0.5, 0.625, 0.75]
    # Each channel at its own gain, so that a channel out of order would show.
    remix = [f"1v{gain}" for gain in gains]
    _tool("sox", speech, "-r", "48000", "-c", "6", converted, "remix", *remix)
    assert _format_tag(converted) == 0xFFFE
    samples, rate_hz = read_wav(converted)
    n = round(read_wav(speech)[0].shape[1] * 48000 / 22050)
    assert rate_hz == 48000
    assert samples.shape == (6, n)
    rms = np.sqrt(np.mean(samples.astype(np.float64) ** 2, axis=1))
    np.testing.assert_allclose(rms / rms[0], np.array(gains) / gains[0], rtol=0.01)

    at_16k = read_wav_16k(converted)
    assert at_16k.shape == (6, round(n / 3))
    assert at_16k.dtype == np.int16
    for channel in range(6):
        expected = to_int16(resample(samples[channel], 48000, 16000))
        np.testing.assert_array_equal(at_16k[channel], expected)
    mono = read_wav_16k(converted, mono=True)
    assert mono.shape == (1, round(n / 3))
    mixed = to_int16(resample(samples.mean(axis=0), 48000, 16000))
    np.testing.assert_allclose(mono[0], mixed, atol=1)


def test_read_wav_16k_at_16k_is_the_file_itself(tmp_path: Path) -> None:
    pcm = np.random.default_rng(2).integers(-30000, 30000, size=(1, 999)).astype(np.int16)
    write_wav(tmp_path / "a.wav", pcm)
    np.testing.assert_array_equal(read_wav_16k(tmp_path / "a.wav"), pcm)


# Hand-made files for what sox never writes


def test_unknown_chunks_and_odd_sizes_are_skipped(tmp_path: Path) -> None:
    samples = [1, -2, 3, -32768, 32767]
    content = _riff(
        _chunk(b"LIST", b"INFOx"),  # odd size: one pad byte follows
        _chunk(b"junk", b"abc"),
        _fmt(),
        _chunk(b"bext", b"\x00" * 7),
        _chunk(b"data", _pcm(samples)),
        _chunk(b"LIST", b"trailing"),
    )
    pcm, rate_hz = read_wav(_write(tmp_path / "chunks.wav", content))
    assert rate_hz == 16000
    assert to_int16(pcm).tolist() == [samples]


def test_format_after_data_is_found(tmp_path: Path) -> None:
    content = _riff(_chunk(b"data", _pcm([5, 6, 7])), _fmt(rate_hz=8000))
    pcm, rate_hz = read_wav(_write(tmp_path / "late_fmt.wav", content))
    assert (rate_hz, to_int16(pcm).tolist()) == (8000, [[5, 6, 7]])


def test_rf64_data_size_comes_from_ds64(tmp_path: Path) -> None:
    samples = [10, 20, 30, 40]
    ds64 = _chunk(b"ds64", struct.pack("<QQQI", 0, 8, 4, 0))
    content = b"RF64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + ds64 + _fmt()
    content += _chunk(b"data", _pcm(samples), claimed_bytes=0xFFFFFFFF) + _chunk(b"LIST", b"xy")
    pcm, _ = read_wav(_write(tmp_path / "rf64.wav", content))
    assert to_int16(pcm).tolist() == [samples]


def test_float_nan_and_infinity_become_finite(tmp_path: Path) -> None:
    body = np.array([0.5, np.nan, np.inf, -np.inf, 1e30], dtype="<f4").tobytes()
    content = _riff(_fmt(bits=32, tag=3), _chunk(b"data", body))
    pcm, _ = read_wav(_write(tmp_path / "nan.wav", content))
    assert pcm.tolist() == [[0.5, 0.0, 1.0, -1.0, 1000.0]]


def test_extensible_pcm16_is_read(tmp_path: Path) -> None:
    guid = struct.pack("<H", 1) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    extension = struct.pack("<HHI", 22, 16, 0x3) + guid
    content = _riff(
        _fmt(channels=2, tag=0xFFFE, extra=extension), _chunk(b"data", _pcm([1, 2, 3, 4]))
    )
    pcm, _ = read_wav(_write(tmp_path / "ext.wav", content))
    assert to_int16(pcm).tolist() == [[1, 3], [2, 4]]


def test_truncated_inside_the_audio_reads_whole_frames(tmp_path: Path) -> None:
    pcm = np.random.default_rng(9).integers(-32768, 32768, size=(2, 1000)).astype(np.int16)
    path = tmp_path / "cut.wav"
    write_wav(path, pcm)
    path.write_bytes(path.read_bytes()[:-7])  # 998 whole 4-byte frames and 1 byte
    assert wav_info(path).truncated
    samples, _ = read_wav(path)
    np.testing.assert_array_equal(to_int16(samples), pcm[:, :998])


def test_a_header_claiming_4gb_reads_the_100_bytes_there(tmp_path: Path) -> None:
    content = _riff(_fmt()) + struct.pack("<4sI", b"data", 0xFFFFFFF0) + _pcm(list(range(50)))
    path = _write(tmp_path / "huge_claim.wav", content)
    tracemalloc.start()
    try:
        samples, _ = read_wav(path)
        at_16k = read_wav_16k(path)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert to_int16(samples).tolist() == [list(range(50))]
    assert at_16k.shape == (1, 50)
    assert peak_bytes < 1_000_000  # nothing sized from the 4 GB claim


# Files that cannot be read: one line naming the problem and what is accepted

_TEXT = "Exercise notes\nSpeak for two minutes, then switch.\n"
_BAD_FILES: list[tuple[str, bytes | str, str]] = [
    ("empty", b"", r"is empty \(0 bytes\)"),
    ("short", b"RI", r"WAV header is truncated"),
    ("10-byte header", b"RIFF\x24\x00\x00\x00WA", r"WAV header is truncated \(the file is only 10"),
    ("text", _TEXT, r"is not a WAV file \(it looks like text\)"),
    (
        "fake mp3",
        b"ID3\x04\x00\x00\x00\x00\x00\x21" + b"\x00" * 64,
        r"is not a WAV file \(it looks like MP3\); attune-voice reads WAV: convert it first, "
        r"e\.g\. sox in\.mp3 out\.wav \(MP3 needs libsox-fmt-mp3\)",
    ),
    ("mp3 frames", b"\xff\xfb\x90\x64" + b"\x00" * 64, r"looks like MP3"),
    ("ogg", b"OggS\x00\x02" + b"\x00" * 64, r"looks like OGG.*sox in\.ogg out\.wav"),
    ("flac", b"fLaC\x00\x00\x00\x22" + b"\x00" * 64, r"looks like FLAC"),
    ("aiff", b"FORM\x00\x00\x00\x40AIFFCOMM" + b"\x00" * 64, r"looks like AIFF"),
    ("binary", bytes(range(1, 200)), r"is not a WAV file \(it has no RIFF/WAVE header\)"),
    ("avi", b"RIFF\x40\x00\x00\x00AVI LIST" + b"\x00" * 64, r"RIFF 'AVI' file, not a WAV file"),
    ("no fmt", _riff(_chunk(b"data", _pcm([1, 2]))), r"no format \('fmt '\) chunk"),
    ("no data", _riff(_fmt()), r"has no audio data \(no 'data' chunk\)"),
    (
        "empty data",
        _riff(_fmt(), _chunk(b"data", b"")),
        r"has no audio \(its data chunk is empty\)",
    ),
    (
        "less than a frame",
        _riff(_fmt(channels=2)) + struct.pack("<4sI", b"data", 400) + b"\x01\x02",
        r"has no audio .*less than one 4-byte sample frame",
    ),
    (
        "0 channels",
        _riff(_fmt(channels=0), _chunk(b"data", b"\x00" * 8)),
        r"says 0 channels.*1 to 8",
    ),
    (
        "9 channels",
        _riff(_fmt(channels=9), _chunk(b"data", b"\x00" * 18)),
        r"has 9 channels.*1 to 8",
    ),
    (
        "0 Hz",
        _riff(_fmt(rate_hz=0), _chunk(b"data", b"\x00" * 8)),
        r"sample rate of 0 Hz.*4000 to 384000",
    ),
    ("1 MHz", _riff(_fmt(rate_hz=1_000_000), _chunk(b"data", b"\x00" * 8)), r"of 1000000 Hz"),
    ("100 Hz", _riff(_fmt(rate_hz=100), _chunk(b"data", b"\x00" * 8)), r"of 100 Hz"),
    (
        "16-bit float",
        _riff(_fmt(bits=16, tag=3), _chunk(b"data", b"\x00" * 8)),
        r"16-bit float WAV is not supported; use 16-, 24- or 32-bit PCM, 32-bit float, mu-law",
    ),
    (
        "unknown tag",
        _riff(_fmt(tag=0x1234), _chunk(b"data", b"\x00" * 8)),
        r"16-bit format 0x1234 WAV is not supported",
    ),
    ("cut fmt", _riff(struct.pack("<4sI", b"fmt ", 16) + b"\x01\x00"), r"WAV header is truncated"),
]


@pytest.mark.parametrize(
    ("content", "message"), [c[1:] for c in _BAD_FILES], ids=[c[0] for c in _BAD_FILES]
)
def test_unreadable_files_say_why_in_one_line(
    tmp_path: Path, content: bytes | str, message: str
) -> None:
    path = _write(tmp_path / "bad.wav", content)
    for reader in (read_wav, read_wav_16k, wav_info):
        with pytest.raises(AudioFileError, match=message) as caught:
            reader(path)
        assert str(caught.value).startswith(f"{path}: ")
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("sox_args", "message"),
    [
        (
            ["-e", "ima-adpcm"],
            r"4-bit IMA ADPCM WAV is not supported; use 16-, 24- or 32-bit PCM, 32-bit float, "
            r"mu-law or A-law WAV \(e\.g\. convert with: sox in\.wav -b 16 out\.wav\)",
        ),
        (["-e", "ms-adpcm"], r"4-bit Microsoft ADPCM WAV is not supported"),
    ],
    ids=["ima-adpcm", "ms-adpcm"],
)
def test_compressed_wav_is_refused(
    speech: Path, tmp_path: Path, sox_args: list[str], message: str
) -> None:
    converted = tmp_path / "compressed.wav"
    _tool("sox", speech, *sox_args, converted)
    with pytest.raises(AudioFileError, match=message):
        read_wav(converted)


@pytest.mark.parametrize("law", ["mu-law", "a-law"])
def test_telephone_mu_law_and_a_law_read_as_sox_decodes_them(
    speech: Path, tmp_path: Path, law: str
) -> None:
    """Every one of the 256 codes of a G.711 file decodes to the value sox gives it."""
    companded = tmp_path / f"{law}.wav"
    _tool("sox", speech, "-e", law, companded)
    assert _format_tag(companded) in (6, 7)
    decoded = tmp_path / "decoded.wav"
    _tool("sox", companded, "-b", "16", "-e", "signed-integer", decoded)
    ours, rate_hz = read_wav(companded)
    theirs, _ = read_wav(decoded)
    assert rate_hz == wav_info(speech).rate_hz
    np.testing.assert_array_equal(ours, theirs)
    original, _ = read_wav(speech)
    # Companding keeps the speech: its error is a small part of the signal.
    error = float(np.sqrt(np.mean((ours - original) ** 2)))
    assert error < 0.05 * float(np.sqrt(np.mean(original**2)))
    table = tmp_path / "codes.wav"
    codes = bytes(range(256))
    tag = 7 if law == "mu-law" else 6
    fmt = struct.pack("<HHIIHH", tag, 1, 8000, 8000, 1, 8)
    _write(table, _riff(_chunk(b"fmt ", fmt), _chunk(b"data", codes)))
    decoded_table = tmp_path / "codes16.wav"
    _tool("sox", table, "-b", "16", "-e", "signed-integer", decoded_table)
    np.testing.assert_array_equal(read_wav(table)[0], read_wav(decoded_table)[0])


def test_a_folder_is_not_a_wav_file(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match=r"is a folder, not a WAV file$"):
        read_wav(tmp_path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match=r"missing\.wav: no such file$"):
        read_wav_16k(tmp_path / "missing.wav")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_says_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "locked.wav"
    write_wav(path, np.zeros(10, dtype=np.int16))
    path.chmod(0)
    with pytest.raises(AudioFileError, match=r"permission denied: cannot read it$"):
        read_wav(path)


# Write failures


def test_writing_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "out.wav"
    with pytest.raises(AudioFileError, match=r"cannot write: the folder .*such does not exist$"):
        write_wav(path, np.zeros(10, dtype=np.int16))


def test_writing_over_a_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match=r"is a folder"):
        WavWriter(tmp_path, channels=1)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_one_clear_error() -> None:
    with (
        pytest.raises(
            AudioFileError, match=r"^/dev/full: cannot write it: No space left on device$"
        ),
        WavWriter("/dev/full", channels=2) as writer,
    ):
        for _ in range(10):
            writer.write(np.zeros((2, 16000), dtype=np.int16))


def test_float_conversions_used_by_the_writer_are_exact(tmp_path: Path) -> None:
    pcm: npt.NDArray[np.int16] = np.array([[-32768, -1, 0, 1, 32767]], dtype=np.int16)
    write_wav(tmp_path / "edges.wav", to_int16(to_float32(pcm)))
    assert to_int16(read_wav(tmp_path / "edges.wav")[0]).tolist() == pcm.tolist()
