"""The clocks cost a step at most one statement, and only when effects happen."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from tests.chat_driver import ChatDriver


def statements(chat: ChatDriver, text: str) -> list[str]:
    """What SQLite itself ran for one message (Core and driver-level statements alike)."""
    if chat.engine.dialect.name != "sqlite":
        pytest.skip("counted with SQLite's trace callback")
    seen: list[str] = []

    def count(statement: str) -> None:
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            seen.append(" ".join(statement.split()[:3]))

    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(count)

    chat.engine.dispose()  # new connections, each traced from its first statement
    event.listen(chat.engine, "connect", trace)
    try:
        chat.client_says(text)
    finally:
        event.remove(chat.engine, "connect", trace)
        chat.engine.dispose()
    return seen


def test_a_message_without_effects_writes_no_clock_or_event(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("laporan penjualan di BI kosong semua")
    plain = statements(chat, "Wulan")  # answers a field: no effect
    assert not any("caseevent" in s for s in plain)
    assert plain.count('UPDATE "case" SET') == 1  # the flow step, no clocks
    assert plain.count("INSERT INTO inboxmessage") == 1  # accepted once
    assert plain.count("INSERT INTO message") == 2  # the client's message and one reply


def test_a_hand_off_adds_one_insert_of_events(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("laporan penjualan di BI kosong semua")
    chat.client_says("Wulan")
    queueing = statements(chat, "outlet Kedai Wulan")
    assert chat.case["state"] == "queued"
    # The step, plus one update of the clocks; two events (category set, queued) in one
    # batch insert, which SQLite traces row by row.
    assert queueing.count('UPDATE "case" SET') == 2
    assert queueing.count("INSERT INTO caseevent") == 2
