"""The clocks cost the receive path at most one statement, and only when effects happen."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.chat_driver import ChatDriver


def statements(chat: ChatDriver, text: str) -> list[str]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()[:3]))

    event.listen(chat.engine, "before_cursor_execute", count)
    try:
        chat.client_says(text)
    finally:
        event.remove(chat.engine, "before_cursor_execute", count)
    return seen


def test_a_message_without_effects_writes_no_clock_or_event(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("laporan penjualan di BI kosong semua")
    plain = statements(chat, "Wulan")  # answers a field: no effect
    assert not any("caseevent" in s for s in plain)
    assert len(plain) == 4, plain  # case lookup, message, state update, replies


def test_a_hand_off_adds_one_insert_of_events(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("laporan penjualan di BI kosong semua")
    chat.client_says("Wulan")
    queueing = statements(chat, "outlet Kedai Wulan")
    assert chat.case["state"] == "queued"
    assert len(queueing) == 6, queueing  # the 4 above, the effects update, one events insert
    assert [s for s in queueing if "caseevent" in s] == ["INSERT INTO caseevent"]
