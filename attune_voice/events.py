"""The session log: one frozen dataclass per event kind, and their JSON form.

Every event carries ``t``: seconds since the session started, counted in samples
consumed, never read from a wall clock. Partners are "A" and "B"; their names live
in the session record. The review needs nothing but these events.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from attune_voice.compat import StrEnum

SCHEMA_VERSION = 1
"""Bumped whenever an event gains, loses or renames a field."""

PARTNERS = ("A", "B")
"""The two partners in every event: A was named first. With a microphone each, channel
1 is A's and channel 2 is B's."""

HOLDER_LEAD_S = 0.5
"""Speech starting this long before a floor was given still belongs to that floor (a
partner may start a breath before the prompt ends): the engine attributes it so, and
the review reads it so."""


class EventKind(StrEnum):
    SESSION_STARTED = "session_started"
    STEP_STARTED = "step_started"
    PROMPT = "prompt"
    FLOOR_GIVEN = "floor_given"
    CUE = "cue"
    CHECK_IN = "check_in"
    OVERTIME = "overtime"
    SPEECH = "speech"
    KEY = "key"
    FLOOR_ENDED = "floor_ended"
    PARAPHRASE = "paraphrase"
    CONFIRMATION = "confirmation"
    SESSION_ENDED = "session_ended"
    COMMAND = "command"
    PAUSED = "paused"
    RESUMED = "resumed"
    TIME_OUT = "time_out"
    TRANSCRIPT = "transcript"
    READINESS = "readiness"
    MORE = "more"
    SPOKEN_OVER = "spoken_over"


class CommandWord(StrEnum):
    """What a voice command asks for; the engine decides what it means at that moment."""

    PAUSE = "pause"
    RESUME = "resume"
    REPEAT = "repeat"
    """Say the last prompt again."""
    MORE_TIME = "more_time"
    """One more minute for the open floor, once per floor."""
    TIME_OUT = "time_out"
    """A soothing break of a set length, then a reminder to come back."""
    STOP = "stop"
    """End the session, once confirmed with "yes"."""
    YES = "yes"
    NO = "no"
    NOT_QUITE = "not_quite"
    HANDOVER = "handover"
    """A hand-over phrase ("I'm done", "over to you"): the floor passes at once."""


class FloorRole(StrEnum):
    """What the floor holder is asked to do."""

    SPEAK = "speak"
    PARAPHRASE = "paraphrase"
    CLARIFY = "clarify"
    CONFIRM = "confirm"
    SHARE = "share"
    MORE = "more"
    """The speaker answers "is there more?": yes gives another piece of the floor."""
    CONTINUE = "continue"
    """Another piece of the speaker's floor, after a yes to "is there more?"; part of
    the same floor, not a new one."""


class FloorEndReason(StrEnum):
    HANDOVER_KEY = "handover_key"
    HANDOVER_PHRASE = "handover_phrase"
    SILENCE = "silence"
    LIMIT = "limit"
    COMMAND = "command"
    SESSION_END = "session_end"


class SpeechKind(StrEnum):
    TURN = "turn"
    """The floor holder's speech."""
    BACKCHANNEL = "backchannel"
    """The listener's short response during the other's floor ("mm-hm")."""
    INTERRUPTION = "interruption"
    """The listener's longer speech during the other's floor."""
    ASIDE = "aside"
    """Speech while nobody held the floor."""


class EndReason(StrEnum):
    COMPLETED = "completed"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    DEVICE_LOST = "device_lost"
    NOT_STARTED = "not_started"
    """A partner said "not now" (or did not answer) to the readiness question."""


@dataclass(frozen=True)
class PromptMeaning:
    """What a prompt asks, for listeners that understand it: the simulated partners.

    A real room gets the same information from the words; the device adapter ignores
    it. It never flows back into the engine.
    """

    purpose: str
    """step, floor, cue, check_in, overtime, confirmed, closing, consent, …"""
    addressee: str | None = None
    """"A", "B" or None for both."""
    role: FloorRole | None = None
    """For a floor prompt: what the addressee is asked to do."""
    limit_s: float = 0.0
    round: int = 0
    """The exercise round the prompt belongs to; 0 for the opening and closing."""
    pieced: bool = False
    """For a floor prompt: the floor is one piece of a floor said in pieces."""


@dataclass(frozen=True)
class Event:
    """Base of every event; ``kind`` is fixed per subclass."""

    kind: ClassVar[EventKind]
    t: float
    """Seconds since session start."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": str(self.kind)}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            data[f.name] = round(value, 3) if isinstance(value, float) else value
        return data


@dataclass(frozen=True)
class SessionStarted(Event):
    kind = EventKind.SESSION_STARTED
    exercise: str
    partners: tuple[str, str]
    """Display names of partner A and partner B."""
    settings: Mapping[str, Any]
    """The effective exercise settings (limits in seconds, rounds)."""
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True)
class StepStarted(Event):
    kind = EventKind.STEP_STARTED
    index: int
    """Position in the flattened step list (rounds unrolled)."""
    step: str
    """The step's kind: say, floor, paraphrase, confirm, swap."""
    round: int
    """1-based round number; 0 outside the rounds."""


