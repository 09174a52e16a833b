"""A live `loket serve` app on 127.0.0.1:0 in a thread, and a client logged in as an admin."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.web.app import create_app
from settings import Settings
from tests.fakes.server import ThreadedServer
from tests.web.auth_helpers import signed_in


@pytest.fixture
def admin(app: FastAPI) -> Iterator[TestClient]:
    """A client logged in as the admin "ani" through /login (CSRF header set)."""
    with signed_in(app, "ani", "admin") as client:
        yield client


@dataclass
class LiveServer:
    app: FastAPI
    url: str


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    app = create_app(settings.model_copy(update={"outbox_poll_seconds": 0.05}))
    server = ThreadedServer(app, lifespan="on").start()
    yield LiveServer(app, server.url)
    server.stop()
    app.state.engine.dispose()  # also when the server's shutdown ran out of time
