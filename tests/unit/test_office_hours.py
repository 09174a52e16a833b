"""The office calendar: shifts, weekends, Indonesian holidays and cuti bersama, admin dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from chatbot.frontdesk import office_hours as oh
from flows.profiles.schema import OfficeHours, Profile, load_profile

ROOT = Path(__file__).resolve().parents[2]
WIB = ZoneInfo("Asia/Jakarta")
WEEKDAY_SHIFTS = ("08:00-12:00", "13:00-17:00")


def make_profile(**hours: object) -> Profile:
    base = load_profile(ROOT / "flows" / "profiles" / "erzap.yaml")
    week = {day: WEEKDAY_SHIFTS for day in ("mon", "tue", "wed", "thu", "fri")}
    settings = {"week": week, "working_time_clocks": True, **hours}
    return base.model_copy(update={"office_hours": OfficeHours.model_validate(settings)})


def wib(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=WIB)  # type: ignore[misc]


def test_open_only_inside_a_shift_when_the_day_has_two() -> None:
    profile = make_profile()
    monday = (2026, 11, 23)
    assert not oh.is_open(profile, wib(*monday, 7, 59))
    assert oh.is_open(profile, wib(*monday, 8, 0))
    assert not oh.is_open(profile, wib(*monday, 12, 30))  # lunch between the shifts
    assert oh.is_open(profile, wib(*monday, 16, 59))
    assert not oh.is_open(profile, wib(*monday, 17, 0))
    # the same moment in UTC answers the same
    assert oh.is_open(profile, wib(*monday, 9, 0).astimezone(UTC))


def test_weekends_holidays_and_collective_leave_are_days_off() -> None:
    profile = make_profile()
    assert oh.is_working_day(profile, date(2026, 11, 23))  # a Monday
    assert not oh.is_working_day(profile, date(2026, 11, 28))  # Saturday: no shift
    assert not oh.is_working_day(profile, date(2026, 12, 25))  # Christmas, a Friday
    assert oh.holiday_name(profile, date(2026, 12, 25)) == "Christmas Day"
    assert not oh.is_working_day(profile, date(2026, 12, 24))  # cuti bersama
    without_leave = make_profile(collective_leave=False)
    assert oh.is_working_day(without_leave, date(2026, 12, 24))
    assert not oh.is_working_day(without_leave, date(2026, 12, 25))
    no_holidays = make_profile(public_holidays=False)
    assert oh.is_working_day(no_holidays, date(2026, 12, 25))


def test_admin_dates_close_a_day_or_open_a_holiday() -> None:
    profile = make_profile(closed_dates=[date(2026, 11, 24)], open_dates=[date(2026, 12, 24)])
    assert not oh.is_working_day(profile, date(2026, 11, 24))
    assert oh.is_working_day(profile, date(2026, 12, 24))
    assert oh.is_open(profile, wib(2026, 12, 24, 9, 0))
    # an open date cannot invent shifts on a day without any
    weekend = make_profile(open_dates=[date(2026, 11, 28)])
    assert not oh.is_working_day(weekend, date(2026, 11, 28))


def test_a_profile_without_office_hours_never_closes() -> None:
    profile = make_profile().model_copy(update={"office_hours": None})
    at = wib(2026, 12, 25, 3, 0)
    assert oh.is_open(profile, at)
    assert oh.is_working_day(profile, date(2026, 12, 25))
    assert oh.next_opening(profile, at) == at
    assert oh.reopening(profile, at) is None
    assert oh.working_seconds(profile, at, at + timedelta(hours=2)) == 7200.0


def test_next_opening_skips_the_weekend_and_the_christmas_holidays() -> None:
    profile = make_profile()
    assert oh.next_opening(profile, wib(2026, 11, 23, 12, 15)) == wib(2026, 11, 23, 13, 0)
    assert oh.next_opening(profile, wib(2026, 11, 27, 17, 30)) == wib(2026, 11, 30, 8, 0)
    # Wednesday evening before Christmas: Thursday is cuti bersama, Friday Christmas
    assert oh.next_opening(profile, wib(2026, 12, 23, 18, 0)) == wib(2026, 12, 28, 8, 0)
    assert oh.next_opening(profile, wib(2026, 11, 23, 9, 0)) == wib(2026, 11, 23, 9, 0)


def test_reopening_says_the_day_and_time_for_the_phrase() -> None:
    profile = make_profile()
    friday_night = oh.reopening(profile, wib(2026, 11, 27, 20, 0))
    assert friday_night is not None
    assert (friday_night.weekday, friday_night.time, friday_night.days_ahead) == (0, "08.00", 3)
    assert (friday_night.date, friday_night.zone) == ("30/11/2026", "WIB")
    early = oh.reopening(profile, wib(2026, 11, 24, 6, 0))
    assert early is not None
    assert early.days_ahead == 0
    assert oh.reopening(profile, wib(2026, 11, 24, 10, 0)) is None


def test_working_seconds_count_only_open_time_across_a_weekend_and_a_holiday() -> None:
    profile = make_profile()
    # Friday 16:50 to Monday 08:10: ten minutes on Friday, ten on Monday
    assert oh.working_seconds(profile, wib(2026, 11, 27, 16, 50), wib(2026, 11, 30, 8, 10)) == 1200
    # Wednesday 16:00 before Christmas to Monday 09:00: one hour, then one hour
    assert oh.working_seconds(profile, wib(2026, 12, 23, 16, 0), wib(2026, 12, 28, 9, 0)) == 7200
    calendar = make_profile(working_time_clocks=False)
    start, end = wib(2026, 11, 27, 16, 50), wib(2026, 11, 30, 8, 10)
    assert oh.working_seconds(calendar, start, end) == (end - start).total_seconds()


def test_deadlines_move_over_closed_time_when_the_profile_says_so() -> None:
    profile = make_profile()
    # FRT of 2 minutes from Friday 16:59: one minute Friday, one minute Monday
    assert oh.frt_deadline(profile, wib(2026, 11, 27, 16, 59)) == wib(2026, 11, 30, 8, 1)
    # an SLA of 120 minutes from 11:30: 30 before lunch, 90 after it
    assert oh.sla_deadline(profile, wib(2026, 11, 23, 11, 30), 120) == wib(2026, 11, 23, 14, 30)
    # a case opened at night starts its clock at the opening
    assert oh.sla_deadline(profile, wib(2026, 12, 23, 20, 0), 30) == wib(2026, 12, 28, 8, 30)
    calendar = make_profile(working_time_clocks=False)
    start = wib(2026, 11, 27, 16, 59)
    assert oh.frt_deadline(calendar, start) == start + timedelta(minutes=2)


@pytest.mark.parametrize(
    ("week", "reason"),
    [
        ({"mon": ["8-17"]}, "HH:MM-HH:MM"),
        ({"mon": ["17:00-08:00"]}, "end after it starts"),
        ({"mon": ["08:00-12:00", "11:00-15:00"]}, "overlap"),
        ({"funday": ["08:00-12:00"]}, "funday"),
    ],
)
def test_a_malformed_week_is_refused_with_a_reason(
    week: dict[str, list[str]], reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        OfficeHours.model_validate({"week": week})


def test_the_shipped_profiles_have_office_hours() -> None:
    for name in ("erzap", "intera", "ctera", "panasea"):
        profile = load_profile(ROOT / "flows" / "profiles" / f"{name}.yaml")
        assert profile.office_hours is not None
        assert oh.is_open(profile, wib(2026, 11, 23, 10, 0)), name  # a Monday morning
