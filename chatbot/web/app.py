"""create_app(): the FastAPI application and its lifespan (the outbox loop); a composition root."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from chatbot.bootstrap import open_desk
from chatbot.channels.base import Channel
from chatbot.channels.web import WebChannel
from chatbot.clock import Clock, SystemClock
from chatbot.editor import PhraseEditor, ProfileEditor
from chatbot.outbox import OutboxDispatcher
from chatbot.web import admin, chat, errors
from settings import Settings

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    channels: Mapping[str, Channel] | None = None,
    clock: Clock | None = None,
    run_outbox: bool = True,
) -> FastAPI:
    """Build the app; the database is created and migrated here, before the first request."""
    clock = clock or SystemClock()
    engine, desk = open_desk(
        database_url=settings.database_url,
        scripts_dir=settings.scripts_dir,
        profiles_dir=settings.profiles_dir,
        profile=settings.profile,
        locale=settings.locale,
        clock=clock,
    )
    all_channels: dict[str, Channel] = {"web": WebChannel(), **(channels or {})}
    dispatcher = OutboxDispatcher(
        engine, all_channels, clock, max_attempts=settings.outbox_max_attempts
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = (
            asyncio.create_task(dispatcher.run(settings.outbox_poll_seconds, stop))
            if run_outbox
            else None
        )
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            engine.dispose()

    app = FastAPI(title="Loket", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.desk = desk
    app.state.channels = all_channels
    app.state.dispatcher = dispatcher
    app.state.clock = clock
    app.state.templates_dir = Path(__file__).parent / "templates"
    app.state.phrase_editor = PhraseEditor(engine, desk.phrases, clock)
    app.state.profile_editor = ProfileEditor(engine, desk.profiles, clock)
    errors.install(app)
    app.include_router(chat.router)
    app.include_router(admin.router)

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
