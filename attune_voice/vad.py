"""Speech detection and the segmenter state machine (also the sole webrtcvad import).

One detector serves live sessions, the simulated room and ``attune-voice analyze``.
It works on 10 ms sub-frames, each described by a few numbers computed for a whole
block at once (numpy, no per-sample Python loop):

- the level in two bands, the voice band (about 300-900 Hz, where voicing lives and
  rumble, hum and traffic do not) and the presence band (pre-emphasised, mostly above
  1.5 kHz: consonants and whispers), each against its own noise floor, tracked by
  minimum statistics so that the detector adapts to the room instead of trusting one
  fixed threshold;
- periodicity: the normalised autocorrelation of the voice band over 32 ms at 2 kHz,
  searched over pitch periods of 2.5-16 ms (400-62 Hz). Voiced speech is periodic at
  any level and under broadband noise; fans, traffic, clicks and slams are not;
- whether the pitch is *held* as a musical note holds it (a voice glides), and how
  much of the last second's pitched sound was held: music is periodic too;
- webrtcvad's decision, which also hears unvoiced speech (a whisper), asked only for
  sub-frames that are strong, not musical and not the decay of a knock.

A sub-frame is *sound* when either band stands above its floor, and *voiced* when it
is periodic, not held, and its voice band stands above its floor (or webrtcvad hears
speech there). Speech is sound that holds enough voicing; its edges are where that
sound begins and ends (consonants and fading endings included), never padded, and
pauses shorter than ``merge_gap_s`` are merged. With a microphone per partner, a
channel only speaks where it is close to the loudest channel, so crosstalk stays
with the partner who made it.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import Pcm
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig

SUBFRAME_SAMPLES = SAMPLE_RATE_HZ // 100
SUBFRAME_S = SUBFRAME_SAMPLES / SAMPLE_RATE_HZ
_SILENT_DBFS = -100.0
_FLOOR_MIN_DBFS = -96.0
"""Digital silence would put the floor at minus infinity; any dither is then "sound"."""

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# --- the voice band at 2 kHz -------------------------------------------------------

_DECIMATION = 8
"""16 kHz to 2 kHz by averaging 8 samples: a low-pass with its null at 2 kHz."""
_BAND_SAMPLES = SUBFRAME_SAMPLES // _DECIMATION
_HIGHPASS_TAPS = 4
"""Subtracting a 4-sample running mean at 2 kHz removes what lies below about 300 Hz."""
_WINDOW = 64
"""32 ms at 2 kHz: two periods of the lowest pitch searched."""
_MIN_LAG = 5
_MAX_LAG = 32
"""Pitch periods searched, in 2 kHz samples: 2.5-16 ms (400-62 Hz)."""
_LAGS = np.arange(_MIN_LAG - 1, _MAX_LAG + 2)
_PRE_EMPHASIS = 0.95
_HELD_SUBFRAMES = 5
_HELD_TOLERANCE = 0.01
"""A pitch is held when it is within 1% of the pitch 50 ms before."""
_PITCHED = 0.5
"""Periodicity from which a pitch period is meaningful enough to compare."""
_SHARE_SUBFRAMES = 100
_MUSIC_SHARE = 0.5
"""Above this share of held pitches over the last second, the sound is music."""
_MUSIC_MEMORY_SUBFRAMES = 500
_FULL_SCALE_POWER = 32768.0 * 32768.0
_CUE_FLOOR_DBFS = -55.0
_CUE_MAX_GAIN_DB = 30.0
"""webrtcvad hears best at a talking level: a quiet room is lifted so that its floor
sits near -55 dBFS (never lowered, by 30 dB at most)."""


def _seconds(subframe_index: int) -> float:
    # Computed from samples exactly as Frame.t is, so equal instants compare equal.
    return subframe_index * SUBFRAME_SAMPLES / SAMPLE_RATE_HZ


def _db(power: Floats) -> Floats:
    return np.asarray(10.0 * np.log10(np.maximum(power, 1e-10)), dtype=np.float64)


class VoicingDetector(Protocol):
    """Says which 10 ms sub-frames of 16 kHz int16 audio hold speech."""

    def speech(self, pcm: Pcm) -> Bools:
        """One decision per whole 10 ms sub-frame of the 1-D ``pcm``, in order."""
        ...


class WebRtcVoicing:
    """webrtcvad behind the ``VoicingDetector`` protocol.

    It is fed every sub-frame, quiet ones included: its own noise model adapts to what
    it hears, and it only knows the room if it hears the room. It judges 20 ms at a
    time (a live frame), which halves its cost; one decision covers both sub-frames.
    """

    def __init__(self, aggressiveness: int) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)

    def speech(self, pcm: Pcm) -> Bools:
        data = pcm.tobytes()
        width = 2 * SUBFRAME_SAMPLES
        count = len(data) // width
        is_speech = self._vad.is_speech
        pairs = np.fromiter(
            (
                is_speech(data[k * width : (k + 2) * width], SAMPLE_RATE_HZ)
                for k in range(0, count - 1, 2)
            ),
            dtype=bool,
            count=count // 2,
        )
        decisions = np.repeat(pairs, 2)
        if count % 2:
            last = is_speech(data[(count - 1) * width : count * width], SAMPLE_RATE_HZ)
            decisions = np.append(decisions, bool(last))
        return decisions


def subframe_dbfs(pcm: Pcm) -> Floats:
    """RMS level in dBFS of each 10 ms sub-frame of a 1-D int16 block."""
    usable = pcm[: len(pcm) - len(pcm) % SUBFRAME_SAMPLES].astype(np.float32)
    blocks = usable.reshape(-1, SUBFRAME_SAMPLES)
    power = np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64) / SUBFRAME_SAMPLES
    return _db(power / _FULL_SCALE_POWER)


def level_dbfs(pcm: Pcm) -> float:
    """Overall RMS level of a block in dBFS."""
    if pcm.size == 0:
        return _SILENT_DBFS
    samples = pcm.astype(np.float64)
    power = float(np.mean(samples * samples)) / _FULL_SCALE_POWER
    return 10.0 * math.log10(max(power, 1e-10))


# --- features ------------------------------------------------------------------------


@dataclass(frozen=True)
class Features:
    """What the detector knows about each 10 ms sub-frame; arrays shaped (channels, n)."""

    level_dbfs: Floats
    """Broadband RMS level."""
    voice_dbfs: Floats
    """Level of the voice band (about 300-900 Hz)."""
    presence_dbfs: Floats
    """Level of the pre-emphasised signal (mostly above 1.5 kHz)."""
    periodicity: Floats
    """Peak normalised autocorrelation of the voice band over pitch periods, 0 to 1."""
    held_pitch: Bools
    """The pitch period is the same (within 1%) as 50 ms before: a held musical note.
    A speaking voice glides, so this holds for few of its voiced sub-frames."""
    held_share: Floats
    """Of the pitched sub-frames in the last second, the share with a held pitch:
    above one half it is music, not a voice."""
    music_heard: Bools
    """Music has been heard (``held_share`` above one half) in the last 5 seconds."""
    fading: Bools
    """The presence band is lower than 20 ms before: the decay after a knock or a
    slam (or the end of a word)."""


@dataclass(frozen=True)
class _Levels:
    """What ``FeatureExtractor`` measures first: levels, shaped (channels, n)."""

    level_dbfs: Floats
    voice_dbfs: Floats
    presence_dbfs: Floats
    fading: Bools
    band: npt.NDArray[np.float32]
    """The voice band itself at 2 kHz, shaped (channels, 20 n), for the pitch analysis."""


class FeatureExtractor:
    """Computes ``Features`` for consecutive blocks of audio, all channels at once.

    Blocks may be any whole number of sub-frames; the few samples and values each
    step needs from the previous block are kept, so a stream cut into 20 ms frames
    gives the features of the same stream in one piece.
    """

    def __init__(self, channels: int = 1) -> None:
        self.channels = channels
        self._last_sample = np.zeros((channels, 1), dtype=np.float32)
        self._band_history = np.zeros((channels, _HIGHPASS_TAPS - 1), dtype=np.float32)
        self._window_history = np.zeros((channels, _WINDOW - _BAND_SAMPLES), dtype=np.float32)
        self._period_history = np.zeros((channels, _HELD_SUBFRAMES))
        self._presence_history = np.full((channels, 2), _SILENT_DBFS)
        self._pitched_and_held = _RunningSum((2, channels), _SHARE_SUBFRAMES)
        self._musical = _RunningSum((channels,), _MUSIC_MEMORY_SUBFRAMES)

    def feed(self, pcm: Pcm) -> Features:
        """Features of a block shaped (channels, samples), or (samples,) for one."""
        return self._pitch(self._levels(pcm))

    def _levels(self, pcm: Pcm) -> _Levels:
        channels = self.channels
        x = pcm.reshape(channels, -1).astype(np.float32)
        count = x.shape[1] // SUBFRAME_SAMPLES
        x = x[:, : count * SUBFRAME_SAMPLES]
        frames = x.reshape(channels, count, SUBFRAME_SAMPLES)
        level = np.einsum("ckn,ckn->ck", frames, frames)

        previous = np.concatenate((self._last_sample, x[:, :-1]), axis=1)
        self._last_sample = x[:, -1:] if count else self._last_sample
        emphasised = (x - np.float32(_PRE_EMPHASIS) * previous).reshape(frames.shape)
        presence = np.einsum("ckn,ckn->ck", emphasised, emphasised)

        band = self._voice_band(x)
        band_frames = band.reshape(channels, count, _BAND_SAMPLES)
        voice = np.einsum("ckn,ckn->ck", band_frames, band_frames)

        scale = 1.0 / (SUBFRAME_SAMPLES * _FULL_SCALE_POWER)
        presence_dbfs = _db(presence * scale)
        recent = np.concatenate((self._presence_history, presence_dbfs), axis=1)
        self._presence_history = recent[:, count:]
        return _Levels(
            level_dbfs=_db(level * scale),
            voice_dbfs=_db(voice * (_DECIMATION * scale)),
            presence_dbfs=presence_dbfs,
            fading=recent[:, 2:] < recent[:, :-2],
            band=band,
        )

    def _pitch(self, levels: _Levels) -> Features:
        channels, count = levels.level_dbfs.shape
        # Each sub-frame's periodicity looks at the 32 ms that end with it.
        padded = np.concatenate((self._window_history, levels.band), axis=1)
        self._window_history = padded[:, padded.shape[1] - self._window_history.shape[1] :]
        step_channel, step_sample = padded.strides
        windows = _view(
            padded,
            (channels, count, _WINDOW),
            (step_channel, _BAND_SAMPLES * step_sample, step_sample),
        )
        strength, period = _periodicity(windows.reshape(channels * count, _WINDOW))
        periodicity = strength.reshape(channels, count)
        pitched_period = np.where(periodicity >= _PITCHED, period.reshape(channels, count), 0.0)

        periods = np.concatenate((self._period_history, pitched_period), axis=1)
        self._period_history = periods[:, count:]
        before, now = periods[:, :count], periods[:, _HELD_SUBFRAMES:]
        held = (before > 0.0) & (now > 0.0) & (np.abs(now - before) < _HELD_TOLERANCE * now)
        counts = self._pitched_and_held.add(np.stack((now > 0.0, held)).astype(np.float64))
        held_share = counts[1] / np.maximum(counts[0], 1.0)
        music_heard = self._musical.add((held_share > _MUSIC_SHARE).astype(np.float64)) > 0
        return Features(
            level_dbfs=levels.level_dbfs,
            voice_dbfs=levels.voice_dbfs,
            presence_dbfs=levels.presence_dbfs,
            periodicity=periodicity,
            held_pitch=held,
            held_share=held_share,
            music_heard=music_heard,
            fading=levels.fading,
        )

    def _voice_band(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        decimated = x[:, 0::_DECIMATION].copy()
        for phase in range(1, _DECIMATION):
            decimated += x[:, phase::_DECIMATION]
        decimated *= np.float32(1.0 / _DECIMATION)
        extended = np.concatenate((self._band_history, decimated), axis=1)
        self._band_history = extended[:, decimated.shape[1] :]
        width = decimated.shape[1]
        running = decimated.copy()
        for shift in range(1, _HIGHPASS_TAPS):
            start = _HIGHPASS_TAPS - 1 - shift
            running += extended[:, start : start + width]
        band: npt.NDArray[np.float32] = decimated - running * np.float32(1.0 / _HIGHPASS_TAPS)
        return band


class _RunningSum:
    """Sums over the last ``window`` sub-frames, ending at each one, across blocks."""

    def __init__(self, shape: tuple[int, ...], window: int) -> None:
        self._history = np.zeros((*shape, window))
        self._window = window

    def add(self, values: Floats) -> Floats:
        count = values.shape[-1]
        joined = np.concatenate((self._history, values), axis=-1)
        self._history = joined[..., count:]
        sums = np.cumsum(joined, axis=-1)
        result: Floats = sums[..., self._window :] - sums[..., :count]
        return result


def _view(
    base: npt.NDArray[np.float32],
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    first: int = 0,
) -> npt.NDArray[np.float32]:
    """A read-only strided view of a C-contiguous array, from its element ``first``.

    The same as numpy's ``as_strided``, at a fraction of its cost per call: it matters
    for a live 20 ms frame, where these views are made twice per frame.
    """
    view: npt.NDArray[np.float32] = np.ndarray(
        shape, dtype=base.dtype, buffer=base, offset=first * base.itemsize, strides=strides
    )
    view.flags.writeable = False
    return view


def _periodicity(windows: npt.NDArray[np.float32]) -> tuple[Floats, Floats]:
    """Peak normalised autocorrelation over the pitch lags, and the pitch period there
    (in 2 kHz samples, interpolated), one value per window row.

    Each lag compares the window's head with its tail (both of length 64 - lag),
    normalised by both energies, so a pure periodic signal scores 1 whatever its level
    and noise scores near 0. Only interior peaks count: a correlation that merely falls
    from lag 0 (low-pass noise, rumble) has none.
    """
    rows = windows.shape[0]
    if rows == 0:
        return np.zeros(0), np.zeros(0)
    # float32 throughout: twice as fast as float64 and ample for a correlation. The
    # zero padding makes every lag one slice of a single view: one call for all lags.
    padded = np.zeros((rows, _WINDOW + _LAGS[-1] + 1), dtype=np.float32)
    padded[:, :_WINDOW] = windows
    step_row, step_sample = padded.strides
    shifted = _view(
        padded, (rows, len(_LAGS), _WINDOW), (step_row, step_sample, step_sample), _LAGS[0]
    )
    products = np.einsum("rn,rkn->rk", windows, shifted)
    squares = np.cumsum(windows * windows, axis=1, dtype=np.float32)
    energies = squares[:, _WINDOW - 1 - _LAGS] * (squares[:, -1:] - squares[:, _LAGS - 1])
    corr = products / np.sqrt(np.maximum(energies, np.float32(1e-6)))
    inner = corr[:, 1:-1]
    peaks = (inner > corr[:, :-2]) & (inner >= corr[:, 2:])
    candidates = np.where(peaks, inner, -1.0)
    best = np.argmax(candidates, axis=1)
    index = np.arange(rows)
    before, at, after = corr[index, best], corr[index, best + 1], corr[index, best + 2]
    # The true peak usually falls between two lags at 2 kHz: fit a parabola through it.
    curve = before - 2.0 * at + after
    bent = curve < -1e-9
    safe = np.where(bent, curve, -1.0)
    top = np.where(bent, at - 0.125 * (before - after) ** 2 / safe, at)
    offset = np.where(bent, 0.5 * (before - after) / safe, 0.0)
    found = candidates[index, best] > 0.0
    strength: Floats = np.where(found, np.clip(top, 0.0, 1.0), 0.0).astype(np.float64)
    period: Floats = np.where(found, _LAGS[best + 1] + offset, 0.0).astype(np.float64)
    return strength, period


# --- the noise floor -------------------------------------------------------------------


class FloorTracker:
    """Noise floors in dBFS for several series at once (rows), by minimum statistics.

    Each floor follows quieter levels at once and rises slowly (``rise_db_per_s``),
    so speech cannot pull it up within a turn but a fan switched on is learnt within
    seconds. It tracks the level smoothed over ``smooth_subframes`` (a power average),
    which keeps it near the noise's typical level rather than its deepest dips.
    """

    def __init__(self, rows: int, rise_db_per_s: float = 3.0, smooth_subframes: int = 1) -> None:
        self.dbfs = np.full(rows, -60.0)
        self._rise_db = rise_db_per_s * SUBFRAME_S
        self._primed = False
        self._smooth = max(1, smooth_subframes)
        self._recent = np.zeros((rows, self._smooth - 1))
        """Powers of the last sub-frames, for the running average."""

    def track(self, levels_dbfs: Floats) -> Floats:
        """Take levels shaped (rows, n); return the floor after each, same shape."""
        count = levels_dbfs.shape[-1]
        if count == 0:
            return np.zeros(levels_dbfs.shape)
        powers = 10.0 ** (np.asarray(levels_dbfs, dtype=np.float64) / 10.0)
        if self._smooth > 1:
            if not self._primed:
                self._recent[:] = powers[:, :1]
            joined = np.concatenate((self._recent, powers), axis=1)
            sums = np.cumsum(joined, axis=1)
            window = sums[:, self._smooth - 1 :].copy()
            window[:, 1:] -= sums[:, : count - 1]
            powers = window / self._smooth
            self._recent = joined[:, count:]
        smoothed = np.maximum(_db(powers), _FLOOR_MIN_DBFS)
        if not self._primed:
            self.dbfs = smoothed[:, 0].copy()
            self._primed = True
        # floor[k] = min(level[k], floor[k - 1] + rise): a running minimum of the levels
        # minus a ramp, plus the ramp.
        ramp = self._rise_db * np.arange(1, count + 1)
        lowest = np.minimum.accumulate(np.minimum(smoothed - ramp, self.dbfs[:, None]), axis=1)
        floors: Floats = lowest + ramp
        self.dbfs = floors[:, -1].copy()
        return floors


class NoiseFloor:
    """One noise floor (see ``FloorTracker``), fed one level or a run of levels."""

    def __init__(self, rise_db_per_s: float = 3.0, smooth_subframes: int = 1) -> None:
        self._tracker = FloorTracker(1, rise_db_per_s, smooth_subframes)

    @property
    def dbfs(self) -> float:
        return float(self._tracker.dbfs[0])

    def update(self, level_dbfs: float) -> float:
        """Take one sub-frame's level; return the floor after it."""
        return float(self._tracker.track(np.array([[level_dbfs]]))[0, 0])

    def track(self, levels_dbfs: Floats) -> Floats:
        """Take consecutive sub-frame levels; return the floor after each."""
        floors: Floats = self._tracker.track(np.asarray(levels_dbfs, dtype=np.float64)[None])[0]
        return floors


