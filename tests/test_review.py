"""Session summaries from hand-built event logs, with every number worked out by hand."""

from __future__ import annotations

import json
import re

import pytest

from attune_voice.events import (
    SCHEMA_VERSION,
    CheckIn,
    Confirmation,
    Cue,
    EndReason,
    Event,
    FloorEnded,
    FloorEndReason,
    FloorGiven,
    FloorRole,
    Key,
    Overtime,
    Paraphrase,
    Prompt,
    SessionEnded,
    SessionStarted,
    Speech,
    SpeechKind,
    StepStarted,
)
from attune_voice.review import (
    PartnerSummary,
    SessionSummary,
    format_summary,
    summarize,
    summary_to_json,
)

NAMES = ("Ann", "Bo")


def started() -> SessionStarted:
    return SessionStarted(
        t=0.0, exercise="speaker-listener", partners=NAMES, settings={"limit_s": 60.0}
    )


def speech(
    t: float, end_t: float, partner: str | None, kind: SpeechKind = SpeechKind.TURN
) -> Speech:
    return Speech(t=t, end_t=end_t, partner=partner, speech_kind=kind, attributed_by="channel")


def floor(t: float, partner: str, role: FloorRole, attempt: int = 1) -> FloorGiven:
    return FloorGiven(t=t, partner=partner, role=role, limit_s=60.0, attempt=attempt)


def ended(
    t: float, partner: str, role: FloorRole, held_s: float, overtime_s: float = 0.0
) -> FloorEnded:
    return FloorEnded(
        t=t,
        partner=partner,
        role=role,
        reason=FloorEndReason.HANDOVER_PHRASE,
        held_s=held_s,
        overtime_s=overtime_s,
    )


def full_session() -> list[Event]:
    """Two rounds of speaker-listener, one paraphrase needing a second try.

    Ann (A) talks 20 + 12 + 31 + 1 + 16 + 8 = 88 s; her last speaking segment runs to
    72.0 s, past the hand-over at 70.5 s, overlapping Bo's paraphrase from 71.5 s.
    Bo (B) talks 0.5 + 3 + 18.5 + 24 + 3 + 6 + 2 = 57 s. 2 s are nobody's.
    """
    s = SpeechKind
    return [
        started(),
        StepStarted(t=0.0, index=0, step="say", round=0),
        Prompt(t=0.0, end_t=4.0, text="Welcome.", purpose="step"),
        StepStarted(t=4.0, index=1, step="floor", round=1),
        floor(5.0, "A", FloorRole.SPEAK),
        speech(6.0, 26.0, "A"),
        speech(10.0, 10.5, "B", s.BACKCHANNEL),
        speech(28.0, 40.0, "A"),
        speech(30.0, 33.0, "B", s.INTERRUPTION),
        Cue(t=55.0, partner="A", remaining_s=10.0),
        Overtime(t=65.0, partner="A"),
        FloorEnded(
            t=70.5,
            partner="A",
            role=FloorRole.SPEAK,
            reason=FloorEndReason.LIMIT,
            held_s=65.5,
            overtime_s=5.5,
        ),
        StepStarted(t=70.5, index=2, step="paraphrase", round=1),
        floor(71.0, "B", FloorRole.PARAPHRASE),
        speech(41.0, 72.0, "A"),
        speech(71.5, 90.0, "B"),
        ended(91.0, "B", FloorRole.PARAPHRASE, held_s=20.0),
        Paraphrase(t=91.0, partner="B", attempt=1),
        floor(91.5, "A", FloorRole.CONFIRM),
        speech(92.0, 93.0, "A"),
        ended(93.5, "A", FloorRole.CONFIRM, held_s=2.0),
        Confirmation(t=93.5, partner="A", answer="yes", attempt=1),
        StepStarted(t=94.0, index=3, step="swap", round=1),
        floor(95.0, "B", FloorRole.SPEAK),
        speech(96.0, 120.0, "B"),
        speech(121.0, 123.0, None, s.ASIDE),
        CheckIn(t=126.0, partner="B", silence_s=4.0),
        speech(127.0, 130.0, "B"),
        Key(t=131.5, key="enter"),
        ended(132.0, "B", FloorRole.SPEAK, held_s=37.0),
        floor(133.0, "A", FloorRole.PARAPHRASE),
        speech(134.0, 150.0, "A"),
        ended(151.0, "A", FloorRole.PARAPHRASE, held_s=18.0),
        Paraphrase(t=151.0, partner="A", attempt=1),
        floor(151.5, "B", FloorRole.CONFIRM),
        Confirmation(t=153.0, partner="B", answer="not_quite", attempt=1),
        floor(153.5, "B", FloorRole.CLARIFY),
        speech(154.0, 160.0, "B"),
        ended(161.0, "B", FloorRole.CLARIFY, held_s=7.5),
        floor(161.5, "A", FloorRole.PARAPHRASE, attempt=2),
        speech(162.0, 170.0, "A"),
        ended(171.0, "A", FloorRole.PARAPHRASE, held_s=9.5),
        Paraphrase(t=171.0, partner="A", attempt=2),
        Confirmation(t=173.0, partner="B", answer="yes", attempt=2),
        floor(174.0, "B", FloorRole.SHARE),
        speech(174.5, 176.5, "B"),
        ended(177.0, "B", FloorRole.SHARE, held_s=3.0),
        Prompt(t=177.5, end_t=179.5, text="Thank you both.", purpose="closing"),
        SessionEnded(t=180.0, reason=EndReason.COMPLETED),
    ]