@dataclass(frozen=True)
class Prompt(Event):
    kind = EventKind.PROMPT
    end_t: float
    """When the prompt's audio finished, seconds."""
    text: str
    purpose: str
    """Why it was said: step, floor, cue, check_in, overtime, closing."""


@dataclass(frozen=True)
class FloorGiven(Event):
    kind = EventKind.FLOOR_GIVEN
    partner: str
    role: FloorRole
    limit_s: float
    attempt: int = 1
    """For paraphrase and clarify: which try this is."""


@dataclass(frozen=True)
class Cue(Event):
    kind = EventKind.CUE
    partner: str
    remaining_s: float


@dataclass(frozen=True)
class CheckIn(Event):
    kind = EventKind.CHECK_IN
    partner: str
    silence_s: float


@dataclass(frozen=True)
class Overtime(Event):
    """The time limit was reached while the holder was still speaking."""

    kind = EventKind.OVERTIME
    partner: str


@dataclass(frozen=True)
class Speech(Event):
    """One speech segment; ``t`` is its start."""

    kind = EventKind.SPEECH
    end_t: float
    partner: str | None
    """Who spoke, or None where nothing attributes it."""
    speech_kind: SpeechKind
    attributed_by: str
    """floor: the holder by rule; channel: one microphone per partner; voice: one
    microphone, by the partners' voices learnt during the session."""


@dataclass(frozen=True)
class Key(Event):
    kind = EventKind.KEY
    key: str


@dataclass(frozen=True)
class FloorEnded(Event):
    kind = EventKind.FLOOR_ENDED
    partner: str
    role: FloorRole
    reason: FloorEndReason
    held_s: float
    """From floor start (after its prompt) to this end."""
    overtime_s: float
    """How far past the limit the floor ran; 0 when within it."""


@dataclass(frozen=True)
class Paraphrase(Event):
    """A paraphrase attempt by the listener, logged when its floor ends."""

    kind = EventKind.PARAPHRASE
    partner: str
    attempt: int


@dataclass(frozen=True)
class Readiness(Event):
    kind = EventKind.READINESS
    partner: str
    answer: str
    """yes, no (not now) or silent (no answer: also not now)."""
    by: str
    """voice, key or silence."""


@dataclass(frozen=True)
class Confirmation(Event):
    kind = EventKind.CONFIRMATION
    partner: str
    """The speaker who answered."""
    answer: str
    """yes, not_quite, or unheard (no answer was understood)."""
    attempt: int


@dataclass(frozen=True)
class More(Event):
    """The speaker's answer to "is there more?", or why it was not asked."""

    kind = EventKind.MORE
    partner: str
    """The speaker asked."""
    answer: str
    """yes (another piece follows), no, unheard (no answer was understood), or no_time
    (the floor's time was used up, so the question was not asked)."""
    left_s: float
    """The floor's time still left when the answer came."""


@dataclass(frozen=True)
class SessionEnded(Event):
    kind = EventKind.SESSION_ENDED
    reason: EndReason


@dataclass(frozen=True)
class VoiceCommand(Event):
    """A voice command was heard; ``t`` is when it was understood."""

    kind = EventKind.COMMAND
    word: CommandWord
    partner: str | None
    """Who said it, where a microphone per partner tells; else None."""
    applied: bool
    """False when it meant nothing at that moment (more time twice, resume unpaused)."""


@dataclass(frozen=True)
class SpokenOver(Event):
    """A partner kept talking over a prompt (barge-in); ``t`` is when their speech began."""

    kind = EventKind.SPOKEN_OVER
    partner: str | None
    """Who spoke, where a microphone or a voice tells; else None."""
    purpose: str
    """The purpose of the prompt spoken over."""
    cut: bool
    """True when the coach stopped the prompt for it; False when the prompt may not be
    cut (a step's own lines, safety lines among them) and was said to its end."""


@dataclass(frozen=True)
class Paused(Event):
    kind = EventKind.PAUSED


@dataclass(frozen=True)
class Resumed(Event):
    """Timing goes on after a pause, a time-out or a stop that was not confirmed."""

    kind = EventKind.RESUMED
    paused_s: float
    """How long the session stood still, prompts included."""


@dataclass(frozen=True)
class TimeOut(Event):
    """A time-out break starts; it ends with a Resumed event."""

    kind = EventKind.TIME_OUT
    break_s: float


