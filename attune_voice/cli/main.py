"""The ``attune-voice`` entry point: the command group with every command family on it."""

from __future__ import annotations

from contextlib import suppress

# Each family registers its commands on the group when imported.
from attune_voice.cli import analyze, data, devices, exercises, models, review, sessions, voices
from attune_voice.cli.app import cli

__all__ = ["cli", "main"]

FAMILIES = (analyze, data, devices, exercises, models, review, sessions, voices)
"""The command modules, one per family, in the order ``--help`` does not depend on."""


def main() -> None:
    with suppress(BrokenPipeError):
        cli(prog_name="attune-voice")
