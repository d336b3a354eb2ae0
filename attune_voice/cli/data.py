"""Commands for the couple's data: list and delete sessions, export and import them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from attune_voice.cli.app import (
    DEMO_HINT,
    cli,
    dump_json,
    fail,
    listing_group,
    warn,
)
from attune_voice.errors import ArchiveError

if TYPE_CHECKING:
    pass


def _list_sessions(output: str) -> None:
    from attune_voice.store.database import Store

    with Store.open(create=False) as store:
        exposed = store.exposure_warning()
        if exposed:
            warn(exposed)
        records = store.sessions()
    if output == "json":
        dump_json(
            [
                {
                    "session": r.id,
                    "started_at": r.started_at,
                    "exercise": r.exercise,
                    "partners": list(r.partners),
                    "mode": r.mode,
                    "status": r.status,
                    "duration_s": r.duration_s,
                    "timing_only": r.timing_only,
                }
                for r in records
            ]
        )
        return
    if not records:
        click.echo(f"No sessions yet. Try: {DEMO_HINT}")
        return
    from attune_voice.review.text import clock, local_time, text_table

    rows = [
        [
            str(r.id),
            local_time(r.started_at),
            r.exercise,
            f"{r.partners[0]} & {r.partners[1]}",
            clock(r.duration_s or 0.0),
            r.mode,
            r.status + ("  timing only" if r.timing_only else ""),
        ]
        for r in records
    ]
    header = ["session", "started", "exercise", "partners", "length", "mode", "status"]
    for line in text_table(header, rows, right=(0, 4)):
        click.echo(line)


sessions = listing_group(
    "sessions",
    "List the stored sessions, newest first (or delete some).",
    "List the stored sessions, newest first (or delete them: sessions delete).",
    "List the stored sessions (the same as attune-voice sessions).",
    _list_sessions,
)


@sessions.command(short_help="Remove a session (or --all) for good.")
@click.argument("session", required=False, type=int)
@click.option("--all", "everything", is_flag=True, help="Delete every stored session.")
@click.option("--yes", is_flag=True, help="Do not ask before deleting.")
def delete(session: int | None, everything: bool, yes: bool) -> None:
    """Remove a session (or --all) for good: events, summaries and saved audio."""
    from attune_voice.review.history import cache_path_for
    from attune_voice.store import paths
    from attune_voice.store.database import Store

    if (session is None) == (not everything):
        fail("give one SESSION number or --all, not both")
    with Store.open(create=False) as store:
        if everything:
            ids = [record.id for record in store.sessions()]
            what = f"all {len(ids)} sessions"
        else:
            assert session is not None
            store.session(session)  # an unknown number fails here, before asking
            ids = [session]
            what = f"session {session}"
        if not ids:
            click.echo("No sessions to delete.")
            return
        if not yes:
            if not sys.stdin.isatty():
                fail(f"deleting {what} cannot be undone; add --yes to confirm")
            click.confirm(f"Delete {what} for good? This cannot be undone", abort=True, err=True)
        removed = store.delete_all_sessions() if everything else store.delete_sessions(ids)
        # Summaries are rebuilt from the events on demand; dropping the file is simplest.
        cache_path_for(store.path).unlink(missing_ok=True)
    audio = [path for sid in removed for path in paths.session_audio_files(sid)]
    for path in audio:
        path.unlink(missing_ok=True)
    extra = f" and {len(audio)} recording{'s' if len(audio) != 1 else ''}" if audio else ""
    click.echo(f"Deleted {len(removed)} session{'s' if len(removed) != 1 else ''}{extra}.")


@cli.command("export", short_help="Write sessions to one private JSON archive file.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--session",
    "session_ids",
    type=int,
    multiple=True,
    metavar="N",
    help="Only session N; repeat it for more: --session 3 --session 5.",
)
def export_command(file: Path, session_ids: tuple[int, ...]) -> None:
    """Write all sessions to FILE (- for standard output), a JSON archive to keep or hand
    to a counsellor."""
    from attune_voice.store.archive import archive_text, export_sessions
    from attune_voice.store.database import Store

    with Store.open(create=False) as store:
        for sid in session_ids:
            store.session(sid)
        if str(file) == "-":
            text, count = archive_text(store, list(session_ids) or None)
            click.echo(text)
            warn(f"wrote {count} session{'s' if count != 1 else ''} to standard output")
            return
        count = export_sessions(store, file, list(session_ids) or None)
    click.echo(f"Wrote {count} session{'s' if count != 1 else ''} to {file} (private: 0600).")


@cli.command("import", short_help="Add the sessions of an archive file; never overwrites.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Add the sessions of an archive FILE; sessions already stored are left as they are."""
    from attune_voice.store.archive import import_sessions, read_archive_parts
    from attune_voice.store.database import Store

    parts = read_archive_parts(file)
    for refused in parts.refused:
        warn(f"{file}: {refused}; left out")
    if parts.refused and not parts.sessions:
        fail(
            f"{file}: none of its {len(parts.refused)} sessions can be imported",
            exit_code=ArchiveError.exit_code,
        )
    with Store.open() as store:
        result = import_sessions(store, list(parts.sessions))
    added = len(result.added)
    left_out = len(parts.refused)
    click.echo(
        f"Imported {added} session{'s' if added != 1 else ''}"
        + (f"; {result.skipped} already stored, left as they were" if result.skipped else "")
        + (f"; {left_out} left out (above)" if left_out else "")
        + "."
    )
