"""The office calendar: when people work the queue, and working time for the FRT/SLA clocks.

One module answers every "is the team there?" question, from a profile alone: its shifts per
weekday, Indonesian public holidays and the government's collective leave (cuti bersama) from
the `holidays` package, and the dates an admin added or removed (stored in the database and
put on the profile by chatbot/frontdesk/overrides.py). A profile without `office_hours` is
always open, and its clocks count calendar time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flows.events import Reopening
from flows.profiles.schema import WEEKDAYS, OfficeHours, Profile, shift_minutes

SEARCH_DAYS = 400  # how far ahead a next opening is looked for before giving up
_DAY = timedelta(days=1)


@lru_cache(maxsize=64)
def _holidays(year: int, collective_leave: bool) -> dict[date, str]:
    # Imported at first use: the package loads every country's rules (about 3 MB and
    # 0.5 s), and a web worker needs them only for the admin's calendar.
    import holidays

    categories = ("public", "government") if collective_leave else ("public",)
    found = holidays.country_holidays("ID", years=year, categories=categories)
    return dict(found.items())


@lru_cache(maxsize=256)
def _spans(shifts: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted(shift_minutes(s) for s in shifts))


def holiday_name(profile: Profile, day: date) -> str | None:
    """The public holiday or collective leave day the profile observes on `day`, if any."""
    hours = profile.office_hours
    if hours is None or not hours.public_holidays:
        return None
    return _holidays(day.year, hours.collective_leave).get(day)


def is_working_day(profile: Profile, day: date) -> bool:
    """Whether the desk works on this local date (shifts that weekday, not a day off).

    An admin's open date wins over a holiday; an admin's closed date closes any day.
    A profile without office hours works every day.
    """
    hours = profile.office_hours
    if hours is None:
        return True
    if day in hours.closed_dates:
        return False
    if not hours.week.get(WEEKDAYS[day.weekday()]):
        return False
    return day in hours.open_dates or holiday_name(profile, day) is None


def _zone(profile: Profile) -> ZoneInfo:
    return ZoneInfo(profile.timezone)


def _day_spans(profile: Profile, hours: OfficeHours, day: date) -> list[tuple[datetime, datetime]]:
    """The day's shifts as aware local datetimes; empty on a day off."""
    if not is_working_day(profile, day):
        return []
    zone = _zone(profile)
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    return [
        (midnight + timedelta(minutes=start), midnight + timedelta(minutes=end))
        for start, end in _spans(hours.week.get(WEEKDAYS[day.weekday()], ()))
    ]


def is_open(profile: Profile, at: datetime) -> bool:
    """Whether `at` (aware) falls in a shift of a working day."""
    hours = profile.office_hours
    if hours is None:
        return True
    local = at.astimezone(_zone(profile))
    if not is_working_day(profile, local.date()):
        return False
    # minutes since local midnight: no datetime built per shift (this runs on every message)
    minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    shifts = hours.week.get(WEEKDAYS[local.weekday()], ())
    return any(start <= minute < end for start, end in _spans(shifts))


def next_opening(profile: Profile, at: datetime) -> datetime | None:
    """The first moment from `at` on when the desk is open, in the profile's time zone.

    `at` itself when open; None when no shift opens within SEARCH_DAYS (a profile whose
    week has no shift at all).
    """
    hours = profile.office_hours
    local = at.astimezone(_zone(profile))
    if hours is None:
        return local
    day = local.date()
    for _ in range(SEARCH_DAYS):
        for start, end in _day_spans(profile, hours, day):
            if local < end:
                return max(start, local)
        day += _DAY
    return None


def counts_working_time(profile: Profile) -> bool:
    """Whether the profile's FRT and SLA clocks run only while the desk is open."""
    return profile.office_hours is not None and profile.office_hours.working_time_clocks


def working_seconds(profile: Profile, start: datetime, end: datetime) -> float:
    """Seconds between two moments on the profile's clock (working time when it says so)."""
    if end <= start:
        return 0.0
    hours = profile.office_hours
    if hours is None or not hours.working_time_clocks:
        return (end - start).total_seconds()
    zone = _zone(profile)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    total = 0.0
    day = local_start.date()
    while day <= local_end.date():
        for open_at, close_at in _day_spans(profile, hours, day):
            lo, hi = max(open_at, local_start), min(close_at, local_end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += _DAY
    return total


def add_working_minutes(profile: Profile, start: datetime, minutes: float) -> datetime:
    """The deadline `minutes` after `start` on the profile's clock (aware).

    With working-time clocks, only open time counts: a case handed off on Friday evening is
    due on Monday morning. A profile that never opens falls back to calendar time.
    """
    hours = profile.office_hours
    if hours is None or not hours.working_time_clocks:
        return start + timedelta(minutes=minutes)
    left = timedelta(minutes=minutes)
    local = start.astimezone(_zone(profile))
    day = local.date()
    for _ in range(SEARCH_DAYS):
        for open_at, close_at in _day_spans(profile, hours, day):
            lo = max(open_at, local)
            if close_at <= lo:
                continue
            if lo + left <= close_at:
                return (lo + left).astimezone(UTC)  # stored as UTC: SQLite keeps no offset
            left -= close_at - lo
        day += _DAY
    return start + timedelta(minutes=minutes)


def frt_deadline(profile: Profile, handed_off_at: datetime) -> datetime:
    """When the first human reply is due after a hand-off."""
    return add_working_minutes(profile, handed_off_at, profile.first_response_minutes)


def sla_deadline(profile: Profile, opened_at: datetime, sla_minutes: int) -> datetime:
    """When a case must be resolved, counted from its opening."""
    return add_working_minutes(profile, opened_at, sla_minutes)


# The last answer per profile and minute: every message asks, the answer changes at most
# once a minute (shifts start and end on the minute). The profile itself is kept, so an id
# is never reused while its entry lives; a reloaded profile is a new entry.
_REOPENING: dict[int, tuple[Profile, int, Reopening | None]] = {}
_REOPENING_LIMIT = 64


def reopening(profile: Profile, at: datetime) -> Reopening | None:
    """None while the desk is open; otherwise when it opens again, for the after-hours phrase."""
    if profile.office_hours is None:
        return None
    minute = int(at.timestamp() // 60)
    kept = _REOPENING.get(id(profile))
    if kept is not None and kept[0] is profile and kept[1] == minute:
        return kept[2]
    found = _reopening(profile, at)
    if len(_REOPENING) >= _REOPENING_LIMIT:
        _REOPENING.clear()
    _REOPENING[id(profile)] = (profile, minute, found)
    return found


def _reopening(profile: Profile, at: datetime) -> Reopening | None:
    if is_open(profile, at):
        return None
    opens = next_opening(profile, at)
    if opens is None:
        return None
    today = at.astimezone(opens.tzinfo).date()
    return Reopening(
        weekday=opens.weekday(),
        time=opens.strftime("%H.%M"),
        date=opens.strftime("%d/%m/%Y"),
        days_ahead=(opens.date() - today).days,
        zone=opens.tzname() or profile.timezone,
    )


def holiday_days(profile: Profile, year: int) -> list[date]:
    """The holidays (and cuti bersama days) the profile observes in `year`, in order."""
    hours = profile.office_hours
    if hours is None or not hours.public_holidays:
        return []
    return sorted(_holidays(year, hours.collective_leave))
