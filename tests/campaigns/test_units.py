"""The pure parts of campaigns: audience parsing, opt-out words, windows and working days."""

from __future__ import annotations

from datetime import date, time

import pytest

from chatbot.campaigns.audience import AudienceError, normalise, read_audience
from chatbot.campaigns.consent import keyword
from chatbot.campaigns.errors import explain, suppresses
from chatbot.campaigns.sending import in_window
from chatbot.campaigns.service import CampaignError, parse_variables, parse_window
from chatbot.frontdesk.office_hours import is_working_day
from flows.profiles.schema import load_profiles
from settings import Settings


def test_numbers_written_any_way_become_one_e164_number() -> None:
    for raw in ("0812-3456-7890", "+62 812 3456 7890", "6281234567890", "812 3456 7890"):
        assert normalise(raw) == "+6281234567890", raw
    assert normalise("whatsapp:+6281234567890") == "+6281234567890"
    assert normalise("+1 415 555 0100") == "+14155550100"
    for bad in ("0812345", "abc", "", "+62 812", "08123456789012345"):
        assert normalise(bad) is None, bad


def test_audience_reports_invalid_rows_and_duplicates_and_keeps_extra_columns() -> None:
    audience = read_audience(
        "\ufeffPhone;Name;Paket\n"
        "0812-3456-7890;Wulan;IndiHome 30\n"
        "+62 812 3456 7890;Wulan lagi;x\n"
        "12345;Rusak;y\n"
        "\n"
        "6281298765432;;IndiHome 50\n"
    )
    assert audience.columns == ("phone", "name", "paket")
    assert [(r.line, r.phone, r.name) for r in audience.recipients] == [
        (2, "+6281234567890", "Wulan"),
        (6, "+6281298765432", None),
    ]
    assert audience.recipients[1].values["paket"] == "IndiHome 50"
    assert audience.invalid == [(4, "12345")]
    assert audience.duplicates == [(3, "+6281234567890")]


def test_an_audience_without_a_phone_column_is_refused() -> None:
    with pytest.raises(AudienceError, match="phone"):
        read_audience("nomor,name\n0812,Wulan\n")
    with pytest.raises(AudienceError, match="empty"):
        read_audience("")


@pytest.mark.parametrize(
    "text",
    [
        *("BERHENTI", "stop", "Stop ya kak", "UNSUBSCRIBE", "jangan kirim lagi!", "STOP."),
        *("gk usah kirim2 lg", "ga usah kirim lagi kak", "opt-out"),  # as clients type it
    ],
)
def test_opt_out_words(text: str) -> None:
    assert keyword(text) == "out"


@pytest.mark.parametrize("text", ["MULAI", "start", "/start", "Mulai lagi kak"])
def test_opt_in_words(text: str) -> None:
    assert keyword(text) == "in"


@pytest.mark.parametrize(
    "text",
    [
        "stop dulu ya kak, saya cek modemnya",
        "mau berhenti langganan indihome",
        "internet saya berhenti terus",
        "halo kak",
        "batal",
        "",
    ],
)
def test_conversations_that_mention_the_words_are_not_opt_outs(text: str) -> None:
    assert keyword(text) is None


def test_windows_including_one_past_midnight() -> None:
    assert in_window(time(8, 0), "08:00", "20:00")
    assert not in_window(time(20, 0), "08:00", "20:00")
    assert not in_window(time(7, 59), "08:00", "20:00")
    assert in_window(time(23, 0), "22:00", "06:00")
    assert in_window(time(5, 0), "22:00", "06:00")
    assert not in_window(time(12, 0), "22:00", "06:00")
    assert in_window(time(23, 59), "00:00", "24:00")
    assert parse_window("08:00-20:00") == ("08:00", "20:00")
    for bad in ("8-20", "08:00-08:00", "25:00-26:00", "08:00"):
        with pytest.raises(CampaignError):
            parse_window(bad)


def test_working_days_skip_weekends_and_indonesian_holidays() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    profile = load_profiles(settings.profiles_dir)["telkom"]
    assert is_working_day(profile, date(2026, 11, 23))  # a Monday
    assert not is_working_day(profile, date(2026, 11, 22))  # a Sunday
    assert not is_working_day(profile, date(2026, 8, 17))  # Independence Day, a Monday
    assert not is_working_day(profile, date(2026, 12, 25))  # Christmas, a Friday


def test_variables_map_placeholders_to_columns() -> None:
    assert parse_variables('{"1": "Name", "2": "paket"}') == {"1": "name", "2": "paket"}
    for bad in ("[]", '{"1": 2}', "nope", '{"": "name"}'):
        with pytest.raises(CampaignError):
            parse_variables(bad)


def test_error_codes_are_explained_in_indonesian_and_131050_suppresses() -> None:
    assert "pemasaran" in explain(131049)
    assert "24 jam" in explain(63016)
    assert "131999" in explain(131999)
    assert suppresses(131050)
    assert not suppresses(131049)
    assert not suppresses(63016)
    assert not suppresses(None)
