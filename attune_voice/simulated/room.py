"""The simulated room: two virtual partners, the prompts' echo and background noise.

The echo path is a real one for the echo canceller to learn: the speaker's high-pass,
a delay, and the room's reverberation.

It is a duplex audio adapter like the device: the engine cannot tell them apart. Its
own record of who really spoke when (``truth``) is for tests and benchmarks and is
never handed to the engine.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from attune_voice.audio.echo_gate import REFERENCE_LEAD_S
from attune_voice.audio.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, STOP_FADE_S, Frame, Pcm
from attune_voice.config import RoomConfig
from attune_voice.events import PARTNERS, PromptMeaning
from attune_voice.simulated.partners import Behaviour, PartnerVoice, Plan

Float = npt.NDArray[np.float32]
_NOISE_SECONDS = 7
_HAND_OVERS = ("key", "handover")
_REVERB_S = 0.18
_SPEAKER_TAPS = 129
"""Length of the speaker's high-pass (linear phase: it adds 4 ms to the echo's delay)."""


@dataclass(frozen=True)
class TruthSegment:
    """What a partner really said, seconds since session start (speech edges)."""

    partner: str
    start_t: float
    end_t: float
    kind: str


@dataclass
class _Playing:
    partner: str
    """A or B, "echo" (the prompt as the microphones hear it) or "prompt" (dry)."""
    start: int
    pcm: Float
    kind: str
    heard: list[_Playing] | None = None
    """For a dry prompt: its echo and its monitor copy, cut with it when it stops."""


def _db(gain_db: float) -> float:
    return float(10.0 ** (gain_db / 20.0))


_FAR = "@far"
"""A partner's voice at the other partner's microphone, in a room that echoes."""
_FAR_DELAY = 64
"""4 ms: the other microphone is further away."""
_LIVING_ROOM_RT60_S = 0.35
_ROOM_MICROPHONE_TAIL_DB = 0.0
"""One microphone for the room, about a metre from each partner: as much tail as voice
(beyond the room's critical distance, about 0.7 m at RT60 0.35 s in a living room)."""


def _tail(rng: np.random.Generator, tail_db: float) -> Float:
    """A room's response: the voice itself, then a decaying tail ``tail_db`` under it."""
    length = int(_LIVING_ROOM_RT60_S * SAMPLE_RATE_HZ)
    t = np.arange(length) / SAMPLE_RATE_HZ
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / _LIVING_ROOM_RT60_S)
    tail[: int(0.003 * SAMPLE_RATE_HZ)] = 0.0
    tail *= _db(tail_db) / math.sqrt(float(np.sum(tail**2)))
    tail[0] = 1.0
    return tail.astype(np.float32)


def _rms(pcm: Float) -> float:
    return float(np.sqrt(np.mean(pcm * pcm))) if pcm.size else 0.0


