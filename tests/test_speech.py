"""One set of rules for speech over time: a session's review and a recording's analysis agree."""

from __future__ import annotations

import pytest

from attune_voice.events import EndReason, SessionEnded, Speech, SpeechKind
from attune_voice.review.metrics import summarize
from attune_voice.review.recording_metrics import turn_metrics
from attune_voice.review.speech import (
    SpeechSpan,
    Stretch,
    covered_s,
    left_out,
    merged,
    overlap_s,
    talk_s,
)

SPANS = [
    SpeechSpan(0.0, 5.0, "A"),
    SpeechSpan(2.0, 2.5, "B"),
    SpeechSpan(5.5, 8.0, "A"),
    SpeechSpan(9.0, 12.0, "B"),
    SpeechSpan(11.0, 15.0, "A"),
]


def test_a_session_and_a_recording_of_the_same_speech_give_the_same_talk_and_overlap() -> None:
    events = [
        Speech(
            t=s.t,
            end_t=s.end_t,
            partner=s.partner,
            speech_kind=SpeechKind.TURN,
            attributed_by="channel",
        )
        for s in SPANS
    ]
    session = summarize([*events, SessionEnded(t=20.0, reason=EndReason.COMPLETED)])
    recording = turn_metrics(SPANS, 20.0)
    assert [p.talk_s for p in session.partners_summary] == [11.5, 3.5]
    assert [p.talk_s for p in session.partners_summary] == [r.talk_s for r in recording.speakers]
    assert [p.share for p in session.partners_summary] == [r.share for r in recording.speakers]
    assert session.overlap_s == recording.overlap_s == 1.5


def test_merging_joins_touching_and_overlapping_speech() -> None:
    spans = [SpeechSpan(4.0, 6.0, "B"), SpeechSpan(0.0, 2.0, "A"), SpeechSpan(2.0, 3.0, "B")]
    assert merged(spans) == [(0.0, 3.0), (4.0, 6.0)]
    assert talk_s(merged(spans)) == 5.0
    assert talk_s(spans) == 5.0
    # The same partner's speech overlapping itself counts once against the other's.
    a = [SpeechSpan(0.0, 4.0, "A"), SpeechSpan(1.0, 3.0, "A")]
    assert overlap_s(a, [SpeechSpan(2.0, 6.0, "B")]) == 2.0


def test_coverage_spreads_speech_over_equal_slices() -> None:
    covered = covered_s([SpeechSpan(0.5, 2.25, "A"), SpeechSpan(3.5, 9.0, "A")], 1.0, 4)
    assert covered == pytest.approx([0.5, 1.0, 0.25, 0.5])


def test_time_left_out_cuts_speech_and_drops_what_is_too_short_to_hear() -> None:
    spans = [SpeechSpan(0.0, 5.0, "A"), SpeechSpan(6.0, 7.0, None), SpeechSpan(8.0, 12.0, "B")]
    coach = [Stretch(1.0, 2.0), Stretch(4.95, 6.5), Stretch(9.0, 10.0), Stretch(11.95, 13.0)]
    assert left_out(spans, coach, 0.08) == [
        SpeechSpan(0.0, 1.0, "A"),
        SpeechSpan(2.0, 4.95, "A"),
        SpeechSpan(6.5, 7.0, None),
        SpeechSpan(8.0, 9.0, "B"),
        SpeechSpan(10.0, 11.95, "B"),
    ]
    # A piece shorter than the shortest speech is gone: 0.05 s of A before 4.95 here.
    assert left_out([SpeechSpan(4.9, 5.0, "A")], coach, 0.08) == []


def test_a_short_response_between_the_others_words_is_a_mm_hm_not_a_turn() -> None:
    # One after the other, as one channel's voices are: B's 0.5 s in A's pause, with A
    # going on after it, leaves the floor with A. B's 0.8 s answer that A does not go
    # on after is a turn of B's.
    spans = [
        SpeechSpan(0.0, 4.0, "A"),
        SpeechSpan(4.3, 4.8, "B"),
        SpeechSpan(5.2, 9.0, "A"),
        SpeechSpan(9.5, 10.3, "B"),
        SpeechSpan(12.0, 15.0, "B"),
    ]
    metrics = turn_metrics(spans, 20.0)
    a, b = metrics.speakers
    assert (a.backchannels, b.backchannels) == (0, 1)
    assert (a.turns, b.turns) == (1, 1)
    assert metrics.switches == 1
    assert metrics.median_response_s == pytest.approx(0.5)


def test_a_response_is_timed_from_the_end_of_the_prompt_between() -> None:
    spans = [SpeechSpan(0.0, 4.0, "A"), SpeechSpan(9.0, 12.0, "B")]
    assert turn_metrics(spans, 20.0).median_response_s == pytest.approx(5.0)
    prompts = [Stretch(5.0, 8.2)]
    assert turn_metrics(spans, 20.0, prompts).median_response_s == pytest.approx(0.8)
    # A prompt after the answer began is not between them.
    assert turn_metrics(spans, 20.0, [Stretch(9.5, 10.0)]).median_response_s == 5.0
