from __future__ import annotations

import pytest

from flows import guards


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("sy gk bisa masuk, udh dikirim kode otp 771204 tp tetep gagal", "771204"),
        ("OTP: 4455", "4455"),
        ("882913", "882913"),
        ("password saya: rahasia123 ya kak", "rahasia123"),
        ("pw nya Tok0Ku!", "Tok0Ku!"),
        ("kata sandi adalah s3cr3t", "s3cr3t"),
        ("ini kode verifikasinya 12345678", "12345678"),
    ],
)
def test_mask_secrets_hides_otps_and_passwords(text: str, secret: str) -> None:
    masked = guards.mask_secrets(text)
    assert secret not in masked
    assert guards.MASK in masked


@pytest.mark.parametrize("text", ["udh 2 hari", "outlet 21 Mini", "0812-9988-7766", "harga 15000"])
def test_mask_secrets_keeps_ordinary_numbers(text: str) -> None:
    assert guards.mask_secrets(text) == text


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("5", 5),
        ("nilai 4", 4),
        ("4/5", 4),
        ("⭐⭐⭐", 3),
        ("1 kak", 1),
        ("sangat puas", None),
        ("10", None),
        ("0", None),
        ("sudah kak", None),
        ("", None),
    ],
)
def test_rating_of_accepts_one_to_five_only(text: str, rating: int | None) -> None:
    assert guards.rating_of(text) == rating


def test_rating_of_reads_the_button_payload() -> None:
    assert guards.rating_of("⭐⭐", "rating:2") == 2
    assert guards.rating_of("", "rating:9") is None


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("0812-9988-7766", "+6281299887766"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("0812345", None),
        ("halo", None),
        ("", None),
    ],
)
def test_clean_phone_normalises_to_e164(text: str, e164: str | None) -> None:
    assert guards.clean_phone(text) == e164


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Rina", "Rina"),
        ("nama saya Budi Santoso", "Budi Santoso"),
        ("Agus Salim", "Agus Salim"),
        ("dr. Hana Wijaya, RS Sehat Sentosa", "dr. Hana Wijaya, RS Sehat Sentosa"),
        (".", None),
        ("🙏", None),
        ("-", None),
        ("kak", None),
        ("udh 2 hari", None),
        ("acara nikahan di gedung Graha, tamu udh antri", None),
        ("Ibu Ratna dari PT Maju", "Ibu Ratna dari PT Maju"),
        ("dari kemarin", None),
        ("sudah dari kemarin error", None),
        ("", None),
    ],
)
def test_clean_name_accepts_names_and_refuses_the_rest(text: str, name: str | None) -> None:
    assert guards.clean_name(text) == name


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("mau ngobrol sama cs aja", True),
        ("agen", True),
        ("admin dong", True),
        ("human", True),
        ("bisa bicara dengan manusia?", True),
        ("please have someone call me", True),
        ("tolong hubungkan saya dengan petugas yang bisa bantu ya, jangan bot", True),
        ("sy mau ngomong langsung sm orang aja, bukan bot yg jawab otomatis ya kak", True),
        ("halo min", False),
        ("min aplikasi sy error trs dr kmrn pas mau closing shift", False),
        ("cs nya ramah", False),
        ("stok di aplikasi beda", False),
    ],
)
def test_is_human_request(text: str, asks: bool) -> None:
    assert guards.is_human_request(text) is asks


@pytest.mark.parametrize(
    ("text", "cancels"),
    [
        ("batal", True),
        ("batal aja kak", True),
        ("eh gak jadi", True),
        ("cancel", True),
        ("jadi gini kak", False),
        ("pembatalan transaksi tidak bisa", False),
    ],
)
def test_is_cancel(text: str, cancels: bool) -> None:
    assert guards.is_cancel(text) is cancels


@pytest.mark.parametrize(
    ("text", "yes", "no"),
    [
        ("oke bisa kak makasih", True, False),
        ("sudah kak", True, False),
        ("👍", True, False),
        ("belum kak, tolong dicek", False, True),
        ("gk bisa", False, True),
        ("hmm", False, False),
    ],
)
def test_yes_and_no(text: str, yes: bool, no: bool) -> None:
    assert guards.is_yes(text) is yes
    assert guards.is_no(text) is no


@pytest.mark.parametrize(
    ("text", "story"),
    [
        ("P", False),
        ("kak", False),
        ("halo kak urgent", False),
        ("mau komplain kak", False),
        ("I want to file a complaint", False),
        ("stok ga sama antara pos sm backoffice", True),
        ("aplikasi error", True),
    ],
)
def test_has_story_ignores_greetings_and_bare_intents(text: str, story: bool) -> None:
    assert guards.has_story(text) is story


@pytest.mark.parametrize(
    ("text", "language"),
    [("Hello, I want to file a complaint", "en"), ("halo kak", "id"), ("Rina", None)],
)
def test_detect_language(text: str, language: str | None) -> None:
    assert guards.detect_language(text) == language


def test_words_expands_informal_spelling() -> None:
    assert guards.words("sy gk bs login, udh eror trs") == [
        "saya",
        "tidak",
        "bisa",
        "login",
        "sudah",
        "error",
        "terus",
    ]


def test_has_phrase_tolerates_a_typo() -> None:
    assert guards.has_phrase(guards.words("aplikasinya eror trs"), "error")
    assert guards.has_phrase(guards.words("transaski gagal"), "transaksi")
    assert not guards.has_phrase(guards.words("semua normal"), "error")


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("TRX-88213", True),
        ("ga ada struk kak", True),
        ("tidak punya kak", True),
        ("kemarin sore", False),
        ("-", False),
    ],
)
def test_clean_reference_accepts_a_code_or_a_clear_none(text: str, accepted: bool) -> None:
    assert (guards.clean_reference(text) is not None) is accepted
