"""create_app(): the FastAPI application and its lifespan (the outbox loop); a composition root."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from chatbot.accounts import Accounts
from chatbot.agent_desk import AgentDesk
from chatbot.bootstrap import open_desk_for
from chatbot.channels.base import Channel
from chatbot.channels.sms import SmsChannel
from chatbot.channels.telegram import TelegramChannel, close_bot, make_bot
from chatbot.channels.twilio_common import TwilioAccount
from chatbot.channels.web import WebChannel
from chatbot.channels.whatsapp import WhatsAppChannel
from chatbot.clock import Clock, SystemClock
from chatbot.desk_process import DeskProcess
from chatbot.editor import PhraseEditor, ProfileEditor
from chatbot.escalation import EscalationDesk
from chatbot.group_commit import GroupCommit, in_thread
from chatbot.media import MediaStore
from chatbot.notify import Notifier
from chatbot.outbox import OutboxDispatcher, RateLimit
from chatbot.supervision_jobs import SupervisionJobs
from chatbot.timers import TimerRunner
from chatbot.web import admin, auth, chat, desk_console, errors, kpi, webhooks
from settings import Settings

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    channels: Mapping[str, Channel] | None = None,
    clock: Clock | None = None,
    run_outbox: bool = True,
    run_timers: bool = True,
    desk_process: bool = False,
) -> FastAPI:
    """Build the app; the database is created and migrated here, before the first request.

    With `desk_process` (what `loket serve` asks for on SQLite) webhook messages are
    stepped and committed by a child process with its own desk (chatbot/desk_process.py).
    """
    clock = clock or SystemClock()
    engine, desk = open_desk_for(settings, clock)
    given: dict[str, Channel] = dict(channels or {})
    all_channels: dict[str, Channel] = {"web": WebChannel(), **given}
    # SQLite takes one writer at a time: every write goes through one thread, in arrival
    # order, instead of threads sleeping in SQLite's busy handler.
    writer = (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="loket-db-writer")
        if settings.is_sqlite
        else None
    )
    dispatcher = OutboxDispatcher(
        engine,
        all_channels,
        clock,
        max_attempts=settings.outbox_max_attempts,
        limits=rate_limits(settings),
        executor=writer,
    )

    agents = AgentDesk(engine, desk, clock)
    escalations = EscalationDesk(engine, agents, clock, public_url=settings.public_base)
    timers = TimerRunner(
        engine,
        agents,
        clock,
        auto_assign=settings.auto_assign,
        public_url=settings.public_base,
        executor=writer,
    )
    supervision = SupervisionJobs(  # the daily log on schedule, retention (#7)
        engine,
        desk.profile,
        clock,
        reports_dir=settings.reports_dir,
        media_dir=settings.media_dir,
        poster=lambda name, data, caption: app.state.notifier.post_file(name, data, caption),
    )

    child_desk = DeskProcess(settings) if desk_process and writer is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if child_desk is not None:
            await child_desk.start()
        async with open_channels(settings, clock) as built, open_notifier(settings) as notifier:
            # Channels passed in (tests, embedding) win over the ones settings describe.
            all_channels.update({n: c for n, c in built.items() if n not in given})
            escalations.use_notifier(notifier)
            timers.use_notifier(notifier)
            app.state.notifier = notifier
            stop = asyncio.Event()
            tasks = []
            if run_outbox:
                tasks.append(
                    asyncio.create_task(dispatcher.run(settings.outbox_poll_seconds, stop))
                )
            if run_timers:
                tasks.append(asyncio.create_task(timers.run(settings.timers_poll_seconds, stop)))
                tasks.append(  # the daily log and retention (#7)
                    asyncio.create_task(supervision.run(settings.supervision_poll_seconds, stop))
                )
            try:
                yield
            finally:
                stop.set()
                for task in tasks:
                    await task  # the round in flight finishes and is recorded
        if child_desk is not None:
            await child_desk.stop()
        if writer is not None:
            writer.shutdown(wait=True)
        engine.dispose()

    app = FastAPI(title="Loket", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.desk = desk
    app.state.channels = all_channels
    app.state.dispatcher = dispatcher
    app.state.db_writer = writer
    app.state.desk_process = child_desk
    app.state.group_commit = (
        GroupCommit(child_desk.record)
        if child_desk is not None
        else GroupCommit(in_thread(desk, all_channels, writer))
        if writer is not None
        else None
    )
    app.state.clock = clock
    app.state.supervision = supervision
    app.state.media = MediaStore(settings.media_dir, settings.max_media_bytes)
    app.state.templates_dir = Path(__file__).parent / "templates"
    app.state.agent_desk = agents
    app.state.escalations = escalations
    app.state.timers = timers
    app.state.notifier = Notifier()
    app.state.phrase_editor = PhraseEditor(engine, desk.phrases, clock)
    app.state.profile_editor = ProfileEditor(engine, desk.profiles, clock)
    accounts = Accounts(engine, clock, session_hours=settings.session_hours)
    app.state.accounts = accounts
    app.state.users = admin.AccountDirectory(accounts)
    errors.install(app)
    app.add_middleware(auth.LoginRequired, accounts=accounts, public_url=settings.public_url)
    app.include_router(webhooks.router)  # first: the busiest routes are matched first
    app.include_router(auth.router)
    app.include_router(chat.router)
    app.include_router(admin.router)
    app.include_router(desk_console.router)
    app.include_router(kpi.router)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """200 once the app is up and the database answers."""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            logger.warning("Health check: database unreachable: %s", exc)
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True})

    return app


def rate_limits(settings: Settings) -> dict[str, RateLimit]:
    """The providers' sending limits, as configured."""
    return {
        "telegram": RateLimit(
            settings.telegram_max_per_second, settings.telegram_max_per_chat_per_second
        ),
        "whatsapp": RateLimit(settings.whatsapp_max_per_second),
        "sms": RateLimit(settings.sms_max_per_second),
    }


