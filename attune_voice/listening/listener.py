"""Frames to engine inputs: the speech detector, the recogniser, and the prompts' echo."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from attune_voice.audio.echo_canceller import RESIDUAL_KNOWN_S, EchoCanceller
from attune_voice.audio.echo_gate import REFERENCE_SETTLE_S
from attune_voice.audio.frames import FRAME_SAMPLES, EchoMove, Frame, Pcm
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig
from attune_voice.events import PARTNERS, WordTime
from attune_voice.listening.arrays import Bools
from attune_voice.listening.asr import CommandParser, Utterance, mono
from attune_voice.listening.channels import ChannelDetector
from attune_voice.listening.crosstalk import FarVoices
from attune_voice.listening.enrolment import VoiceEnrolment
from attune_voice.listening.noise_floor import NoiseFloor
from attune_voice.listening.segmenter import Onset, Segment
from attune_voice.listening.silero import Probabilities, SileroStream
from attune_voice.listening.subframes import SUBFRAME_S, subframe_dbfs
from attune_voice.session.ports import (
    Command,
    EngineInput,
    Heard,
    KeyPress,
    SpeechOnset,
    SpeechSegment,
)

UTTERANCE_GAP_S = 0.25
"""A pause this long ends an utterance, so a command is understood this soon after it
is said (the target is 0.3 s). Longer than the pause at a comma in quick speech, so
"Yes, that is right" stays one utterance; shorter than the detector's merge gap, so
the words of a speech segment are known by the time the segment closes."""
REFINE_WINDOW_S = 0.15
"""Word times move a speech segment's edge only when they are this close to it."""
RESIDUAL_MARGIN_DB = 6.0
"""The echo left after cancelling may stand this far above the room's noise floor; any
louder (the canceller not converged, a Bluetooth speaker, a second clock drifting) and
the microphone closes, as it did before there was a canceller."""
RESIDUAL_RELEASE_S = 1.0
RESIDUAL_RELEASE_DB = 3.0
"""Once closed for echo, the microphone opens again only after the echo left has stood
this much inside the margin for this long: a canceller that cannot find the echo dips
in and out of the margin (with a reference 1.2 s off, opening after 0.5 s within it
let 3 stretches of echo through in 20 s of prompts)."""
ECHO_MOVED_CLOSED_S = {EchoMove.FOLLOWED: 0.5, EchoMove.NEW_DELAY: RESIDUAL_KNOWN_S}
"""When the echo's delay moves while a prompt is heard through, the microphone closes
for this long while the canceller finds the echo again (offline, a move of 10-20 ms
mid-prompt let 0.1-2.6 s of the prompt through as speech; live, the sound server moved
it a block now and then): a moment where the reference followed the move; where the
canceller has a new delay to learn, as long as it is given to converge at first
(live, 1.59 s of a check-in leaked where the lead first shortened, and 0.41 s from
2.03 s in after 2 s of closing; offline, 0.6-1.7 s, and 0.29 s after 2 s)."""
ONSET_WAIT_S = REFERENCE_SETTLE_S
"""Over a prompt, the start of speech is passed on only once it is this old: the echo
gate measures a move of the echo once its heard window holds the new delay, up to 0.4 s
after the move, and speech that began since then is the echo the canceller lost,
dropped with its onset. The barge-in counts from the speech's own start, so it is no
later for the wait."""
_HELD_S = 0.3
"""Over a prompt, audio this far back from the speech detector's onset (its window and
confirmation) goes to the recogniser with it."""
_LEVEL_HISTORY_S = 30.0
_WORD_HISTORY = 200


class PauseState(enum.Enum):
    QUIET = "quiet"
    SOUND = "sound"


