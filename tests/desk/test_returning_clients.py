"""Returning clients: verified fields kept per contact, reused, confirmed when old, and history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chatbot.frontdesk import contacts
from db import contact_queries as cq
from db.engine import read
from flows import phrase_keys as keys
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock

FIRST_CASE = [
    "halo kak",
    "cara tambah akun kasir baru gimana ya kak?",
    "Wulan",
    "outlet Kedai Wulan",
    "sudah kak, berhasil",
    "5",
    "mantap",
]


def close_first_case(chat: ChatDriver) -> None:
    for line in FIRST_CASE:
        chat.client_says(line)
    assert chat.case["state"] == "closed"
    chat.bot_said()


def test_a_client_back_an_hour_later_is_not_asked_again(
    chat: ChatDriver, clock: FrozenClock
) -> None:
    close_first_case(chat)
    first_id = chat.case["id"]
    clock.advance(hours=1)
    chat.client_says("kak stok di pos minus terus padahal udh opname")
    said = chat.bot_said()
    assert chat.case["id"] != first_id
    assert keys.ask_field("name") not in said
    assert keys.ask_field("outlet") not in said
    assert said[-2:] == [keys.QUEUE_PLEASE_WAIT, keys.QUEUE_POSITION]
    assert chat.fields == {"name": "Wulan", "outlet": "Kedai Wulan"}
    assert (chat.case["state"], chat.case["category"]) == ("queued", "normal")


def test_old_data_is_confirmed_and_a_yes_keeps_it(chat: ChatDriver, clock: FrozenClock) -> None:
    close_first_case(chat)
    clock.advance(days=91)  # erzap: verified_fields_valid_days 90
    chat.client_says("kak stok di pos minus terus padahal udh opname")
    assert chat.bot_said()[-1] == keys.VERIFICATION_CONFIRM_KNOWN
    shown = chat.last_texts(1)[0]
    assert "nama: Wulan" in shown
    assert "Kedai Wulan" in shown
    assert [b["payload"] for b in chat.last_buttons()] == ["yes", "no"]
    chat.client_says("iya masih kak")
    assert chat.bot_said() == [keys.QUEUE_PLEASE_WAIT, keys.QUEUE_POSITION]
    assert chat.fields == {"name": "Wulan", "outlet": "Kedai Wulan"}
    # confirming renews the data: the next case reuses it without asking
    with read(chat.engine) as conn:
        contact_id = cq.get_contact_id(conn, channel="terminal", chat_id="client-1")
        assert contact_id is not None
        known = cq.list_known_fields(conn, contact_id=contact_id)
    assert {k.verified_at for k in known.values()} == {clock.now()}


def test_old_data_not_confirmed_is_asked_afresh(chat: ChatDriver, clock: FrozenClock) -> None:
    close_first_case(chat)
    clock.advance(days=120)
    chat.client_says("kak stok di pos minus terus padahal udh opname")
    assert chat.bot_said()[-1] == keys.VERIFICATION_CONFIRM_KNOWN
    chat.client_says("no", button="no")
    assert chat.bot_said() == [keys.ask_field("name")]
    chat.client_says("Wulan Sari")
    chat.client_says("outlet Kedai Baru")
    assert chat.bot_said() == [
        keys.ask_field("outlet"),
        keys.QUEUE_PLEASE_WAIT,
        keys.QUEUE_POSITION,
    ]
    assert chat.fields == {"name": "Wulan Sari", "outlet": "Kedai Baru"}


def test_a_transaction_proof_is_never_reused(desk_for, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    engine, desk = desk_for("intera")
    chat = ChatDriver(desk, engine, chat_id="intera-1")
    for line in [
        "assalamualaikum",
        "cara beli voucher gimana kak, cara masukkan koin?",
        "Rudi",
        "Warung Bu Tini, Jl. Melati 3",
        "TRX-88213",
    ]:
        chat.client_says(line)
    chat.client_says("batal")
    clock.advance(hours=2)
    chat.client_says("koin sy ketelan mesin kak, voucher gk keluar")
    assert chat.bot_said()[-1] == keys.ask_field("proof")
    assert set(chat.fields) == {"name", "location"}


def test_the_same_phone_on_another_channel_is_the_same_client(
    desk_for, clock: FrozenClock
) -> None:  # type: ignore[no-untyped-def]
    engine, desk = desk_for("erzap")
    whatsapp = ChatDriver(desk, engine, channel="whatsapp", chat_id="+6281299887766")
    for line in FIRST_CASE:
        whatsapp.client_says(line, phone="+6281299887766")
    clock.advance(hours=3)
    sms = ChatDriver(desk, engine, channel="sms", chat_id="+6281299887766")
    sms.client_says("kak stok di pos minus terus", phone="+6281299887766")
    assert sms.bot_said()[-2:] == [keys.QUEUE_PLEASE_WAIT, keys.QUEUE_POSITION]
    assert sms.fields == {"name": "Wulan", "outlet": "Kedai Wulan"}
    # someone else's contact card on Telegram borrows nothing
    other = ChatDriver(desk, engine, channel="telegram", chat_id="5550002")
    other.client_says("kak stok di pos minus terus")
    other.client_says("", kind="contact", contact_phone="081299887766")
    other.client_says("batal")
    clock.advance(hours=1)
    other.client_says("kak laporan penjualan kosong")
    assert other.bot_said()[-1] == keys.ask_field("name")
    # a stranger on Telegram is asked; once they share their own number, they are known
    telegram = ChatDriver(desk, engine, channel="telegram", chat_id="5550001")
    telegram.client_says("kak stok di pos minus terus")
    assert telegram.bot_said()[-1] == keys.ask_field("name")
    telegram.client_says("", kind="contact", contact_phone="081299887766", phone="081299887766")
    telegram.client_says("batal")
    clock.advance(hours=1)
    telegram.client_says("kak laporan penjualan kosong")
    assert telegram.bot_said()[-2:] == [keys.QUEUE_PLEASE_WAIT, keys.QUEUE_POSITION]
    assert telegram.fields == {"name": "Wulan", "outlet": "Kedai Wulan"}


def test_the_history_lists_earlier_cases_with_their_outcomes(
    chat: ChatDriver, clock: FrozenClock
) -> None:
    close_first_case(chat)
    clock.advance(hours=1)
    chat.client_says("kak stok di pos minus terus padahal udh opname")
    current = chat.case["id"]
    with read(chat.engine) as conn:
        found = contacts.history(conn, case_id=current)
        first = contacts.history(conn, case_id=current - 1)
    assert found is not None
    assert first is not None
    assert [(c.id, c.outcome, c.category, c.rating) for c in found.cases] == [
        (current - 1, "resolved", "easy", 5)
    ]
    assert "kasir" in found.cases[0].summary
    assert found.fields["name"].value == "Wulan"
    assert first.cases == []


def rows(chat: ChatDriver, table: Any) -> list[Any]:
    with chat.engine.connect() as conn:
        return list(conn.execute(select(table)).mappings())


def test_fields_are_kept_once_per_contact_and_key(chat: ChatDriver, clock: FrozenClock) -> None:
    close_first_case(chat)
    clock.advance(days=100)
    chat.client_says("kak stok minus")
    chat.client_says("ya")
    kept = rows(chat, cq.CONTACT_FIELD)
    assert sorted(r["key"] for r in kept) == ["name", "outlet"]


def test_the_confirmation_words_hold_or_drop_the_data() -> None:
    from flows import guards

    for text in ["iya masih kak", "masih sama kak 👍", "betul", "yes, still the same"]:
        assert guards.is_data_confirmed(text), text
    for text in ["bukan", "sudah ganti kak", "gk, udh pindah outlet", "no, it changed"]:
        assert not guards.is_data_confirmed(text), text


def test_retention_forgets_the_kept_fields_with_the_cases(
    chat: ChatDriver, clock: FrozenClock
) -> None:
    from chatbot.supervision.retention import Retention

    close_first_case(chat)
    assert len(rows(chat, cq.CONTACT_FIELD)) == 2
    profile = chat.desk.profile().model_copy(update={"retention_days": 30})
    clock.advance(days=31)
    assert Retention(chat.engine, clock).run(profile) == 1
    assert rows(chat, cq.CONTACT_FIELD) == []
    chat.client_says("kak stok di pos minus terus")
    # a stranger again: the new case asks for the name
    assert (chat.case["state"], chat.fields) == ("verification", {})
