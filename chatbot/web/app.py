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
from chatbot.channels.web import WebChannel
from chatbot.clock import Clock, SystemClock
from chatbot.desk_process import DeskProcess
from chatbot.editor import PhraseEditor, ProfileEditor
from chatbot.escalation import EscalationDesk
from chatbot.group_commit import GroupCommit, in_thread
from chatbot.media import MediaStore
from chatbot.notify import Notifier
from chatbot.supervision_jobs import SupervisionJobs
from chatbot.timers import TimerRunner
from chatbot.web import admin, auth, chat, desk_console, errors, kpi, webhooks
from chatbot.wiring import open_channels, open_notifier, outbox_dispatcher
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
    dispatcher = outbox_dispatcher(engine, all_channels, clock, settings, executor=writer)

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
    app.state.desk_process = child_desk
    # SQLite: webhook messages are batched for its one writer (the desk process, or a thread).
    app.state.group_commit = None
    if child_desk is not None:
        app.state.group_commit = GroupCommit(child_desk.record)
    elif writer is not None:
        app.state.group_commit = GroupCommit(in_thread(desk, all_channels, writer))
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
