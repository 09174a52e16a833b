"""The only source of "now", so tests can freeze and advance time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the time; always aware, always UTC."""

    def now(self) -> datetime:
        """The current moment."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """The current moment in UTC."""
        return datetime.now(UTC)
