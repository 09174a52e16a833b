"""Desk.receive on a real SQLite file: recording, replay, masking, attachments, new cases."""

from __future__ import annotations

import json
import threading

from sqlalchemy import func, select

from chatbot.domain import Attachment
from db import queries
from flows import phrase_keys as keys
from tests.chat_driver import ChatDriver


def count(chat: ChatDriver, table: object) -> int:
    with chat.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def pending(chat: ChatDriver) -> int:
    with chat.engine.connect() as conn:
        return queries.count_pending(conn)


def test_replaying_a_message_changes_nothing_and_sends_nothing_twice(chat: ChatDriver) -> None:
    first = chat.inbound("halo kak", message_id="wamid.1")
    assert chat.desk.receive(first).status == "answered"
    before = (count(chat, queries.MESSAGE), pending(chat), chat.case["state"])
    for _ in range(3):
        assert chat.desk.receive(first).status == "duplicate"
    assert (
        count(chat, queries.MESSAGE),
        pending(chat),
        chat.case["state"],
    ) == before


def test_concurrent_replays_record_one_message(chat: ChatDriver) -> None:
    message = chat.inbound("stok beda antara pos dan backoffice", message_id="same")
    statuses: list[str] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(chat.desk.receive(message).status))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == ["answered", "duplicate", "duplicate", "duplicate"]
    assert count(chat, queries.CASE) == 1


