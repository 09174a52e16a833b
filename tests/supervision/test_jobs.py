"""The daily log written at the profile's hour and posted to Telegram and Discord (fakes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatbot.agents.notify import Notifier
from chatbot.channels.telegram import close_bot, make_bot
from chatbot.supervision.jobs import SupervisionJobs
from db.queries import CASE
from tests.fakes.bot_api import BOT_ID, FakeBotApi
from tests.fakes.server import ThreadedServer
from tests.supervision.builder import CaseBuilder, standard_day, utc

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"


class FakeDiscord:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 204
        self._server = ThreadedServer(
            Starlette(routes=[Route("/api/webhooks/{id}/{token}", self._handle, methods=["POST"])])
        )
        self.url = ""

    async def _handle(self, request: Request) -> Response:
        async with request.form() as form:
            upload = form["files[0]"]
            self.posts.append(
                {
                    "payload": form["payload_json"],
                    "filename": getattr(upload, "filename", None),
                    "size": len(await upload.read()) if hasattr(upload, "read") else 0,
                }
            )
        return Response(status_code=self.status)

    def start(self) -> FakeDiscord:
        self.url = self._server.start().url
        return self

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture
def discord() -> Iterator[FakeDiscord]:
    fake = FakeDiscord().start()
    yield fake
    fake.stop()


def jobs_for(builder: CaseBuilder, reports_dir: Path, **options: Any) -> SupervisionJobs:
    """The scheduled jobs over the builder's cases, writing to `reports_dir`."""
    return SupervisionJobs(
        builder.engine, builder.desk.profile, builder.clock, reports_dir=reports_dir, **options
    )


def _document_answer(bot_api: FakeBotApi) -> None:
    bot_api.answer(
        "sendDocument",
        status=200,
        json={
            "ok": True,
            "result": {
                "message_id": 77,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Loket"},
                "chat": {"id": -100123, "type": "group", "title": "CS"},
                "date": 1790000000,
                "document": {"file_id": "f1", "file_unique_id": "u1", "file_name": "d.xlsx"},
            },
        },
    )


async def test_daily_log_is_written_once_at_its_hour_and_posted(
    builder: CaseBuilder, tmp_path: Path, bot_api: FakeBotApi, discord: FakeDiscord
) -> None:
    ids = standard_day(builder)
    _document_answer(bot_api)
    bot = make_bot(TOKEN, f"{bot_api.url}/bot")
    notifier = Notifier(
        discord_webhook_url=f"{discord.url}/api/webhooks/1/secret",
        telegram_bot=bot,
        telegram_chat_id="-100123",
    )
    jobs = jobs_for(builder, tmp_path / "reports", poster=notifier.post_file)
    builder.at(utc(14, 59))  # 21:59 in Jakarta; ERZAP's hour is 22
    assert await jobs.tick() is None
    builder.at(utc(15))
    written = await jobs.tick()
    assert written == tmp_path / "reports" / "daily-2026-11-23.xlsx"
    sheet = load_workbook(written).active
    assert sheet is not None
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ids[k] for k in "ABCDEFGH"
    ]
    sent = bot_api.calls("sendDocument")
    assert len(sent) == 1
    assert sent[0].form["chat_id"] == "-100123"
    assert "daily log 2026-11-23" in sent[0].form["caption"]
    assert discord.posts[0]["filename"] == "daily-2026-11-23.xlsx"
    assert discord.posts[0]["size"] == written.stat().st_size
    builder.at(utc(16))
    assert await jobs.tick() is None  # once a day
    assert len(bot_api.calls("sendDocument")) == 1
    await close_bot(bot)


async def test_a_failed_post_keeps_the_file_and_the_schedule(
    builder: CaseBuilder, tmp_path: Path, discord: FakeDiscord
) -> None:
    standard_day(builder)
    discord.status = 400  # refused: the Notifier does not retry it
    notifier = Notifier(discord_webhook_url=f"{discord.url}/api/webhooks/1/x")
    jobs = jobs_for(builder, tmp_path, poster=notifier.post_file)
    builder.at(utc(15, 30))
    written = await jobs.tick()
    assert written is not None
    assert written.exists()
    assert len(discord.posts) == 1


async def test_no_hour_no_report(builder: CaseBuilder, tmp_path: Path) -> None:
    standard_day(builder)
    profile = builder.desk.profile().model_copy(update={"daily_report_hour": None})
    reports = tmp_path / "reports"
    jobs = SupervisionJobs(builder.engine, lambda: profile, builder.clock, reports_dir=reports)
    builder.at(utc(16))
    assert await jobs.tick() is None
    assert not reports.exists()


async def test_any_poster_can_carry_the_daily_log(builder: CaseBuilder, tmp_path: Path) -> None:
    """The seam the agent desk's Notifier.post_file(name, data, caption) plugs into."""
    standard_day(builder)
    posted: list[tuple[str, bytes, str]] = []

    async def poster(name: str, data: bytes, caption: str) -> None:
        posted.append((name, data, caption))

    jobs = jobs_for(builder, tmp_path, poster=poster)
    builder.at(utc(15))
    written = await jobs.tick()
    assert written is not None
    assert [(n, c) for n, _, c in posted] == [
        ("daily-2026-11-23.xlsx", "HaloERZAP: daily log 2026-11-23")
    ]
    assert posted[0][1] == written.read_bytes()


async def test_a_failing_daily_log_stops_neither_retention_nor_the_schedule(
    builder: CaseBuilder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids = standard_day(builder)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the reports folder should be")
    alerts: list[str] = []

    async def alert(text: str) -> None:
        alerts.append(text)

    jobs = SupervisionJobs(
        builder.engine,
        builder.desk.profile,
        builder.clock,
        reports_dir=blocker / "reports",
        alert=alert,
    )
    later = utc(15) + timedelta(days=366)  # 22:00 in Jakarta, a year on: B is past retention
    builder.at(later)
    assert await jobs.tick() is None
    assert list(jobs.failures) == ["daily log"]
    assert "NotADirectoryError" in jobs.failures["daily log"].error
    with builder.engine.connect() as conn:
        anonymised = conn.execute(
            select(CASE.c.anonymised_at).where(CASE.c.id == ids["B"])
        ).scalar_one()
    assert anonymised is not None  # retention ran although the daily log failed
    assert [r.levelname for r in caplog.records if "daily log" in r.getMessage()] == ["ERROR"]
    assert len(alerts) == 1
    assert "daily log" in alerts[0]
    assert "HaloERZAP" in alerts[0]

    builder.at(later + timedelta(minutes=1))
    assert await jobs.tick() is None  # not retried at once, and not announced again
    assert len(alerts) == 1

    blocker.unlink()
    builder.at(later + timedelta(minutes=16))
    written = await jobs.tick()
    assert written is not None
    assert written.exists()
    assert jobs.failures == {}
    assert len(alerts) == 1
