"""The supervision commands: `loket report daily|monthly`, `cases export`, `retention run`."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from chatbot.clock import SystemClock
from chatbot.runtime.bootstrap import open_desk_for
from chatbot.supervision.kpi import parse_day, parse_month
from db.engine import read
from settings import Settings


def add_commands(sub: Any, cases: argparse.ArgumentParser) -> None:
    """Register the report, export and retention sub-commands on the `loket` parser."""
    report = sub.add_parser("report", help="write the daily log or the monthly report")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    daily = report_sub.add_parser("daily", help="the daily case log (.xlsx)")
    daily.add_argument("--date", required=True, type=_day, help="local day, YYYY-MM-DD")
    daily.add_argument("--out", required=True, type=Path, help="FILE.xlsx")
    daily.add_argument("--profile", help="desk profile (default: LOKET_PROFILE or erzap)")
    daily.set_defaults(run=_daily)
    monthly = report_sub.add_parser("monthly", help="the monthly performance report")
    monthly.add_argument("--month", required=True, help="YYYY-MM")
    monthly.add_argument("--out", required=True, type=Path, help="FILE.xlsx or FILE.html")
    monthly.add_argument("--profile", help="desk profile (default: LOKET_PROFILE or erzap)")
    monthly.set_defaults(run=_monthly)

    cases_sub = cases.add_subparsers(dest="cases_command")
    export = cases_sub.add_parser("export", help="one row per case (csv) or full records (jsonl)")
    export.add_argument("--from", dest="first", required=True, type=_day, help="YYYY-MM-DD")
    export.add_argument("--to", dest="last", required=True, type=_day, help="YYYY-MM-DD")
    export.add_argument("--format", required=True, choices=("csv", "jsonl"))
    export.add_argument("--out", type=Path, help="file to write (default: stdout)")
    export.add_argument("--profile", help="desk profile (default: LOKET_PROFILE or erzap)")
    export.set_defaults(run=_export)

    retention = sub.add_parser("retention", help="transcripts and personal data past the limit")
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    run = retention_sub.add_parser("run", help="anonymise what is older than retention_days")
    run.add_argument("--profile", help="desk profile (default: LOKET_PROFILE or erzap)")
    run.set_defaults(run=_retention)


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


MAX_ROW_ID = 2**63 - 1  # the largest id either database stores (BIGINT, SQLite INTEGER)


def row_id(text: str) -> int:
    """A database id given on the command line: a whole number from 1 to `MAX_ROW_ID`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 1 <= value <= MAX_ROW_ID:
        raise argparse.ArgumentTypeError(f"'{text}' is not an id (1 to {MAX_ROW_ID})")
    return value


@contextlib.contextmanager
def _open(settings: Settings) -> Iterator[tuple[Any, Any]]:
    engine, desk = open_desk_for(settings, SystemClock())
    try:
        yield engine, desk.profile()
    finally:
        engine.dispose()


def _daily(settings: Settings, args: argparse.Namespace) -> int:
    from chatbot.supervision.reports import write_daily

    with _open(settings) as (engine, profile), read(engine) as conn:
        rows = write_daily(conn, profile, args.date, args.out, now=SystemClock().now())
    print(f"wrote {args.out}: {rows} cases of {args.date.isoformat()}")
    return 0


def _monthly(settings: Settings, args: argparse.Namespace) -> int:
    from chatbot.supervision.reports import monthly_html, write_monthly

    try:
        year, month = parse_month(args.month)
    except ValueError as exc:
        print(f"loket: {exc}", file=sys.stderr)
        return 2
    suffix = args.out.suffix.lower()
    if suffix not in (".xlsx", ".html"):
        print(f"loket: {args.out}: the file must end in .xlsx or .html", file=sys.stderr)
        return 2
    now = SystemClock().now()
    with _open(settings) as (engine, profile), read(engine) as conn:
        if suffix == ".html":
            args.out.write_text(monthly_html(conn, profile, year, month, now=now), "utf-8")
        else:
            write_monthly(conn, profile, year, month, args.out, now=now)
    print(f"wrote {args.out}: {args.month}")
    return 0


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from chatbot.supervision.reports import export_cases

    if args.last < args.first:
        print("loket: --to is before --from", file=sys.stderr)
        return 2
    now = SystemClock().now()
    with _open(settings) as (engine, profile), read(engine) as conn:
        if args.out is None:
            count = export_cases(
                conn, profile, args.first, args.last, args.format, sys.stdout, now=now
            )
        else:
            with args.out.open("w", encoding="utf-8", newline="") as out:
                count = export_cases(
                    conn, profile, args.first, args.last, args.format, out, now=now
                )
    print(f"exported {count} cases", file=sys.stderr)
    return 0


def _retention(settings: Settings, _args: argparse.Namespace) -> int:
    from chatbot.supervision.retention import Retention

    with _open(settings) as (engine, profile):
        done = Retention(engine, SystemClock(), media_dir=settings.media_dir).run(profile)
    print(f"anonymised {done} cases")
    return 0