def test_otps_and_passwords_are_masked_in_storage(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("gk bisa login, kode otp 771204 udh masuk, password saya: Rahasia99")
    with chat.engine.connect() as conn:
        stored = " ".join(r.text for r in conn.execute(select(queries.MESSAGE.c.text)))
        context = conn.execute(select(queries.CASE.c.context_json)).scalar_one()
    for secret in ("771204", "Rahasia99"):
        assert secret not in stored
        assert secret not in context


def test_attachments_are_kept_with_the_case(chat: ChatDriver) -> None:
    chat.client_says("halo")
    photo = Attachment(kind="photo", file_id="AgAD123", content_type="image/jpeg")
    chat.client_says("ini ss nya kak, stok minus", kind="photo", attachments=(photo,))
    with chat.engine.connect() as conn:
        rows = queries.list_attachments(conn, case_ids=[chat.case["id"]])
    assert [(r["kind"], r["file_id"]) for r in rows] == [("photo", "AgAD123")]


def test_a_shared_location_shows_where_in_the_transcript(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says(
        "", kind="location", location=(-6.2, 106.816666), place="Toko Maju, Jl. Sudirman 1"
    )
    chat.client_says("ini lokasinya kak", kind="location", location=(-7.25, 112.75))
    with chat.engine.connect() as conn:
        texts = [
            r.text
            for r in conn.execute(
                select(queries.MESSAGE.c.text).where(queries.MESSAGE.c.kind == "location")
            )
        ]
    assert texts == [
        "📍 -6.200000, 106.816666 (Toko Maju, Jl. Sudirman 1)",
        "ini lokasinya kak\n📍 -7.250000, 112.750000",
    ]


def test_three_verification_failures_queue_instead_of_looping(chat: ChatDriver) -> None:
    for line in ["halo", "laporan penjualan kosong"]:
        chat.client_says(line)
    chat.bot_said()
    for junk in [".", "🙏", "?"]:
        chat.client_says(junk)
    assert chat.bot_said() == [
        keys.reask_field("name"),
        keys.reask_field("name"),
        keys.VERIFICATION_HANDOFF,
        keys.QUEUE_PLEASE_WAIT,
        keys.QUEUE_POSITION,
    ]
    assert chat.case["state"] == "queued"
    assert chat.case["queued_at"] is not None


def test_a_sticker_where_text_is_needed_gets_a_clear_reask(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("stok selisih")
    chat.bot_said()
    chat.client_says("", kind="sticker")
    assert chat.bot_said() == [keys.VERIFICATION_TEXT_ONLY]


def test_a_message_after_a_closed_case_opens_a_new_case(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("batal")
    assert chat.case["state"] == "closed"
    assert chat.case["closed_reason"] == "cancelled_by_client"
    assert chat.case["closed_by"] == "client"
    first_id = chat.case["id"]
    chat.client_says("halo lagi kak")
    assert chat.case["id"] != first_id
    assert chat.case["state"] == "chronology"


def test_batal_after_closing_answers_without_opening_a_case(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("batal")
    chat.bot_said()
    chat.client_says("batal aja")
    assert chat.bot_said() == [keys.CANCEL_NOTHING_OPEN]
    assert count(chat, queries.CASE) == 1


def test_thanks_after_closing_is_answered_without_opening_a_case(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("batal")
    chat.bot_said()
    chat.client_says("makasih kak 🙏")
    assert chat.bot_said() == [keys.CLOSING_YOU_ARE_WELCOME]
    assert count(chat, queries.CASE) == 1
    chat.client_says("makasih kak, tapi printer saya mati lagi")
    assert count(chat, queries.CASE) == 2


def test_a_late_tap_on_old_buttons_is_no_story(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("batal")
    chat.bot_said()
    chat.client_says("5 ⭐⭐⭐⭐⭐", kind="button", button="rating:5")  # the survey, closed
    assert chat.bot_said() == [keys.CLOSING_YOU_ARE_WELCOME]
    assert count(chat, queries.CASE) == 1
    chat.client_says("yes", kind="button", button="yes")  # "solved?" from a case long closed
    assert chat.case["state"] == "chronology"  # a new case asks what happened
    assert chat.bot_said()[-1] == keys.GREETING_WELCOME


def test_an_edited_message_is_recorded_but_not_replayed(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.bot_said()
    receipt = chat.client_says("halo (edited)", edited=True)
    assert receipt.status == "recorded"
    assert chat.bot_said() == []


def test_an_edit_with_no_case_open_joins_the_last_case_or_is_read_when_there_is_none(
    chat: ChatDriver,
) -> None:
    receipt = chat.client_says("halo kak, stok minus", edited=True)  # before any case
    assert receipt.status == "answered"  # read as the client's message: nothing else has it
    assert chat.bot_said()
    chat.client_says("batal")
    chat.bot_said()
    closed = chat.case["id"]
    receipt = chat.client_says("halo kak, stok minus terus", edited=True)
    assert (receipt.status, receipt.case_id) == ("recorded", closed)
    assert chat.bot_said() == []
    assert count(chat, queries.CASE) == 1


def test_replies_are_rendered_and_written_to_the_outbox_in_order(chat: ChatDriver) -> None:
    receipt = chat.client_says("P")
    assert receipt.replies[0].startswith("Halo kak, terima kasih sudah menghubungi HaloERZAP")
    with chat.engine.connect() as conn:
        pending = queries.list_pending_for_chat(conn, channel="terminal", chat_id="client-1")
    assert [p["text"] for p in pending] == receipt.replies


def test_survey_buttons_are_stored_with_the_message(chat: ChatDriver) -> None:
    for line in ["halo", "cara tambah akun kasir baru?", "Wulan", "outlet Kedai Wulan"]:
        chat.client_says(line)
    assert [b["payload"] for b in chat.last_buttons()] == ["yes", "no"]
    assert [b["label"] for b in chat.last_buttons()] == ["Sudah", "Belum"]
    chat.client_says("Sudah", button="yes", kind="button")
    assert chat.last_buttons()[4] == {"payload": "rating:5", "label": "5 ⭐⭐⭐⭐⭐"}
    chat.client_says("⭐⭐⭐⭐", button="rating:4", kind="button")
    chat.client_says("mantap")
    with chat.engine.connect() as conn:
        survey = queries.list_surveys(conn, case_ids=[chat.case["id"]])
    assert (survey[0]["rating"], survey[0]["comment"]) == (4, "mantap")
    assert json.loads(chat.case["fields_json"]) == {
        "name": "Wulan",
        "outlet": "Kedai Wulan",
    }
