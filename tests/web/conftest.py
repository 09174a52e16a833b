"""A live `loket serve` app on 127.0.0.1:0 in a thread, and fake provider APIs on 127.0.0.1."""

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
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.twilio_api import FakeTwilioApi


@dataclass
class LiveServer:
    app: FastAPI
    url: str


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    app = create_app(settings.model_copy(update={"outbox_poll_seconds": 0.05}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveServer(app, f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()  # also when the server's shutdown ran out of time


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
