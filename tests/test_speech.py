"""One set of rules for speech over time: a session's review and a recording's analysis agree."""

from __future__ import annotations

import pytest

from attune_voice.events import EndReason, SessionEnded, Speech, SpeechKind
from attune_voice.review.metrics import summarize
from attune_voice.review.recording_metrics import turn_metrics
from attune_voice.review.speech import SpeechSpan, covered_s, merged, overlap_s, talk_s

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
