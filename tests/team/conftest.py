"""Fixtures for the team side: the agent desk, escalation, timers, fake Discord and Bot API."""

from __future__ import annotations

import asyncio

import pytest

from chatbot.agents.agent_desk import AgentDesk
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock


@pytest.fixture
def agents(chat: ChatDriver, clock: FrozenClock) -> AgentDesk:
    return AgentDesk(chat.engine, chat.desk, clock)


async def no_sleep(_seconds: float) -> None:
    """Retries in tests do not wait."""
    await asyncio.sleep(0)
