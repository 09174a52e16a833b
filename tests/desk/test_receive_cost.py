"""The clocks cost the receive path at most one statement, and only when effects happen."""

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
    assert plain == [
        "SELECT value FROM",  # the admin edits' revision
        "SELECT id, profile,",  # the chat's open case
        "INSERT INTO message",  # the client's message
        'UPDATE "case" SET',  # the flow step
        "INSERT INTO message",  # one reply (SQLite traces each row of a batch insert)
    ]


def test_a_hand_off_adds_one_insert_of_events(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("laporan penjualan di BI kosong semua")
    chat.client_says("Wulan")
    queueing = statements(chat, "outlet Kedai Wulan")
    assert chat.case["state"] == "queued"
    # As above, plus the effects update; then the events and replies, each a batch insert
    # (SQLite traces every row: here two events, category set and queued).
    assert queueing[:5] == [
        "SELECT value FROM",
        "SELECT id, profile,",
        "INSERT INTO message",
        'UPDATE "case" SET',
        'UPDATE "case" SET',
    ]
    assert queueing[5:7] == ["INSERT INTO caseevent"] * 2
    assert set(queueing[7:]) == {"INSERT INTO message"}
