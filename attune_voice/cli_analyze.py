"""``attune-voice analyze``: who spoke when in any recording of a conversation."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from attune_voice.cli import Progress, cli, dump_json, parse_partners


@cli.command()
@click.argument("recording", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help="text: the summary and a timeline; json: one object; csv: one row per segment.",
)
@click.option(
    "--mono",
    is_flag=True,
    help="Mix all channels into one (a recording with more than two channels needs it).",
)
@click.option(
    "--partners",
    default="Partner A,Partner B",
    show_default=True,
    help='Names for channel 1 and channel 2, "A,B".',
)
def analyze(recording: Path, output: str, mono: bool, partners: str) -> None:
    """Analyse a recorded conversation (WAV): speech segments and turn-taking.

    A two-channel file is taken as one microphone per partner (channel 1 is the first
    name), unless both channels carry the same signal, as an ordinary stereo phone
    recording does: that is analysed as one room.
    """
    from attune_voice.analysis import (
        analysis_to_csv,
        analysis_to_json,
        analyze_recording,
        clock,
        format_analysis,
    )

    names = parse_partners(partners)
    progress = Progress("analysing", None) if sys.stderr.isatty() else None
    try:
        analysis = analyze_recording(recording, mono=mono, on_progress=progress)
    finally:
        if progress is not None:
            progress.done()
    if analysis.cut_short_s is not None:
        click.echo(
            f"attune-voice: warning: {recording} is cut short: its header promises "
            f"{clock(analysis.cut_short_s)}, it holds {clock(analysis.duration_s)}; "
            "analysing what is there",
            err=True,
        )
    if output == "json":
        dump_json(analysis_to_json(analysis, names))
    elif output == "csv":
        click.echo(analysis_to_csv(analysis, names), nl=False)
    else:
        click.echo(format_analysis(analysis, names), nl=False)
