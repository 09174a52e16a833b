from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI

from chatbot.web.app import create_app
from settings import Settings
from tests.clock import FrozenClock
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
    server = uvicorn.Server(
        uvicorn.Config(desk.app, host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    desk.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    yield desk
    server.should_exit = True
    thread.join(timeout=10)
    desk.app.state.engine.dispose()  # also when the server's shutdown ran out of time


@pytest.fixture
def bot_api() -> Iterator[object]:
    from tests.fakes.bot_api import FakeBotApi

    api = FakeBotApi().start()
    yield api
    api.stop()
