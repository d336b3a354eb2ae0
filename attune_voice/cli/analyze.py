"""``attune-voice analyze``: who spoke when in any recording of a conversation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from attune_voice.cli.app import Progress, cli, dump_json, parse_partners, transcript_model

if TYPE_CHECKING:
    from attune_voice.review.speech import SpeechSpan


@cli.command(short_help="Who spoke when in a recorded conversation (a WAV file).")
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
@click.option(
    "--voices/--no-voices",
    default=True,
    show_default=True,
    help="With one channel: tell two voices apart by their sound and give each its own "
    "figures (it says when it finds one voice, or two that may be one person's). With a "
    "microphone each: take the other partner out of each microphone (as learnt where "
    "only they spoke), and leave out what still sounds like them. "
    "--no-voices keeps one channel one room, and two channels by level alone.",
)
@click.option(
    "--transcripts",
    is_flag=True,
    help="Add the recognised words, with their times, to each segment (needs a model).",
)
@click.option(
    "--model",
    type=click.Path(file_okay=False, path_type=Path),
    help="The vosk model folder for --transcripts (default: the one in use).",
)
def analyze(
    recording: Path,
    output: str,
    mono: bool,
    partners: str,
    voices: bool,
    transcripts: bool,
    model: Path | None,
) -> None:
    """Analyze a recorded conversation (WAV): speech segments and turn-taking.

    A two-channel file is taken as one microphone per partner (channel 1 is the first
    name), unless both channels carry the same signal, as an ordinary stereo phone
    recording does: that is analyzed as one room.
    """
    from attune_voice.review.analysis import analyze_recording
    from attune_voice.review.analysis_report import (
        analysis_to_csv,
        analysis_to_json,
        format_analysis,
    )
    from attune_voice.review.text import clock

    names = parse_partners(partners)
    model_path = None
    if transcripts:
        # Checked before the analysis, so a missing model fails at once.
        model_path = transcript_model(model)
    from attune_voice.audio.wav import wav_info

    # A header that cannot be read fails here, in one line, before any bar is drawn.
    header = wav_info(recording)
    progress = Progress("analyzing", header.frames / header.rate_hz)
    try:
        analysis = analyze_recording(
            recording, mono=mono, on_progress=progress, attribute_voices=voices
        )
    finally:
        progress.done()
    if analysis.cut_short_s is not None:
        click.echo(
            f"attune-voice: warning: {recording} is cut short: its header promises "
            f"{clock(analysis.cut_short_s)}, it holds {clock(analysis.duration_s)}; "
            "analyzing what is there",
            err=True,
        )
    words = _words(recording, analysis.segments, model_path) if model_path else None
    if output == "json":
        data = analysis_to_json(analysis, names)
        if words is not None:
            for segment, said in zip(data["segments"], words, strict=True):  # type: ignore[call-overload]
                segment["words"] = [word.to_json() for word in said]
        dump_json(data)
    elif output == "csv":
        click.echo(analysis_to_csv(analysis, names), nl=False)
    else:
        click.echo(format_analysis(analysis, names), nl=False)
        if words is not None:
            click.echo("\nWords:")
            for segment, said in zip(analysis.segments, words, strict=True):
                who = {"A": names[0], "B": names[1]}.get(segment.partner or "", "")
                text = " ".join(word.w for word in said) or "…"
                click.echo(f"  {clock(segment.t)}  {who + ': ' if who else ''}{text}")


def _words(recording: Path, segments: Sequence[SpeechSpan], model_path: Path) -> list[Any]:
    """The recognised words of each segment, on the recording's clock."""
    from attune_voice.audio.wav import read_wav_16k
    from attune_voice.listening.asr import transcribe_segments

    pcm = read_wav_16k(recording, mono=True)
    spans = [(segment.t, segment.end_t) for segment in segments]
    return list(transcribe_segments(pcm, spans, model_path))