@contextlib.asynccontextmanager
async def open_channels(settings: Settings, clock: Clock) -> AsyncIterator[dict[str, Channel]]:
    """The Telegram, WhatsApp and SMS channels the settings configure, open for the app's life.

    Built inside the running loop (Twilio's async HTTP client needs one). Nothing here calls
    the providers, so start-up never waits for, or fails on, Telegram or Twilio.
    """
    built: dict[str, Channel] = {}
    async with contextlib.AsyncExitStack() as stack:
        if settings.telegram_token and settings.telegram_secret:
            bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_base_url)
            stack.push_async_callback(close_bot, bot)
            built["telegram"] = TelegramChannel(
                bot,
                settings.telegram_secret.get_secret_value(),
                allow_groups=settings.telegram_allow_groups,
            )
        if settings.twilio_account_sid and settings.twilio_auth_token:
            account = TwilioAccount.open(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token.get_secret_value(),
                base_url=settings.twilio_base_url,
                status_callback=f"{settings.public_base}/webhooks/twilio/status",
            )
            stack.push_async_callback(account.aclose)
            built["whatsapp"] = WhatsAppChannel(
                account,
                settings.twilio_whatsapp_from,
                clock,
                template_sid=settings.twilio_whatsapp_template_sid,
            )
            built["sms"] = SmsChannel(account, settings.twilio_sms_from)
        yield built


@contextlib.asynccontextmanager
async def open_notifier(settings: Settings) -> AsyncIterator[Notifier]:
    """The team's Discord webhook and Telegram group, as configured, for the app's life."""
    bot = None
    if settings.agent_telegram_chat_id and settings.telegram_token:
        bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_base_url)
    webhook = settings.discord_webhook_url
    try:
        yield Notifier(
            discord_webhook_url=webhook.get_secret_value() if webhook else None,
            telegram_bot=bot,
            telegram_chat_id=settings.agent_telegram_chat_id,
        )
    finally:
        if bot is not None:
            await close_bot(bot)
