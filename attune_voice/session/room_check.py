"""The room check: the room's noise, each partner's speaking level, the prompts' echo.

``attune-voice check`` runs it by voice in about a minute, before a first session or
after moving things around. The check speaks, listens and measures; it returns its
measurements and findings (plain advice: move closer, a noisy fan…) and prints
nothing. Its result is saved, and ``run`` turns it into the speech detector's
thresholds with ``detector_config``.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from attune_voice.audio.frames import Frame, Pcm
from attune_voice.config import SAMPLE_RATE_HZ, DetectorConfig
from attune_voice.events import FloorRole, PromptMeaning
from attune_voice.listening.channels import ChannelDetector
from attune_voice.listening.segmenter import Onset, Segment
from attune_voice.listening.subframes import subframe_dbfs
from attune_voice.session.ports import PromptPlayer

SETTING_KEY = "room_check"
"""The store setting the latest result is saved under."""

RESULT_VERSION = 1

NOISY_DBFS = -45.0
"""A room louder than this when nobody speaks has a fan, a fridge or traffic in it."""
MIN_SNR_DB = 15.0
"""A partner's speech should stand this far above the room's noise."""
CLIP_DBFS = -1.0
"""Peaks this close to full scale are clipped: the microphone is overdriven."""
BALANCE_DB = 10.0
"""Partners further apart in level than this sit at very different distances."""
MIN_HEARD_S = 0.5
"""Less speech than this from a partner who was asked to talk: not heard at all."""
APART_DB = 10.0
"""With a microphone each, a partner's speech on the other's microphone should stand
at least this far below their own: a channel is voiced only where it stands within
``DetectorConfig.channel_margin_db`` (9 dB) of the loudest, and each word's peaks
would come within it. Sessions and ``analyze`` then tell the two apart by voice too,
once each partner has spoken (``listening/crosstalk.py``); until then the level alone."""
UNLIKE_DB = 3.0
"""With a microphone each, one microphone hearing alike sound this much quieter than the
other is set lower (its input volume) or is of another make: worth levelling."""
LEAK_WINDOW_S = 1.0
"""Speech starting this soon after a prompt's echo was gated, when nobody was asked to
talk, is the prompt itself getting through."""

_SILENT_DBFS = -100.0

INTRO_TEXT = (
    "Let's check the room. It takes about a minute. "
    "First, please both stay quiet for a few seconds."
)
ASK_TEXT = "{name}, please tell {other} in a sentence or two what you had for breakfast."
THANKS_TEXT = "Thank you."


@dataclass(frozen=True)
class RoomCheckConfig:
    quiet_s: float = 3.0
    """How long the quiet room is measured."""
    listen_s: float = 8.0
    """How long each partner has for their sentence."""
    listen_max_s: float = 14.0
    """Hard end of a partner's turn, even if they are still talking."""
    done_after_s: float = 1.2
    """Quiet after a partner's speech that ends their turn early."""


@dataclass(frozen=True)
class PartnerLevel:
    """How one partner came through the microphone."""

    name: str
    heard_s: float
    """Speech detected while they were asked to talk."""
    level_dbfs: float | None
    """RMS level of that speech; None when none was heard."""
    peak_dbfs: float | None
    """Loudest sample of it."""
    apart_db: float | None = None
    """With a microphone each: how far below their own microphone the other's heard
    that speech (None with one microphone, or when none was heard)."""


@dataclass(frozen=True)
class EchoFigures:
    """What the device measured of the prompts coming back into the microphone."""

    delay_ms: float | None
    gain_db: float | None
    leak_db: float | None
    leaked_ms: float


