from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from chatbot.web.app import create_app
from settings import Settings
from tests.clock import FrozenClock
from tests.fakes.server import ThreadedServer
from tests.supervision.builder import CaseBuilder
from tests.web.auth_helpers import add_user


@pytest.fixture
def builder(desk_for, clock) -> CaseBuilder:  # type: ignore[no-untyped-def]
    engine, desk = desk_for("erzap")
    return CaseBuilder(desk, engine, clock)


@dataclass
class Desk:
    app: FastAPI
    ids: dict[str, int]
    url: str = ""


def _supervision_app(settings: Settings, clock: FrozenClock, builder: CaseBuilder) -> Desk:
    from tests.supervision.builder import standard_day

    ids = standard_day(builder)
    app = create_app(settings, clock=clock, run_outbox=False)
    accounts = app.state.accounts
    for name in ("ani", "budi", "sri"):
        accounts.set_password(name, "correct-horse-9")
    add_user(app, "sue", "supervisor")
    return Desk(app, ids)


@pytest.fixture
def supervision_app(
    settings: Settings, clock: FrozenClock, builder: CaseBuilder
) -> Iterator[Desk]:
    desk = _supervision_app(settings, clock, builder)
    yield desk
    desk.app.state.engine.dispose()  # also when no TestClient ran the app's lifespan


@pytest.fixture
def supervision_server(
    settings: Settings, clock: FrozenClock, builder: CaseBuilder
) -> Iterator[Desk]:
    desk = _supervision_app(settings, clock, builder)
    server = ThreadedServer(desk.app, lifespan="on").start()
    desk.url = server.url
    yield desk
    server.stop()
    desk.app.state.engine.dispose()  # also when the server's shutdown ran out of time
