"""Bad input from anyone gets a 4xx: ids past any column, event ids, web chat floods, health."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from chatbot.frontdesk.desk import Desk
from chatbot.web.app import create_app
from chatbot.web.campaigns import MAX_AUDIENCE_BYTES
from chatbot.web.chat import FILE_FORM_OVERHEAD
from db.queries import CASE
from settings import Settings
from tests.clock import FrozenClock
from tests.web.auth_helpers import add_user, login

HUGE_ID = "9" * 23  # past 2**63: SQLite's driver raised OverflowError


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Iterator[FastAPI]:
    application = create_app(settings, clock=clock, background=False)
    yield application
    application.state.engine.dispose()


def open_chat(client: TestClient) -> None:
    assert client.get("/").status_code == 200  # sets the chat cookie


def test_the_api_description_is_for_admins_only(app: FastAPI, client: TestClient) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert client.get(path).status_code == 404
    assert client.get("/admin/openapi.json", follow_redirects=False).status_code == 303
    add_user(app, "agus", "agent")
    login(client, "agus")
    assert client.get("/admin/openapi.json").status_code == 403
    add_user(app, "ani", "admin")
    login(client, "ani")
    described = client.get("/admin/openapi.json").json()
    assert "/chat/messages" in described["paths"]


@pytest.mark.parametrize(
    "path",
    [
        f"/desk/cases/{HUGE_ID}",
        f"/desk/cases/{HUGE_ID}/fragment",
        f"/desk/cases/1/attachments/{HUGE_ID}",
        f"/desk/cases/{HUGE_ID}/attachments/{HUGE_ID}",
        "/desk/cases/0",
    ],
)
def test_an_id_no_row_can_have_is_a_422(app: FastAPI, client: TestClient, path: str) -> None:
    add_user(app, "agus", "agent")
    login(client, "agus")
    assert client.get(path).status_code == 422


def test_a_last_event_id_that_is_no_number_is_a_422(client: TestClient) -> None:
    open_chat(client)
    answer = client.get("/chat/events", headers={"Last-Event-ID": "abc"})
    assert answer.status_code == 422
    assert "Last-Event-ID" in answer.json()["error"]
    assert client.get(f"/chat/events?after={HUGE_ID}").status_code == 422


@pytest.mark.parametrize(
    ("field", "value"), [("button", "b" * 65), ("message_id", "m" * 65), ("text", "x" * 4001)]
)
def test_every_web_chat_field_is_bounded(client: TestClient, field: str, value: str) -> None:
    open_chat(client)
    answer = client.post("/chat/messages", data={"message_id": "1", "text": "halo", field: value})
    assert answer.status_code == 400
    assert field in answer.json()["error"]


def test_a_web_chat_body_over_its_limit_is_413(client: TestClient) -> None:
    open_chat(client)
    answer = client.post("/chat/messages", data={"message_id": "1", "text": "x" * 20_000})
    assert answer.status_code == 413


def test_no_body_larger_than_a_file_and_its_form_reaches_a_route(
    settings: Settings, clock: FrozenClock
) -> None:
    """The console's reply form would spool a huge upload to disk before its own check."""
    app = create_app(settings, clock=clock, background=False)
    largest = max(settings.max_media_bytes, MAX_AUDIENCE_BYTES) + FILE_FORM_OVERHEAD
    try:
        with TestClient(app) as client:
            add_user(app, "sari", "agent")
            login(client, "sari")
            huge = {"file": ("big.pdf", b"%PDF" + b"x" * largest, "application/pdf")}
            answer = client.post("/desk/cases/1/reply", data={"text": "ini"}, files=huge)
            assert answer.status_code == 413
            assert client.get("/desk").status_code == 200  # the agent's session goes on
    finally:
        app.state.engine.dispose()


def test_one_chat_posting_too_fast_is_told_to_wait(client: TestClient, clock: FrozenClock) -> None:
    open_chat(client)
    answers = [
        client.post("/chat/messages", data={"message_id": str(n), "text": f"halo {n}"})
        for n in range(25)
    ]
    assert [a.status_code for a in answers] == [200] * 20 + [429] * 5
    assert int(answers[-1].headers["retry-after"]) == 60
    assert answers[-1].json()["message"].startswith("Pesannya terlalu cepat")
    clock.advance(minutes=1)
    assert client.post("/chat/messages", data={"message_id": "99", "text": "x"}).status_code == 200


def new_chat_says(client: TestClient, text: str = "halo") -> int:
    client.cookies.clear()
    open_chat(client)  # a new chat id each time
    status: int = client.post("/chat/messages", data={"message_id": "1", "text": text}).status_code
    return status


def test_one_address_cannot_open_chats_without_end(settings: Settings, clock: FrozenClock) -> None:
    many_open = settings.model_copy(update={"web_chat_open_cases_per_address": 100})
    app = create_app(many_open, clock=clock, background=False)
    with TestClient(app) as client:
        statuses = [new_chat_says(client) for _ in range(12)]
    app.state.engine.dispose()
    assert statuses == [200] * 10 + [429] * 2


def test_one_address_holds_at_most_three_open_web_cases(app: FastAPI, client: TestClient) -> None:
    """Each new chat opens a case for the agents' queue: a fourth waits until one closes."""
    desk: Desk = app.state.desk
    assert [new_chat_says(client) for _ in range(3)] == [200] * 3
    third = dict(client.cookies)
    assert new_chat_says(client) == 429  # counted before their cases exist (no stepper ran)
    desk.step_pending(whole=True)
    assert new_chat_says(client) == 429
    client.cookies.clear()
    client.cookies.update(third)
    going_on = client.post("/chat/messages", data={"message_id": "2", "text": "halo?"})
    assert going_on.status_code == 200  # an open chat goes on talking
    client.cookies.clear()
    open_chat(client)
    answer = client.post("/chat/messages", data={"message_id": "1", "text": "halo"})
    assert answer.status_code == 429
    assert "conversations open" in answer.json()["error"]
    # the client reads that the network has chats open, not that they typed too fast
    assert "beberapa percakapan" in answer.json()["message"]
    assert int(answer.headers["retry-after"]) == 300
    with app.state.engine.begin() as conn:
        first = conn.execute(select(func.min(CASE.c.id)).where(CASE.c.channel == "web")).scalar()
        conn.execute(update(CASE).where(CASE.c.id == first).values(closed_at=func.now()))
    assert new_chat_says(client) == 200
    assert new_chat_says(client) == 429


def test_health_is_503_when_the_database_disk_is_full(settings: Settings) -> None:
    if not settings.is_sqlite:
        pytest.skip("the free-space check is for a SQLite file's disk")
    full = settings.model_copy(update={"health_min_free_mb": 10.0**12})  # an exabyte
    app = create_app(full, background=False)
    with TestClient(app) as client:
        answer = client.get("/healthz")
    app.state.engine.dispose()
    assert answer.status_code == 503
    assert answer.json() == {"ok": False, "database": "disk full"}