# --- the segmenter ------------------------------------------------------------------------


@dataclass(frozen=True)
class Onset:
    """Speech has started (confirmed); ``t`` is its refined start."""

    t: float
    channel: int


@dataclass(frozen=True)
class Segment:
    """One speech segment on one channel, seconds since session start."""

    start_t: float
    end_t: float
    channel: int

    @property
    def duration_s(self) -> float:
        return self.end_t - self.start_t


class SegmenterState(enum.Enum):
    SILENCE = "silence"
    ONSET = "onset"
    SPEECH = "speech"
    HANGOVER = "hangover"


class Segmenter:
    """Turns per-sub-frame evidence (sound, voicing) into segments, for one channel.

    ::

        SILENCE --voiced--> ONSET --voiced for min_speech_s--> SPEECH   (emit Onset)
        ONSET --no voicing for confirm_window_s--> SILENCE  (a click, a bump: dropped)
        SPEECH --quiet--> HANGOVER
        SPEECH --sound but no voicing for merge_gap_s--> SILENCE         (emit Segment)
        HANGOVER --sound within consonant_gap_s, or voicing--> SPEECH   (a short pause)
        HANGOVER --quiet for merge_gap_s--> SILENCE                      (emit Segment)
        any --gate--> SILENCE                                  (emit Segment if open)

    A segment starts where the sound that leads into its voicing begins (a soft
    consonant, at most ``onset_lookback_s`` before the voicing) and ends where its last
    sound stops. Sound further than ``consonant_gap_s`` from speech counts only when
    voicing follows it, so a lone bump in the noise never stretches a segment; and
    sound that goes on without voicing (music or a tap running on after the words)
    ends the speech at its last voicing. Time is the sub-frame index: nothing here
    reads a clock.
    """

    def __init__(self, config: DetectorConfig, channel: int = 0) -> None:
        self.state = SegmenterState.SILENCE
        self._channel = channel
        self._min_voiced = max(1, round(config.min_speech_s / SUBFRAME_S))
        self._confirm_window = max(self._min_voiced, round(config.confirm_window_s / SUBFRAME_S))
        self._merge_gap = max(1, round(config.merge_gap_s / SUBFRAME_S))
        self._lookback = max(0, round(config.onset_lookback_s / SUBFRAME_S))
        self._bridge = max(1, round(config.consonant_gap_s / SUBFRAME_S))
        self._resume_voiced = max(1, round(config.resume_voiced_s / SUBFRAME_S))
        self._start = 0
        """Sub-frame index where the current speech starts."""
        self._last_sound_end = 0
        """Sub-frame index just past the last sound of the current speech."""
        self._last_voiced = 0
        """Sub-frame index just past the last voicing of the current speech."""
        self._tentative: int | None = None
        """Where sound resumed after a pause, too far from the speech to join it alone."""
        self._voiced: deque[int] = deque()
        """Indices of recent voiced sub-frames, while confirming."""
        self._runs: deque[tuple[int, int]] = deque(maxlen=64)
        """Recent finished runs of sound [start, end), to find where an onset began."""
        self._run_start: int | None = None

    def step(self, index: int, sound: bool, voiced: bool) -> tuple[Onset | None, Segment | None]:
        """Advance by the sub-frame ``index``: whether it held sound, and voicing."""
        sound = sound or voiced
        self._remember(index, sound)
        onset: Onset | None = None
        segment: Segment | None = None
        state = self.state
        if state is SegmenterState.SILENCE:
            if voiced:
                self.state = SegmenterState.ONSET
                self._voiced.clear()
                self._voiced.append(index)
                onset = self._confirm()
        elif state is SegmenterState.ONSET:
            if voiced:
                self._voiced.append(index)
                onset = self._confirm()
            elif index - self._voiced[-1] >= self._confirm_window:
                self.state = SegmenterState.SILENCE
        elif state is SegmenterState.SPEECH:
            if voiced:
                self._last_voiced = index + 1
            elif not sound:
                self.state = SegmenterState.HANGOVER
                self._last_sound_end = index
                self._voiced.clear()
                self._tentative = None
            elif index + 1 - self._last_voiced >= self._merge_gap:
                self._last_sound_end = self._last_voiced
                segment = self._close()
        else:  # HANGOVER
            if voiced:
                self._voiced.append(index)
                while self._voiced[0] <= index - self._confirm_window:
                    self._voiced.popleft()
            if len(self._voiced) >= self._resume_voiced:
                self.state = SegmenterState.SPEECH
                self._last_voiced = index + 1
            elif sound and index - self._last_sound_end < self._bridge:
                self.state = SegmenterState.SPEECH
            elif not sound:
                self._tentative = None
                if index + 1 - self._last_sound_end >= self._merge_gap:
                    segment = self._close()
            elif self._tentative is None:
                self._tentative = index
            elif index + 1 - self._tentative >= self._merge_gap:
                # Sound that has not led to voicing in a merge gap is not this speech.
                segment = self._close()
        return onset, segment

    def run(
        self, first_index: int, sound: Bools, voiced: Bools
    ) -> tuple[list[Onset], list[Segment]]:
        """Step through consecutive sub-frames from ``first_index``.

        The result is exactly that of calling ``step`` on each; stretches where the
        state cannot change (silence without voicing, speech without a pause) are
        crossed in one move, which is what makes an hour of audio quick.
        """
        onsets: list[Onset] = []
        segments: list[Segment] = []
        sound = sound | voiced
        if len(sound) <= _STEP_BELOW:
            pairs = zip(sound.tolist(), voiced.tolist(), strict=True)
            for k, (is_sound, is_voiced) in enumerate(pairs):
                onset, segment = self.step(first_index + k, is_sound, is_voiced)
                if onset is not None:
                    onsets.append(onset)
                if segment is not None:
                    segments.append(segment)
            return onsets, segments
        voiced_at = np.flatnonzero(voiced)
        quiet_at = np.flatnonzero(~sound)
        count = len(sound)
        k = 0
        while k < count:
            if self.state is SegmenterState.SILENCE:
                upto = _next(voiced_at, k, count)
            elif self.state is SegmenterState.SPEECH:
                upto = self._speech_until(first_index, k, _next(quiet_at, k, count), voiced_at)
            else:
                upto = k
            if upto > k:
                if self.state is SegmenterState.SPEECH:
                    last = int(np.searchsorted(voiced_at, upto)) - 1
                    if last >= 0 and voiced_at[last] >= k:
                        self._last_voiced = first_index + int(voiced_at[last]) + 1
                self._remember_span(first_index + k, sound[k:upto])
                k = upto
                continue
            onset, segment = self.step(first_index + k, bool(sound[k]), bool(voiced[k]))
            if onset is not None:
                onsets.append(onset)
            if segment is not None:
                segments.append(segment)
            k += 1
        return onsets, segments

    def _speech_until(
        self, first_index: int, k: int, quiet: int, voiced_at: npt.NDArray[np.intp]
    ) -> int:
        """Where speech next needs a step: its next quiet sub-frame, or the first one
        after voicing has been missing for a merge gap (indices relative to the block)."""
        voicing = voiced_at[np.searchsorted(voiced_at, k) : np.searchsorted(voiced_at, quiet)]
        after = np.concatenate(([self._last_voiced - first_index], voicing + 1))
        following = np.concatenate((voicing, [quiet + self._merge_gap]))
        long_gaps = np.flatnonzero(following - after >= self._merge_gap)
        timeout = int(after[long_gaps[0]]) + self._merge_gap - 1
        return min(quiet, max(timeout, k))

    def gate(self, index: int) -> Segment | None:
        """The microphone is gated from sub-frame ``index``: close any open segment."""
        segment: Segment | None = None
        if self.state is SegmenterState.SPEECH:
            self._last_sound_end = index
            segment = self._close()
        elif self.state is SegmenterState.HANGOVER:
            segment = self._close()
        self.state = SegmenterState.SILENCE
        self._runs.clear()
        self._run_start = None
        return segment

    def _confirm(self) -> Onset | None:
        while self._voiced[0] <= self._voiced[-1] - self._confirm_window:
            self._voiced.popleft()
        if len(self._voiced) < self._min_voiced:
            return None
        self.state = SegmenterState.SPEECH
        self._start = self._onset_start(self._voiced[0])
        self._last_voiced = self._voiced[-1] + 1
        return Onset(_seconds(self._start), self._channel)

    def _close(self) -> Segment:
        self.state = SegmenterState.SILENCE
        return Segment(_seconds(self._start), _seconds(self._last_sound_end), self._channel)

    def _remember(self, index: int, sound: bool) -> None:
        if sound and self._run_start is None:
            self._run_start = index
        elif not sound and self._run_start is not None:
            self._runs.append((self._run_start, index))
            self._run_start = None

    def _remember_span(self, first_index: int, sound: Bools) -> None:
        """``_remember`` for each of a stretch of sub-frames, at once."""
        was_open = self._run_start is not None
        edges = np.diff(np.concatenate(([was_open], sound)).astype(np.int8))
        starts = (np.flatnonzero(edges == 1) + first_index).tolist()
        ends = (np.flatnonzero(edges == -1) + first_index).tolist()
        if was_open and ends:
            assert self._run_start is not None
            starts.insert(0, self._run_start)
        elif was_open:
            return
        kept = self._runs.maxlen or 0
        # The last run may still be open: it has a start and no end yet.
        pairs = list(zip(starts, ends, strict=False))[-kept:]
        self._runs.extend(pairs)
        self._run_start = starts[-1] if len(starts) > len(ends) else None

    def _onset_start(self, first_voiced: int) -> int:
        # Walk back from the first voicing over the sound before it, across gaps
        # shorter than a consonant gap, but no further than the lookback.
        earliest = first_voiced - self._lookback
        start = first_voiced
        if self._run_start is not None and self._run_start <= first_voiced:
            start = self._run_start
        for run_start, run_end in reversed(self._runs):
            if run_start >= start:
                continue
            if start - run_end >= self._bridge or run_end <= earliest:
                break
            start = run_start
        return max(start, earliest)


