"""Which days campaigns may send on: working days, not Indonesian holidays.

`is_working_day(profile, date)` has the same name and signature as the profile office-hours
calendar being built beside it; when that lands, campaigns use it and this module goes.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays

from flows.profiles.schema import Profile

WEEKEND = (5, 6)  # Saturday, Sunday


@lru_cache(maxsize=16)
def _holidays(year: int) -> holidays.HolidayBase:
    # Public holidays and the collective leave days (cuti bersama) decreed for the year.
    return holidays.country_holidays("ID", years=year, categories=("public", "government"))


def is_working_day(profile: Profile, day: date) -> bool:
    """Monday to Friday, and not an Indonesian public holiday or cuti bersama."""
    del profile  # one national calendar for every desk until the profiles' office hours
    return day.weekday() not in WEEKEND and day not in _holidays(day.year)