class PauseDetector:
    """Says when an utterance has ended: a pause of ``gap_s`` after some sound.

    ::

        QUIET --sound for min_sound_s--> SOUND
        SOUND --sound--> SOUND (the pause count restarts)
        SOUND --no sound for gap_s--> QUIET  (the utterance has ended)

    Sound is a 10 ms level ``margin_db`` above the tracked noise floor: cheap, and the
    recogniser decides what the sound was. Time is the sub-frames fed.
    """

    def __init__(
        self, gap_s: float = UTTERANCE_GAP_S, margin_db: float = 9.0, min_sound_s: float = 0.05
    ) -> None:
        self.state = PauseState.QUIET
        self._floor = NoiseFloor()
        self._margin_db = margin_db
        self._gap = round(gap_s / SUBFRAME_S)
        self._min_sound = round(min_sound_s / SUBFRAME_S)
        self._run = 0
        """Sub-frames of sound (QUIET) or of quiet (SOUND) in a row."""

    def feed(self, pcm: Pcm) -> bool:
        """Take mono audio (a multiple of 10 ms); True when an utterance ended in it."""
        levels = subframe_dbfs(pcm)
        floors = self._floor.track(levels)
        ended = False
        for sound in levels >= floors + self._margin_db:
            ended |= self._step(bool(sound))
        return ended

    def _step(self, sound: bool) -> bool:
        if self.state is PauseState.QUIET:
            self._run = self._run + 1 if sound else 0
            if self._run >= self._min_sound:
                self.state = PauseState.SOUND
                self._run = 0
            return False
        self._run = 0 if sound else self._run + 1
        if self._run >= self._gap:
            self.state = PauseState.QUIET
            self._run = 0
            return True
        return False

    def reset(self) -> None:
        """The microphone closed: whatever was under way has ended."""
        self.state = PauseState.QUIET
        self._run = 0


class SpeechRecognizer(Protocol):
    """What the listener needs of ``attune_voice.listening.asr.Recognizer``."""

    def accept(self, pcm: Pcm, t: float) -> list[Utterance]: ...

    def finish(self) -> list[Utterance]: ...


