"""Filling a prompt's placeholders: the one path, for prompts said and for those predicted."""

from __future__ import annotations

from collections.abc import Mapping

from attune_voice.durations import spoken_duration
from attune_voice.session.floor import OTHER


def fill(
    template: str,
    names: Mapping[str, str],
    speaker: str,
    holder: str,
    limit_s: float,
    /,
    **extra: str,
) -> str:
    """``template`` with its placeholders filled, for prompts said now and for those
    predicted (with the speaker, holder and limit they will have). ``names`` are the
    partners' names by label ("A", "B")."""
    values = {
        "speaker": names[speaker],
        "listener": names[OTHER[speaker]],
        "partner_a": names["A"],
        "partner_b": names["B"],
        "holder": names[holder],
        "limit": spoken_duration(limit_s),
        "remaining": "",
    }
    return template.format_map(_Blank(values | extra))


class _Blank(dict[str, str]):
    """Leaves an unknown placeholder empty rather than failing mid-session."""

    def __missing__(self, key: str) -> str:
        return ""