_STEP_BELOW = 16
"""Blocks this short (a live 20 ms frame is two sub-frames) are simply stepped through."""


def _next(indices: npt.NDArray[np.intp], k: int, count: int) -> int:
    """The first of the sorted ``indices`` at or after ``k``, else ``count``."""
    at = int(np.searchsorted(indices, k))
    return int(indices[at]) if at < len(indices) else count


# --- channels -----------------------------------------------------------------------------


class ChannelDetector:
    """Speech decisions and segments for every channel of a stream of frames.

    With several channels (one microphone per partner), a channel counts as speaking
    only where it is within ``channel_margin_db`` of the loudest channel, so that a
    partner's voice leaking into the other microphone is not taken for the other
    partner.
    """

    def __init__(
        self,
        config: DetectorConfig,
        channels: int,
        voicing: list[VoicingDetector] | None = None,
    ) -> None:
        self._config = config
        self.channels = channels
        if voicing is None and config.webrtcvad_cue:
            voicing = [WebRtcVoicing(config.aggressiveness) for _ in range(channels)]
        self._voicing = voicing
        self._features = FeatureExtractor(channels)
        # Rows: each channel's broadband, voice-band and presence-band levels.
        self._floors = FloorTracker(3 * channels, config.noise_rise_db_per_s, smooth_subframes=5)
        self._segmenters = [Segmenter(config, channel) for channel in range(channels)]
        self._index = 0
        """Sub-frames consumed: the detector's clock."""

    @property
    def t(self) -> float:
        return _seconds(self._index)

    def noise_floor_dbfs(self, channel: int = 0) -> float:
        """The broadband noise floor of a channel."""
        return float(self._floors.dbfs[3 * channel])

    def evidence(self, pcm: Pcm) -> tuple[Bools, Bools]:
        """Sound and voicing of each sub-frame of a (channels, samples) block, shaped
        (channels, sub-frames); advances the features and floors, not the segmenters."""
        config = self._config
        features = self._features.feed(pcm)
        levels = np.stack((features.level_dbfs, features.voice_dbfs, features.presence_dbfs), 1)
        channels, _, count = levels.shape
        floors = self._floors.track(levels.reshape(3 * channels, count)).reshape(levels.shape)
        margins = levels - floors
        broadband, voice, presence = margins[:, 0], margins[:, 1], margins[:, 2]
        sound = (voice >= config.voice_sound_margin_db) | (presence >= config.sound_margin_db)
        # Where music plays, its note changes look like a voice for a moment; a voice
        # over music stands well above it (the floor has learnt the music).
        voice_needed = np.where(
            features.music_heard, config.music_voice_margin_db, config.voiced_margin_db
        )
        voiced = (
            (features.periodicity >= config.periodicity_min)
            & (voice >= voice_needed)
            & ~features.held_pitch
            & (features.held_share < _MUSIC_SHARE)
        )
        if self._voicing is not None:
            # webrtcvad hears unvoiced speech (a whisper) too; it is asked only where
            # the sound is strong, not musical and not the decay of a knock.
            eligible = (
                (broadband >= config.energy_margin_db)
                & (presence >= config.energy_margin_db)
                & (features.held_share < _MUSIC_SHARE)
                & ~features.held_pitch
                & ~features.fading
            )
            gain_db = np.clip(_CUE_FLOOR_DBFS - floors[:, 0], 0.0, _CUE_MAX_GAIN_DB)
            voiced |= self._cue(pcm.reshape(channels, -1), eligible, 10.0 ** (gain_db / 20.0))
        sound |= voiced
        if channels > 1:
            loudest = features.level_dbfs.max(axis=0)
            own = features.level_dbfs >= loudest - config.channel_margin_db
            sound &= own
            voiced &= own
        return sound, voiced

    def _cue(self, pcm: Pcm, eligible: Bools, gain: Floats) -> Bools:
        assert self._voicing is not None
        channels, count = eligible.shape
        samples = pcm[:, : count * SUBFRAME_SAMPLES]
        decisions = np.zeros(eligible.shape, dtype=bool)
        for channel in range(channels):
            audio = samples[channel]
            if np.any(gain[channel] != 1.0):
                lifted = audio.reshape(count, SUBFRAME_SAMPLES) * gain[channel, :, None].astype(
                    np.float32
                )
                np.clip(lifted, -32768, 32767, out=lifted)
                audio = lifted.astype(np.int16).reshape(-1)
            decisions[channel] = self._voicing[channel].speech(audio)
        result: Bools = decisions & eligible
        return result

    def feed(self, pcm: Pcm) -> tuple[list[Onset], list[Segment]]:
        """Process a (channels, samples) block whose length is a multiple of 10 ms."""
        onsets: list[Onset] = []
        segments: list[Segment] = []
        sound, voiced = self.evidence(pcm)
        count = sound.shape[1]
        for channel in range(self.channels):
            found = self._segmenters[channel].run(self._index, sound[channel], voiced[channel])
            onsets.extend(found[0])
            segments.extend(found[1])
        self._index += count
        onsets.sort(key=lambda o: o.t)
        segments.sort(key=lambda s: s.end_t)
        return onsets, segments

    def skip(self, samples: int) -> list[Segment]:
        """Gated audio (a prompt playing): close open segments and advance the clock."""
        segments = [s for s in (seg.gate(self._index) for seg in self._segmenters) if s is not None]
        self._index += samples // SUBFRAME_SAMPLES
        return segments

    def flush(self) -> list[Segment]:
        """End of stream: close any open segment."""
        return [s for s in (seg.gate(self._index) for seg in self._segmenters) if s is not None]
