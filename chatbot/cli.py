"""The `loket` command (serve, chat, cases, db, users, phrases...): a composition root."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from telegram.error import RetryAfter, TelegramError

from chatbot import calendar_cli, campaign_cli, db_cli, report_cli
from chatbot.admin.accounts import ROLES, AccountError, Accounts
from chatbot.admin.editor import PhraseEditor, phrase_file_kind, read_phrase_set, to_yaml
from chatbot.channels.telegram import TelegramChannel, as_seconds
from chatbot.clock import Clock, ShiftedClock, SystemClock
from chatbot.domain import Inbound, OutButton, buttons_as_text
from chatbot.errors import MalformedPayload, PhraseRejected
from chatbot.frontdesk.desk import Desk
from chatbot.logs import configure_logging
from chatbot.runtime.bootstrap import open_desk_for
from db import queries
from db.engine import as_utc, make_engine, migrate, read, sqlite_file
from flows.profiles.schema import ProfileError, load_profiles
from settings import Settings

logger = logging.getLogger("loket")
DIAGRAM_PATH = Path("docs/flows/front_desk.mmd")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `loket` sub-command; exit code 0 on success, 2 on a configuration error.

    Whatever goes wrong is one line on stderr and a non-zero exit, never a traceback (unless
    --traceback asks for it): 1 for a file, database or unexpected error, 130 on Ctrl-C.
    """
    args = _parser().parse_args(argv)
    configure_logging(logging.INFO if args.command == "serve" else logging.WARNING)
    try:
        settings = Settings()
        if getattr(args, "profile", None):
            settings = settings.model_copy(update={"profile": args.profile})
        result: int = args.run(settings, args)
        return result
    except (ProfileError, ValidationError) as exc:
        print(f"loket: configuration error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("loket: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.traceback:
            raise
        print(f"loket: {_failure(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _failure(exc: Exception) -> str:
    """What went wrong, on one line: the file and why, the database, or the exception."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or _one_line(exc)}"
    if isinstance(exc, DBAPIError):  # the driver's own message, without the SQL and parameters
        return f"database error: {_one_line(exc.orig) if exc.orig else type(exc).__name__}"
    if isinstance(exc, ModuleNotFoundError) and exc.name == "psycopg":
        return (
            "a PostgreSQL database needs the postgres extra: pip install 'loket[postgres]'"
            " (in a checkout: pip install -e '.[postgres]')"
        )
    return f"{type(exc).__name__}: {_one_line(exc)} (run again with --traceback for details)"


def version() -> str:
    """The installed distribution's version; pyproject.toml is its one source."""
    try:
        return metadata.version("loket")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loket", description="Loket customer-service desk.")
    parser.add_argument(
        "--traceback", action="store_true", help="show the Python traceback of an error"
    )
    parser.add_argument("--version", action="version", version=f"loket {version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve", help="run the web workers and the background workers, supervised"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000, help="0-65535 (default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="web worker processes (default 1); on PostgreSQL as many background workers",
    )
    serve.add_argument("--profile", help="desk profile (default: LOKET_PROFILE or erzap)")
    serve.set_defaults(run=_serve)

    worker = sub.add_parser(
        "worker", help="run only the background work: steppers, outbox, clocks, reports"
    )
    worker.set_defaults(run=_worker)

    chat = sub.add_parser("chat", help="talk to the bot as a client in the terminal")
    chat.add_argument("--profile", help="desk profile (default: LOKET_PROFILE or erzap)")
    chat.add_argument("--chat-id", default="terminal", help="which terminal client you are")
    chat.add_argument(
        "--at",
        type=_moment,
        help="pretend the chat starts at this moment, e.g. 2026-12-25T20:00 in the profile's"
        " time zone (to try office hours)",
    )
    chat.set_defaults(run=_chat)

    cases = sub.add_parser("cases", help="list cases")
    cases.add_argument("--json", action="store_true", help="print JSON with transcripts")
    cases.add_argument("--id", type=report_cli.row_id, help="only this case")
    cases.set_defaults(run=_cases)
    report_cli.add_commands(sub, cases)  # report daily|monthly, cases export, retention
    db_cli.add_commands(sub)  # db upgrade|check|backup|restore
    calendar_cli.add_commands(sub)  # calendar show|close|open|forget
    campaign_cli.add_commands(sub)  # campaigns ..., optout (docs/campaigns.md)

    flow = sub.add_parser("flow", help="the conversation flow")
    flow_sub = flow.add_subparsers(dest="flow_command", required=True)
    diagram = flow_sub.add_parser("diagram", help="write the state diagram as Mermaid text")
    diagram.add_argument(
        "--out",
        type=Path,
        default=DIAGRAM_PATH,
        help=f"file to write, or - for stdout (default: {DIAGRAM_PATH})",
    )
    diagram.set_defaults(run=_diagram)

    phrases = sub.add_parser("phrases", help="move phrase sets between installations")
    phrases_sub = phrases.add_subparsers(dest="phrases_command", required=True)
    export = phrases_sub.add_parser(
        "export", help="write every phrase's text in force to FILE (.json, .yaml or .yml)"
    )
    export.add_argument("file", type=Path)
    export.set_defaults(run=_phrases_export)
    load = phrases_sub.add_parser(
        "import", help="validate and save the phrases in FILE, all or nothing"
    )
    load.add_argument("file", type=Path)
    load.add_argument("--author", default="cli", help="who the new versions are from")
    load.set_defaults(run=_phrases_import)

    users = sub.add_parser("users", help="desk and admin user accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser(
        "add", help="create a user; the password is read from stdin when it is not a terminal"
    )
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.set_defaults(run=_users_add)
    listing = users_sub.add_parser("list", help="name, role, active, last seen")
    listing.set_defaults(run=_users_list)
    passwd = users_sub.add_parser("passwd", help="set a new password (ends the user's sessions)")
    passwd.add_argument("name")
    passwd.set_defaults(run=_users_passwd)
    for verb, text in (("disable", "stop a user logging in"), ("enable", "let a user in again")):
        toggle = users_sub.add_parser(verb, help=text)
        toggle.add_argument("name")
        toggle.set_defaults(run=_users_set_active, active=verb == "enable")

    tg = sub.add_parser("telegram", help="Telegram bot set-up and polling")
    tg_sub = tg.add_subparsers(dest="telegram_command", required=True)
    hook = tg_sub.add_parser(
        "set-webhook", help="register LOKET_PUBLIC_URL/webhooks/telegram with the secret"
    )
    hook.set_defaults(run=_telegram_set_webhook)
    poll = tg_sub.add_parser("poll", help="fetch updates with getUpdates (no public URL needed)")
    poll.add_argument("--profile", help="desk profile (default: LOKET_PROFILE or erzap)")
    poll.set_defaults(run=_telegram_poll)
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number (0-65535)")
    return port


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    """Become the supervisor (a small process): it starts the web and background workers.

    exec, not a child: the supervisor then holds none of this process's imports, and
    signals (Ctrl-C, systemd's stop) reach it directly. The children read the same
    settings from the environment; --profile travels there too.
    """
    if args.workers < 1:
        print("loket: --workers must be at least 1", file=sys.stderr)
        return 2
    os.environ["LOKET_PROFILE"] = settings.profile
    # PostgreSQL: a background worker beside each web worker, so stepping and sending grow
    # with --workers as taking webhooks does (steppers claim different chats). SQLite has
    # one writer: one background worker.
    background = 1 if settings.is_sqlite else args.workers
    argv = ["--host", args.host, "--port", str(args.port), "--workers", str(args.workers)]
    argv += ["--background", str(background)]
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "chatbot.runtime.supervisor", *argv])  # noqa: S606
    return 0  # not reached: exec replaced this process


