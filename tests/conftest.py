"""Shared fixtures: isolated settings on a temporary SQLite file, the desk, a frozen clock."""

from __future__ import annotations

import os

# python-telegram-bot: RetryAfter.retry_after as a timedelta, without a deprecation warning
# (pytest turns warnings into errors). Set before anything imports telegram.
os.environ.setdefault("PTB_TIMEDELTA", "1")
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from chatbot.bootstrap import open_desk
from chatbot.desk import Desk
from chatbot.phrases import PhraseBook
from settings import Settings
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_host_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's shell or .env must not change results."""
    for name in [n for n in os.environ if n.startswith("LOKET_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/loket.db", profile="erzap", _env_file=None)  # type: ignore[call-arg]


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
