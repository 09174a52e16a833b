"""flows/understanding: paraphrases, typos, FAQ weight, people, language, fields, waiting."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.classify import classify
from flows.profiles.schema import load_profiles
from flows.understanding import extract, language, match, people, text, waiting

PROFILES = load_profiles(Path(__file__).resolve().parents[2] / "flows" / "profiles")


def test_paraphrases_and_suffixes_read_as_one_spelling() -> None:
    assert text.base_words("kasir lupa kata sandinya") == ("kasir", "lupa", "password")
    assert text.base_words("gagal login dari pagi") == ("tidak", "bisa", "login", "dari", "pagi")
    assert text.base_words("how do I export") == ("cara", "unduh")


def test_typos_beyond_one_swapped_letter_are_corrected_to_known_words() -> None:
    known = frozenset({"password", "printer", "sinkron"})
    assert text.correct(("pasword", "pirnter", "sinkorn"), known) == (
        "password",
        "printer",
        "sinkron",
    )
    assert text.correct(("sama", "kemarin"), known) == ("sama", "kemarin")  # no false friend


@pytest.mark.parametrize(
    ("profile", "story", "faq"),
    [
        (
            "erzap",
            "cara reset password akun kasir gimana? kasir sy lupa passwordnya, gk bisa login",
            "reset_password",
        ),
        ("erzap", "gmn cara tambah akun kasir baru? kasir baru gk bisa login", "add_cashier"),
        ("erzap", "kasir lupa kata sandi gmn gantinya", "reset_password"),
        ("erzap", "cara konek pirnter bluetooth gmn", "print_receipt"),
        ("intera", "wifi connected tapi gk ada internet", "connected_no_internet"),
        ("ctera", "how do I export the guest list?", "export_guests"),
        ("panasea", "How do I claim the warranty for a broken nebulizer?", "warranty"),
    ],
)
def test_a_question_that_names_a_failure_is_still_the_question(
    profile: str, story: str, faq: str
) -> None:
    found = classify(story, PROFILES[profile])
    assert found.faq is not None
    assert (found.category, found.faq.id) == ("easy", faq)


@pytest.mark.parametrize(
    ("profile", "story", "category"),
    [
        ("erzap", "tambah kasir error terus", "hard"),
        ("erzap", "stok opname selisih terus padahal udh dihitung ulang", "normal"),
        ("erzap", "harga barang di pos beda sama di bo", "normal"),
        ("erzap", "my POS app keeps crashing when I open a shift", "hard"),
        ("intera", "wifi lemot bgt dari td pagi, udh masukin koin 5rb", "normal"),
        ("ctera", "scan qr gk kebaca kak", "normal"),
    ],
)
def test_a_report_stays_a_report(profile: str, story: str, category: str) -> None:
    found = classify(story, PROFILES[profile])
    assert (found.category, found.faq) == (category, None)


def test_the_faq_weight_grows_with_a_question_and_a_sample() -> None:
    erzap = PROFILES["erzap"]
    statement = match.best_faq("lupa password kasir", erzap)
    question = match.best_faq("lupa password kasir, cara resetnya gmn?", erzap)
    assert statement.entry is not None
    assert question.entry is not None
    assert question.score > statement.score
    assert match.best_faq("my password is abc", erzap).question is False


def test_admin_edits_make_a_new_index() -> None:
    erzap = PROFILES["erzap"]
    edited = erzap.model_copy(update={"faq": erzap.faq[:1]})
    assert match.index_for(edited) is not match.index_for(erzap)
    assert classify("lupa kata sandi kasir", edited).faq is None


@pytest.mark.parametrize(
    "message",
    [
        "bisa sambungkan ke orang aja?",
        "saya ingin bicara langsung dengan CS atau bagian marketing",
        "SAYA MAU BICARA DENGAN PETUGAS",
        "stok sy minus terus dari kemarin, udh coba opname tetep sama, mau bicara dgn cs aja kak",
        "please have someone call me",
        "can I talk to a real person",
        "tolong telpon saya",
        "jgn bot dong, sy mau sama orang beneran",
    ],
)
def test_requests_for_a_person_in_many_wordings(message: str) -> None:
    assert people.is_human_request(message)


@pytest.mark.parametrize(
    "message",
    [
        "halo min",
        "admin tolong, stok sy minus",
        "cara tambah kasir baru gimana",
        "stok beda sama laporan",
    ],
)
def test_not_a_request_for_a_person(message: str) -> None:
    assert not people.is_human_request(message)


@pytest.mark.parametrize(
    ("message", "locale", "opening"),
    [
        ("hi there", "en", True),
        ("Hello, can you help me?", "en", True),
        ("halo kak", "id", True),
        ("mau tanya kak", "id", True),
        ("The infusion pump shows error E04", "en", False),
        ("error E04 kak", "id", False),
        ("ok trying", None, False),
    ],
)
def test_language_and_openings(message: str, locale: str | None, opening: bool) -> None:
    assert language.detect(message) == locale
    assert language.is_opening(message) is opening


def test_names_are_capitalised_and_values_lose_their_filler_words() -> None:
    assert extract.person_name("sy rina kak") == "Rina"
    assert extract.person_name("dr. Hana Wijaya, RS Sehat") == "dr. Hana Wijaya, RS Sehat"
    line = "outletnya toko berkah jaya, domainnya berkahjaya.erzap.id"
    assert extract.labelled_value(line) == "toko berkah jaya"
    assert extract.domain_in(line) == "berkahjaya.erzap.id"
    named = extract.labelled_value("nama outletnya Kopi Kenangan Senja kak")
    assert named == "Kopi Kenangan Senja"
    assert extract.labelled_value("Grup Sate Pak Agus") == "Grup Sate Pak Agus"
    assert extract.labelled_value("domain tokodimas.erzap.id") == "tokodimas.erzap.id"


@pytest.mark.parametrize(
    ("message", "asks"),
    [
        ("masih lama ya kak?", True),
        ("kapan dibales kak", True),
        ("how long do I have to wait?", True),
        ("ok kak", False),
        ("stok di laporan masih lama updatenya dari kemarin, udah sinkron ulang berkali2", False),
    ],
)
def test_questions_about_the_wait(message: str, asks: bool) -> None:
    assert waiting.asks_about_wait(message) is asks
