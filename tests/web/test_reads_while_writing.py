"""Pages that only read answer while a webhook-sized write transaction holds the database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert

from db.models import User
from settings import Settings
from tests.clock import FrozenClock
from tests.web.auth_helpers import add_user, login

USER = User.__table__  # type: ignore[attr-defined]
# Seconds the writer holds its transaction unless the page answered first: a page that
# queued behind the writer answers only after this, and "answered while held" turns False.
HOLD_AT_MOST = 30.0


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Iterator[FastAPI]:
    from chatbot.web.app import create_app

    application = create_app(settings, clock=clock, run_outbox=False, run_timers=False)
    yield application
    application.state.engine.dispose()


def while_writing(app: FastAPI, ask: Callable[[], int]) -> tuple[int, bool]:
    """Run `ask` while another connection holds an open write transaction (an INSERT done).

    Returns the status and whether `ask` answered while the write was still held: an order
    of events, not a duration, so a slow (loaded) machine cannot change the result.
    """
    holding, done, letting_go = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        with app.state.engine.begin() as conn:
            conn.execute(
                insert(USER).values(
                    name="held", role="agent", password_hash="x", active=True,
                    created_at=datetime.now(UTC),
                )
            )  # fmt: skip
            holding.set()
            done.wait(HOLD_AT_MOST)
            letting_go.set()  # before the commit, so a page waiting for it sees this set

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(HOLD_AT_MOST)
        status = ask()
        return status, not letting_go.is_set()
    finally:
        done.set()
        holder.join()


@pytest.mark.parametrize(
    "path",
    ["/desk/kpi", "/desk/kpi?period=month", "/desk/qa", "/desk/reports/monthly?month=2026-05"],
)
def test_a_supervisor_page_answers_while_a_write_is_held(app: FastAPI, path: str) -> None:
    with TestClient(app) as client:
        add_user(app, "sari", "supervisor")
        login(client, "sari")  # marks her seen: the page's session check is only a read
        status, while_held = while_writing(app, lambda: client.get(path).status_code)
    assert status == 200
    assert while_held, f"{path} waited for the writer"


def test_the_chat_page_answers_while_a_write_is_held(app: FastAPI) -> None:
    with TestClient(app) as client:
        status, while_held = while_writing(app, lambda: client.get("/").status_code)
    assert status == 200
    assert while_held