class SimulatedRoom:
    """Plays the prompts into a room where two simulated partners react to them."""

    real_time = False

    def __init__(
        self,
        voices: dict[str, PartnerVoice],
        config: RoomConfig,
        max_seconds: float = 4 * 3600.0,
    ) -> None:
        self.channels = config.microphones
        self._config = config
        rng = np.random.default_rng(config.seed)
        self._over_rng = np.random.default_rng([config.seed, 19])
        self._words_rng = np.random.default_rng([config.seed, 23])
        self._behaviour = Behaviour(rng, voices, SAMPLE_RATE_HZ)
        self._noise = self._make_noise(rng)
        self._echo_ir = self._room_response(rng)
        self._speech_gain = {
            "A": _db(config.speech_dbfs),
            "B": _db(config.speech_dbfs + config.partner_b_offset_db),
        }
        # Rows: microphones; columns: partner A, partner B.
        crosstalk = _db(config.crosstalk_db)
        self._living_room = config.living_room
        tails = np.random.default_rng([config.seed, 23])  # the seed's session unchanged
        if self.channels == 1:
            self._mic_gain = np.array([[1.0, 1.0]], dtype=np.float32)
            if self._living_room:
                # Each partner sits elsewhere: a room response of their own.
                self._near_ir = {p: _tail(tails, _ROOM_MICROPHONE_TAIL_DB) for p in PARTNERS}
        elif self._living_room:
            # Each voice's path to the other microphone is a sound of its own (``_far``).
            self._mic_gain = np.eye(2, dtype=np.float32)
            near = _tail(tails, -8.0)
            self._near_ir = dict.fromkeys(PARTNERS, near)
            self._far_ir = np.concatenate(
                [np.zeros(_FAR_DELAY, dtype=np.float32), _tail(tails, 0.0) * crosstalk]
            )
        else:
            self._mic_gain = np.array([[1.0, crosstalk], [crosstalk, 1.0]], dtype=np.float32)
        self._microphone_gain = (
            np.array([[1.0], [_db(config.microphone_b_db)]], dtype=np.float32)
            if self.channels == 2 and config.microphone_b_db
            else None
        )
        """Each microphone's own gain, on all it hears (None: alike)."""
        self._sample = 0
        self._max_samples = int(max_seconds * SAMPLE_RATE_HZ)
        self._pending: list[Plan] = []
        self._sounds: list[_Playing] = []
        """Everything audible now or later: partners' lines, prompt echoes."""
        self._prompt_spans: list[tuple[int, int]] = []
        self._dry: list[_Playing] = []
        """The prompts as played, the echo canceller's reference (``Frame.played``)."""
        self._echo_delay = int(config.echo_delay_ms * SAMPLE_RATE_HZ / 1000) + _SPEAKER_TAPS // 2
        self.monitor_prompts = False
        """Also mix a listener's version (dry prompts, no noise) into ``monitor``."""
        self.monitor: npt.NDArray[np.float32] | None = None
        self._prompt_end = 0
        """Sample where the queued prompt audio ends (dry, before its echo)."""
        self.truth: list[TruthSegment] = []
        self._closed = False

    @property
    def voice_commands(self) -> bool:
        """The partners hand over and answer by voice: set when the session has a model."""
        return self._behaviour.voice_commands

    @voice_commands.setter
    def voice_commands(self, on: bool) -> None:
        self._behaviour.voice_commands = on

    # --- set-up ---------------------------------------------------------------------

    def _make_noise(self, rng: np.random.Generator) -> Float:
        # Pink-ish noise (a fan, a fridge): white noise through a one-pole low-pass.
        # Drawn for two microphones whatever the room has, so that a seed gives the same
        # partners' behaviour with one microphone as with two.
        count = _NOISE_SECONDS * SAMPLE_RATE_HZ
        white = rng.standard_normal((2, count)).astype(np.float32)
        spectrum = np.fft.rfft(white, axis=1)
        freqs = np.fft.rfftfreq(count, 1.0 / SAMPLE_RATE_HZ)
        spectrum /= np.sqrt(np.maximum(freqs, 50.0) / 50.0)
        noise = np.fft.irfft(spectrum, n=count, axis=1).astype(np.float32)
        noise *= _db(self._config.noise_dbfs) / max(_rms(noise), 1e-9)
        kept: Float = noise[: self.channels].copy()
        return kept

    def _room_response(self, rng: np.random.Generator) -> Float:
        length = int(_REVERB_S * SAMPLE_RATE_HZ)
        decay = np.exp(-np.arange(length) / (0.035 * SAMPLE_RATE_HZ)).astype(np.float32)
        ir = (rng.standard_normal(length).astype(np.float32) * decay) * 0.25
        delay = int(self._config.echo_delay_ms * SAMPLE_RATE_HZ / 1000)
        response = np.zeros(delay + length, dtype=np.float32)
        response[delay] = 1.0
        response[delay:] += ir
        # A small speaker: a windowed-sinc high-pass, the far end of the echo path.
        k = np.arange(_SPEAKER_TAPS) - _SPEAKER_TAPS // 2
        cutoff = 2.0 * self._config.speaker_cutoff_hz / SAMPLE_RATE_HZ
        low = np.sinc(cutoff * k) * np.hanning(_SPEAKER_TAPS)
        high = -low / low.sum()
        high[_SPEAKER_TAPS // 2] += 1.0
        response = np.convolve(response, high.astype(np.float32)).astype(np.float32)
        return response * _db(self._config.echo_db)

    def _convolve(self, signal: Float, response: Float) -> Float:
        size = len(signal) + len(response) - 1
        n_fft = 1 << math.ceil(math.log2(max(size, 2)))
        out = np.fft.irfft(np.fft.rfft(signal, n_fft) * np.fft.rfft(response, n_fft), n_fft)
        return out[:size].astype(np.float32)

    # --- the DuplexAudio contract -----------------------------------------------------

    def play(self, pcm: Pcm, meaning: PromptMeaning | None = None) -> None:
        start = max(self._sample, self._prompt_end)
        dry = pcm.astype(np.float32) / 32768.0
        self._prompt_end = start + len(dry)
        # The microphone hears the prompt until its echo has arrived.
        self._prompt_spans.append((start, self._prompt_end + self._echo_delay))
        heard = [_Playing("echo", start, self._convolve(dry, self._echo_ir), "echo")]
        if self.monitor_prompts:
            heard.append(_Playing("prompt", start, dry, "prompt"))
        self._sounds.extend(heard)
        self._dry.append(_Playing("prompt", start, dry, "prompt", heard))
        if meaning is None:
            # A chime: people let it ring out before they go on, so whatever either
            # partner was about to start during it waits until it has faded. What they
            # meant to do after that waits as long: a partner never starts a line over
            # their own delayed one, and a listener's reaction keeps to its gap.
            end = self._prompt_end + int(0.2 * SAMPLE_RATE_HZ)
            delayed = [p.sample for p in self._pending if start <= p.sample < end]
            if delayed:
                first = min(delayed)
                self._pending = [
                    replace(p, sample=p.sample + (end - start)) if p.sample >= first else p
                    for p in self._pending
                ]
            return
        if meaning.purpose in ("overtime", "piece_end", "floor", "closing") and meaning.addressee:
            self._wrap_up(meaning.addressee, start)
        if meaning.purpose == "floor":
            # The floor is given anew: a hand-over someone still meant to make is moot.
            self._pending = [p for p in self._pending if p.kind not in _HAND_OVERS]
        # The partners hear the prompt end when the microphone does, once the sound has
        # come out of the speaker: they react from then, not from its last sample sent.
        plans = self._behaviour.react(meaning, self._prompt_end + self._echo_delay)
        plans = self._mm_hms_over_words(plans)
        self._pending.extend(self._talk_over(meaning, start, plans))
        self._pending.sort(key=lambda plan: plan.sample)

    def _mm_hms_over_words(self, plans: list[Plan]) -> list[Plan]:
        """Some of the listener's mm-hms moved from the pause after a line into the line
        (``RoomConfig.mm_hms_over_words``), at least 0.3 s inside both its ends."""
        share = self._config.mm_hms_over_words
        if share <= 0.0:
            return plans
        rng = self._words_rng
        margin = int(0.3 * SAMPLE_RATE_HZ)
        moved = []
        for planned in plans:
            plan = planned
            if plan.kind == "backchannel" and plan.pcm is not None and rng.random() < share:
                # The speaker's line the pause follows.
                lines = [
                    (p.sample, len(p.pcm))
                    for p in plans
                    if p.partner != plan.partner and p.pcm is not None and p.sample < plan.sample
                ]
                start, length = lines[-1] if lines else (0, 0)
                room_samples = length - len(plan.pcm) - 2 * margin
                if room_samples > 0:
                    plan = replace(plan, sample=start + margin + int(rng.integers(room_samples)))
            moved.append(plan)
        return moved

    def _talk_over(self, meaning: PromptMeaning, start: int, plans: list[Plan]) -> list[Plan]:
        """Sometimes the holder, checked in on, goes on over the coach's words; what
        they meant to do after the prompt then waits until they have finished."""
        partner = meaning.addressee
        rng = self._over_rng
        if meaning.purpose != "check_in" or partner is None:
            return plans
        if rng.random() >= self._config.talk_over_share:
            return plans
        lines = self._behaviour.voices[partner].lines["share"]
        pcm = lines[int(rng.integers(len(lines)))]
        sample = start + int(rng.uniform(0.4, 1.0) * SAMPLE_RATE_HZ)
        over = Plan(partner, sample, "over", pcm)
        after = sample + len(pcm) + int(rng.uniform(0.5, 1.0) * SAMPLE_RATE_HZ)
        if not plans:
            return [over]
        shift = max(0, after - min(p.sample for p in plans))
        return [over, *(replace(p, sample=p.sample + shift) for p in plans)]

    def _wrap_up(self, partner: str, from_sample: int) -> None:
        # Told the time is up, a partner finishes the sentence under way and says no more.
        self._pending = [p for p in self._pending if p.partner != partner or p.sample < from_sample]

    def stop_prompts(self) -> float:
        """Fade out the prompt playing and drop the rest (a partner talked over it)."""
        cut = self._sample
        if self._prompt_end <= cut:
            return 0.0
        dropped_s = (self._prompt_end - cut) / SAMPLE_RATE_HZ
        fade = round(STOP_FADE_S * SAMPLE_RATE_HZ)
        for sound in self._dry:
            keep = max(0, min(len(sound.pcm), cut + fade - sound.start))
            if keep == len(sound.pcm):
                continue
            dry = sound.pcm[:keep].copy()
            faded = min(keep, max(0, keep - (cut - sound.start)))
            if faded:
                dry[keep - faded :] *= np.linspace(1.0, 0.0, faded, dtype=np.float32)
            sound.pcm = dry
            # The echo of what was played still rings; the echo of the rest never comes.
            for copy in sound.heard or []:
                copy.pcm = self._convolve(dry, self._echo_ir) if copy.kind == "echo" else dry
        self._prompt_end = min(self._prompt_end, cut + fade)
        end = self._prompt_end + self._echo_delay
        self._prompt_spans = [(a, min(b, end)) for a, b in self._prompt_spans if a < end]
        return dropped_s

    def queued_s(self) -> float:
        return max(0, self._prompt_end - self._sample) / SAMPLE_RATE_HZ

    def close(self) -> None:
        self._closed = True

    def frames(self) -> Iterator[Frame]:
        while not self._closed and self._sample < self._max_samples:
            yield self._next_frame()

    # --- mixing -----------------------------------------------------------------------

    def _next_frame(self) -> Frame:
        start = self._sample
        end = start + FRAME_SAMPLES
        keys = self._start_due(end)
        offset = start % self._noise.shape[1]
        if offset + FRAME_SAMPLES <= self._noise.shape[1]:
            mix = self._noise[:, offset : offset + FRAME_SAMPLES].copy()
        else:
            mix = np.roll(self._noise, -offset, axis=1)[:, :FRAME_SAMPLES].copy()
        if self._sounds or self.monitor_prompts:
            self._mix_sounds(mix, start, end)
        self._prompt_spans = [span for span in self._prompt_spans if span[1] > start]
        playing = any(a < end for a, _ in self._prompt_spans)
        # Pre-aligned as the device's echo gate pre-aligns it.
        lead = round(REFERENCE_LEAD_S * SAMPLE_RATE_HZ)
        shift = max(0, self._echo_delay - lead)
        played = self._played(start - shift, end - shift)
        self._sample = end
        if self._microphone_gain is not None:
            mix *= self._microphone_gain
        mix *= 32768.0
        # np.clip's own checks cost more than the clipping of 640 samples.
        np.maximum(mix, -32768.0, out=mix)
        np.minimum(mix, 32767.0, out=mix)
        pcm = mix.astype(np.int16)
        return Frame(pcm=pcm, start_sample=start, playing=playing, keys=keys, played=played)

    def _played(self, start: int, end: int) -> Pcm:
        """What the speaker played in [start, end): the adapter's reference, exact here."""
        out = np.zeros(end - start, dtype=np.float32)
        still: list[_Playing] = []
        for sound in self._dry:
            a = max(start, sound.start)
            b = min(end, sound.start + len(sound.pcm))
            if a < b:
                out[a - start : b - start] += sound.pcm[a - sound.start : b - sound.start]
            if sound.start + len(sound.pcm) > end:
                still.append(sound)
        self._dry = still
        played: Pcm = np.clip(out * 32768.0, -32768, 32767).astype(np.int16)
        return played

    def _mix_sounds(self, mix: npt.NDArray[np.float32], start: int, end: int) -> None:
        """Add the partners' lines and the prompts' echo that sound in [start, end)."""
        sources = np.zeros((2, FRAME_SAMPLES), dtype=np.float32)
        far = np.zeros((2, FRAME_SAMPLES), dtype=np.float32)
        echo = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        prompt = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        targets = {
            "A": sources[0],
            "B": sources[1],
            "A" + _FAR: far[1],  # A's voice at B's microphone
            "B" + _FAR: far[0],
            "echo": echo,
            "prompt": prompt,
        }
        still: list[_Playing] = []
        for sound in self._sounds:
            a = max(start, sound.start)
            b = min(end, sound.start + len(sound.pcm))
            if a < b:
                targets[sound.partner][a - start : b - start] += sound.pcm[
                    a - sound.start : b - sound.start
                ]
            if sound.start + len(sound.pcm) > end:
                still.append(sound)
        self._sounds = still
        mix += self._mic_gain @ sources
        if self._living_room and self.channels == 2:
            mix += far
        mix += echo
        if self.monitor_prompts:
            # What a person in the room hears: both voices and the prompts, full level.
            self.monitor = np.clip((sources[0] + sources[1] + prompt) * 32768.0, -32768, 32767)

    def speak_at(self, partner: str, pcm: Pcm, sample: int, kind: str = "over") -> None:
        """Have ``partner`` say ``pcm`` from ``sample`` on, whatever the coach is doing
        (a benchmark's or a test's line, logged in ``truth`` like any other)."""
        self._pending.append(Plan(partner, max(sample, self._sample), kind, pcm))
        self._pending.sort(key=lambda plan: plan.sample)

    def _start_due(self, end: int) -> tuple[str, ...]:
        keys: list[str] = []
        while self._pending and self._pending[0].sample < end:
            plan = self._pending.pop(0)
            if plan.kind == "key":
                keys.append("pagedown")
                continue
            if plan.kind.startswith("key:"):
                keys.append(plan.kind.removeprefix("key:"))
                continue
            assert plan.pcm is not None
            gain = self._speech_gain[plan.partner]
            audio = plan.pcm.astype(np.float32) / 32768.0
            audio *= gain / max(_rms(audio), 1e-6)
            if self._living_room:
                self._sounds.append(
                    _Playing(
                        plan.partner,
                        plan.sample,
                        self._convolve(audio, self._near_ir[plan.partner]),
                        plan.kind,
                    )
                )
                if self.channels == 2:
                    far = self._convolve(audio, self._far_ir)
                    self._sounds.append(_Playing(plan.partner + _FAR, plan.sample, far, plan.kind))
            else:
                self._sounds.append(_Playing(plan.partner, plan.sample, audio, plan.kind))
            self.truth.append(
                TruthSegment(
                    plan.partner,
                    plan.sample / SAMPLE_RATE_HZ,
                    (plan.sample + len(audio)) / SAMPLE_RATE_HZ,
                    plan.kind,
                )
            )
        return tuple(keys)
