"""A demo killed with SIGKILL at random moments: the store stays whole and loses nothing."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from attune_voice.cli.main import cli
from attune_voice.events import Event
from attune_voice.store.database import Store

CRASH_RUNS = 12
DEMO_ARGS = ["demo", "--limit", "20s", "--rounds", "1", "speaker-listener-easy", "--format", "json"]


def start_demo(home: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, ATTUNE_HOME=str(home))
    return subprocess.Popen(
        [sys.executable, "-m", "attune_voice", *DEMO_ARGS],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def integrity(path: Path) -> str:
    """SQLite's own full check of the file, as another program would see it after a crash."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        return "; ".join(str(row[0]) for row in connection.execute("PRAGMA integrity_check"))
    finally:
        connection.close()


def stored(home: Path) -> dict[int, tuple[str, list[Event]]]:
    with Store.open(home / "attune.db") as store:
        return {r.id: (r.status, store.events(r.id)) for r in store.sessions()}


def test_a_demo_killed_at_any_moment_keeps_every_event_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The whole session, uninterrupted: the demo is deterministic for a seed, so every
    # killed session's log must be a beginning of this one, in order and unchanged. The
    # first run also fills the prompt cache, so the second one times a warm run.
    home = tmp_path / "home"
    assert start_demo(home).wait(timeout=300) == 0
    began = time.monotonic()
    assert start_demo(home).wait(timeout=300) == 0
    whole_run_s = time.monotonic() - began
    complete = stored(home)
    assert [status for status, _ in complete.values()] == ["completed", "completed"]
    reference = complete[1][1]
    assert complete[2][1] == reference
    assert len(reference) > 20

    rng = random.Random(8)
    killed: list[int] = []
    kept_counts: list[int] = []
    for run in range(CRASH_RUNS):
        process = start_demo(home)
        # The kill moment is what is under test, not a timing tolerance: it is drawn
        # across the whole run, from start-up to the last event, and reproducible by seed.
        delay_s = rng.uniform(0.05, whole_run_s)
        try:
            process.wait(timeout=delay_s)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
            killed.append(run)
        database = home / "attune.db"
        if not database.exists():
            continue
        assert integrity(database) == "ok", f"run {run}, killed after {delay_s:.2f} s"
        for _status, events in stored(home).values():
            assert events == reference[: len(events)], f"run {run}: the log is not a prefix"
        newest = max(stored(home).items())[1][1]
        kept_counts.append(len(newest))

    assert len(killed) >= CRASH_RUNS // 2
    # Kills landed early, midway and late in the session.
    assert min(kept_counts) < len(reference) // 3
    assert max(kept_counts) > 2 * len(reference) // 3

    # The next start (as demo and run do) marks what was cut short; the review shows it.
    with Store.open(home / "attune.db") as store:
        store.mark_unfinished_interrupted()
        records = store.sessions()
        assert {r.status for r in records} <= {"interrupted", "completed"}
        cut = [r for r in records if r.status == "interrupted" and r.event_count > 0]
        assert cut
        for record in cut:
            # A speech event is written when the speech ends, stamped with its start, so
            # it can follow a later prompt: the length is the latest moment written.
            reached_t = max(event.t for event in store.events(record.id))
            assert record.duration_s == pytest.approx(reached_t, abs=1e-3)
    monkeypatch.setenv("ATTUNE_HOME", str(home))
    result = CliRunner().invoke(cli, ["review", str(cut[0].id)])
    assert result.exit_code == 0, result.output
    assert f"Session {cut[0].id}: " in result.output
    assert "(interrupted)" in result.output.splitlines()[0]
