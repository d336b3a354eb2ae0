"""Benchmark figures for the review: one long session's reports, and history over many.

    .venv/bin/python scripts/bench_review.py                  # a 1-hour session, 500 sessions
    .venv/bin/python scripts/bench_review.py --sessions 2000 --hours 2

The sessions are made up here, with the shape of the simulated room's (turns of a few
seconds with short pauses, listeners' mm-hms, a prompt before every floor), and kept
in a temporary database. Each figure is the best of a few runs, in this process and as
the command a person types (a fresh Python, imports included).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

from click.testing import CliRunner

from attune_voice.cli.main import cli
from attune_voice.events import (
    Confirmation,
    EndReason,
    Event,
    FloorEnded,
    FloorEndReason,
    FloorGiven,
    FloorRole,
    Paraphrase,
    Prompt,
    SessionEnded,
    SessionStarted,
    Speech,
    SpeechKind,
    StepStarted,
)
from attune_voice.review.history import cache_path_for, load_history
from attune_voice.review.metrics import summarize
from attune_voice.review.timeline import timeline
from attune_voice.store.database import Store

RUN_COMMAND = (
    "import sys; from attune_voice.cli.main import cli; cli(sys.argv[1:], prog_name='attune-voice')"
)


def made_up_session(rng: random.Random, minutes: float) -> list[Event]:
    """Rounds of speak, paraphrase and confirm until ``minutes`` have passed."""
    events: list[Event] = [
        SessionStarted(t=0.0, exercise="speaker-listener", partners=("Sam", "Alex"), settings={})
    ]
    floor_s = max(60.0, minutes * 60 / 12)
    t = 0.0
    speaker = "A"
    index = 0

    def floor(partner: str, role: FloorRole, length_s: float, attempt: int = 1) -> None:
        nonlocal t, index
        listener = "B" if partner == "A" else "A"
        events.append(StepStarted(t=t, index=index, step=str(role), round=1))
        index += 1
        prompt_s = rng.uniform(3.0, 8.0)
        events.append(Prompt(t=t, end_t=t + prompt_s, text="Your floor.", purpose="floor"))
        t += prompt_s
        events.append(FloorGiven(t=t, partner=partner, role=role, limit_s=length_s))
        start_t = t
        now_t = t + rng.uniform(0.3, 1.5)
        while now_t < start_t + length_s - 3:
            segment_s = rng.uniform(1.5, 4.5)
            events.append(Speech(now_t, now_t + segment_s, partner, SpeechKind.TURN, "channel"))
            if rng.random() < 0.15:
                at_t = now_t + rng.uniform(0.0, segment_s)
                kind = SpeechKind.INTERRUPTION if rng.random() < 0.05 else SpeechKind.BACKCHANNEL
                length = 2.5 if kind is SpeechKind.INTERRUPTION else 0.4
                events.append(Speech(at_t, at_t + length, listener, kind, "channel"))
            now_t += segment_s + rng.uniform(0.2, 1.2)
        t = max(now_t, start_t + length_s)
        events.append(
            FloorEnded(
                t=t,
                partner=partner,
                role=role,
                reason=FloorEndReason.HANDOVER_KEY,
                held_s=t - start_t,
                overtime_s=0.0,
            )
        )
        if role is FloorRole.PARAPHRASE:
            events.append(Paraphrase(t=t, partner=partner, attempt=attempt))

    while t < minutes * 60:
        listener = "B" if speaker == "A" else "A"
        floor(speaker, FloorRole.SPEAK, floor_s)
        floor(listener, FloorRole.PARAPHRASE, floor_s / 3)
        floor(speaker, FloorRole.CONFIRM, 6.0)
        answer = "yes" if rng.random() < 0.7 else "not_quite"
        events.append(Confirmation(t=t, partner=speaker, answer=answer, attempt=1))
        speaker = listener
    events.append(SessionEnded(t=t + 2.0, reason=EndReason.COMPLETED))
    return events


def keep(store: Store, events: list[Event], started: datetime) -> int:
    session_id = store.start_session(
        exercise="speaker-listener",
        partners=("Sam", "Alex"),
        mode="demo",
        started_at=started.isoformat(),
        settings={},
    )
    store.append_many(session_id, events)
    store.finish_session(session_id, "completed", events[-1].t)
    return session_id


def best_s(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def command_s(args: list[str], runs: int) -> float:
    """The command as typed: a fresh Python each time, its output thrown away."""

    def run() -> None:
        subprocess.run(
            [sys.executable, "-c", RUN_COMMAND, *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    return best_s(run, runs)


def invoke(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if result.exit_code != 0:
        raise SystemExit(f"{args}: {result.output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="length of the long session")
    parser.add_argument("--sessions", type=int, default=500, help="sessions in the history")
    parser.add_argument("--minutes", type=float, default=12.0, help="length of each of those")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the best is kept)")
    args = parser.parse_args()
    rng = random.Random(7)

    with tempfile.TemporaryDirectory() as home:
        os.environ["ATTUNE_HOME"] = home
        out = Path(home)
        first_day = datetime(2024, 1, 1, 19, tzinfo=timezone.utc)
        long_events = made_up_session(rng, args.hours * 60)
        with Store.open() as store:
            long_id = keep(store, long_events, first_day - timedelta(days=1))
            made_s = time.perf_counter()
            event_count = 0
            for i in range(args.sessions):
                events = made_up_session(rng, args.minutes)
                event_count += len(events)
                keep(store, events, first_day + timedelta(hours=20 * i))
            made_s = time.perf_counter() - made_s
            database = store.path

        print(
            f"review of one session of {long_events[-1].t / 3600:.2f} h, {len(long_events)} events"
        )
        with Store.open() as store:
            load_s = best_s(lambda: store.events(long_id), args.runs)
            stored_events = store.events(long_id)
        print(f"  read its events from the store      {load_s * 1000:8.1f} ms")
        summary_s = best_s(lambda: summarize(stored_events), args.runs)
        print(f"  summarize                           {summary_s * 1000:8.1f} ms")
        layout_s = best_s(lambda: timeline(stored_events), args.runs)
        print(f"  timeline                            {layout_s * 1000:8.1f} ms")
        for label, extra in (
            ("review (table)", []),
            ("review --format json", ["--format", "json"]),
            ("review --format csv --events", ["--format", "csv", "--events"]),
            ("review --html", ["--html", str(out / "r.html")]),
            ("review --png", ["--png", str(out / "r.png")]),
        ):
            in_process_s = best_s(partial(invoke, "review", str(long_id), *extra), args.runs)
            typed_s = command_s(["review", str(long_id), *extra], args.runs)
            print(
                f"  {label:<34}{in_process_s * 1000:8.1f} ms in process,"
                f" {typed_s * 1000:7.1f} ms as a command"
            )

        print(
            f"history of {args.sessions + 1} sessions ({event_count + len(long_events)} events;"
            f" stored in {made_s:.1f} s)"
        )
        cache = cache_path_for(database)

        def cold() -> None:
            cache.unlink(missing_ok=True)
            with Store.open() as store:
                load_history(store, cache_path=cache)

        cold_s = best_s(cold, args.runs)
        with Store.open() as store:
            load_history(store, cache_path=cache)
            warm_s = best_s(lambda: load_history(store, cache_path=cache), args.runs)
        print(f"  no summary cached yet (a first run) {cold_s * 1000:8.1f} ms")
        print(f"  summaries cached (history.remember) {warm_s * 1000:8.1f} ms")
        for label, extra in (
            ("history (table)", []),
            ("history --format json", ["--format", "json"]),
            ("history --since (a month)", ["--since", "2024-03-01", "--until", "2024-03-31"]),
            ("history --html", ["--html", str(out / "h.html")]),
            ("history --png", ["--png", str(out / "h.png")]),
        ):
            in_process_s = best_s(partial(invoke, "history", *extra), args.runs)
            typed_s = command_s(["history", *extra], args.runs)
            print(
                f"  {label:<34}{in_process_s * 1000:8.1f} ms in process,"
                f" {typed_s * 1000:7.1f} ms as a command"
            )
        startup_s = command_s(["--version"], args.runs)
        print(f"python start and the CLI's imports    {startup_s * 1000:8.1f} ms (--version)")


if __name__ == "__main__":
    main()
