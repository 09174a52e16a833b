"""Fixtures for the team side: the agent desk, escalation, timers, fake Discord and Bot API."""

from __future__ import annotations

import asyncio


async def no_sleep(_seconds: float) -> None:
    """Retries in tests do not wait."""
    await asyncio.sleep(0)
