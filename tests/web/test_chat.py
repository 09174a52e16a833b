"""The web chat over HTTP: cookie, posting, delivery through the outbox, health, bad input."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from db import queries
from tests.polling import wait_for
from tests.web.conftest import LiveServer
from tests.web.helpers import stepped


def test_health_answers_once_ready(live_server: LiveServer) -> None:
    assert httpx.get(f"{live_server.url}/healthz").json() == {"ok": True}


def test_a_message_from_the_page_is_answered_and_delivered(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert "HaloERZAP" in page.text
        assert client.cookies.get("loket_chat")
        sent = client.post("/chat/messages", data={"text": "halo kak", "message_id": "1"})
        assert sent.json() == {"ok": True, "statuses": ["accepted"]}
        again = client.post("/chat/messages", data={"text": "halo kak", "message_id": "1"})
        assert again.json()["statuses"] == ["duplicate"]
    engine = live_server.app.state.engine

    def delivered() -> bool:
        with engine.connect() as conn:
            rows = conn.execute(
                select(queries.MESSAGE.c.status).where(queries.MESSAGE.c.direction == "out")
            ).all()
        return len(rows) == 2 and all(r.status == "sent" for r in rows)

    wait_for(delivered)


def test_posting_without_the_chat_cookie_is_a_clear_400(live_server: LiveServer) -> None:
    answer = httpx.post(
        f"{live_server.url}/chat/messages", data={"text": "halo", "message_id": "1"}
    )
    assert answer.status_code == 400
    assert "open the chat page first" in answer.json()["error"]


def test_an_over_long_message_is_refused_with_a_reason(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        client.get("/")
        answer = client.post("/chat/messages", data={"text": "x" * 5000, "message_id": "2"})
    assert answer.status_code == 400
    assert "at most 4000 characters" in answer.json()["error"]


def test_hostile_text_is_escaped_in_the_page(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        client.get("/")
        client.post(
            "/chat/messages", data={"text": "<script>alert(1)</script>", "message_id": "3"}
        )
        wait_for(lambda: stepped(live_server.app.state.engine))
        page = client.get("/").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