@dataclass(frozen=True)
class RoomCheckResult:
    noise_dbfs: float
    """The room's level while nobody spoke (median of 10 ms levels)."""
    noise_peak_dbfs: float
    """95th percentile of those levels: bumps and rattles above the steady noise."""
    partners: tuple[PartnerLevel, PartnerLevel]
    prompt_speech_s: float
    """Speech detected right after the prompts' echo, when nobody was asked to talk."""
    echo: EchoFigures | None = None
    """None where the audio adapter does not measure echo (a recording)."""
    input_device: str | None = None
    """The microphone the check heard through, as chosen (``--input`` or the saved
    choice; "" for the system's default); None where not recorded (an older result)."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": RESULT_VERSION,
            "noise_dbfs": _round(self.noise_dbfs),
            "noise_peak_dbfs": _round(self.noise_peak_dbfs),
            "partners": [
                {
                    "name": p.name,
                    "heard_s": _round(p.heard_s),
                    "level_dbfs": _round(p.level_dbfs),
                    "peak_dbfs": _round(p.peak_dbfs),
                    "apart_db": _round(p.apart_db),
                }
                for p in self.partners
            ],
            "prompt_speech_s": _round(self.prompt_speech_s),
            "echo": None,
        }
        if self.input_device is not None:
            data["input_device"] = self.input_device
        if self.echo is not None:
            data["echo"] = {
                "delay_ms": _round(self.echo.delay_ms),
                "gain_db": _round(self.echo.gain_db),
                "leak_db": _round(self.echo.leak_db),
                "leaked_ms": _round(self.echo.leaked_ms),
            }
        return data

    @classmethod
    def from_json(cls, data: Any) -> RoomCheckResult:
        """Rebuild a saved result; ``ValueError`` for anything that is not one."""
        if not isinstance(data, Mapping) or data.get("version") != RESULT_VERSION:
            raise ValueError("not a room check result of this version")
        partners = data.get("partners")
        if not isinstance(partners, list) or len(partners) != 2:
            raise ValueError("a room check result has two partners")
        levels = tuple(
            PartnerLevel(
                name=_text(p, "name"),
                heard_s=_number(p, "heard_s"),
                level_dbfs=_number(p, "level_dbfs", optional=True),
                peak_dbfs=_number(p, "peak_dbfs", optional=True),
                apart_db=_number(p, "apart_db", optional=True),  # absent in older results
            )
            for p in partners
        )
        echo_data = data.get("echo")
        echo = None
        if echo_data is not None:
            echo = EchoFigures(
                delay_ms=_number(echo_data, "delay_ms", optional=True),
                gain_db=_number(echo_data, "gain_db", optional=True),
                leak_db=_number(echo_data, "leak_db", optional=True),
                leaked_ms=_number(echo_data, "leaked_ms"),
            )
        input_device = data.get("input_device")  # absent in older results
        if input_device is not None and not isinstance(input_device, str):
            raise ValueError("a room check's input_device is a name")
        return cls(
            noise_dbfs=_number(data, "noise_dbfs"),
            noise_peak_dbfs=_number(data, "noise_peak_dbfs"),
            partners=(levels[0], levels[1]),
            prompt_speech_s=_number(data, "prompt_speech_s"),
            echo=echo,
            input_device=input_device,
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _number(data: Any, key: str, optional: bool = False) -> Any:
    if not isinstance(data, Mapping):
        raise ValueError(f"expected an object around {key!r}")
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number")
    if not math.isfinite(value):
        raise ValueError(f"{key} must be finite")
    return float(value)


def _text(data: Any, key: str) -> str:
    value = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be text")
    return value


def loads_result(text: str | None) -> RoomCheckResult | None:
    """A saved result, or None when there is none or it cannot be read (then run as if
    no check had been made: the defaults work in most rooms)."""
    if not text:
        return None
    try:
        return RoomCheckResult.from_json(json.loads(text))
    except (ValueError, TypeError):
        return None


# --- findings and thresholds ------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One piece of advice; ``text`` is said aloud and printed."""

    code: str
    """noisy, not_heard, quiet, clipping, unbalanced, mics_unlike, mics_hear_both,
    prompt_heard, or ok."""
    text: str
    partner: str | None = None


