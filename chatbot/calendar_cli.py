"""`loket calendar show|close|open|forget`: the office calendar from the terminal.

The same service as /admin/calendar (chatbot/admin/calendar.py): holidays and cuti bersama
come from the profile's rules, and the dates set here are stored for every worker.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from chatbot.admin.calendar import OfficeCalendar, parse_day
from chatbot.clock import SystemClock
from chatbot.errors import InvalidInput
from chatbot.runtime.bootstrap import open_desk_for
from settings import Settings


def add_commands(sub: Any) -> None:
    """Add `loket calendar ...` to the `loket` parser's sub-commands."""
    calendar = sub.add_parser(
        "calendar", help="office days: holidays, cuti bersama, days an admin closes or opens"
    )
    calendar.add_argument("--profile", help="desk profile (default: LOKET_PROFILE or erzap)")
    cal_sub = calendar.add_subparsers(dest="calendar_command", required=True)
    show = cal_sub.add_parser("show", help="a year's holidays and the dates set by admins")
    show.add_argument("--year", type=int, help="default: this year")
    show.set_defaults(run=_show)
    for name, text in (
        ("close", "close the desk on DATE (an extra day off)"),
        ("open", "work on DATE although it is a holiday"),
    ):
        change = cal_sub.add_parser(name, help=text)
        change.add_argument("date", help="YYYY-MM-DD")
        change.add_argument("--note", default="", help="why (shown in /admin/calendar)")
        change.set_defaults(run=_change, is_open=name == "open")
    forget = cal_sub.add_parser("forget", help="remove a date set before: the rules apply again")
    forget.add_argument("date", help="YYYY-MM-DD")
    forget.set_defaults(run=_forget)


def _calendar(settings: Settings) -> tuple[Any, OfficeCalendar]:
    clock = SystemClock()
    engine, desk = open_desk_for(settings, clock)
    return engine, OfficeCalendar(engine, desk.profiles, clock)


def _show(settings: Settings, args: argparse.Namespace) -> int:
    engine, calendar = _calendar(settings)
    try:
        year = args.year or SystemClock().now().year
        days = calendar.year(settings.profile, year)
    except InvalidInput as exc:
        print(f"loket: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    for d in days:
        admin = f"{d.admin} by {d.author}" + (f": {d.note}" if d.note else "") if d.admin else ""
        state = "works" if d.working else "closed"
        print(f"{d.day.isoformat()}  {state:6}  {d.holiday or '-'}  {admin}".rstrip())
    return 0


def _change(settings: Settings, args: argparse.Namespace) -> int:
    engine, calendar = _calendar(settings)
    try:
        day = parse_day(args.date)
        calendar.set_day(settings.profile, day, is_open=args.is_open, note=args.note, author="cli")
    except InvalidInput as exc:
        print(f"loket: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(
        f"{day.isoformat()}: {'a working day' if args.is_open else 'closed'} ({settings.profile})"
    )
    return 0


def _forget(settings: Settings, args: argparse.Namespace) -> int:
    engine, calendar = _calendar(settings)
    try:
        found = calendar.forget_day(settings.profile, parse_day(args.date))
    except InvalidInput as exc:
        print(f"loket: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"{args.date}: " + ("the usual rules apply again" if found else "nothing was set"))
    return 0
