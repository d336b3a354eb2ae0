"""Session summaries from hand-built event logs, with every number worked out by hand."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass

import pytest

from attune_voice.events import (
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
    Paused,
    Prompt,
    Resumed,
    SessionEnded,
    SessionStarted,
    Speech,
    SpeechKind,
    StepStarted,
    TimeOut,
    Transcript,
)
from attune_voice.review.data import REPORT_SCHEMA_VERSION, summary_from_json, summary_to_json
from attune_voice.review.metrics import Handover, PartnerSummary, SessionSummary, summarize
from attune_voice.review.text import (
    clock,
    format_summary,
    gap_text,
    metric_rows,
    session_notes,
    spoken_summary,
    timeline_markers,
    timeline_rows,
    timeline_text,
)
from attune_voice.review.timeline import timeline

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


@dataclass(frozen=True)
class SomethingNew(Event):
    kind = "something_new"  # type: ignore[assignment]  # a kind from a later version
    partner: str = "A"


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
                turns=4,  # speak, confirm, paraphrase, paraphrase again
                # Her talking stretches: 6.0-72.0, 92-93, 134-150, 162-170.
                mean_monologue_s=(66 + 1 + 16 + 8) / 4,
                longest_monologue_s=66.0,
                overtime_s=5.5,
                overtime_floors=1,
                response_gap_s=2.0,  # 92-90, 134-130, 162-160
                overlapped_handovers=0,
                overlaps=0,
                interruptions=0,
                backchannels=0,
                paraphrase_attempts=2,
                paraphrase_rounds=1,
                confirmed_first_time=0,
            ),
            PartnerSummary(
                partner="B",
                name="Bo",
                talk_s=57.0,
                share=57 / 145,
                floors=2,
                turns=5,  # paraphrase, speak, confirm, clarify, share
                # 71.5-90, 96-130, 154-160, 174.5-176.5; her confirm floor was silent.
                mean_monologue_s=(18.5 + 34 + 6 + 2) / 4,
                longest_monologue_s=34.0,
                overtime_s=0.0,
                overtime_floors=0,
                response_gap_s=3.0,  # 71.5-72, 96-93, 174.5-170
                overlapped_handovers=1,
                overlaps=2,  # at 30.0 into Ann's 28-40, at 71.5 into her 41-72
                interruptions=1,
                backchannels=1,
                paraphrase_attempts=1,
                paraphrase_rounds=1,
                confirmed_first_time=1,
            ),
        ),
        handovers=(
            Handover(t=71.0, from_partner="A", to_partner="B", gap_s=-0.5),
            Handover(t=91.5, from_partner="B", to_partner="A", gap_s=2.0),
            Handover(t=95.0, from_partner="A", to_partner="B", gap_s=3.0),
            Handover(t=133.0, from_partner="B", to_partner="A", gap_s=4.0),
            # Bo's confirm floor has no FloorEnded: it lasts to her clarify floor.
            Handover(t=151.5, from_partner="A", to_partner="B", gap_s=None),
            Handover(t=161.5, from_partner="B", to_partner="A", gap_s=2.0),
            Handover(t=174.0, from_partner="A", to_partner="B", gap_s=4.5),
        ),
        median_response_gap_s=2.5,  # of -0.5, 2, 2, 3, 4, 4.5
        overlap_s=4.0,  # 10-10.5 (the mm-hm), 30-33, 71.5-72
        second_tries=1,
        check_ins=1,
        cues=1,
        pauses=0,
        time_outs=0,
        paused_s=0.0,
        voices_told_apart=True,
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
    assert (bo.turns, bo.mean_monologue_s, bo.response_gap_s) == (1, 0.0, None)
    assert summary.handovers == (Handover(14.0, "A", "B", None),)
    assert summary.median_response_gap_s is None
    assert (summary.duration_s, summary.end_reason, summary.check_ins) == (25.0, "stopped", 1)

    text = format_summary(summary)
    assert re.search(r"^Ann +0:11 +100% +1 +0:11 +0:00 +0 +0 +0$", text, re.MULTILINE)
    assert re.search(r"^Bo +0:00 +0% +1 +0:00 +0:00 +0 +0 +0$", text, re.MULTILINE)
    rows = {row.key: row.values for row in metric_rows(summary)}
    assert rows["response_gap_s"] == ("—", "—")
    assert rows["share"] == ("100%", "0%")
    assert session_notes(summary)[0] == "hand-overs: 1"
    assert spoken_summary(summary) == (
        "You each had the floor once. You stopped early, and that is all right."
        " Thank you both for listening to each other."
    )


def stopped_early() -> list[Event]:
    return [
        started(),
        StepStarted(t=0.0, index=0, step="say", round=0),
        Prompt(t=0.0, end_t=6.0, text="Welcome.", purpose="step"),
        Key(t=2.25, key="q"),
        SessionEnded(t=2.5, reason=EndReason.STOPPED),
    ]


def test_a_session_stopped_in_its_first_step() -> None:
    summary = summarize(stopped_early())
    assert (summary.duration_s, summary.end_reason) == (2.5, "stopped")
    for partner in summary.partners_summary:
        assert (partner.talk_s, partner.share, partner.floors, partner.paraphrase_attempts) == (
            0.0,
            0.0,
            0,
            0,
        )
        assert (partner.turns, partner.response_gap_s, partner.overlaps) == (0, None, 0)
    assert (summary.handovers, summary.overlap_s, summary.second_tries) == ((), 0.0, 0)
    text = format_summary(summary)
    assert text.startswith("speaker-listener: 0:03 (stopped)\n")
    assert "100%" not in text
    assert [row.values for row in metric_rows(summary)][:2] == [("0:00", "0:00"), ("0%", "0%")]
    assert spoken_summary(summary) == (
        "We did not get as far as a turn this time. You stopped early, and that is all"
        " right. Thank you both for listening to each other."
    )
    # The prompt was cut short at 2.5 s: only the coach shows, up to then.
    assert timeline_text(timeline(stopped_early()), 5) == "·····"


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
    # The floor-transfer offset: Bo began 0.4 s before Ann stopped.
    (handover,) = summary.handovers
    assert (handover.from_partner, handover.to_partner) == ("A", "B")
    assert handover.gap_s == pytest.approx(-0.4)
    assert bo.response_gap_s == pytest.approx(-0.4)
    assert (bo.overlapped_handovers, bo.overlaps, bo.interruptions) == (1, 1, 0)
    assert (ann.overlapped_handovers, ann.overlaps) == (0, 0)
    assert summary.overlap_s == pytest.approx(0.4)
    assert gap_text(bo.response_gap_s) == "overlap 0.4 s"
    assert "there was one moment when your words overlapped" in spoken_summary(summary)


def test_the_gap_after_a_prompt_counts_from_the_prompt_s_end() -> None:
    summary = summarize(
        [
            started(),
            floor(1.0, "A", FloorRole.SPEAK),
            speech(1.5, 9.0, "A"),
            ended(10.0, "A", FloorRole.SPEAK, held_s=9.0),
            Prompt(t=10.0, end_t=14.0, text="Bo, say back what you heard.", purpose="floor"),
            floor(14.0, "B", FloorRole.PARAPHRASE),
            speech(15.25, 20.0, "B"),
            ended(21.0, "B", FloorRole.PARAPHRASE, held_s=7.0),
            # No prompt and a quiet hand-over: the gap runs from Bo's last word.
            floor(21.5, "A", FloorRole.CONFIRM),
            speech(22.5, 23.0, "A"),
            ended(24.0, "A", FloorRole.CONFIRM, held_s=2.5),
            SessionEnded(t=25.0, reason=EndReason.COMPLETED),
        ]
    )
    assert [h.gap_s for h in summary.handovers] == [1.25, 2.5]
    assert summary.median_response_gap_s == 1.875
    assert spoken_summary(summary).startswith(
        "Ann had the floor once and Bo did not have it this time; Ann spoke for under a"
        " minute and Bo for under a minute; the hand-overs were smooth."
    )


def test_a_session_longer_than_an_hour() -> None:
    events: list[Event] = [
        started(),
        FloorGiven(t=10.0, partner="A", role=FloorRole.SPEAK, limit_s=3600.0),
        speech(12.0, 3612.0, "A"),
        Overtime(t=3610.0, partner="A"),
        FloorEnded(
            t=3614.0,
            partner="A",
            role=FloorRole.SPEAK,
            reason=FloorEndReason.LIMIT,
            held_s=3604.0,
            overtime_s=2.0,
        ),
        Prompt(t=3614.0, end_t=3620.0, text="Bo, the floor is yours.", purpose="floor"),
        FloorGiven(t=3620.0, partner="B", role=FloorRole.SPEAK, limit_s=3600.0),
        speech(3621.0, 3681.0, "B"),
        ended(3685.0, "B", FloorRole.SPEAK, held_s=65.0),
        SessionEnded(t=3700.5, reason=EndReason.COMPLETED),
    ]
    summary = summarize(events)
    ann, bo = summary.partners_summary
    assert (ann.talk_s, ann.longest_monologue_s, ann.overtime_s) == (3600.0, 3600.0, 2.0)
    assert (bo.talk_s, bo.response_gap_s) == (60.0, 1.0)
    assert format_summary(summary).startswith("speaker-listener: 1:01:41 (completed)\n")
    rows = {row.key: row.values for row in metric_rows(summary)}
    assert rows["talk_s"] == ("1:00:00", "1:00")
    assert rows["longest_monologue_s"] == ("1:00:00", "1:00")
    assert rows["overtime_s"] == ("0:02 (1 turn)", "0:00")
    assert rows["share"] == ("98%", "2%")
    # Seven rows of ten minutes, each drawn at the same scale; the last one partly.
    assert timeline_rows(summary.duration_s) == [(600.0 * i, 600.0 * (i + 1)) for i in range(7)]
    line = timeline_text(timeline(events), 37)  # 100 s a character
    assert line == "A" * 36 + "B"
    assert spoken_summary(summary).startswith(
        "You each had the floor once; Ann spoke for about an hour and Bo for about a minute;"
    )


def test_clock_and_rows_at_the_edges() -> None:
    assert [clock(s) for s in (0.0, 0.49, 59.5, 3599.4, 3599.5, 36000.0)] == [
        "0:00",
        "0:00",
        "1:00",
        "59:59",
        "1:00:00",
        "10:00:00",
    ]
    assert timeline_rows(0.0) == [(0.0, 1.0)]
    assert timeline_rows(300.0) == [(0.0, 300.0)]
    assert timeline_rows(301.0) == [(0.0, 300.0), (300.0, 600.0)]
    assert len(timeline_rows(2400.0)) == 8  # five-minute rows while they stay eight
    assert timeline_rows(2401.0)[1] == (600.0, 1200.0)
    assert len(timeline_rows(5 * 3600.0)) == 5  # an hour a row, at most


def test_the_one_line_timeline_slices_time_evenly() -> None:
    events: list[Event] = [
        started(),
        Prompt(t=0.0, end_t=2.0, text="Welcome.", purpose="step"),
        speech(2.0, 5.0, "A"),
        speech(4.5, 7.0, "B", SpeechKind.INTERRUPTION),
        speech(9.0, 9.2, "A"),  # under a quarter of its second: not shown
        SessionEnded(t=10.0, reason=EndReason.STOPPED),
    ]
    assert timeline_text(timeline(events), 10) == "··AA+BB   "
    assert timeline_text(timeline(events), 5) == "·A+B "
    assert timeline_markers(("Sam", "Alex")) == ("S", "A")
    assert timeline_markers(("Sam", "sue")) == ("1", "2")
    assert timeline_markers(("", "Kai")) == ("1", "2")


def test_pauses_time_outs_and_unknown_kinds() -> None:
    events: list[Event] = [
        started(),
        floor(1.0, "A", FloorRole.SPEAK),
        speech(2.0, 6.0, "A"),
        Paused(t=7.0),
        SomethingNew(t=8.0),
        Resumed(t=67.0, paused_s=60.0),
        speech(68.0, 70.0, "A"),
        ended(71.0, "A", FloorRole.SPEAK, held_s=70.0),
        TimeOut(t=72.0, break_s=60.0),
        SessionEnded(t=100.0, reason=EndReason.STOPPED),
    ]
    summary = summarize(events)
    assert (summary.pauses, summary.time_outs, summary.paused_s) == (1, 1, 60.0 + 28.0)
    assert summary.partners_summary[0].talk_s == 6.0
    laid_out = timeline(events)
    assert [(p.t, p.end_t, p.kind) for p in laid_out.pauses] == [
        (7.0, 67.0, "paused"),
        (72.0, 100.0, "time_out"),
    ]
    assert "time-outs: 1; pauses: 1 (1:28 in all)" in session_notes(summary)
    assert "Taking a break when you need one is part of the practice." in spoken_summary(summary)


def test_transcripts_are_laid_out_where_kept() -> None:
    events: list[Event] = [
        started(),
        floor(1.0, "A", FloorRole.SPEAK),
        speech(2.0, 4.0, "A"),
        Transcript(t=2.0, end_t=4.0, partner="A", text=" I felt left out. ", words=()),
        Transcript(t=5.0, end_t=5.5, partner="B", text="  ", words=()),
        Transcript(t=6.0, end_t=7.0, partner=None, text="mm", words=()),
    ]
    laid_out = timeline(events)
    assert [(s.t, s.partner, s.text) for s in laid_out.transcripts] == [
        (2.0, "A", "I felt left out."),
        (6.0, None, "mm"),
    ]
    # Words are not speech: talk time comes from Speech events alone.
    assert summarize(events).partners_summary[0].talk_s == 2.0


def test_a_log_without_start_or_end_still_summarises() -> None:
    summary = summarize(
        [
            floor(1.0, "B", FloorRole.SPEAK),
            Cue(t=8.0, partner="B", remaining_s=52.0),
            # Logged when it ended, after the cue: its end is the latest moment known.
            speech(2.0, 9.0, "B"),
        ]
    )
    assert summary.partners == ("A", "B")
    assert [p.name for p in summary.partners_summary] == ["A", "B"]
    assert (summary.exercise, summary.end_reason, summary.duration_s) == ("", "unfinished", 9.0)
    assert summary.partners_summary[1].share == 1.0
    # The floor still open at the end counts as lasting to it.
    assert summary.partners_summary[1].longest_monologue_s == 7.0

    empty = summarize([])
    assert (empty.duration_s, empty.end_reason, empty.cues) == (0.0, "unfinished", 0)
    assert format_summary(empty).startswith("session: 0:00 (unfinished)\n")
    assert timeline_text(timeline([]), 3) == "   "


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
        "handovers",
        "median_response_gap_s",
        "overlap_s",
        "second_tries",
        "check_ins",
        "cues",
        "pauses",
        "time_outs",
        "paused_s",
        "voices_told_apart",
    }
    assert data["schema_version"] == REPORT_SCHEMA_VERSION
    assert data["partners"] == ["Ann", "Bo"]
    ann, bo = data["partners_summary"]
    assert set(ann) == {f.name for f in dataclasses.fields(PartnerSummary)}
    assert (ann["name"], ann["talk_s"], ann["share"]) == ("Ann", 88.0, 0.607)
    assert (bo["name"], bo["talk_s"], bo["share"]) == ("Bo", 57.0, 0.393)
    assert (ann["response_gap_s"], bo["response_gap_s"]) == (2.0, 3.0)
    assert data["handovers"][4] == {
        "t": 151.5,
        "from_partner": "A",
        "to_partner": "B",
        "gap_s": None,
    }


def test_a_summary_reads_back_from_its_json() -> None:
    summary = summarize(full_session())
    exact = json.loads(json.dumps(dataclasses.asdict(summary)))
    assert summary_from_json(exact) == summary
    rounded = summary_from_json(summary_to_json(summary))
    assert summary_to_json(rounded) == summary_to_json(summary)
    with pytest.raises(ValueError, match="not a session summary"):
        summary_from_json({"exercise": "x"})
    with pytest.raises(ValueError, match="not a session summary"):
        summary_from_json([1, 2])


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


def test_the_table_rows_every_report_shares() -> None:
    summary = summarize(full_session())
    rows = [(row.key, row.label, *row.values) for row in metric_rows(summary)]
    assert rows == [
        ("talk_s", "talk time", "1:28", "0:57"),
        ("share", "share of the talk", "61%", "39%"),
        ("turns", "turns", "4", "5"),
        ("floors", "floors to speak", "1", "2"),
        ("mean_monologue_s", "usual talking stretch", "0:23", "0:15"),
        ("longest_monologue_s", "longest talking stretch", "1:06", "0:34"),
        ("overtime_s", "over the time limit", "0:06 (1 turn)", "0:00"),
        ("response_gap_s", "response gap (median)", "2.0 s", "3.0 s"),
        ("overlapped_handovers", "overlapping hand-overs", "0", "1"),
        ("overlaps", "started over the other", "0", "2"),
        ("interruptions", "interruptions", "0", "1"),
        ("backchannels", "mm-hms (backchannels)", "0", "1"),
        ("paraphrase_attempts", "paraphrase attempts", "2", "1"),
        ("confirmed_first_time", "confirmed first time", "0 of 1", "1 of 1"),
    ]
    assert all(row.definition.endswith(".") for row in metric_rows(summary))
    assert session_notes(summary) == [
        "hand-overs: 7, median response gap 2.5 s",
        "both speaking at once: 0:04",
        "speech not attributed to either partner: 0:02",
        "time-outs: 0; pauses: 0",
        "check-ins: 1; time cues: 1",
    ]


def test_the_spoken_summary_is_warm_and_specific() -> None:
    assert spoken_summary(summarize(full_session())) == (
        "Ann had the floor once and Bo twice; Ann spoke for about a minute and a half and"
        " Bo for about a minute; there were two moments when your words overlapped; one paraphrase"
        " needed a second try. Thank you both for listening to each other."
    )
    assert spoken_summary(summarize(even_session())) == (
        "You each had the floor twice; your talking time was evenly shared; the"
        " hand-overs were smooth; every paraphrase landed first time. Thank you both for"
        " listening to each other."
    )


def even_session() -> list[Event]:
    """Each speaks twice for 30 s, paraphrases once, confirmed; no overlap anywhere."""
    events: list[Event] = [started()]
    t = 0.0
    for speaker, listener in (("A", "B"), ("B", "A"), ("A", "B"), ("B", "A")):
        events += [
            floor(t + 1, speaker, FloorRole.SPEAK),
            speech(t + 2, t + 32, speaker),
            ended(t + 33, speaker, FloorRole.SPEAK, held_s=32.0),
            floor(t + 34, listener, FloorRole.PARAPHRASE),
            speech(t + 35, t + 40, listener),
            ended(t + 41, listener, FloorRole.PARAPHRASE, held_s=7.0),
            Paraphrase(t=t + 41, partner=listener, attempt=1),
            floor(t + 42, speaker, FloorRole.CONFIRM),
            speech(t + 43, t + 43.5, speaker),
            ended(t + 45, speaker, FloorRole.CONFIRM, held_s=3.0),
            Confirmation(t=t + 45, partner=speaker, answer="yes", attempt=1),
        ]
        t += 50.0
    return [*events, SessionEnded(t=t, reason=EndReason.COMPLETED)]


_RANKING = re.compile(
    r"\b(more|less|most|least|too|better|worse|best|worst|wins?|winner|los(e|er|t)|fault|"
    r"blame\w*|should|dominat\w*|hogg\w*|good|bad)\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("log", [full_session, even_session], ids=["full", "even"])
def test_no_words_rank_the_partners(log: object) -> None:
    assert callable(log)
    summary = summarize(log())
    words = [format_summary(summary), spoken_summary(summary), *session_notes(summary)]
    for row in metric_rows(summary):
        words += [row.label, row.definition]
    for text in words:
        assert not _RANKING.search(text), text


def test_the_spoken_summary_is_short_when_spoken() -> None:
    from attune_voice.config import SAMPLE_RATE_HZ
    from attune_voice.voice.tts import SpeechRenderer

    with SpeechRenderer() as renderer:
        for log in (full_session, even_session, stopped_early):
            pcm = renderer.render(spoken_summary(summarize(log())))
            assert 3.0 < len(pcm) / SAMPLE_RATE_HZ < 15.0


def test_with_one_microphone_the_notes_say_what_cannot_show() -> None:
    events: list[Event] = [
        started(),
        floor(1.0, "A", FloorRole.SPEAK),
        Speech(t=2.0, end_t=9.0, partner="A", speech_kind=SpeechKind.TURN, attributed_by="floor"),
        ended(10.0, "A", FloorRole.SPEAK, held_s=9.0),
        SessionEnded(t=11.0, reason=EndReason.COMPLETED),
    ]
    summary = summarize(events)
    assert summary.voices_told_apart is False
    assert (
        "one microphone: all speech counts for whoever held the floor, so mm-hms,"
        " interruptions and overlaps do not show"
    ) in session_notes(summary)
    assert not any("microphone" in note for note in session_notes(summarize(full_session())))
    # Nobody spoke: nothing to explain.
    assert not any("microphone" in note for note in session_notes(summarize(stopped_early())))
