"""The review's reports: the terminal table, HTML (in headless Chromium), PNG, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from cli_run import invoke, one_error_line
from test_review import NAMES, full_session, started

from attune_voice.events import (
    EndReason,
    Event,
    FloorEnded,
    FloorEndReason,
    FloorGiven,
    FloorRole,
    Prompt,
    SessionEnded,
    SessionStarted,
    Speech,
    SpeechKind,
    Transcript,
)
from attune_voice.review.data import events_from_csv, events_from_review_json, summary_to_json
from attune_voice.review.html import session_html
from attune_voice.review.metrics import summarize
from attune_voice.review.png import session_png
from attune_voice.review.text import PARTNER_COLOURS
from attune_voice.review.timeline import timeline
from attune_voice.store.database import Store

OUTPUT = Path(__file__).resolve().parent.parent / "test-output" / "reports"
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless Chromium is missing: apt-get install chromium"
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("ATTUNE_HOME", str(folder))
    return folder


def stored(events: list[Event], started_at: str = "2024-05-01T18:30:00+00:00") -> int:
    """Keep ``events`` as a finished session in the test's store; return its id."""
    first = next(e for e in events if isinstance(e, SessionStarted))
    last = next(e for e in reversed(events) if isinstance(e, SessionEnded))
    with Store.open() as store:
        session_id = store.start_session(
            exercise=first.exercise,
            partners=first.partners,
            mode="demo",
            started_at=started_at,
            settings=first.settings,
        )
        store.append_many(session_id, events)
        store.finish_session(session_id, str(last.reason), last.t)
    return session_id


def hour_session() -> list[Event]:
    """Six ten-minute floors, A and B in turn, each after a 5 s prompt: in every floor
    a 4 s segment every 5 s (480 s of talk), and a mm-hm from the listener every 30 s;
    the listener comes in once per floor at 300 s for 3 s."""
    events: list[Event] = [started()]
    t = 0.0
    for i in range(6):
        holder, listener = ("A", "B") if i % 2 == 0 else ("B", "A")
        events.append(Prompt(t=t, end_t=t + 5.0, text="Your floor.", purpose="floor"))
        t += 5.0
        events.append(FloorGiven(t=t, partner=holder, role=FloorRole.SPEAK, limit_s=600.0))
        for k in range(120):
            start_t = t + 5.0 * k + 0.5
            events.append(
                Speech(start_t, start_t + 4.0, holder, SpeechKind.TURN, attributed_by="channel")
            )
            if k % 6 == 3:
                kind = SpeechKind.INTERRUPTION if k == 63 else SpeechKind.BACKCHANNEL
                length_s = 3.0 if k == 63 else 0.4
                events.append(
                    Speech(start_t + 1, start_t + 1 + length_s, listener, kind, "channel")
                )
        t += 600.0
        events.append(
            FloorEnded(
                t=t,
                partner=holder,
                role=FloorRole.SPEAK,
                reason=FloorEndReason.LIMIT,
                held_s=600.0,
                overtime_s=0.0,
            )
        )
    events.append(SessionEnded(t=t + 10.0, reason=EndReason.COMPLETED))
    return events


# --- the terminal ---------------------------------------------------------------------------


def test_review_prints_the_table_timeline_and_notes() -> None:
    session_id = stored(full_session())
    result = invoke("review", str(session_id))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Session 1: speaker-listener: 3:00 (completed)"
    assert re.search(r"^\s+Ann\s+Bo$", result.stdout, re.MULTILINE)
    assert re.search(r"^talk time\s+1:28\s+0:57$", result.stdout, re.MULTILINE)
    assert re.search(r"^response gap \(median\)\s+2\.0 s\s+3\.0 s$", result.stdout, re.MULTILINE)
    assert re.search(r"^confirmed first time\s+0 of 1\s+1 of 1$", result.stdout, re.MULTILINE)
    line = lines[lines.index("who spoke when") + 1]
    assert len(line) == 80  # the width of a terminal that is not one
    assert line.startswith("··")  # the welcome prompt, 0-4 s
    assert set(line) <= {"A", "B", "+", "·", " "}
    assert "0:00" in lines[lines.index("who spoke when") + 2]
    assert "hand-overs: 7, median response gap 2.5 s" in lines
    assert "\x1b" not in result.stdout  # no colour codes when not printing to a terminal