class Understanding:
    """Recognised utterances → engine inputs: commands, answers and transcripts.

    An utterance ends at a vosk endpoint, after ``UTTERANCE_GAP_S`` without sound (a
    ``PauseDetector`` on the same audio), or when the microphone closes for a prompt.
    With a microphone per partner the louder channel over the utterance says who spoke.
    """

    def __init__(
        self,
        recognizer: SpeechRecognizer,
        parser: CommandParser,
        transcripts: bool = False,
    ) -> None:
        self._recognizer = recognizer
        self._parser = parser
        self.transcripts = transcripts
        self._channels = 1
        self._pauses = PauseDetector()
        self._levels: deque[tuple[float, np.ndarray]] = deque(
            maxlen=int(_LEVEL_HISTORY_S * SAMPLE_RATE_HZ / FRAME_SAMPLES)
        )
        self._words: deque[WordTime] = deque(maxlen=_WORD_HISTORY)
        self._open = False
        """Audio went to the recogniser since the microphone last closed."""
        self._speech: tuple[float, float] | None = None
        """Over a prompt, where the speech detector found the partners (``speech_began``);
        None elsewhere."""

    def attach(self, channels: int) -> None:
        """The listener's microphones: with one per partner, channel levels say who spoke."""
        self._channels = channels

    def hear(self, frame: Frame) -> list[EngineInput]:
        """An open-microphone frame."""
        self._open = True
        audio = mono(frame.pcm)
        utterances = self._recognizer.accept(audio, frame.t)
        if self._pauses.feed(audio):
            utterances += self._recognizer.finish()
        if self._channels == 2:
            power = np.mean(frame.pcm.astype(np.float32) ** 2, axis=1)
            self._levels.append((frame.t, power))
        return self._inputs(utterances, frame.end_t)

    def close(self, t: float) -> list[EngineInput]:
        """The microphone closes (a prompt plays) or the audio ends: finish what was said."""
        self._pauses.reset()
        if not self._open:
            self._speech = None
            return []
        self._open = False
        inputs = self._inputs(self._recognizer.finish(), t)
        self._speech = None
        return inputs

    def drop(self) -> None:
        """The microphone closes, and what was heard since it opened was the prompt's
        echo, not a partner: the utterance is ended and its words are not used."""
        self._pauses.reset()
        self._speech = None
        if self._open:
            self._open = False
            self._recognizer.finish()

    def speech_began(self, t: float) -> None:
        """Over a prompt, the speech detector found the partners from ``t`` on in what
        the recogniser hears: a word vosk places mostly before it (or after their
        speech ended, ``speech_ended``) is the echo left around their voice, not theirs.
        Offline at 150-600 ms and -10 to -14 dB of echo, "to" before a command, or
        "not", "i'm" or "out" after it, made it no command. Until ``close``."""
        if self._speech is None:
            self._speech = (t, float("inf"))

    def speech_ended(self, t: float) -> None:
        """Over a prompt, the partners' speech that ``speech_began`` ended at ``t``."""
        if self._speech is not None:
            self._speech = (self._speech[0], t)

    def refine(self, start_t: float, end_t: float) -> tuple[float, float]:
        """A speech segment's edges moved onto the words heard in it, when close by."""
        if not self.transcripts:
            return start_t, end_t
        inside = [
            w
            for w in self._words
            if w.end > start_t - REFINE_WINDOW_S and w.start < end_t + REFINE_WINDOW_S
        ]
        if not inside:
            return start_t, end_t
        first = min(w.start for w in inside)
        last = max(w.end for w in inside)
        if abs(first - start_t) <= REFINE_WINDOW_S:
            start_t = first
        if abs(last - end_t) <= REFINE_WINDOW_S:
            end_t = last
        return start_t, max(end_t, start_t)

    def _partner(self, utterance: Utterance) -> str | None:
        if self._channels != 2:
            return None
        levels = [p for t, p in self._levels if utterance.start_t <= t < utterance.end_t]
        if not levels:
            return None
        return PARTNERS[int(np.argmax(np.sum(levels, axis=0)))]

    def _within_speech(self, utterance: Utterance) -> Utterance:
        """The words of ``utterance`` centred in the partners' speech over a prompt."""
        if self._speech is None:
            return utterance
        start_t, end_t = self._speech
        return Utterance(tuple(w for w in utterance.words if start_t <= w.middle <= end_t))

    def _inputs(self, utterances: list[Utterance], t: float) -> list[EngineInput]:
        inputs: list[EngineInput] = []
        for utterance in map(self._within_speech, utterances):
            if not utterance.words:
                continue
            self._words.extend(utterance.words)
            partner = self._partner(utterance)
            word = self._parser.parse(utterance.text)
            if word is not None:
                inputs.append(Command(t, word, partner))
            if self.transcripts:
                inputs.append(Heard(t, utterance.words, partner))
        return inputs


@dataclass
class EchoFigures:
    """How the prompts' echo was dealt with, for the closing figures."""

    cancelled_frames: int = 0
    """Frames that carried a prompt or its echo and were heard through the canceller."""
    gated_frames: int = 0
    """Frames that carried a prompt or its echo and the microphone was closed for."""
    fallbacks: int = 0
    """Prompts during which the echo left was too loud and the microphone closed."""
    moves: int = 0
    """Times the echo's delay moved while a prompt was heard through, and the microphone
    closed for ``ECHO_MOVED_CLOSED_S``."""

    @property
    def prompt_frames(self) -> int:
        """Frames that carried a prompt or its echo: each was heard through or gated."""
        return self.cancelled_frames + self.gated_frames

    @property
    def prompt_s(self) -> float:
        return self.prompt_frames * FRAME_SAMPLES / SAMPLE_RATE_HZ

    @property
    def gated_s(self) -> float:
        return self.gated_frames * FRAME_SAMPLES / SAMPLE_RATE_HZ

    def summary(self) -> str:
        """One line for the closing figures."""
        if not self.prompt_frames:
            return "prompts' echo: no prompt was heard"
        heard = 100.0 * self.cancelled_frames / self.prompt_frames

        def times(n: int) -> str:
            return f"{n} time" if n == 1 else f"{n} times"

        return (
            f"prompts' echo: heard through {heard:.0f}% of {self.prompt_s:.0f} s of prompts; "
            f"microphone closed for echo {times(self.fallbacks)}, and {times(self.moves)} as "
            f"the echo moved ({self.gated_s:.1f} s in all)"
        )


