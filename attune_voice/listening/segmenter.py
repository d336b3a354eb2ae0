"""The segmenter state machine: sound and voicing per sub-frame into onsets and segments."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from attune_voice.config import DetectorConfig
from attune_voice.listening.arrays import Bools
from attune_voice.listening.subframes import SUBFRAME_S, subframe_t


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

        SILENCE --voiced--> ONSET
        ONSET --voiced for min_speech_s within confirm_window_s--> SPEECH  (emit Onset)
        ONSET --no voicing for confirm_window_s--> SILENCE  (a click, a bump: dropped)
        SPEECH --voicing stops--> HANGOVER           (the end: where its sound stops)
        HANGOVER --voiced for resume_voiced_s--> SPEECH                 (a short pause)
        HANGOVER --merge_gap_s past the end--> SILENCE                  (emit Segment)
        any --gate--> SILENCE                                  (emit Segment if open)

    Voicing says whether there is speech; sound only places its edges. A voicing
    decision is known ``voicing_delay`` sub-frames after the audio it is about begins
    (the model's window), and the model hears a voice begin and stop a little late. So
    a segment starts where the sound that leads into its voicing begins (at most
    ``onset_lookback_s`` before the voicing; ``voicing_delay`` before it when there is
    no such sound) and ends where its sound stops while voiced (at most
    ``end_lookback_s`` before the voicing stops; where it stops when there is no
    sound), never padded. A pause is the time from that end until voicing resumes.
    Time is the sub-frame index: nothing here reads a clock.
    """

    def __init__(self, config: DetectorConfig, channel: int = 0, voicing_delay: int = 0) -> None:
        self.state = SegmenterState.SILENCE
        self._channel = channel
        self._delay = voicing_delay
        self._min_voiced = max(1, round(config.min_speech_s / SUBFRAME_S))
        self._confirm_window = max(self._min_voiced, round(config.confirm_window_s / SUBFRAME_S))
        self._merge_gap = max(1, round(config.merge_gap_s / SUBFRAME_S))
        self._lookback = max(0, round(config.onset_lookback_s / SUBFRAME_S))
        self._end_lookback = max(0, round(config.end_lookback_s / SUBFRAME_S))
        self._bridge = max(1, round(config.consonant_gap_s / SUBFRAME_S))
        self._resume_voiced = max(1, round(config.resume_voiced_s / SUBFRAME_S))
        self._start = 0
        """Sub-frame index where the current speech starts."""
        self._end = 0
        """Sub-frame index just past the current speech (once its voicing has stopped)."""
        self._last_sound = 0
        """Sub-frame index just past the last sound heard while voiced."""
        self._last_voiced = 0
        """Sub-frame index just past the last voicing of the current speech."""
        self._previous_end = 0
        """Where the last segment ended: the next one never starts before it."""
        self._voiced: deque[int] = deque()
        """Indices of recent voiced sub-frames, while confirming."""
        self._runs: deque[tuple[int, int]] = deque(maxlen=64)
        """Recent finished runs of sound [start, end), to find where an onset began."""
        self._run_start: int | None = None

    def step(self, index: int, sound: bool, voiced: bool) -> tuple[Onset | None, Segment | None]:
        """Advance by the sub-frame ``index``: whether it held sound, and voicing."""
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
                if sound:
                    self._last_sound = index + 1
            else:
                self.state = SegmenterState.HANGOVER
                self._end = self._ending()
                self._voiced.clear()
                segment = self._hangover(index)
        else:  # HANGOVER
            if voiced:
                self._voiced.append(index)
            if len(self._voiced) >= self._resume_voiced:
                self.state = SegmenterState.SPEECH
                self._last_voiced = index + 1
                if sound:
                    self._last_sound = index + 1
            else:
                segment = self._hangover(index)
        return onset, segment

    def _hangover(self, index: int) -> Segment | None:
        while self._voiced and self._voiced[0] <= index - self._confirm_window:
            self._voiced.popleft()
        # Voicing that began within the merge gap may still resume the speech.
        resuming = bool(self._voiced) and self._voiced[0] - self._end < self._merge_gap
        if index + 1 - self._end >= self._merge_gap and not resuming:
            return self._close()
        return None

    def _ending(self) -> int:
        """Where the speech ends, now that its voicing has stopped."""
        earliest = max(self._start + 1, self._last_voiced - self._end_lookback)
        return self._last_sound if self._last_sound >= earliest else self._last_voiced

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
        unvoiced_at = np.flatnonzero(~voiced)
        sound_at = np.flatnonzero(sound)
        count = len(sound)
        k = 0
        while k < count:
            if self.state is SegmenterState.SILENCE:
                upto = _next(voiced_at, k, count)
            elif self.state is SegmenterState.SPEECH:
                upto = _next(unvoiced_at, k, count)
            else:
                upto = k
            if upto > k:
                if self.state is SegmenterState.SPEECH:
                    self._last_voiced = first_index + upto
                    last = int(np.searchsorted(sound_at, upto)) - 1
                    if last >= 0 and sound_at[last] >= k:
                        self._last_sound = first_index + int(sound_at[last]) + 1
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

    def gate(self, index: int) -> Segment | None:
        """The microphone is gated from sub-frame ``index``: close any open segment."""
        segment: Segment | None = None
        if self.state is SegmenterState.SPEECH:
            self._end = self._ending() if self._last_voiced < index else index
            segment = self._close()
        elif self.state is SegmenterState.HANGOVER:
            segment = self._close()
        self.state = SegmenterState.SILENCE
        self._runs.clear()
        self._run_start = None
        self._previous_end = max(self._previous_end, index)
        return segment

    def _confirm(self) -> Onset | None:
        while self._voiced[0] <= self._voiced[-1] - self._confirm_window:
            self._voiced.popleft()
        if len(self._voiced) < self._min_voiced:
            return None
        self.state = SegmenterState.SPEECH
        self._start = self._onset_start(self._voiced[0])
        self._last_voiced = self._voiced[-1] + 1
        if self._run_start is not None:
            self._last_sound = self._last_voiced
        elif self._runs and self._runs[-1][1] > self._start:
            self._last_sound = self._runs[-1][1]
        else:
            self._last_sound = self._start
        return Onset(subframe_t(self._start), self._channel)

    def _close(self) -> Segment:
        self.state = SegmenterState.SILENCE
        self._previous_end = self._end
        return Segment(subframe_t(self._start), subframe_t(self._end), self._channel)

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
        # The sound under way at the first voicing, then back over the sound before it
        # across gaps shorter than a consonant gap, no further than the lookback; with
        # no sound there, the start of the window the first voicing was about.
        earliest = max(first_voiced - self._lookback, self._previous_end)
        start: int | None = None
        if self._run_start is not None and self._run_start <= first_voiced:
            start = self._run_start
        for run_start, run_end in reversed(self._runs):
            reference = first_voiced if start is None else start
            if run_start >= reference:
                continue
            if reference - run_end >= self._bridge or run_end <= earliest:
                break
            start = run_start
        if start is None:
            start = first_voiced - self._delay
        return max(start, earliest, 0)


_STEP_BELOW = 16
"""Blocks this short (a live 20 ms frame is two sub-frames) are simply stepped through."""


def _next(indices: npt.NDArray[np.intp], k: int, count: int) -> int:
    """The first of the sorted ``indices`` at or after ``k``, else ``count``."""
    at = int(np.searchsorted(indices, k))
    return int(indices[at]) if at < len(indices) else count
