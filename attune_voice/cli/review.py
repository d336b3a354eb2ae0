"""The review commands: one session's turn-taking picture, and the sessions over time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from attune_voice.cli.app import DEMO_HINT, cli, dump_json, fail
from attune_voice.errors import UsageError

if TYPE_CHECKING:
    from attune_voice.review.history import History
    from attune_voice.review.metrics import SessionSummary
    from attune_voice.review.timeline import Timeline
    from attune_voice.store.database import SessionRecord


def _format_option(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--format",
        "output",
        type=click.Choice(["text", "json", "csv"]),
        default="text",
        show_default=True,
        help=f"text: a table; json: {what}, with a schema version; csv: for spreadsheets.",
    )


_html_option = click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write one self-contained web page (no network needed) to this file.",
)
_png_option = click.option(
    "--png",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the picture as a PNG image to this file.",
)


@cli.command()
@click.argument("session", type=int, required=False)
@_format_option("the metrics and every event")
@click.option(
    "--events",
    "event_rows",
    is_flag=True,
    help="With --format csv: the event log, one row per event, instead of the metrics.",
)
@_html_option
@_png_option
def review(
    session: int | None, output: str, event_rows: bool, html: Path | None, png: Path | None
) -> None:
    """Show how a stored session went (the latest by default): who spoke when, side by side."""
    from attune_voice.review.metrics import summarize
    from attune_voice.review.timeline import timeline
    from attune_voice.store.database import Store

    if event_rows and output != "csv":
        raise UsageError("--events goes with --format csv (the JSON always has the events)")
    if png is not None:
        _need_matplotlib()
    with Store.open(create=False) as store:
        session_id = session if session is not None else store.latest_session_id()
        if session_id is None:
            fail(f"no sessions stored yet; try: {DEMO_HINT}", exit_code=1)
        record = store.session(session_id)
        events = store.events(session_id)
    summary = summarize(events)
    laid_out = timeline(events)
    when = _local(record.started_at)
    if html is not None:
        from attune_voice.review.html import session_html

        _write(html, session_html(summary, laid_out, when=when).encode("utf-8"))
    if png is not None:
        from attune_voice.review.png import session_png

        _write(png, session_png(summary, laid_out, subtitle=when))
    if output == "json":
        from attune_voice.review.data import review_json

        dump_json(review_json(summary, events, record))
    elif output == "csv":
        from attune_voice.review.data import events_csv, metrics_csv

        click.echo(events_csv(events) if event_rows else metrics_csv(summary, record), nl=False)
    else:
        _print_review(summary, laid_out, record)


@cli.command()
@click.option("--since", metavar="DATE", help="Only sessions on or after this day (2024-05-01).")
@click.option("--until", metavar="DATE", help="Only sessions on or before this day.")
@click.option("--exercise", help="Only sessions of this exercise (its name, as listed).")
@_format_option("one record per session")
@_html_option
@_png_option
def history(
    since: str | None,
    until: str | None,
    exercise: str | None,
    output: str,
    html: Path | None,
    png: Path | None,
) -> None:
    """Show the stored sessions over time: balance, interruptions, confirmations."""
    from attune_voice.review.history import cache_path_for, history_json, load_history
    from attune_voice.store.database import Store

    if png is not None:
        _need_matplotlib()
    since_t = _day(since, "--since")
    until_t = _day(until, "--until", next_day=True)
    if since_t is not None and until_t is not None and since_t >= until_t:
        raise UsageError(f"--since {since} is after --until {until}")
    with Store.open(create=False) as store:
        found = load_history(
            store,
            since=since_t,
            until=until_t,
            exercise=exercise,
            cache_path=cache_path_for(store.path),
        )
    for session_id, reason in found.unreadable:
        click.echo(f"attune-voice: session {session_id} left out: {reason}", err=True)
    entries = found.entries
    if html is not None:
        from attune_voice.review.html import history_html

        _write(html, history_html(entries, None).encode("utf-8"))
    if png is not None:
        from attune_voice.review.png import history_png

        _write(png, history_png(entries, None))
    if output == "json":
        dump_json(history_json(entries))
    elif output == "csv":
        _print_history_csv(found)
    else:
        _print_history(found, filtered=bool(since or until or exercise))


# --- text output ------------------------------------------------------------------------------


def _print_review(summary: SessionSummary, laid_out: Timeline, record: SessionRecord) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from attune_voice.review.text import (
        BOTH_MARK,
        PARTNER_COLOURS,
        PROMPT_MARK,
        headline,
        metric_rows,
        session_notes,
        timeline_markers,
        timeline_text,
    )

    console = Console(highlight=False)
    console.print(Text(f"Session {record.id}: {headline(summary)}", style="bold"))
    console.print(Text(f"{_local(record.started_at)}, {record.mode}", style="dim"))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("")
    for name, colour in zip(summary.partners, PARTNER_COLOURS, strict=True):
        table.add_column(name, justify="right", header_style=f"bold {colour}")
    for row in metric_rows(summary):
        table.add_row(row.label, *row.values)
    console.print(table)

    width = max(20, min(console.width, 100))
    markers = timeline_markers(summary.partners)
    styles = dict(zip(markers, PARTNER_COLOURS, strict=True))
    line = Text()
    for char in timeline_text(laid_out, width):
        line.append(char, style=styles.get(char, "dim"))
    end = _clock(summary.duration_s)
    console.print("who spoke when")
    console.print(line, no_wrap=True, overflow="crop")
    console.print(Text("0:00".ljust(width - len(end)) + end, style="dim"), no_wrap=True)
    legend = Text()
    for marker, name, colour in zip(markers, summary.partners, PARTNER_COLOURS, strict=True):
        legend.append(marker, style=colour)
        legend.append(f" {name}   ")
    legend.append(f"{BOTH_MARK} both at once   {PROMPT_MARK} the coach", style="dim")
    console.print(legend)
    console.print()
    for note in session_notes(summary):
        console.print(note)


def _print_history(found: History, *, filtered: bool) -> None:
    from attune_voice.review.history import format_history, history_table

    if not found.entries:
        click.echo("No sessions match." if filtered else f"No sessions yet. Try: {DEMO_HINT}")
        return
    header, rows = history_table(found.entries, None)
    click.echo(format_history(header, rows), nl=False)
    click.echo("names: each one's share of the talk; confirmed: paraphrases confirmed first time")


def _print_history_csv(found: History) -> None:
    import csv
    import io

    from attune_voice.review.history import HISTORY_COLUMNS, history_record

    out = io.StringIO()
    writer = csv.DictWriter(out, HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in found.entries:
        row = history_record(entry)
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    click.echo(out.getvalue(), nl=False)


# --- helpers ----------------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    from attune_voice.review.text import clock

    return clock(seconds)


def _local(started_at: str) -> str:
    """A stored UTC start as this computer's local date and time."""
    return datetime.fromisoformat(started_at).astimezone().strftime("%Y-%m-%d %H:%M")


def _day(text: str | None, option: str, *, next_day: bool = False) -> datetime | None:
    """The start of a local day given as YYYY-MM-DD (or of the day after it), with this
    computer's time zone."""
    if text is None:
        return None
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d")
    except ValueError as e:
        raise UsageError(f"{option} takes a day like 2024-05-01, not {text!r}") from e
    if next_day:
        day += timedelta(days=1)
    # A naive time's astimezone() reads it as local time, with that day's summer time.
    return day.astimezone()


def _need_matplotlib() -> None:
    from importlib.util import find_spec

    if find_spec("matplotlib") is None:
        raise UsageError("--png needs matplotlib, which is not installed: pip install matplotlib")


def _write(path: Path, data: bytes) -> None:
    from attune_voice.store.paths import write_private

    try:
        write_private(path, data)
    except OSError as e:
        reason = e.strerror or str(e)
        raise UsageError(f"cannot write {path} ({reason}); give a path in a writable folder") from e
    click.echo(f"wrote {path}", err=True)
