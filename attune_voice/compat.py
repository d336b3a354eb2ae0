"""Small backports so the package runs on Python 3.10 as well as newer versions."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - Python 3.10
    from enum import Enum

    class StrEnum(str, Enum):
        """Backport of ``enum.StrEnum``: members are their string values."""

        def __str__(self) -> str:
            return str(self.value)


__all__ = ["StrEnum"]