def test_review_defaults_to_the_latest_and_explains_bad_requests(tmp_path: Path) -> None:
    empty = invoke("review")
    assert empty.exit_code == 1
    assert "no sessions stored yet" in one_error_line(empty)
    stored(full_session())
    stored(full_session(), started_at="2024-05-02T18:30:00+00:00")
    assert invoke("review").stdout.startswith("Session 2: ")
    missing = invoke("review", "9")
    assert missing.exit_code == 6
    assert "no session 9" in one_error_line(missing)
    mixed = invoke("review", "--events")
    assert mixed.exit_code == 2
    assert "--events goes with --format csv" in one_error_line(mixed)
    unwritable = invoke("review", "--html", str(tmp_path / "no" / "such" / "folder.html"))
    assert unwritable.exit_code == 2
    assert "cannot write" in one_error_line(unwritable)


# --- JSON and CSV ----------------------------------------------------------------------------


def test_json_carries_the_metrics_and_the_events_and_reads_back() -> None:
    events = full_session()
    session_id = stored(events)
    result = invoke("review", "--format", "json")
    data = json.loads(result.stdout)
    assert data["schema_version"] == 2
    assert (data["session"], data["started_at"], data["mode"]) == (
        session_id,
        "2024-05-01T18:30:00+00:00",
        "demo",
    )
    assert events_from_review_json(data) == events
    metrics = {key: value for key, value in data.items() if key in summary_to_json(summarize([]))}
    assert metrics == summary_to_json(summarize(events))
    assert summarize(events_from_review_json(data)) == summarize(events)


def test_csv_metrics_one_row_per_partner() -> None:
    stored(full_session())
    result = invoke("review", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["name"] for row in rows] == list(NAMES)
    ann, bo = rows
    assert (ann["session"], ann["exercise"], ann["duration_s"]) == (
        "1",
        "speaker-listener",
        "180.0",
    )
    assert (ann["talk_s"], ann["share"], ann["response_gap_s"]) == ("88.0", "0.607", "2.0")
    assert (bo["talk_s"], bo["share"], bo["overlaps"], bo["mean_monologue_s"]) == (
        "57.0",
        "0.393",
        "2",
        "15.125",
    )


def test_csv_events_read_back_into_the_same_events() -> None:
    events = full_session()
    stored(events)
    text = invoke("review", "--format", "csv", "--events").stdout
    header = text.splitlines()[0].split(",")
    assert header[:2] == ["t", "kind"]
    assert events_from_csv(text) == events
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(events)
    aside = next(row for row in rows if row["speech_kind"] == "aside")
    assert (aside["t"], aside["end_t"], aside["partner"]) == ("121.0", "123.0", "")
    assert json.loads(rows[0]["partners"]) == list(NAMES)
    with pytest.raises(ValueError, match="line 2: unknown event kind 'nonsense'"):
        events_from_csv("t,kind\n1.0,nonsense\n")


# --- HTML ------------------------------------------------------------------------------------


