"""The ``attune-voice voices`` commands: the coach's voices, and choosing the one to use."""

from __future__ import annotations

import click

from attune_voice.cli.app import dump_json, listing_group


def _list_voices(output: str) -> None:
    from attune_voice.errors import VoiceError
    from attune_voice.store.settings_file import load_settings, settings_path
    from attune_voice.voice.coach import DEFAULT_VOICE, known_voices, resolve

    saved = load_settings().voice
    try:
        in_use = resolve(saved) if saved is not None else DEFAULT_VOICE
        problem = None
    except VoiceError as e:
        # A saved voice that went away (uninstalled) is said, and espeak-ng speaks meanwhile.
        in_use, problem = None, str(e)
    rows = [
        {
            "name": entry.name,
            "description": entry.description,
            "usable": entry.usable,
            "in_use": entry.name == in_use,
            "note": entry.note or None,
        }
        for entry in known_voices()
    ]
    if output == "json":
        dump_json(
            {"voices": rows, "in_use": in_use, "problem": problem, "config": str(settings_path())}
        )
        return
    width = max(len(entry.name) for entry in known_voices())
    for row in rows:
        mark = ">" if row["in_use"] else " "
        note = f"; {row['note']}" if row["note"] else ""
        click.echo(f"{mark} {row['name']:<{width}}  {row['description']}{note}")
    if problem is not None:
        click.echo(f"attune-voice: config.toml asks for {problem}", err=True)


voices = listing_group(
    "voices",
    "The coach's voices: list them (or use one).",
    "List the coach's voices, the one in use marked with > (use one with: voices use NAME).",
    "List the coach's voices (the same as attune-voice voices).",
    _list_voices,
)


@voices.command("use", short_help="Speak every session with this voice.")
@click.argument("name")
def voices_use(name: str) -> None:
    """Speak with the voice NAME in every session (run, check and demo)."""
    from dataclasses import replace

    from attune_voice.store.settings_file import load_settings, save_settings
    from attune_voice.voice.coach import resolve

    chosen = resolve(name)
    path = save_settings(replace(load_settings(), voice=chosen))
    click.echo(f"The coach speaks with the voice {chosen} (saved in {path})")
