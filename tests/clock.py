"""A clock tests can freeze and move forward, instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FrozenClock:
    """Stands still until told to advance."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)