@dataclass(frozen=True)
class WordTime:
    """One recognised word; times in seconds since session start."""

    w: str
    start: float
    end: float

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2

    def to_json(self) -> dict[str, Any]:
        return {"w": self.w, "start": round(self.start, 3), "end": round(self.end, 3)}


@dataclass(frozen=True)
class Transcript(Event):
    """What was recognised in one utterance, kept only when transcripts are on."""

    kind = EventKind.TRANSCRIPT
    end_t: float
    partner: str | None
    """Attributed as speech is: by channel, else by the floor; None outside any floor."""
    text: str
    words: tuple[WordTime, ...]

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["words"] = [word.to_json() for word in self.words]
        return data


EVENT_TYPES: dict[str, type[Event]] = {
    str(cls.kind): cls
    for cls in (
        SessionStarted,
        StepStarted,
        Prompt,
        FloorGiven,
        Cue,
        CheckIn,
        Overtime,
        Speech,
        Key,
        FloorEnded,
        Paraphrase,
        Confirmation,
        SessionEnded,
        VoiceCommand,
        Paused,
        Resumed,
        TimeOut,
        Transcript,
        Readiness,
        More,
        SpokenOver,
    )
}

_ENUM_FIELDS: dict[str, type[StrEnum]] = {
    "role": FloorRole,
    "reason": FloorEndReason,
    "speech_kind": SpeechKind,
    "word": CommandWord,
}


_FLOAT_FIELDS = frozenset(
    {
        "t",
        "end_t",
        "limit_s",
        "remaining_s",
        "silence_s",
        "held_s",
        "overtime_s",
        "paused_s",
        "break_s",
        "left_s",
    }
)
_INT_FIELDS = frozenset({"index", "round", "attempt", "schema_version"})
_STR_FIELDS = frozenset({"exercise", "step", "text", "purpose", "key", "attributed_by", "answer"})


def event_from_json(data: Any) -> Event:
    """Rebuild an event from its JSON form; raise ``ValueError`` on anything malformed."""
    if not isinstance(data, Mapping):
        raise ValueError(f"an event must be a JSON object, not {type(data).__name__}")
    kind = data.get("kind")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            if f.default is not dataclasses.MISSING:
                continue
            raise ValueError(f"{kind} event lacks {f.name!r}")
        value = data[f.name]
        if f.name == "reason" and cls is SessionEnded:
            value = EndReason(value)
        elif f.name in _ENUM_FIELDS:
            value = _ENUM_FIELDS[f.name](value)
        elif f.name == "words":
            value = _words_from_json(str(kind), value)
        elif f.name in ("applied", "cut"):
            if not isinstance(value, bool):
                raise ValueError(f"{kind} event: {f.name} must be true or false")
        elif f.name == "partners":
            if not (
                isinstance(value, (list, tuple))
                and len(value) == len(PARTNERS)
                and all(isinstance(name, str) for name in value)
            ):
                raise ValueError(f"{kind} event: partners must be two names")
            value = tuple(value)
        elif f.name == "partner":
            # Only what was heard (speech, words, commands) may belong to nobody.
            if value not in PARTNERS and not (value is None and cls in _MAYBE_NOBODY):
                raise ValueError(f"{kind} event: partner must be A or B, not {value!r}")
        elif f.name == "settings":
            if not isinstance(value, dict):
                raise ValueError(f"{kind} event: settings must be an object")
        elif f.name in _FLOAT_FIELDS:
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not math.isfinite(value)
            ):
                raise ValueError(f"{kind} event: {f.name} must be a finite number")
            value = float(value)
        elif f.name in _INT_FIELDS:
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{kind} event: {f.name} must be a whole number")
        elif f.name in _STR_FIELDS and not isinstance(value, str):
            raise ValueError(f"{kind} event: {f.name} must be text")
        values[f.name] = value
    return cls(**values)


_MAYBE_NOBODY = (Speech, VoiceCommand, Transcript, SpokenOver)


def _words_from_json(kind: str, value: Any) -> tuple[WordTime, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{kind} event: words must be a list")
    words = []
    for item in value:
        if not (
            isinstance(item, Mapping)
            and isinstance(item.get("w"), str)
            and all(
                isinstance(item.get(key), (int, float))
                and not isinstance(item.get(key), bool)
                and math.isfinite(item[key])
                for key in ("start", "end")
            )
        ):
            raise ValueError(f"{kind} event: each word needs w, start and end")
        words.append(WordTime(item["w"], float(item["start"]), float(item["end"])))
    return tuple(words)


def dumps(event: Event) -> str:
    """Compact JSON for one event, as stored."""
    return json.dumps(event.to_json(), separators=(",", ":"), sort_keys=True, allow_nan=False)


def loads(text: str) -> Event:
    return event_from_json(json.loads(text))
