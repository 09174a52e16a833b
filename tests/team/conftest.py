"""Fixtures for the team side: the agent desk, escalation, timers, fake Discord and Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from chatbot.agents.agent_desk import AgentDesk
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.discord_api import FakeDiscord


@pytest.fixture
def agents(chat: ChatDriver, clock: FrozenClock) -> AgentDesk:
    return AgentDesk(chat.engine, chat.desk, clock)


@pytest.fixture
def discord() -> Iterator[FakeDiscord]:
    fake = FakeDiscord().start()
    yield fake
    fake.stop()


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi().start()
    yield api
    api.stop()


async def no_sleep(_seconds: float) -> None:
    """Retries in tests do not wait."""
    await asyncio.sleep(0)
