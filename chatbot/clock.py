"""The only source of "now", so tests can freeze and advance time."""

from __future__ import annotations

import asyncio
import contextlib
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


class ShiftedClock:
    """The wall clock moved to start at another moment (`loket chat --at`: try office hours)."""

    def __init__(self, start: datetime) -> None:
        self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        """The shifted moment in UTC; it runs as fast as the wall clock."""
        return (datetime.now(UTC) + self._offset).astimezone(UTC)


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile (the background loops' pause)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
