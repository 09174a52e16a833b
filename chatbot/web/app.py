"""create_app(): the FastAPI application and its lifespan; a composition root."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from chatbot.admin.accounts import Accounts
from chatbot.admin.calendar import OfficeCalendar
from chatbot.admin.editor import PhraseEditor, ProfileEditor
from chatbot.admin.faq import FaqEditor
from chatbot.admin.users import AccountDirectory
from chatbot.agents.escalation import EscalationDesk
from chatbot.agents.live import ChangeFeed
from chatbot.agents.notify import Notifier
from chatbot.agents.visits import VisitDesk
from chatbot.campaigns.register import CampaignDesk
from chatbot.channels.base import Channel
from chatbot.channels.files import UploadPolicy
from chatbot.channels.media import MediaStore
from chatbot.channels.web import WebChannel
from chatbot.clock import Clock, SystemClock
from chatbot.frontdesk.files import FileShelf
from chatbot.resource import package_dir
from chatbot.runtime.background import Background
from chatbot.runtime.bootstrap import open_desk_for
from chatbot.runtime.wiring import media_links, open_channels, open_notifier
from chatbot.supervision.pages import SupervisionPages
from chatbot.supervision.qa import QualityReview
from chatbot.throttle import ChatLimits, LoginLimits, Throttle
from chatbot.web import (
    admin,
    admin_faq,
    auth,
    campaigns,
    chat,
    desk_console,
    errors,
    files,
    kpi,
    visits,
    webhooks,
)
from chatbot.web.bodies import BodyReader
from chatbot.web.ingress import IngressWriter
from db.engine import sqlite_directory
from settings import Settings

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    channels: Mapping[str, Channel] | None = None,
    clock: Clock | None = None,
    background: bool = True,
    run_outbox: bool = True,
    run_timers: bool = True,
) -> FastAPI:
    """Build the app; the database is created and migrated here, before the first request.

    With `background` the lifespan also runs the stepper, the outbox and the clocks
    (chatbot/runtime/background.py) in this process, as tests and embedders want;
    `loket serve` runs them in its worker child instead and its web children pass False.
    """
    clock = clock or SystemClock()
    engine, desk = open_desk_for(settings, clock)
    given: dict[str, Channel] = dict(channels or {})
    all_channels: dict[str, Channel] = {"web": WebChannel(), **given}
    work = Background(settings, engine, desk, all_channels, clock)
    agents = work.agents
    escalations = EscalationDesk(engine, agents, clock, public_url=settings.public_base)
    # Requests arriving together share a commit, written in arrival order.
    ingress = IngressWriter(desk.accept)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with open_channels(settings, clock) as built, open_notifier(settings) as notifier:
            # Channels passed in (tests, embedding) win over the ones settings describe.
            all_channels.update({n: c for n, c in built.items() if n not in given})
            escalations.use_notifier(notifier)
            work.use_notifier(notifier)
            app.state.notifier = notifier
            stop = asyncio.Event()
            task = (
                asyncio.create_task(work.run(stop, outbox=run_outbox, timers=run_timers))
                if background
                else None
            )
            try:
                yield
            finally:
                stop.set()
                if task is not None:
                    await task  # the batch and the sends in flight finish and are recorded
        engine.dispose()

    # The API description is served to logged-in admins only (chatbot/web/admin.py).
    app = FastAPI(
        title="Loket",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # No request body anywhere may be larger than the largest upload (a file, an
        # audience CSV) plus its form: a bigger one is refused (413) while it streams in,
        # before any route parses it (the console's reply form would otherwise spool a huge
        # upload to disk first). Routes keep their own, smaller limits.
        max_body_size=max(settings.max_media_bytes, campaigns.MAX_AUDIENCE_BYTES)
        + chat.FILE_FORM_OVERHEAD,
    )
    app.state.settings = settings
    app.state.stopping = asyncio.Event()  # set by the web worker's stop signal: streams end
    app.state.engine = engine
    app.state.desk = desk
    app.state.channels = all_channels
    app.state.dispatcher = work.dispatcher
    app.state.ingress = ingress
    app.state.clock = clock
    app.state.supervision = work.supervision
    app.state.supervision_pages = SupervisionPages(engine)
    app.state.campaigns = CampaignDesk(engine)  # /admin/campaigns (docs/campaigns.md)
    app.state.qa = QualityReview(engine, clock)
    app.state.media = MediaStore(settings.media_dir, settings.max_media_bytes)
    # #14 attachments both ways: upload checks, stored files, signed links for Twilio
    app.state.upload_policy = UploadPolicy(settings.upload_types, settings.max_media_bytes)
    app.state.files = FileShelf(engine, settings.media_dir)
    app.state.media_links = media_links(settings, clock)
    app.state.templates_dir = package_dir("chatbot", "web", "templates")
    app.state.agent_desk = agents
    app.state.desk_feed = ChangeFeed(engine)  # one change poller for every /desk/events
    app.state.escalations = escalations
    app.state.visits = VisitDesk(
        engine,
        agents,
        escalations,
        clock,
        public_url=settings.public_base,
        media_dir=settings.media_dir,
        max_photo_bytes=settings.max_media_bytes,
        link_hours=settings.visit_link_hours,
        technicians_chat_id=settings.technician_telegram_chat_id,
    )
    app.state.timers = work.timers
    app.state.notifier = Notifier()
    app.state.phrase_editor = PhraseEditor(engine, desk.phrases, clock)
    app.state.profile_editor = ProfileEditor(engine, desk.profiles, clock)
    app.state.faq_editor = FaqEditor(
        app.state.profile_editor, desk.phrases, desk.load_overrides
    )  # #14
    app.state.office_calendar = OfficeCalendar(engine, desk.profiles, clock)
    login_limits = LoginLimits(
        free_attempts=settings.login_free_attempts,
        first_wait_seconds=settings.login_first_wait_seconds,
        max_wait_seconds=settings.login_max_wait_seconds,
    )
    chat_limits = ChatLimits(
        per_chat_per_minute=settings.web_chat_posts_per_minute,
        per_address_per_minute=settings.web_chat_posts_per_minute_per_address,
        new_chats_per_address_per_hour=settings.web_chat_new_chats_per_hour,
        open_cases_per_address=settings.web_chat_open_cases_per_address,
    )
    app.state.throttle = Throttle(engine, clock, login=login_limits, chat=chat_limits)
    app.state.bodies = BodyReader(
        public_url=settings.public_url,
        max_pending=settings.max_pending_bodies,
        timeout_seconds=settings.body_timeout_seconds,
    )
    accounts = Accounts(
        engine, clock, session_hours=settings.session_hours, login_limits=login_limits
    )
    app.state.accounts = accounts
    app.state.users = AccountDirectory(accounts)
    errors.install(app, refused_values=DataError)
    app.add_middleware(auth.LoginRequired, accounts=accounts, public_url=settings.public_url)
    app.include_router(webhooks.router)  # first: the busiest routes are matched first
    app.include_router(auth.router)
    app.include_router(chat.router)
    app.include_router(files.router)  # #14: web chat uploads and files, signed links
    app.include_router(admin_faq.router)  # #14: before /admin/profile's own routes
    app.include_router(admin.router)
    app.include_router(campaigns.router)
    app.include_router(campaigns.team_router)
    app.include_router(desk_console.router)
    app.include_router(kpi.router)
    app.include_router(visits.router)  # #17: Operations, visits (login, CSRF)
    app.include_router(visits.technician_router)  # #17: the technician's link page

    database_dir = sqlite_directory(settings.database_url)
    min_free = int(settings.health_min_free_mb * 1_000_000)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """200 only while the database takes writes (a load balancer's and Docker's check).

        A write that fits in pages SQLite already holds succeeds on a full disk, so for a
        SQLite file the free space of its disk is checked too (LOKET_HEALTH_MIN_FREE_MB).
        """
        try:
            desk.health_check()
        except Exception as exc:
            logger.warning("Health check: the database refused a write: %s", exc)
            return JSONResponse({"ok": False, "database": "not writable"}, status_code=503)
        if database_dir is not None:
            try:
                free = shutil.disk_usage(database_dir).free
            except OSError as exc:
                logger.warning("Health check: cannot read the database disk's space: %s", exc)
                free = 0
            if free < min_free:
                logger.warning("Health check: %s bytes free on the database disk.", free)
                return JSONResponse({"ok": False, "database": "disk full"}, status_code=503)
        return JSONResponse({"ok": True})

    return app
