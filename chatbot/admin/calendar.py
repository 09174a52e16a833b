"""The office calendar as admins edit it: holidays per profile, and days added or removed.

The calendar's rules live in chatbot/frontdesk/office_hours.py; this service lists a year
of it and stores an admin's dates (table `calendardate`). Each change bumps the overrides
revision, so every worker's next step sees it (chatbot/frontdesk/overrides.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from chatbot.clock import Clock
from chatbot.errors import InvalidInput
from chatbot.frontdesk import office_hours
from db import admin_queries
from db import contact_queries as cq
from db.engine import read
from flows.profiles.schema import Profile

NOTE_LIMIT = 200
FIRST_YEAR, LAST_YEAR = 1970, 2999


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """A date that is not an ordinary day for a profile: a holiday, or an admin's date."""

    day: date
    holiday: str | None  # the public holiday or cuti bersama, when the profile observes it
    admin: str | None  # "closed" or "open" when an admin set the day
    note: str
    author: str
    working: bool  # what the desk does on that day, all rules applied


class OfficeCalendar:
    """Lists and edits the profiles' office calendars."""

    def __init__(self, engine: Engine, profiles: Mapping[str, Profile], clock: Clock) -> None:
        self._engine = engine
        self._profiles = dict(profiles)
        self._clock = clock

    def names(self) -> list[str]:
        """The profiles that keep office hours (the others never close)."""
        return sorted(n for n, p in self._profiles.items() if p.office_hours is not None)

    def profile(self, name: str) -> Profile:
        """The profile with the stored admin dates in force.

        Raises:
            InvalidInput: no such profile, or it keeps no office hours.
        """
        base = self._profiles.get(name)
        if base is None or base.office_hours is None:
            raise InvalidInput(
                f"no profile '{name}' with office hours; known: {', '.join(self.names())}"
            )
        with read(self._engine) as conn:
            rows = cq.list_calendar_dates(conn, profile=name)
        hours = base.office_hours.model_copy(
            update={
                "closed_dates": (
                    *base.office_hours.closed_dates,
                    *(r["day"] for r in rows if not r["is_open"]),
                ),
                "open_dates": (
                    *base.office_hours.open_dates,
                    *(r["day"] for r in rows if r["is_open"]),
                ),
            }
        )
        return base.model_copy(update={"office_hours": hours})

    def year(self, name: str, year: int) -> list[CalendarDay]:
        """The year's holidays the profile observes and the admin's dates, in date order.

        Raises:
            InvalidInput: no such profile, or the year is out of range.
        """
        _check_year(year)
        profile = self.profile(name)
        with read(self._engine) as conn:
            admin = {r["day"]: r for r in cq.list_calendar_dates(conn, profile=name)}
        days = {d for d in admin if d.year == year} | set(office_hours.holiday_days(profile, year))
        return [
            CalendarDay(
                day=day,
                holiday=office_hours.holiday_name(profile, day),
                admin=("open" if admin[day]["is_open"] else "closed") if day in admin else None,
                note=admin[day]["note"] if day in admin else "",
                author=admin[day]["author"] if day in admin else "",
                working=office_hours.is_working_day(profile, day),
            )
            for day in sorted(days)
        ]

    def set_day(self, name: str, day: date, *, is_open: bool, note: str, author: str) -> None:
        """Close a day (an extra day off) or open one (work on a holiday).

        Raises:
            InvalidInput: no such profile, a year the page cannot show, or the note is too long.
        """
        self.profile(name)
        _check_year(day.year)  # else the day is saved where no page can show or forget it
        note = note.strip()
        if len(note) > NOTE_LIMIT:
            raise InvalidInput(f"the note is longer than {NOTE_LIMIT} characters")
        with self._engine.begin() as conn:
            cq.set_calendar_date(
                conn,
                profile=name,
                day=day,
                is_open=is_open,
                note=note,
                author=author,
                now=self._clock.now(),
            )
            admin_queries.bump_revision(conn)

    def forget_day(self, name: str, day: date) -> bool:
        """Remove an admin's date: the weekday and holiday rules apply again.

        Raises:
            InvalidInput: no such profile.
        """
        self.profile(name)
        with self._engine.begin() as conn:
            found = cq.delete_calendar_date(conn, profile=name, day=day)
            if found:
                admin_queries.bump_revision(conn)
        return found


def parse_day(text: str) -> date:
    """'YYYY-MM-DD' as a date.

    Raises:
        InvalidInput: not such a date.
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"'{text}' is not a date (YYYY-MM-DD)") from exc


def _check_year(year: int) -> None:
    """The years the calendar keeps, shows and forgets (the holiday rules know them).

    Raises:
        InvalidInput: the year is outside them.
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(f"year {year} is out of range ({FIRST_YEAR}-{LAST_YEAR})")