def findings(result: RoomCheckResult) -> list[Finding]:
    """What to change, most important first; one "ok" finding when nothing needs to."""
    found: list[Finding] = []
    noise = result.noise_dbfs
    if noise > NOISY_DBFS:
        found.append(
            Finding(
                "noisy",
                "The room is noisy even when you are both quiet. Is a fan, a fridge or "
                "a window open nearby? Turn it off, or sit further from it.",
            )
        )
    heard: list[PartnerLevel] = []
    for partner in result.partners:
        if partner.heard_s < MIN_HEARD_S or partner.level_dbfs is None:
            found.append(
                Finding(
                    "not_heard",
                    f"I did not hear {partner.name}. Check that the microphone is on and "
                    "not muted, then run the check again.",
                    partner.name,
                )
            )
            continue
        heard.append(partner)
        if partner.peak_dbfs is not None and partner.peak_dbfs >= CLIP_DBFS:
            found.append(
                Finding(
                    "clipping",
                    f"{partner.name} is so loud that the sound is distorted. Sit a little "
                    "further from the microphone, or turn its input volume down.",
                    partner.name,
                )
            )
        elif partner.level_dbfs - noise < MIN_SNR_DB:
            found.append(
                Finding(
                    "quiet",
                    f"{partner.name} is hard to hear over the room. Sit closer to the "
                    "microphone, or speak up a little.",
                    partner.name,
                )
            )
    if len(heard) == 2:
        loud, soft = sorted(heard, key=lambda p: p.level_dbfs or _SILENT_DBFS, reverse=True)
        if (loud.level_dbfs or 0.0) - (soft.level_dbfs or 0.0) > BALANCE_DB:
            found.append(
                Finding(
                    "unbalanced",
                    f"{soft.name} sounds much quieter than {loud.name}. Sit at about the "
                    "same distance from the microphone.",
                    soft.name,
                )
            )
    balance_db = microphone_balance_db(result)
    if abs(balance_db) >= UNLIKE_DB:
        louder, quieter = louder_microphone_first(result)
        found.append(
            Finding(
                "mics_unlike",
                f"{quieter.name}'s microphone hears everything about "
                f"{abs(balance_db):.0f} dB quieter than {louder.name}'s. Set the two "
                "microphones' input volumes alike in the sound settings.",
                quieter.name,
            )
        )
    apart = [
        (near_db, p)
        for p, near_db in partner_nearness_db(result)
        if p in heard and near_db < APART_DB
    ]
    if apart:
        _, near = min(apart, key=lambda item: item[0])
        found.append(
            Finding(
                "mics_hear_both",
                f"The other microphone hears {near.name} almost as loudly as "
                f"{near.name}'s own. Move each microphone closer to its own partner, or "
                "the two microphones further apart.",
                near.name,
            )
        )
    if result.prompt_speech_s > 0.0:
        found.append(
            Finding(
                "prompt_heard",
                "My own voice came back into the microphone as if someone spoke. Turn "
                "the speakers down a little, or move them away from the microphone.",
            )
        )
    if not found:
        found.append(Finding("ok", "The room sounds good. You are ready to start."))
    return found


def microphone_balance_db(result: RoomCheckResult | None) -> float:
    """With a microphone each, how much louder partner A's microphone hears alike sound
    than B's (``listening.crosstalk``'s balance), from each partner's speech on both
    microphones: each is as much nearer their own as the other, so half the difference
    of the two partners' ``apart_db`` is the microphones'; 0 when not measured."""
    if result is None or len(result.partners) != 2:
        return 0.0
    a, b = result.partners
    if a.apart_db is None or b.apart_db is None or min(a.heard_s, b.heard_s) < MIN_HEARD_S:
        return 0.0
    return (a.apart_db - b.apart_db) / 2.0


def heard_through(result: RoomCheckResult | None, input_device: str | None) -> bool:
    """Whether ``result`` was measured through the microphone chosen now
    (``input_device``: ``--input`` or the saved choice, None for the system's default).
    Another microphone hears the room's noise and the partners at other levels, and
    another pair another balance; a result that did not record its microphone is taken
    as this one's, as before it did."""
    return result is None or result.input_device in (None, input_device or "")