def test_a_full_session() -> None:
    summary = summarize(full_session())

    assert summary == SessionSummary(
        exercise="speaker-listener",
        partners=NAMES,
        duration_s=180.0,
        end_reason="completed",
        unattributed_talk_s=2.0,
        partners_summary=(
            PartnerSummary(
                partner="A",
                name="Ann",
                talk_s=88.0,
                share=88 / 145,  # every time here is exact in binary
                floors=1,
                longest_monologue_s=66.0,  # her first floor: 6.0 to 72.0
                overtime_s=5.5,
                overtime_floors=1,
                interruptions=0,
                backchannels=0,
                paraphrase_attempts=2,
                confirmed_first_time=0,
            ),
            PartnerSummary(
                partner="B",
                name="Bo",
                talk_s=57.0,
                share=57 / 145,
                floors=2,
                longest_monologue_s=34.0,  # her speaking floor: 96.0 to 130.0
                overtime_s=0.0,
                overtime_floors=0,
                interruptions=1,
                backchannels=1,
                paraphrase_attempts=1,
                confirmed_first_time=1,
            ),
        ),
        check_ins=1,
        cues=1,
    )


def test_a_partner_who_never_spoke() -> None:
    summary = summarize(
        [
            started(),
            floor(1.0, "A", FloorRole.SPEAK),
            speech(2.0, 12.5, "A"),
            ended(13.0, "A", FloorRole.SPEAK, held_s=12.0),
            floor(14.0, "B", FloorRole.SPEAK),
            CheckIn(t=18.0, partner="B", silence_s=4.0),
            FloorEnded(
                t=22.0,
                partner="B",
                role=FloorRole.SPEAK,
                reason=FloorEndReason.SILENCE,
                held_s=8.0,
                overtime_s=0.0,
            ),
            SessionEnded(t=25.0, reason=EndReason.STOPPED),
        ]
    )
    ann, bo = summary.partners_summary
    assert (ann.talk_s, ann.share, ann.longest_monologue_s, ann.floors) == (10.5, 1.0, 10.5, 1)
    assert (bo.talk_s, bo.share, bo.longest_monologue_s, bo.floors) == (0.0, 0.0, 0.0, 1)
    assert (summary.duration_s, summary.end_reason, summary.check_ins) == (25.0, "stopped", 1)

    text = format_summary(summary)
    assert re.search(r"^Ann +0:11 +100% +1 +0:11 +0:00 +0 +0 +0$", text, re.MULTILINE)
    assert re.search(r"^Bo +0:00 +0% +1 +0:00 +0:00 +0 +0 +0$", text, re.MULTILINE)


