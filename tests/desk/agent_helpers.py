"""Helpers for agent-desk tests: desk users as rows, a queued case, reading clocks and events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from chatbot.agents.agent_desk import Staff
from db import agent_queries as aq
from db import queries
from tests.chat_driver import ChatDriver


def create_user(
    engine: Engine, name: str, role: str = "agent", *, seen: datetime | None = None
) -> Staff:
    """A desk_user row (login is another branch's business: the hash is never checked here)."""
    with engine.begin() as conn:
        result = conn.execute(
            insert(aq.USER).values(
                name=name,
                role=role,
                password_hash="not-a-login",
                active=True,
                created_at=datetime(2026, 1, 1),  # noqa: DTZ001
                last_seen_at=seen,
            )
        )
        user_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    return Staff(user_id, name, role)


def set_seen(engine: Engine, user: Staff, seen: datetime | None) -> None:
    with engine.begin() as conn:
        conn.execute(update(aq.USER).where(aq.USER.c.id == user.id).values(last_seen_at=seen))


def queue_hard_case(chat: ChatDriver) -> int:
    """A Hard ERZAP case, verified and handed to the queue by the bot."""
    for line in ["halo kak", "laporan penjualan di BI kosong semua hari ini", "Wulan"]:
        chat.client_says(line)
    chat.client_says("outlet Kedai Wulan")
    assert chat.case["state"] == "queued", chat.case["state"]
    return int(chat.case["id"])


def case_row(engine: Engine, case_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = aq.get_case(conn, case_id=case_id)
    assert row is not None
    return dict(row)


def events(engine: Engine, case_id: int) -> list[tuple[str, str | None, str | None]]:
    with engine.connect() as conn:
        return [
            (e["kind"], e["actor"], e["detail"]) for e in aq.list_events(conn, case_id=case_id)
        ]


def messages(engine: Engine, case_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(m) for m in queries.list_messages(conn, case_ids=[case_id])]


def outbox(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(queries.MESSAGE).where(queries.MESSAGE.c.status == "pending")
            ).mappings()
        ]