def louder_microphone_first(result: RoomCheckResult) -> tuple[PartnerLevel, PartnerLevel]:
    """The two partners, the one whose microphone hears alike sound louder first (A's
    when the two are alike)."""
    a, b = result.partners
    return (b, a) if microphone_balance_db(result) < 0.0 else (a, b)


def partner_nearness_db(result: RoomCheckResult) -> list[tuple[PartnerLevel, float]]:
    """How much nearer each partner sits to their own microphone than to the other's,
    whatever the two microphones' volumes: their ``apart_db`` with the microphones'
    balance taken off (A's less it, B's plus it) where it is ``UNLIKE_DB`` or more; under
    that, as heard, since noise alone moves a small balance. Partners without an
    ``apart_db`` are left out."""
    balance_db = microphone_balance_db(result)
    if abs(balance_db) < UNLIKE_DB:
        balance_db = 0.0
    return [
        (p, p.apart_db - (balance_db if k == 0 else -balance_db))
        for k, p in enumerate(result.partners)
        if p.apart_db is not None
    ]


def detector_config(
    result: RoomCheckResult | None, base: DetectorConfig | None = None
) -> DetectorConfig:
    """The speech detector's settings for the room the check measured.

    Whether someone speaks is the voice model's to say, whatever the room; the room
    sets where a segment's edges fall:

    - ``sound_margin_db`` (and the voice band's, 3 dB wider): how far above the room's
      noise a sub-frame must stand to be sound. Half of what lies between the quieter
      partner's level and 10 dB above the room, between the default and 10 dB: the
      soft ends of words (about 10 dB under the talking level) still count, and with
      voices well above the room, breaths and room bumps next to speech do not.
    - ``gate_tail_s``: a quarter of a second longer when the prompts' echo got through.
    """
    base = base or DetectorConfig()
    if result is None:
        return base
    levels = [
        p.level_dbfs
        for p in result.partners
        if p.level_dbfs is not None and p.heard_s >= MIN_HEARD_S
    ]
    margin_db = base.sound_margin_db
    if levels:
        # The detector's own noise floor never goes below -75 dBFS (digital silence).
        noise_dbfs = max(result.noise_dbfs, -75.0)
        headroom_db = (min(levels) - noise_dbfs - 10.0) / 2.0
        margin_db = round(min(10.0, max(base.sound_margin_db, headroom_db)), 1)
    widened_db = base.voice_sound_margin_db - base.sound_margin_db
    return replace(
        base,
        sound_margin_db=margin_db,
        voice_sound_margin_db=margin_db + widened_db,
        gate_tail_s=base.gate_tail_s + (0.25 if result.prompt_speech_s > 0.0 else 0.0),
    )


# --- the check itself -------------------------------------------------------------------


class Phase(enum.Enum):
    START = "start"
    INTRO = "intro"
    QUIET = "quiet"
    ASK_A = "ask_a"
    LISTEN_A = "listen_a"
    ASK_B = "ask_b"
    LISTEN_B = "listen_b"
    REPORT = "report"
    DONE = "done"


_LISTENING = {Phase.LISTEN_A: 0, Phase.LISTEN_B: 1}