class _Elements(HTMLParser):
    """Every start tag with its attributes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {key: value or "" for key, value in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, css: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and css in a.get("class", "").split()]


def parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def test_the_page_needs_nothing_but_itself() -> None:
    events = full_session()
    html = session_html(summarize(events), timeline(events), when="2024-05-01 20:30")
    for outside in ("http:", "https:", "//", "<script", "<link", " src=", "url(", "@import"):
        assert outside not in html.replace("<!doctype", ""), outside
    page = parse(html)
    (policy,) = [a for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"]
    assert policy["content"].startswith("default-src 'none'")
    assert any(a.get("name") == "viewport" for t, a in page.tags if t == "meta")


def test_the_page_draws_every_stretch_and_the_whole_table() -> None:
    events = full_session()
    page = parse(session_html(summarize(events), timeline(events)))
    assert len(page.having("svg", "timeline")) == 1  # three minutes: one row
    assert len(page.having("rect", "speech-A")) == 6
    assert len(page.having("rect", "speech-B")) == 7
    assert len(page.having("rect", "backchannel")) == 1
    assert len(page.having("polygon", "interruption-flag")) == 1
    assert len(page.having("rect", "floor")) == 9
    assert len(page.having("rect", "prompt")) == 2
    assert len(page.having("rect", "aside")) == 1
    keys = [a["data-key"] for t, a in page.tags if t == "tr" and "data-key" in a]
    assert keys[:3] == ["talk_s", "share", "turns"] and len(keys) == 14
    assert "1:28" in page.text and "61%" in page.text
    assert not page.having("ol", "words")  # no transcripts were kept


def test_names_and_words_are_escaped_and_turns_grouped() -> None:
    events: list[Event] = [
        SessionStarted(t=0.0, exercise="<easy>", partners=("Ann <3", "Bo & Co"), settings={}),
        FloorGiven(t=1.0, partner="A", role=FloorRole.SPEAK, limit_s=60.0),
        Speech(2.0, 4.0, "A", SpeechKind.TURN, "channel"),
        Transcript(t=2.0, end_t=3.0, partner="A", text="I felt <left> out,", words=()),
        Transcript(t=3.2, end_t=4.0, partner="A", text="on Sunday.", words=()),
        FloorGiven(t=5.0, partner="B", role=FloorRole.PARAPHRASE, limit_s=60.0),
        Transcript(t=6.0, end_t=7.0, partner="B", text="You felt left out.", words=()),
        SessionEnded(t=8.0, reason=EndReason.COMPLETED),
    ]
    html = session_html(summarize(events), timeline(events))
    assert "<left>" not in html and "&lt;left&gt;" in html
    assert "Ann &lt;3" in html and "Bo &amp; Co" in html and "&lt;easy&gt;" in html
    page = parse(html)
    turns = page.having("li", "partner-A") + page.having("li", "partner-B")
    assert len(turns) == 2
    assert "I felt <left> out, on Sunday." in page.text
    assert "You felt left out." in page.text


def test_a_long_session_wraps_into_rows_of_equal_scale() -> None:
    events = hour_session()
    summary = summarize(events)
    page = parse(session_html(summary, timeline(events)))
    assert summary.duration_s == 3640.0
    assert len(page.having("svg", "timeline")) == 7  # ten minutes a row
    # A stretch crossing a row's edge is drawn in both rows.
    assert len(page.having("rect", "speech-A")) >= 3 * 120
    assert len(page.having("polygon", "interruption-flag")) == 6


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def colour_pixels(image: npt.NDArray[np.float32], colour: str) -> npt.NDArray[np.bool_]:
    rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)], dtype=np.float32)
    return np.asarray(np.all(np.abs(image[:, :, :3] - rgb) < 0.04, axis=2), dtype=np.bool_)


def read_png(data: bytes) -> npt.NDArray[np.float32]:
    import matplotlib.image

    return np.asarray(matplotlib.image.imread(io.BytesIO(data), format="png"), dtype=np.float32)


@needs_chromium
@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "desktop"])
def test_the_page_in_a_browser(tmp_path: Path, width: int) -> None:
    stored(full_session())
    page_path = tmp_path / "review.html"
    result = invoke("review", "--html", str(page_path))
    assert result.exit_code == 0
    assert f"wrote {page_path}" in result.stderr

    dom = chromium(tmp_path / "profile", "--dump-dom", page_path.as_uri()).stdout
    page = parse(dom)
    assert len(page.having("svg", "timeline")) == 1
    assert len(page.having("rect", "speech-A")) == 6
    assert len(page.having("table", "metrics")) == 1
    assert "Who spoke when" in page.text and "Side by side" in page.text

    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / f"review-{width}.png"
    chromium(
        tmp_path / "profile",
        f"--screenshot={shot}",
        f"--window-size={width},900",
        page_path.as_uri(),
    )
    image = read_png(shot.read_bytes())
    assert image.shape[:2] == (900, width)
    # Both partners' colours are on screen, out to the right-hand column on a phone too.
    for colour in PARTNER_COLOURS:
        found = colour_pixels(image, colour)
        assert found.sum() > 200
        assert np.flatnonzero(found.any(axis=0)).max() > width * 0.8


# --- PNG -------------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_timeline_picture() -> None:
    events = full_session()
    data = session_png(summarize(events), timeline(events), subtitle="2024-05-01 20:30")
    assert png_size(data) == (1200, 270)  # 10 in wide, one row, at 120 dpi
    image = read_png(data)
    assert image[:, :, :3].std() > 0.05
    for colour in PARTNER_COLOURS:
        assert colour_pixels(image, colour).sum() > 500
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "timeline-3min.png").write_bytes(data)


def test_a_long_session_s_picture_has_a_row_per_ten_minutes(tmp_path: Path) -> None:
    stored(hour_session())
    target = tmp_path / "hour.png"
    result = invoke("review", "--png", str(target), "--format", "json")
    assert result.exit_code == 0
    json.loads(result.stdout)  # the picture goes to its file, the JSON to stdout
    data = target.read_bytes()
    assert png_size(data) == (1200, 1026)  # 1.2 in + 7 rows of 1.05 in
    image = read_png(data)
    for colour in PARTNER_COLOURS:
        assert colour_pixels(image, colour).sum() > 5000
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "timeline-1h.png").write_bytes(data)
