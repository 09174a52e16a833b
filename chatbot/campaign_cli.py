"""`loket campaigns create|start|pause|resume|cancel|status|list` and `loket optout ...`.

For supervisors and scripts: a campaign is created from an audience CSV, steered by id, and
sent by `loket serve` / `loket worker` (the outbox dispatcher), never by this command.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chatbot.campaigns.audience import AudienceError, normalise
from chatbot.campaigns.service import (
    CHANNELS,
    CampaignError,
    Campaigns,
    content_variables,
    parse_variables,
    parse_window,
)
from chatbot.clock import SystemClock
from chatbot.errors import NotAllowed
from chatbot.report_cli import row_id
from db import campaign_queries as cq
from db.engine import make_engine, migrate, read
from flows.profiles.schema import load_profiles
from settings import Settings


def add_commands(sub: Any) -> None:
    """Add `loket campaigns ...` and `loket optout ...` to the `loket` parser."""
    campaigns = sub.add_parser("campaigns", help="outbound caring campaigns (docs/campaigns.md)")
    verbs = campaigns.add_subparsers(dest="campaigns_command", required=True)
    create = verbs.add_parser(
        "create", help="a draft campaign from an audience CSV; prints its id last"
    )
    create.add_argument("name")
    create.add_argument("--channel", required=True, choices=CHANNELS)
    create.add_argument(
        "--template", required=True, help="the approved template's Content SID (HX...)"
    )
    create.add_argument(
        "--variables",
        default="{}",
        help='template placeholders to CSV columns, e.g. \'{"1": "name", "2": "paket"}\'',
    )
    create.add_argument("--audience", required=True, type=Path, help="CSV with a phone column")
    create.add_argument(
        "--start", help="ISO date-time to start at (the desk's time zone unless it has one)"
    )
    create.add_argument("--window", default="08:00-20:00", help="daily send window, HH:MM-HH:MM")
    create.add_argument("--rate", type=float, help="messages per second (default: unlimited)")
    create.add_argument(
        "--every-day",
        action="store_true",
        help="send on weekends and holidays too (default: working days only)",
    )
    create.add_argument(
        "--profile", help="the desk profile replies follow (default: LOKET_PROFILE)"
    )
    create.set_defaults(run=_create)
    for verb, text in (
        ("start", "start sending (at --start if it is ahead)"),
        ("pause", "stop claiming new recipients; sends in flight finish"),
        ("resume", "go on sending a paused campaign"),
        ("cancel", "stop for good; unsent recipients become skipped"),
    ):
        command = verbs.add_parser(verb, help=text)
        command.add_argument("id", type=row_id)
        command.set_defaults(run=_steer, verb=verb)
    status = verbs.add_parser("status", help="recipients by state, failures explained")
    status.add_argument("id", type=row_id)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(run=_status)
    listing = verbs.add_parser("list", help="every campaign and its state")
    listing.set_defaults(run=_list)

    optout = sub.add_parser("optout", help="the opt-out register (numbers that said STOP)")
    optout_verbs = optout.add_subparsers(dest="optout_command", required=True)
    optout_verbs.add_parser("list", help="every number in the register").set_defaults(
        run=_optout_list
    )
    for verb, text in (("add", "opt a number out by hand"), ("remove", "opt a number back in")):
        command = optout_verbs.add_parser(verb, help=text)
        command.add_argument("number")
        command.set_defaults(run=_optout_edit, verb=verb)


def _engine(settings: Settings) -> Any:
    engine = make_engine(settings.database_url)
    migrate(engine)
    return engine


def _create(settings: Settings, args: argparse.Namespace) -> int:
    profiles = load_profiles(settings.profiles_dir)
    profile_name = args.profile or settings.profile
    if profile_name not in profiles:
        print(f"loket: no profile '{profile_name}'", file=sys.stderr)
        return 2
    zone = ZoneInfo(profiles[profile_name].timezone)
    try:
        variables = parse_variables(args.variables)
        window = parse_window(args.window)
        start_at = _start(args.start, zone)
        text = args.audience.read_text(encoding="utf-8-sig")
    except (CampaignError, UnicodeDecodeError) as exc:
        print(f"loket: {exc}", file=sys.stderr)
        return 2
    engine = _engine(settings)
    try:
        created = Campaigns(engine).create(
            name=args.name,
            channel=args.channel,
            template=args.template,
            variables=variables,
            audience_csv=text,
            profile=profile_name,
            now=SystemClock().now(),
            start_at=start_at,
            window=window,
            rate=args.rate,
            every_day=args.every_day,
        )
    except (CampaignError, AudienceError) as exc:
        print(f"loket: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    audience = created.audience
    print(
        f"audience: {len(audience.recipients)} recipients, {len(audience.invalid)} invalid, "
        f"{len(audience.duplicates)} duplicates, {created.opted_out} opted out"
    )
    for reason in audience.skipped():
        print(f"  skipped {reason}")
    if (sample := created.sample) is not None:
        print(
            f"preview (line {sample.line}, {sample.phone}): ContentVariables "
            f"{content_variables(variables, sample.values)}"
        )
    print(f"created draft campaign {created.campaign_id}")
    return 0


def _start(value: str | None, zone: ZoneInfo) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CampaignError(f"--start is not an ISO date-time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _steer(settings: Settings, args: argparse.Namespace) -> int:
    engine = _engine(settings)
    try:
        service = Campaigns(engine)
        action = getattr(service, args.verb)
        state = action(args.id, now=SystemClock().now())
    except NotAllowed as exc:
        print(f"loket: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"campaign {args.id} is {state}")
    return 0


def _status(settings: Settings, args: argparse.Namespace) -> int:
    engine = _engine(settings)
    try:
        status = Campaigns(engine).status(args.id)
    except NotAllowed as exc:
        print(f"loket: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
        return 0
    print(f"campaign {status['id']} {status['name']!r}: {status['state']}")
    for key in ("recipients", "invalid", "duplicates", "opted_out", "pending", "sent"):
        print(f"  {key:<11} {status[key]}")
    for key in ("delivered", "read", "failed", "replied", "skipped"):
        print(f"  {key:<11} {status[key]}")
    for failure in status["failures"]:
        print(f"  error {failure['code'] or '-'} x{failure['count']}: {failure['meaning']}")
    return 0


def _list(settings: Settings, _args: argparse.Namespace) -> int:
    engine = _engine(settings)
    try:
        rows = Campaigns(engine).all()
    finally:
        engine.dispose()
    for row in rows:
        print(f"{row['id']:>5}  {row['state']:<9}  {row['channel']:<8}  {row['name']}")
    return 0


def _optout_list(settings: Settings, _args: argparse.Namespace) -> int:
    engine = _engine(settings)
    try:
        with read(engine) as conn:
            rows = cq.list_opt_outs(conn)
    finally:
        engine.dispose()
    for row in rows:
        print(f"{row['address']}  {row['channel']:<8}  {row['actor']:<10}  {row['reason']}")
    return 0


def _optout_edit(settings: Settings, args: argparse.Namespace) -> int:
    number = normalise(args.number) or args.number.strip()
    engine = _engine(settings)
    try:
        with engine.begin() as conn:
            if args.verb == "add":
                changed = cq.opt_out(
                    conn,
                    address=number,
                    channel="admin",
                    reason="added by hand",
                    actor="cli",
                    now=SystemClock().now(),
                )
            else:
                changed = cq.opt_in(conn, address=number)
    finally:
        engine.dispose()
    verb = "opted out" if args.verb == "add" else "opted back in"
    print(f"{number} {verb}" if changed else f"{number}: nothing to change")
    return 0