def _worker(settings: Settings, _args: argparse.Namespace) -> int:
    from chatbot.runtime.worker import run_worker

    asyncio.run(run_worker(settings))
    return 0


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    clock: Clock = SystemClock()
    if args.at is not None:
        profiles = load_profiles(settings.profiles_dir)
        zone = (
            ZoneInfo(profiles[settings.profile].timezone) if settings.profile in profiles else UTC
        )
        clock = ShiftedClock(args.at if args.at.tzinfo else args.at.replace(tzinfo=zone))
    engine, desk = open_desk_for(settings, clock)
    try:
        _converse(engine, desk, args.chat_id)
    finally:
        engine.dispose()  # no connection left open (PostgreSQL warns at exit otherwise)
    return 0


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not a moment (YYYY-MM-DDTHH:MM)") from exc


def _converse(engine: Any, desk: Desk, chat_id: str) -> None:
    interactive = sys.stdin.isatty()
    session = uuid.uuid4().hex[:12]
    if interactive:
        print(f"{desk.desk_name} (ketik pesan, Ctrl-D untuk keluar)")
    count = 0
    while True:
        if interactive:
            print("anda> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            break
        text = line.rstrip("\n")
        if not text.strip():
            continue
        count += 1
        desk.receive(
            Inbound(
                channel="terminal",
                chat_id=chat_id,
                message_id=f"{session}:{count}",
                text=text,
            )
        )
        _deliver_terminal(engine, chat_id, sys.stdout)


def _deliver_terminal(engine: Any, chat_id: str, out: TextIO) -> None:
    """The terminal channel's delivery: print the chat's pending replies and mark them sent."""
    clock = SystemClock()
    with engine.begin() as conn:
        for item in queries.list_pending_for_chat(conn, channel="terminal", chat_id=chat_id):
            buttons = tuple(
                OutButton(b["payload"], b["label"])
                for b in json.loads(item["buttons_json"] or "[]")
            )
            out.write(f"bot> {buttons_as_text(item['text'], buttons)}\n")
            queries.mark_sent(
                conn,
                item_id=item["id"],
                provider_id=f"terminal-{item['id']}",
                now=clock.now(),
            )
    out.flush()


def _cases(settings: Settings, args: argparse.Namespace) -> int:
    path = sqlite_file(settings.database_url)
    made_now = path is not None and not path.exists()
    engine = make_engine(settings.database_url)
    try:
        listed = _list_cases(engine, args)
    finally:
        engine.dispose()  # no connection left open (PostgreSQL warns at exit otherwise)
    if made_now:  # an empty list from a database made just now reads like an empty desk
        print(
            f"loket: note: there was no database at {path}; this one is new and empty "
            "(set LOKET_DATABASE_URL to the one `loket serve` uses)",
            file=sys.stderr,
        )
    return listed


def _list_cases(engine: Any, args: argparse.Namespace) -> int:
    migrate(engine)
    with read(engine) as conn:
        rows = queries.list_cases(conn, case_id=args.id)
        if args.id is not None and not rows:
            print(f"loket: no case {args.id}", file=sys.stderr)
            return 1
        if not args.json:
            _print_table(rows)
            return 0
        cases = _cases_json(conn, rows)
    print(
        json.dumps(
            cases[0] if args.id is not None else cases,
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


def _cases_json(conn: Any, rows: list[Any]) -> list[dict[str, Any]]:
    from chatbot.supervision.case_records import cases_json

    return cases_json(conn, rows)


def _print_table(rows: list[Any]) -> None:
    header = ("ID", "CHANNEL", "CHAT", "STATE", "CATEGORY", "OPENED", "UPDATED")
    lines = [header] + [
        (
            str(r["id"]),
            r["channel"],
            r["chat_id"],
            r["state"],
            r["category"] or "-",
            _short(r["opened_at"]),
            _short(r["updated_at"]),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


def _short(value: Any) -> str:
    moment = as_utc(value)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _diagram(_settings: Settings, args: argparse.Namespace) -> int:
    from flows.diagram import mermaid

    text = mermaid()
    if str(args.out) == "-":
        sys.stdout.write(text)
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


@contextlib.contextmanager
def _phrase_editor(settings: Settings) -> Iterator[PhraseEditor]:
    clock = SystemClock()
    engine, desk = open_desk_for(settings, clock)
    try:
        yield PhraseEditor(engine, desk.phrases, clock)
    finally:
        engine.dispose()  # no connection left open (PostgreSQL warns at exit otherwise)


def _phrases_export(settings: Settings, args: argparse.Namespace) -> int:
    kind = phrase_file_kind(args.file)
    if kind is None:
        print(f"loket: {args.file}: the file must end in .json, .yaml or .yml", file=sys.stderr)
        return 2
    with _phrase_editor(settings) as editor:
        data = editor.export()
    if kind == "json":
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        text = to_yaml(data)
    args.file.write_text(text, encoding="utf-8")
    print(f"wrote {sum(len(v) for v in data.values())} phrases to {args.file}")
    return 0


def _phrases_import(settings: Settings, args: argparse.Namespace) -> int:
    kind = phrase_file_kind(args.file)
    if kind is None:
        print(f"loket: {args.file}: the file must end in .json, .yaml or .yml", file=sys.stderr)
        return 2
    try:
        raw = args.file.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"loket: {args.file}: cannot read ({exc.strerror})", file=sys.stderr)
        return 1
    except UnicodeDecodeError:
        print(f"loket: {args.file}: not UTF-8 text", file=sys.stderr)
        return 1
    try:
        data = read_phrase_set(raw, kind)
        with _phrase_editor(settings) as editor:
            changed = editor.import_phrases(data, author=args.author)
    except PhraseRejected as exc:
        if len(exc.problems) == 1 and exc.problems[0][:2] == ("-", "-"):  # the file as a whole
            print(f"loket: {args.file}: {exc.problems[0][3]}; nothing imported", file=sys.stderr)
            return 1
        print(f"loket: {args.file}: nothing imported, nothing changed:", file=sys.stderr)
        for locale, key, line, reason in exc.problems:
            where = f"line {line}: " if line else ""
            print(f"  {locale}/{key}: {where}{reason}", file=sys.stderr)
        return 1
    print(f"imported {args.file}: {len(changed)} phrases changed")
    for locale, key in changed:
        print(f"  {locale}/{key}")
    return 0


@contextlib.contextmanager
def _accounts(settings: Settings) -> Iterator[Accounts]:
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        yield Accounts(engine, SystemClock(), session_hours=settings.session_hours)
    finally:
        engine.dispose()


def _read_password() -> str | None:
    """One line from stdin when it is piped, else asked twice without echo; None if unusable."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line.strip():
            print("loket: no password on standard input", file=sys.stderr)
            return None
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        print("loket: the two passwords differ; nothing changed", file=sys.stderr)
        return None
    return first


def _users_add(settings: Settings, args: argparse.Namespace) -> int:
    password = _read_password()
    if password is None:
        return 1
    try:
        with _accounts(settings) as accounts:
            user = accounts.add_user(args.name, args.role, password)
    except AccountError as exc:
        print(f"loket: user not added: {exc}", file=sys.stderr)
        return 1
    print(f"added {user.name} as {user.role}")
    return 0


def _users_list(settings: Settings, _args: argparse.Namespace) -> int:
    header = ("NAME", "ROLE", "ACTIVE", "LAST SEEN")
    with _accounts(settings) as accounts:
        users = accounts.list_users()
    lines = [header] + [
        (u.name, u.role, "yes" if u.active else "no", _short(u.last_seen_at)) for u in users
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    return 0


def _users_passwd(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with _accounts(settings) as accounts:
            accounts.get_user(args.name)
            password = _read_password()
            if password is None:
                return 1
            accounts.set_password(args.name, password)
    except AccountError as exc:
        print(f"loket: password not changed: {exc}", file=sys.stderr)
        return 1
    print(f"new password set for {args.name}; their sessions ended")
    return 0


def _users_set_active(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with _accounts(settings) as accounts:
            accounts.set_active(args.name, args.active)
    except AccountError as exc:
        print(f"loket: not changed: {exc}", file=sys.stderr)
        return 1
    print(f"{args.name} is {'enabled' if args.active else 'disabled'}")
    return 0


def _telegram_settings(settings: Settings) -> tuple[str, str] | None:
    if not settings.telegram_token or not settings.telegram_secret:
        print(
            "loket: set LOKET_TELEGRAM_TOKEN (from @BotFather) and LOKET_TELEGRAM_SECRET first",
            file=sys.stderr,
        )
        return None
    return settings.telegram_token.get_secret_value(), settings.telegram_secret.get_secret_value()


def _telegram_set_webhook(settings: Settings, _args: argparse.Namespace) -> int:
    from chatbot.channels.telegram import ALLOWED_UPDATES, close_bot, make_bot

    secrets = _telegram_settings(settings)
    if secrets is None:
        return 2
    token, secret = secrets
    url = f"{settings.public_base}/webhooks/telegram"

    async def register() -> bool:
        bot = make_bot(token, settings.telegram_base_url)
        try:
            done: bool = await bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
            )
            return done
        finally:
            await close_bot(bot)

    try:
        ok = asyncio.run(register())
    except TelegramError as exc:
        print(f"loket: Telegram refused the webhook: {exc}", file=sys.stderr)
        return 1
    print(f"Telegram webhook set to {url}" if ok else "loket: Telegram answered false")
    return 0 if ok else 1


def _telegram_poll(settings: Settings, _args: argparse.Namespace) -> int:
    from chatbot.channels.telegram import close_bot
    from chatbot.runtime.wiring import telegram_channel

    if _telegram_settings(settings) is None:
        return 2
    clock = SystemClock()
    engine, desk = open_desk_for(settings, clock)

    async def run() -> None:
        channel = telegram_channel(settings)
        assert channel is not None  # token and secret were checked above
        try:
            await poll_updates(channel, desk)
        finally:
            await close_bot(channel.bot)

    # Polling is only another way in: `loket serve` (or `loket worker`) steps and answers.
    print("Polling Telegram for updates into the inbox (Ctrl-C to stop).")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    engine.dispose()
    return 0


async def poll_updates(
    channel: TelegramChannel,
    desk: Desk,
    *,
    long_poll_seconds: int = 30,
    rounds: int | None = None,
) -> None:
    """GetUpdates in a loop into the inbox, as the webhook does.

    An update is confirmed (the offset moves past it) only after the inbox committed it, so
    a crash makes Telegram hand it over again, and the inbox ignores the repeat.
    """
    from chatbot.channels.telegram import ALLOWED_UPDATES

    bot = channel.bot
    await bot.delete_webhook()  # getUpdates answers 409 while a webhook is set
    offset: int | None = None
    done = 0
    while rounds is None or done < rounds:
        done += 1
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=long_poll_seconds, allowed_updates=list(ALLOWED_UPDATES)
            )
        except RetryAfter as exc:
            await asyncio.sleep(as_seconds(exc.retry_after))
            continue
        except TelegramError as exc:
            logger.warning("getUpdates failed (%s); trying again in 5 s.", exc)
            await asyncio.sleep(5)
            continue
        for update in updates:
            try:
                inbounds = channel.parse_update(update.to_dict())
            except MalformedPayload as exc:
                logger.warning("Skipping Telegram update %s: %s", update.update_id, exc)
                inbounds = []
            if inbounds:  # stepped and answered by the background worker (`loket serve`)
                await asyncio.to_thread(desk.accept, inbounds)
            await channel.answer_callbacks(inbounds)
            offset = update.update_id + 1