class RoomCheck:
    """Runs the check on a stream of frames; one transition function, ``_advance``.

    ::

        START --first frame: intro prompt--> INTRO
        INTRO --prompt and its echo over--> QUIET
        QUIET --quiet_s measured: "A, please say a sentence"--> ASK_A
        ASK_A --prompt and its echo over--> LISTEN_A
        LISTEN_A --A spoke, then done_after_s quiet; or listen_s without speech;
                   or listen_max_s--> ASK_B ("B, please…")
        ASK_B --prompt and its echo over--> LISTEN_B
        LISTEN_B --as LISTEN_A: findings spoken--> REPORT
        REPORT --prompt and its echo over--> DONE

    The microphone is gated as in a session: while ``Frame.playing`` and for the
    detector's ``gate_tail_s`` after. Time is the frames' own sample clock.
    """

    def __init__(
        self,
        names: tuple[str, str],
        player: PromptPlayer,
        channels: int = 1,
        config: RoomCheckConfig | None = None,
        detector: DetectorConfig | None = None,
    ) -> None:
        self.names = names
        self.phase = Phase.START
        self._player = player
        self._channels = channels
        self._config = config or RoomCheckConfig()
        self._detector_config = detector or DetectorConfig()
        self._detector = ChannelDetector(self._detector_config, channels)
        self._busy_until_t = 0.0
        self._gate_until_t = 0.0
        self._gate_closed_t = -math.inf
        """When the microphone last opened again after a prompt."""
        self._phase_start_t = 0.0
        self._quiet: list[Pcm] = []
        self._listened: list[list[Frame]] = [[], []]
        self._segments: list[list[Segment]] = [[], []]
        self._speaking: set[int] = set()
        """Channels with speech under way (an onset, no segment yet)."""
        self._last_speech_end_t = 0.0
        self._prompt_speech_s = 0.0
        self._findings: list[Finding] = []

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    @property
    def findings(self) -> list[Finding]:
        """The advice, once both partners have been heard (empty before)."""
        return list(self._findings)

    def feed(self, frame: Frame) -> None:
        """Take one frame of audio; prompts are queued through the player as needed."""
        if self.phase is Phase.DONE:
            return
        if frame.playing:
            self._gate_until_t = frame.end_t + self._detector_config.gate_tail_s
        gated = frame.playing or frame.t < self._gate_until_t
        if gated:
            closed = self._detector.skip(frame.pcm.shape[-1])
            onsets: list[Onset] = []
        else:
            if self._gate_closed_t < self._gate_until_t:
                self._gate_closed_t = frame.t
            onsets, closed = self._detector.feed(frame.pcm)
            self._keep(frame)
        self._speaking.update(onset.channel for onset in onsets)
        for segment in closed:
            self._on_segment(segment)
        self._advance(frame.end_t, gated)

    def _keep(self, frame: Frame) -> None:
        if self.phase is Phase.QUIET:
            self._quiet.append(frame.pcm)
        elif self.phase in _LISTENING:
            self._listened[_LISTENING[self.phase]].append(frame)

    def _on_segment(self, segment: Segment) -> None:
        self._speaking.discard(segment.channel)
        self._last_speech_end_t = segment.end_t
        listening = _LISTENING.get(self.phase)
        if listening is not None:
            if self._channels == 1 or segment.channel == listening:
                self._segments[listening].append(segment)
            return
        if segment.start_t - self._gate_closed_t <= LEAK_WINDOW_S:
            self._prompt_speech_s += segment.duration_s

    def _say(self, t: float, text: str, meaning: PromptMeaning) -> None:
        start_t = max(t, self._busy_until_t)
        self._busy_until_t = start_t + self._player.say(text, meaning)

    def _prompt_over(self, t: float, gated: bool) -> bool:
        return t >= self._busy_until_t and not gated

    def _ask(self, t: float, partner: int) -> None:
        name, other = self.names[partner], self.names[1 - partner]
        meaning = PromptMeaning(
            "floor",
            addressee="AB"[partner],
            role=FloorRole.SPEAK,
            limit_s=self._config.listen_s,
        )
        self._say(t, ASK_TEXT.format(name=name, other=other), meaning)

    def _listen_over(self, t: float, partner: int) -> bool:
        config = self._config
        elapsed_s = t - self._phase_start_t
        if elapsed_s >= config.listen_max_s:
            return True
        if self._speaking:
            return False
        spoke = any(s.duration_s > 0 for s in self._segments[partner])
        if spoke:
            return t - self._last_speech_end_t >= config.done_after_s
        return elapsed_s >= config.listen_s

    def _advance(self, t: float, gated: bool) -> None:
        """The one transition function (see the class docstring)."""
        phase = self.phase
        if phase is Phase.START:
            self._say(t, INTRO_TEXT, PromptMeaning("step"))
            self.phase = Phase.INTRO
        elif phase is Phase.INTRO:
            if self._prompt_over(t, gated):
                self.phase, self._phase_start_t = Phase.QUIET, t
        elif phase is Phase.QUIET:
            if t - self._phase_start_t >= self._config.quiet_s:
                self._ask(t, 0)
                self.phase = Phase.ASK_A
        elif phase in (Phase.ASK_A, Phase.ASK_B):
            if self._prompt_over(t, gated):
                self.phase = Phase.LISTEN_A if phase is Phase.ASK_A else Phase.LISTEN_B
                self._phase_start_t = t
        elif phase is Phase.LISTEN_A:
            if self._listen_over(t, 0):
                self._flush()
                self._ask(t, 1)
                self.phase = Phase.ASK_B
        elif phase is Phase.LISTEN_B:
            if self._listen_over(t, 1):
                self._flush()
                self._findings = findings(self.result())
                spoken = " ".join([THANKS_TEXT] + [f.text for f in self._findings])
                self._say(t, spoken, PromptMeaning("closing"))
                self.phase = Phase.REPORT
        elif phase is Phase.REPORT and self._prompt_over(t, gated):
            self.phase = Phase.DONE

    def _flush(self) -> None:
        """A partner's turn is over: close any speech still open as theirs."""
        for segment in self._detector.flush():
            self._on_segment(segment)
        self._speaking.clear()

    def result(self, echo: EchoFigures | None = None) -> RoomCheckResult:
        """The measurements so far (complete once ``done``)."""
        if self._quiet:
            quiet = np.concatenate([pcm.astype(np.float64).mean(axis=0) for pcm in self._quiet])
            levels = subframe_dbfs(quiet.astype(np.int16))
        else:
            levels = np.array([_SILENT_DBFS])
        partners = tuple(self._partner_level(p) for p in (0, 1))
        return RoomCheckResult(
            noise_dbfs=float(np.median(levels)),
            noise_peak_dbfs=float(np.percentile(levels, 95)),
            partners=(partners[0], partners[1]),
            prompt_speech_s=self._prompt_speech_s,
            echo=echo,
        )

    def _partner_level(self, partner: int) -> PartnerLevel:
        name = self.names[partner]
        segments = self._segments[partner]
        frames = self._listened[partner]
        pieces: list[np.ndarray] = []
        for segment in segments:
            for frame in frames:
                a = max(frame.t, segment.start_t)
                b = min(frame.end_t, segment.end_t)
                if a < b:
                    first = round((a - frame.t) * SAMPLE_RATE_HZ)
                    last = round((b - frame.t) * SAMPLE_RATE_HZ)
                    pieces.append(frame.pcm[:, first:last])
        heard_s = sum(s.duration_s for s in segments)
        if not pieces:
            return PartnerLevel(name, heard_s, None, None)
        speech = np.concatenate(pieces, axis=1).astype(np.float64)
        own = speech[partner if self._channels == 2 else 0]
        level_dbfs = _power_dbfs(own)
        apart_db = None
        if self._channels == 2:
            apart_db = level_dbfs - _power_dbfs(speech[1 - partner])
        peak = float(np.max(np.abs(own))) / 32768.0
        return PartnerLevel(name, heard_s, level_dbfs, 20.0 * math.log10(max(peak, 1e-5)), apart_db)


def _power_dbfs(samples: np.ndarray) -> float:
    power = float(np.mean(samples * samples)) / 32768.0**2
    return 10.0 * math.log10(max(power, 1e-10))


__all__ = [
    "SETTING_KEY",
    "EchoFigures",
    "Finding",
    "PartnerLevel",
    "Phase",
    "RoomCheck",
    "RoomCheckConfig",
    "RoomCheckResult",
    "detector_config",
    "findings",
    "heard_through",
    "loads_result",
    "louder_microphone_first",
    "microphone_balance_db",
    "partner_nearness_db",
]