class Listener:
    """Hears the partners through the prompts' echo and turns frames into engine inputs.

    By default the microphone is closed (gated) while a prompt plays and for
    ``gate_tail_s`` after it: nothing said over the coach is heard. With
    ``hear_through`` (opt-in: ``--hear-through``, ``ATTUNE_HEAR_THROUGH=1`` or
    ``hear_through = true`` in config.toml) and where the audio adapter gives what was
    played (``Frame.played``), an echo canceller
    takes the prompts' echo out of the microphone and, while a prompt or its echo is in
    the microphone, the detector and the recogniser hear the cancelled signal, so speech
    over a prompt is heard. When the echo left stands more than ``RESIDUAL_MARGIN_DB``
    above the room's noise, the microphone is closed (gated) as before until it has
    been quiet for ``RESIDUAL_RELEASE_S``, and counted (``echo.fallbacks``). Without a
    reference, it is always gated.

    With one microphone and ``voices``, each segment is split where the voice changes
    and each part carries the voice it sounds like (``listening/enrolment.py``); once
    both voices are first known, the parts heard before that in the other's voice come
    first, late. With a microphone each and ``far``, the parts of a segment that are the
    other partner's voice heard from afar come marked as such (``listening/crosstalk.py``).
    """

    def __init__(
        self,
        channels: int,
        config: DetectorConfig | None = None,
        understanding: Understanding | None = None,
        voices: VoiceEnrolment | None = None,
        hear_through: bool = False,
        far: FarVoices | None = None,
    ) -> None:
        self._config = config or DetectorConfig()
        self.hear_through = hear_through
        """Listen through the echo canceller while a prompt plays (barge-in); off, the
        microphone is gated around every prompt and ``Frame.played`` is not used."""
        self._detector = ChannelDetector(self._config, channels)
        self._partners: tuple[str | None, ...] = PARTNERS if channels == 2 else (None,) * channels
        self._gate_until_t = 0.0
        self._coach_in = (-1, False)
        """The last frame fed (its first sample), and whether it held the coach."""
        self._channels = channels
        self._canceller: EchoCanceller | None = None
        self._linear_voicing = [SileroStream(self._detector.model) for _ in range(channels)]
        """The voice model on the linear canceller's output, while heard through."""
        self._fallback = False
        """The echo left was too loud: closed until it is quiet again, or the prompts end."""
        self._relearn_until_t = 0.0
        """The echo moved: closed until then while the canceller learns it again."""
        self._waiting: list[Onset] = []
        """Onsets heard through a prompt, not passed on yet (``ONSET_WAIT_S``)."""
        self._quiet_frames = 0
        self.echo = EchoFigures()
        self._speaking = 0
        """Speech onsets not yet ended by their segment."""
        self._held: deque[Frame] = deque(maxlen=round(_HELD_S * SAMPLE_RATE_HZ / FRAME_SAMPLES))
        self.understanding = understanding
        if understanding is not None:
            understanding.attach(channels)
        self.voices = voices if channels == 1 else None
        self.far = far if channels == 2 else None
        if self.far is not None:
            self._detector.balance_db = self.far.balance_db

    def _segment(self, start_t: float, end_t: float, channel: int) -> list[SpeechSegment]:
        if self.understanding is not None:
            start_t, end_t = self.understanding.refine(start_t, end_t)
        partner = self._partners[channel]
        if self.far is not None:
            judged = self.far.parts(start_t, end_t, channel)
            self._detector.balance_db = self.far.balance_db
            return [SpeechSegment(a, b, partner, far=far) for a, b, far in judged]
        if self.voices is None:
            return [SpeechSegment(start_t, end_t, partner)]
        parts = self.voices.parts(start_t, end_t)
        return [
            SpeechSegment(part.start_t, part.end_t, None, part.voice)
            for part in [*self.voices.late_parts(), *parts]
        ]

    def heard_coach(self, frame: Frame) -> bool:
        """Whether ``frame`` held a prompt or its echo, as judged when it was fed (the
        microphone closed for it, or heard it through); for a frame never fed (the
        spoken summary, after the session), whether a prompt was playing."""
        fed_at, coach = self._coach_in
        return coach if fed_at == frame.start_sample else frame.playing

    def feed(self, frame: Frame) -> list[EngineInput]:
        inputs: list[EngineInput] = []
        heard: list[EngineInput] = []
        if self.voices is not None:
            self.voices.hear(frame)
        if self.far is not None:
            self.far.hear(frame)
        if frame.playing:
            self._gate_until_t = frame.end_t + self._config.gate_tail_s
        cancelled = self._cancel(frame)
        echo = frame.playing or frame.t < self._gate_until_t
        self._coach_in = (frame.start_sample, echo)
        move = frame.echo_moved if echo and cancelled is not None else None
        if move is not None:
            if frame.t >= self._relearn_until_t:
                self.echo.moves += 1
            closed_until_t = frame.t + ECHO_MOVED_CLOSED_S[move]
            self._relearn_until_t = max(self._relearn_until_t, closed_until_t)
        through = False
        detected: tuple[Pcm, Bools, Probabilities] | None = None
        if echo:
            relearning = frame.t < self._relearn_until_t
            if cancelled is not None and not relearning and self._echo_cancelled():
                self.echo.cancelled_frames += 1
                detected = self._heard_through(cancelled)
                frame = Frame(cancelled, frame.start_sample, frame.playing, frame.keys)
                echo, through = False, True
        else:
            self._fallback = False
        if not through:
            for voicing in self._linear_voicing:
                voicing.reset()
        if echo:
            # The prompt and its echo are in the microphone: nothing here is a partner.
            self.echo.gated_frames += 1
            lost: set[int] = set()
            if move is not None:
                # What began while its onset waited is the echo the canceller lost.
                lost = {o.channel for o in self._waiting}
                self._waiting.clear()
            if self.understanding is not None:
                if lost:
                    self.understanding.drop()
                else:
                    heard = self.understanding.close(frame.t)
            closed = self._detector.skip(frame.pcm.shape[-1])
            self._speaking = 0
            closed = [s for s in closed if s.channel not in lost]
            for s in closed:
                inputs.extend(self._passed_on(s.channel))
                inputs.extend(self._segment(s.start_t, s.end_t, s.channel))
            inputs.extend(self._passed_on())
        else:
            if detected is None:
                onsets, segments = self._detector.feed(frame.pcm)
            else:
                onsets, segments = self._detector.feed(*detected)
            self._speaking = max(0, self._speaking + len(onsets) - len(segments))
            if self.understanding is not None:
                heard = self._understand(frame, through, onsets, segments)
            self._waiting.extend(onsets)
            inputs.extend(self._passed_on(until_t=frame.end_t if through else None))
            for s in segments:
                inputs.extend(self._passed_on(s.channel))
                inputs.extend(self._segment(s.start_t, s.end_t, s.channel))
        inputs.extend(heard)
        inputs.extend(KeyPress(frame.t, key) for key in frame.keys)
        return inputs

    def _passed_on(
        self, channel: int | None = None, until_t: float | None = None
    ) -> list[EngineInput]:
        """The waiting onsets that go to the engine now: those of ``channel`` (whose
        segment is about to), else those at least ``ONSET_WAIT_S`` old at ``until_t``,
        else all of them."""
        if channel is not None:
            due = [o for o in self._waiting if o.channel == channel]
        elif until_t is not None:
            due = [o for o in self._waiting if o.t + ONSET_WAIT_S <= until_t]
        else:
            due = list(self._waiting)
        self._waiting = [o for o in self._waiting if o not in due]
        return [SpeechOnset(o.t, self._partners[o.channel]) for o in due]

    def _heard_through(self, cancelled: Pcm) -> tuple[Pcm, Bools, Probabilities]:
        """What the detector hears through a prompt, each 10 ms: where the canceller says
        the partners are heard, the linear canceller's output (the voice whole, with the
        model's own thresholds); elsewhere AEC3's (the echo gone, the lower thresholds
        for a muffled voice). AEC3 alone muffled a voice over a loud echo: at -6 and
        -10 dB of echo about half of a line said over a prompt was found. Returns the
        audio, where it is AEC3's, and the model's probability of each sub-frame."""
        canceller = self._canceller
        assert canceller is not None
        near_end = canceller.near_end
        aec3 = self._detector.probabilities(cancelled)
        linear = np.stack(
            [v.feed_subframes(canceller.linear[c]) for c, v in enumerate(self._linear_voicing)]
        )
        samples = np.repeat(near_end, cancelled.shape[-1] // near_end.shape[-1], axis=-1)
        pcm: Pcm = np.where(samples, canceller.linear, cancelled)
        return pcm, ~near_end, np.where(near_end, linear, aec3)

    def _understand(
        self, frame: Frame, through: bool, onsets: list[Onset], segments: list[Segment]
    ) -> list[EngineInput]:
        """The recogniser's inputs from an open-microphone frame.

        Over a prompt the recogniser hears only what the speech detector found, from a
        little before its onset to its end: the echo left, muffled as it is, reads to
        vosk as words ("I'm", "that's") that ran into a command said after them and
        made it no command (2 of 24 heard, against 14 of 24 this way: six voices, two
        rooms at -14 and -10 dB of echo).
        """
        understanding = self.understanding
        assert understanding is not None
        if not through:
            self._held.clear()
            return understanding.hear(frame)
        self._held.append(frame)
        if not self._speaking and not segments:
            return understanding.close(frame.t)
        # The partners' speech ends here: its words are all in, the utterance closes.
        ended = bool(segments) and not self._speaking
        if onsets:
            understanding.speech_began(min(o.t for o in onsets))
        if ended:
            understanding.speech_ended(max(s.end_t for s in segments))
        heard: list[EngineInput] = []
        for held in self._held if onsets else [frame]:
            heard += understanding.hear(held)
        self._held.clear()
        if ended:
            heard += understanding.close(frame.end_t)
        return heard

    def _cancel(self, frame: Frame) -> Pcm | None:
        """The frame with the prompts' echo taken out, or None without a reference or
        when hearing through prompts is off."""
        if not self.hear_through or frame.played is None:
            return None
        if self._canceller is None:
            self._canceller = EchoCanceller(self._channels)
        # Every frame goes through, so the canceller stays aligned and its filter ready;
        # while a partner is heard, its output is theirs, not echo left.
        return self._canceller.process(frame.pcm, frame.played, speaking=self._speaking > 0)

    def _echo_cancelled(self) -> bool:
        """Is the echo left quiet enough to listen through (the fallback's decision)?"""
        canceller = self._canceller
        assert canceller is not None
        if canceller.converged and not self._fallback and canceller.excess_db() is None:
            # A prompt after a long quiet: closed while the echo left is judged afresh.
            return False
        loud = self._echo_left_loud(0.0 if not self._fallback else RESIDUAL_RELEASE_DB)
        if not self._fallback:
            # A partner talking over the prompt raises the output as echo would: while
            # the detector hears them the gate stays open (live, closing then lost the
            # second sentence of a partner who talked through a 6.6 s prompt).
            if loud and not self._speaking:
                self._fallback = True
                self._quiet_frames = 0
                self.echo.fallbacks += 1
            return not self._fallback
        self._quiet_frames = 0 if loud else self._quiet_frames + 1
        if self._quiet_frames * FRAME_SAMPLES >= RESIDUAL_RELEASE_S * SAMPLE_RATE_HZ:
            self._fallback = False
        return not self._fallback

    def _echo_left_loud(self, inside_db: float) -> bool:
        canceller = self._canceller
        assert canceller is not None
        for channel in range(self._channels):
            excess_db = canceller.excess_db(channel)
            if excess_db is None or excess_db > RESIDUAL_MARGIN_DB - inside_db:
                return True
        return False

    def flush(self, t: float = 0.0) -> list[EngineInput]:
        """End of the audio: close open segments and finish the last utterance."""
        heard = self.understanding.close(t) if self.understanding is not None else []
        closed = self._detector.flush()
        segments = [p for s in closed for p in self._segment(s.start_t, s.end_t, s.channel)]
        return [*self._passed_on(), *segments, *heard]
