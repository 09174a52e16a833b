"""A queued client asking "masih lama?" hears their place among their desk's queued cases."""

from __future__ import annotations

from sqlalchemy import text

from db import queries
from tests.chat_driver import ChatDriver

TO_THE_QUEUE = ["halo", "laporan penjualan di BI kosong semua", "Wulan", "outlet Kedai Wulan"]


def queued(chat: ChatDriver, chat_id: str) -> ChatDriver:
    client = ChatDriver(chat.desk, chat.engine, chat_id=chat_id)
    for line in TO_THE_QUEUE:
        client.client_says(line)
    assert client.case["state"] == "queued"
    return client


def test_each_queued_client_hears_their_own_place(chat: ChatDriver) -> None:
    first, second, third = (queued(chat, f"client-q{n}") for n in range(3))
    third.client_says("masih lama ya kak?")
    assert "antrean ke-3" in third.last_texts()[0]
    first.client_says("masih lama ya kak?")
    assert "antrean ke-1" in first.last_texts()[0]
    second_id = second.case["id"]
    with chat.engine.begin() as conn:
        assert queries.queue_position(conn, case_id=second_id) == 2
        assert queries.queue_position(conn, case_id=99_999) is None


def test_the_count_reads_the_queue_index_not_the_cases(chat: ChatDriver) -> None:
    queued(chat, "client-q0")
    with chat.engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            return  # the plan's wording is SQLite's; PostgreSQL plans by its statistics
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                text("EXPLAIN QUERY PLAN " + queries._QUEUE_POSITION.sql), {"case_id": 1}
            )
        )
    assert "ix_case_queue" in plan
