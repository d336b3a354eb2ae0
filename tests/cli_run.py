"""Driving the real command line through click's CliRunner, and reading its one-line errors."""

from __future__ import annotations

from click.testing import CliRunner, Result

from attune_voice.cli.main import cli


def invoke(*args: str) -> Result:
    """``attune-voice ARGS`` in this process; an unexpected exception fails the test."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_error_line(result: Result) -> str:
    """The single line a failing command prints on stderr."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert lines[0].startswith("attune-voice: ")
    return lines[0]
