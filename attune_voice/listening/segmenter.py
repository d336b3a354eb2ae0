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
        return Onset(subframe_t(self._start), self._channel)

    def _close(self) -> Segment:
        self.state = SegmenterState.SILENCE
        return Segment(subframe_t(self._start), subframe_t(self._last_sound_end), self._channel)

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