def test_a_session_stopped_in_its_first_step() -> None:
    summary = summarize(
        [
            started(),
            StepStarted(t=0.0, index=0, step="say", round=0),
            Prompt(t=0.0, end_t=6.0, text="Welcome.", purpose="step"),
            Key(t=2.25, key="q"),
            SessionEnded(t=2.5, reason=EndReason.STOPPED),
        ]
    )
    assert (summary.duration_s, summary.end_reason) == (2.5, "stopped")
    for partner in summary.partners_summary:
        assert (partner.talk_s, partner.share, partner.floors, partner.paraphrase_attempts) == (
            0.0,
            0.0,
            0,
            0,
        )
    text = format_summary(summary)
    assert text.startswith("speaker-listener: 0:03 (stopped)\n")
    assert "100%" not in text


def test_overlapping_speech_at_a_hand_over_counts_for_both() -> None:
    summary = summarize(
        [
            started(),
            floor(1.0, "A", FloorRole.SPEAK),
            ended(10.0, "A", FloorRole.SPEAK, held_s=9.0),
            floor(10.2, "B", FloorRole.SPEAK),
            # A is still finishing her sentence (to 10.8) as B starts (at 10.4).
            speech(2.0, 10.8, "A"),
            speech(10.4, 14.4, "B"),
            ended(15.0, "B", FloorRole.SPEAK, held_s=4.8),
        ]
    )
    ann, bo = summary.partners_summary
    assert ann.talk_s == pytest.approx(8.8)
    assert bo.talk_s == pytest.approx(4.0)
    assert ann.share == pytest.approx(8.8 / 12.8)
    assert bo.share == pytest.approx(4.0 / 12.8)
    assert ann.share + bo.share == pytest.approx(1.0)


def test_a_log_without_start_or_end_still_summarises() -> None:
    summary = summarize(
        [
            floor(1.0, "B", FloorRole.SPEAK),
            Cue(t=8.0, partner="B", remaining_s=52.0),
            # Logged when it ended, after the cue, so its t is not the latest.
            speech(2.0, 9.0, "B"),
        ]
    )
    assert summary.partners == ("A", "B")
    assert [p.name for p in summary.partners_summary] == ["A", "B"]
    assert (summary.exercise, summary.end_reason, summary.duration_s) == ("", "unfinished", 8.0)
    assert summary.partners_summary[1].share == 1.0

    empty = summarize([])
    assert (empty.duration_s, empty.end_reason, empty.cues) == (0.0, "unfinished", 0)
    assert format_summary(empty).startswith("session: 0:00 (unfinished)\n")


def test_json_has_fixed_keys_and_plain_values() -> None:
    data = summary_to_json(summarize(full_session()))

    assert data == json.loads(json.dumps(data))
    assert set(data) == {
        "schema_version",
        "exercise",
        "partners",
        "duration_s",
        "end_reason",
        "unattributed_talk_s",
        "partners_summary",
        "check_ins",
        "cues",
    }
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["partners"] == ["Ann", "Bo"]
    ann, bo = data["partners_summary"]
    assert set(ann) == {
        "partner",
        "name",
        "talk_s",
        "share",
        "floors",
        "longest_monologue_s",
        "overtime_s",
        "overtime_floors",
        "interruptions",
        "backchannels",
        "paraphrase_attempts",
        "confirmed_first_time",
    }
    assert (ann["name"], ann["talk_s"], ann["share"]) == ("Ann", 88.0, 0.607)
    assert (bo["name"], bo["talk_s"], bo["share"]) == ("Bo", 57.0, 0.393)


def test_text_shows_names_and_numbers_side_by_side() -> None:
    text = format_summary(summarize(full_session()))
    lines = text.splitlines()

    assert lines[0] == "speaker-listener: 3:00 (completed)"
    header = lines[2].split()
    assert header[:4] == ["talk", "share", "floors", "longest"]
    # talk, share, floors, longest turn, overtime, interruptions, backchannels, paraphrases
    assert lines[3].split() == ["Ann", "1:28", "61%", "1", "1:06", "0:06", "0", "0", "2"]
    assert lines[4].split() == ["Bo", "0:57", "39%", "2", "0:34", "0:00", "1", "1", "1"]
    assert lines[6] == ("speech not attributed to either partner: 0:02; check-ins: 1; time cues: 1")
    # Plain text for any terminal or file, describing rather than ranking.
    assert "\x1b" not in text
    for word in ("more", "less", "most", "least", "too", "better", "worse", "domina", "win"):
        assert word not in text.lower()
