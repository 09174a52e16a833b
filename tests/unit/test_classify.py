from __future__ import annotations

from pathlib import Path

import pytest

from flows.classify import classify, troubleshooting_for
from flows.profiles.schema import Profile, load_profiles

PROFILES = load_profiles(Path(__file__).resolve().parents[2] / "flows" / "profiles")


@pytest.fixture
def erzap() -> Profile:
    return PROFILES["erzap"]


@pytest.mark.parametrize(
    ("story", "category", "sla"),
    [
        ("cara tambah akun kasir baru gimana ya kak?", "easy", 30),
        ("stok ga sama antara pos sm backoffice", "normal", 120),
        ("laporan penjualan di BI kosong semua", "hard", 720),
        ("sy gk bisa masuk aplikasi", "hard", 720),
        ("mau tanya fitur promo", "easy", 30),
        ("pelanggan saya komentar soal warna tombol", "normal", 120),
    ],
)
def test_erzap_categories_carry_their_sla(
    erzap: Profile, story: str, category: str, sla: int
) -> None:
    found = classify(story, erzap)
    assert (found.category, found.sla_minutes) == (category, sla)


def test_an_faq_match_makes_an_easy_case_with_the_answer(erzap: Profile) -> None:
    found = classify("gmn cara tambah user kasir", erzap)
    assert found.faq is not None
    assert found.faq.id == "add_cashier"


def test_hard_words_outrank_an_faq_match(erzap: Profile) -> None:
    assert classify("tambah kasir error terus", erzap).category == "hard"


@pytest.mark.parametrize(
    ("story", "step"),
    [
        ("scan qr gk kebaca, search by name jg loading terus", "both_fail"),
        ("scan qr tidak bisa dipakai", "scan_qr_fails"),
        ("search by name lambat sekali", "search_by_name_fails"),
        ("tamu banyak sekali", None),
    ],
)
def test_ctera_fallback_ladder(story: str, step: str | None) -> None:
    found = troubleshooting_for(story, PROFILES["ctera"])
    assert (found.id if found else None) == step
