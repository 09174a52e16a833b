"""Shared fixtures: isolated settings on a temporary SQLite file, the desk, a frozen clock."""

from __future__ import annotations

import os
import uuid

# python-telegram-bot: RetryAfter.retry_after as a timedelta, without a deprecation warning
# (pytest turns warnings into errors). Set before anything imports telegram.
os.environ.setdefault("PTB_TIMEDELTA", "1")
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from chatbot.agents.agent_desk import AgentDesk
from chatbot.frontdesk.desk import Desk
from chatbot.frontdesk.phrases import PhraseBook
from chatbot.runtime.bootstrap import open_desk
from settings import Settings
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.twilio_api import FakeTwilioApi

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_host_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's shell or .env must not change results."""
    for name in [n for n in os.environ if n.startswith("LOKET_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


# TEST_DATABASE_URL=postgresql+psycopg://user@/postgres?host=/var/run/postgresql runs the
# suite on PostgreSQL: each test gets a database of its own, dropped afterwards.
POSTGRES_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if not POSTGRES_ADMIN_URL:
        yield f"sqlite:///{tmp_path}/loket.db"
        return
    name = f"loket_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, profile="erzap", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, tmp_path: Path) -> Iterator[FastAPI]:
    """The web app on the test's database and clock, without the outbox and timer loops.

    A test module that needs another app defines its own `app`; `client` then uses that one.
    """
    from chatbot.web.app import create_app

    application = create_app(
        settings.model_copy(update={"media_dir": tmp_path / "media"}),
        clock=clock,
        run_outbox=False,
        run_timers=False,
    )
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def phrases() -> PhraseBook:
    return PhraseBook(ROOT / "scripts_text")


def make_desk(settings: Settings, clock: FrozenClock, profile: str) -> tuple[Engine, Desk]:
    return open_desk(
        database_url=settings.database_url,
        scripts_dir=settings.scripts_dir,
        profiles_dir=settings.profiles_dir,
        profile=profile,
        locale=settings.locale,
        clock=clock,
    )


@pytest.fixture
def desk_for(settings: Settings, clock: FrozenClock) -> Iterator[object]:
    engines: list[Engine] = []

    def build(profile: str = "erzap") -> tuple[Engine, Desk]:
        engine, desk = make_desk(settings, clock, profile)
        engines.append(engine)
        return engine, desk

    yield build
    for engine in engines:
        engine.dispose()


@pytest.fixture
def chat(desk_for) -> ChatDriver:  # type: ignore[no-untyped-def]
    engine, desk = desk_for("erzap")
    return ChatDriver(desk, engine)


@pytest.fixture
def agents(chat: ChatDriver, clock: FrozenClock) -> AgentDesk:
    """The agent desk over the same database and step service as `chat`."""
    return AgentDesk(chat.engine, chat.desk, clock)


# The vendor fakes: real HTTP servers on 127.0.0.1, port 0, that the real client libraries
# talk to (tests/fakes/). One of each per test that asks for it.
@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi().start()
    yield api
    api.stop()


@pytest.fixture
def twilio_api() -> Iterator[FakeTwilioApi]:
    api = FakeTwilioApi().start()
    yield api
    api.stop()


@pytest.fixture
def discord() -> Iterator[FakeDiscord]:
    fake = FakeDiscord().start()
    yield fake
    fake.stop()
