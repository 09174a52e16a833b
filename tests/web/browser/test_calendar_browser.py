"""The office calendar in headless Chromium: an admin closes a day and the web chat follows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from chatbot.web.app import create_app
from settings import Settings
from tests.clock import FrozenClock
from tests.fakes.server import ThreadedServer
from tests.web.auth_helpers import add_user, login


@pytest.fixture
def server(settings: Settings, clock: FrozenClock) -> Iterator[str]:
    app: FastAPI = create_app(settings, clock=clock)  # Monday 2026-11-23, 10:00 in Jakarta
    add_user(app, "ani", "admin")
    server = ThreadedServer(app, lifespan="on", timeout_graceful_shutdown=2).start()
    yield server.url
    server.stop()
    app.state.engine.dispose()  # also when the server's shutdown ran out of time


def test_an_admin_closes_today_and_a_hand_off_waits_for_tomorrow(page: Page, server: str) -> None:
    login(page, "ani", base_url=server)
    page.click('header a[href="/admin/calendar"]')
    expect(page.locator("#day-2026-12-24")).to_contain_text("Christmas Joint Holiday")
    page.fill("#day", "2026-11-23")
    page.fill("#note", "office outing")
    page.click("#close-day")
    expect(page.locator("#message")).to_have_text("2026-11-23 is now closed.")
    expect(page.locator("#day-2026-11-23")).to_contain_text("closed by ani: office outing")

    page.goto(f"{server}/")
    page.fill("#text", "mau bicara dengan cs")
    page.press("#text", "Enter")
    expect(page.locator("#log li.out", has_text="besok, hari Selasa")).to_have_count(1)
