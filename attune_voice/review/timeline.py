"""A session's log laid out in time: speech, floors, prompts, pauses and kept words.

Everything here is a pure function of the event log (no audio, no clock); the metrics,
the text timeline and the drawn ones are all made from what ``timeline`` returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from attune_voice.events import (
    PARTNERS,
    Event,
    FloorEnded,
    FloorGiven,
    Paused,
    Prompt,
    Resumed,
    SessionEnded,
    SessionStarted,
    Speech,
    TimeOut,
    Transcript,
)
from attune_voice.review.speech import SpeechSpan


@dataclass(frozen=True)
class FloorSpan:
    """A floor from when it was given to when it ended (or the next floor, or the end)."""

    t: float
    end_t: float
    partner: str
    role: str
    attempt: int
    overtime_s: float


@dataclass(frozen=True)
class PromptSpan:
    t: float
    end_t: float
    purpose: str
    text: str


@dataclass(frozen=True)
class PauseSpan:
    """A pause or time-out, to its resume or the session's end."""

    t: float
    end_t: float
    kind: str
    """paused or time_out."""


@dataclass(frozen=True)
class TranscriptSpan:
    """The words of one stretch of speech, where the couple chose to keep them."""

    t: float
    end_t: float
    partner: str | None
    text: str


@dataclass(frozen=True)
class Timeline:
    """Who spoke when, with the floors, prompts, pauses and kept words; seconds."""

    duration_s: float
    names: tuple[str, str]
    speech: tuple[SpeechSpan, ...]
    """In start order."""
    floors: tuple[FloorSpan, ...]
    prompts: tuple[PromptSpan, ...]
    pauses: tuple[PauseSpan, ...]
    transcripts: tuple[TranscriptSpan, ...]
    """In start order; empty unless transcripts were kept."""


def timeline(events: Sequence[Event]) -> Timeline:
    """Lay the log out in time: speech, floors (given to ended), prompts, pauses, words.

    A floor ends at its FloorEnded, else at the next FloorGiven, else at the session's
    end; a pause at the next resumed event, else at the session's end.
    """
    duration_s = _duration_s(events)
    speech: list[SpeechSpan] = []
    floors: list[FloorSpan] = []
    prompts: list[PromptSpan] = []
    pauses: list[PauseSpan] = []
    transcripts: list[TranscriptSpan] = []
    open_floor: FloorGiven | None = None
    open_pause: tuple[float, str] | None = None

    def close_floor(end_t: float, overtime_s: float) -> None:
        nonlocal open_floor
        if open_floor is not None:
            floors.append(
                FloorSpan(
                    t=open_floor.t,
                    end_t=max(open_floor.t, end_t),
                    partner=open_floor.partner,
                    role=str(open_floor.role),
                    attempt=open_floor.attempt,
                    overtime_s=overtime_s,
                )
            )
            open_floor = None

    for event in events:
        if isinstance(event, Speech):
            partner = event.partner if event.partner in PARTNERS else None
            speech.append(SpeechSpan(event.t, event.end_t, partner, str(event.speech_kind)))
        elif isinstance(event, FloorGiven):
            close_floor(event.t, 0.0)
            open_floor = event
        elif isinstance(event, FloorEnded):
            close_floor(event.t, event.overtime_s)
        elif isinstance(event, Prompt):
            prompts.append(PromptSpan(event.t, event.end_t, event.purpose, event.text))
        elif isinstance(event, (Paused, TimeOut)):
            if open_pause is None:
                open_pause = (event.t, str(event.kind))
        elif isinstance(event, Resumed):
            if open_pause is not None:
                pauses.append(PauseSpan(open_pause[0], max(open_pause[0], event.t), open_pause[1]))
                open_pause = None
        elif isinstance(event, Transcript) and event.text.strip():
            transcripts.append(
                TranscriptSpan(
                    event.t,
                    event.end_t,
                    event.partner if event.partner in PARTNERS else None,
                    event.text.strip(),
                )
            )
    close_floor(duration_s, 0.0)
    if open_pause is not None:
        pauses.append(PauseSpan(open_pause[0], max(open_pause[0], duration_s), open_pause[1]))
    speech.sort(key=lambda span: span.t)
    transcripts.sort(key=lambda span: span.t)
    return Timeline(
        duration_s=duration_s,
        names=_names(next((e for e in events if isinstance(e, SessionStarted)), None)),
        speech=tuple(speech),
        floors=tuple(floors),
        prompts=tuple(prompts),
        pauses=tuple(pauses),
        transcripts=tuple(transcripts),
    )


_LASTING = (Prompt, Speech, Transcript)
"""The events that last from ``t`` to ``end_t``."""


def _duration_s(events: Sequence[Event]) -> float:
    ended = next((e for e in events if isinstance(e, SessionEnded)), None)
    if ended is not None:
        return ended.t
    # Speech is logged once it ends, so its end can be the latest moment known.
    latest = (max(e.t, e.end_t) if isinstance(e, _LASTING) else e.t for e in events)
    return max(latest, default=0.0)


def _names(started: SessionStarted | None) -> tuple[str, str]:
    """Display names of A and B; the letters where the log does not give two names."""
    if started is None or len(started.partners) != len(PARTNERS):
        return (PARTNERS[0], PARTNERS[1])
    return (str(started.partners[0]), str(started.partners[1]))
