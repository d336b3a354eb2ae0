"""The echo gate: which microphone frames carry the prompts' echo, measured from the audio."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, EchoMove, Pcm
from attune_voice.audio.latency import STREAM_LATENCY_S

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

REFERENCE_LEAD_S = 0.04
"""The echo canceller's reference is pre-aligned to lead the echo by this much: AEC3's
own delay search fails at long delays (600 ms measured), and a reference that comes
after its echo cannot cancel it."""

REFERENCE_LEAD_LEAST_S = 0.02
"""Where the echo has come sooner than ``REFERENCE_LEAD_S`` after its pairing, the lead
is the shortest delay measured, down to this, and kept: a lead cut short by the delay
would change with it, and the canceller learn a new delay each time. Live, the echo
came 20 and 40 ms after its pairing, in turn from one prompt to the next, and each
change let 0.34-1.76 s of a check-in through as speech. Not kept shorter: with a lead of
10 or 20 ms from the start, AEC3 converged more slowly on the simulated room's echo."""

REFERENCE_MOVE_S = 0.01
"""The reference's alignment follows the measured delay when it moves this far, so that
the canceller sees one steady delay: live, the sound server moved the echo by a whole
20 ms block between prompts, and a reference left where it was had the canceller
learn the new delay afresh, taking the prompt for speech from 0.35-0.5 s in. Not
less: each step skips or repeats samples, and a measurement may be off by a few."""

REFERENCE_SETTLE_S = 0.4
"""After a move the alignment follows every measured delay exactly for this long, the
heard window (``ECHO_WINDOW_S``) and one measurement more: until the window holds only
the new echo, a measurement mixes both delays (56 ms for a move from 40 to 60 ms, and
the 4 ms left had the canceller leak the prompt for 3 s)."""

ECHO_CLEAR = 0.9
"""A match counts when no delay outside ``ECHO_TRACK_S`` of it matches this well
relative to it: a steady tone matches itself at many delays, speech at one."""


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


class EchoGate:
    """Says which microphone frames carry the prompts' echo, from what was played and heard.

    The device adapter pairs each input block with the output block played during it
    (``Pairing``), but the sound reaches the microphone later by the air path and by
    whatever the sound server's reported times miss, and that delay can move when the
    server re-buffers: 40 ms at one moment, 220 ms the next, without an error.
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
        self._reference_shift = 0
        """Samples the reference is taken from before the frame: the delay less the lead."""
        self._aligned_delay: int | None = None
        """The delay the shift was last set from; None until the first is measured (then
        the shift moves only by ``REFERENCE_MOVE_S`` or more)."""
        self._settle = -(-round(REFERENCE_SETTLE_S * SAMPLE_RATE_HZ) // frame_samples)
        self._settle_until = -1
        """Frames up to this one follow every measured delay (``REFERENCE_SETTLE_S``)."""
        self.echo_move: EchoMove | None = None
        """Whether the last ``reference()`` found the echo moved (not its first
        alignment), and how the reference followed it."""
        self._lead = round(REFERENCE_LEAD_S * SAMPLE_RATE_HZ)
        """Samples by which the reference leads its echo (``REFERENCE_LEAD_LEAST_S``)."""

    @property
    def delay_s(self) -> float | None:
        """The measured echo delay, or None until the echo has been heard clearly."""
        return None if self._delay is None else self._delay / SAMPLE_RATE_HZ

    def reset(self) -> None:
        """The stream was reopened: its delay is unknown again, and nothing is playing."""
        self._delay = None
        self._aligned_delay = None
        self._settle_until = -1
        self._lead = round(REFERENCE_LEAD_S * SAMPLE_RATE_HZ)
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

    def reference(self) -> Pcm:
        """What was played that echoes into the frame pushed last (the echo canceller's
        reference): the output paired with it until the echo's delay is measured, then
        the output the lead less than that delay before it (``REFERENCE_LEAD_S``, or
        the shortest delay measured, down to ``REFERENCE_LEAD_LEAST_S``), moved when
        the delay moves (``REFERENCE_MOVE_S``; ``echo_move`` says so)."""
        self.echo_move = None
        if self._delay is not None:
            wanted = max(0, self._delay - self._lead)
            if self._aligned_delay is None:
                self._reference_shift, self._aligned_delay = wanted, self._delay
            # Measured on the delay, not the shift: where the echo came sooner than the
            # lead, the shift stays at 0 while the canceller sees the echo move.
            step = abs(self._delay - self._aligned_delay)
            far = step >= REFERENCE_MOVE_S * SAMPLE_RATE_HZ
            if far or (step and self._frames <= self._settle_until):
                seen = self._aligned_delay - self._reference_shift
                self._reference_shift, self._aligned_delay = wanted, self._delay
                followed = self._delay - wanted == seen
                self.echo_move = EchoMove.FOLLOWED if followed else EchoMove.NEW_DELAY
                if far:
                    self._settle_until = self._frames + self._settle
        start = (self._frames - 1) * self._n_frame - self._reference_shift
        positions = np.arange(start, start + self._n_frame) % self._history
        reference: Pcm = self._played[positions].astype(np.int16)
        return reference

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
        explained = np.zeros(lags + 1)
        some = played_energy > 0.0
        explained[some] = products[some] / np.sqrt(played_energy[some] * heard_energy)
        match = np.where(enough, explained, 0.0)
        k = self._best_lag(match, explained)
        if k is None:
            return
        self._delay = lags - k
        least = round(REFERENCE_LEAD_LEAST_S * SAMPLE_RATE_HZ)
        self._lead = max(least, min(self._lead, self._delay))
        self._gain = float(products[k] / played_energy[k])
        low, high = self._delay_range or (self._delay, self._delay)
        self._delay_range = (min(low, self._delay), max(high, self._delay))
        self._heard_any = True
        self._run_measured = True
        self._measurements += 1

    def _best_lag(
        self, match: npt.NDArray[np.float64], explained: npt.NDArray[np.float64]
    ) -> int | None:
        """The lag (index into ``match``) of the echo, or None when the match is unclear.

        ``match[k]`` belongs to a delay of ``len(match) - 1 - k`` samples, and is 0 where
        the prompt was too quiet to measure from; ``explained`` is the same match
        everywhere something was played.
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
            if float(explained[low:high].max()) >= ECHO_CLEAR * best:
                # A pause in the prompt, too quiet to measure from, yet it explains what
                # was heard: the voice's own echo trailing a word (espeak-ng's f2 voice
                # repeats itself 140 ms later at -20 dB) matches that word farther back,
                # and the reference moved there and back mid-prompt, twice a session.
                return None
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


__all__ = [
    "ECHO_CLEAR",
    "ECHO_MARGIN_S",
    "ECHO_MATCH",
    "ECHO_TRACK_S",
    "ECHO_WINDOW_S",
    "MAX_ECHO_DELAY_S",
    "REFERENCE_LEAD_LEAST_S",
    "REFERENCE_LEAD_S",
    "REFERENCE_MOVE_S",
    "REFERENCE_SETTLE_S",
    "EchoGate",
    "EchoReport",
]
