"""A whole case per profile, greeting to survey, through Desk.receive."""

from __future__ import annotations

import pytest

from flows import phrase_keys as keys
from tests.chat_driver import ChatDriver

WHOLE_CASES = {
    "erzap": [
        "halo kak",
        "cara tambah akun kasir baru gimana ya kak?",
        "Wulan",
        "outlet Kedai Wulan",
    ],
    "intera": [
        "assalamualaikum",
        "cara beli voucher gimana kak, cara masukkan koin?",
        "Rudi",
        "Warung Bu Tini, Jl. Melati 3",
        "TRX-88213",
    ],
    "ctera": [
        "halo kak",
        "mau tanya cara export tamu ke excel",
        "Sinta, PIC",
        "acara nikahan di Gedung Graha",
    ],
    "panasea": [
        "selamat pagi",
        "mau tanya soal klaim garansi alat tensimeter",
        "Hana, RS Sehat Sentosa",
        "0812-9988-7766",
    ],
}


@pytest.mark.parametrize("profile", sorted(WHOLE_CASES))
def test_whole_case_from_greeting_to_survey(desk_for, profile: str) -> None:  # type: ignore[no-untyped-def]
    engine, desk = desk_for(profile)
    chat = ChatDriver(desk, engine, chat_id=f"{profile}-client")
    for line in WHOLE_CASES[profile]:
        chat.client_says(line)
    said = chat.bot_said()
    assert said[0] == keys.GREETING_SALAM
    assert keys.CHRONOLOGY_RECEIVED in said
    assert said[-2:] == [keys.SELF_SERVICE_FAQ_ANSWER, keys.SELF_SERVICE_ASK_SOLVED]
    assert chat.case["category"] == "easy"
    chat.client_says("sudah kak, berhasil")
    assert chat.bot_said() == [keys.CLOSING_EASY, keys.SURVEY_ASK_RATING]
    chat.client_says("sangat puas")
    assert chat.bot_said() == [keys.SURVEY_REASK_RATING]
    chat.client_says("5")
    chat.client_says("cepat dan jelas")
    assert chat.bot_said() == [keys.SURVEY_ASK_COMMENT, keys.SURVEY_THANKS]
    case = chat.case
    assert case["state"] == "closed"
    assert (case["closed_reason"], case["closed_by"]) == ("resolved", "client")


def test_normal_case_reaches_the_queue_with_its_sla(chat: ChatDriver) -> None:
    for line in [
        "P",
        "kak",
        "mau lapor stok ga sama antara pos sm backoffice",
        "udh 2 hari",
        "Rina",
        "outlet Mini Berkah",
    ]:
        chat.client_says(line)
    assert chat.bot_said() == [
        keys.GREETING_SALAM,
        keys.GREETING_WELCOME,
        keys.CHRONOLOGY_REASK,
        keys.CHRONOLOGY_RECEIVED,
        keys.ask_field("name"),
        keys.VERIFICATION_NOTED,
        keys.ask_field("name"),
        keys.ask_field("outlet"),
        keys.QUEUE_PLEASE_WAIT,
        keys.QUEUE_POSITION,
    ]
    case = chat.case
    assert (case["state"], case["category"], case["sla_minutes"]) == ("queued", "normal", 120)
    assert chat.fields == {"name": "Rina", "outlet": "Mini Berkah"}
    assert "antrean ke-1" in chat.last_texts()[0]
    chat.client_says("masih lama ya kak?")
    assert chat.bot_said() == [keys.QUEUE_POSITION]


def test_rendered_indonesian_uses_the_seed_wording(chat: ChatDriver) -> None:
    chat.client_says("halo")
    chat.client_says("laporan penjualan kosong")
    assert "Laporan kakak telah kami terima" in " ".join(chat.last_texts(2))


def test_english_client_gets_english_text(desk_for) -> None:  # type: ignore[no-untyped-def]
    engine, desk = desk_for("panasea")
    chat = ChatDriver(desk, engine)
    chat.client_says("Hello, I want to file a complaint")
    assert chat.last_texts(2)[0].startswith("Hello, thank you for contacting")
    assert chat.case["locale"] == "en"
