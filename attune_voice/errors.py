"""The one exception family of attune_voice: one subclass per boundary."""

from __future__ import annotations


class AttuneError(Exception):
    """Something the user can fix; the CLI prints it as one line and exits non-zero."""

    exit_code = 1


class ScriptError(AttuneError):
    """An exercise script (TOML) that cannot be used."""

    exit_code = 2


class AudioFileError(AttuneError):
    """A recording that cannot be read or written."""

    exit_code = 3


class AudioDeviceError(AttuneError):
    """A microphone or speaker that cannot be opened or was lost."""

    exit_code = 4


class VoiceError(AttuneError):
    """The text-to-speech voice cannot render a prompt."""

    exit_code = 5


class StoreError(AttuneError):
    """The session database cannot be opened, read or written."""

    exit_code = 6


class ModelError(AttuneError):
    """A speech model (recognition, or the voice detector's) that is missing or unusable."""

    exit_code = 7


class ArchiveError(AttuneError):
    """An export archive that cannot be written or read back."""

    exit_code = 8


class UsageError(AttuneError):
    """A command-line value that does not make sense (a bad duration, an unknown session)."""

    exit_code = 2
