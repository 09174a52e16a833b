"""The phrase editor in headless Chromium: edit, live preview, refusal, the next bot message."""

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
    app: FastAPI = create_app(settings, clock=clock)
    add_user(app, "ani", "admin")
    server = ThreadedServer(app, lifespan="on", timeout_graceful_shutdown=2).start()
    yield server.url
    server.stop()
    app.state.engine.dispose()  # also when the server's shutdown ran out of time


def _open_editor(page: Page, server: str) -> None:
    login(page, "ani", base_url=server)  # through the login page
    expect(page).to_have_url(f"{server}/admin")
    page.goto(f"{server}/admin/phrases")
    page.click('a[data-edit="id/greeting.salam"]')
    expect(page.locator("h1")).to_contain_text("greeting.salam")


def test_edit_with_live_preview_then_the_bot_says_it(page: Page, server: str) -> None:
    _open_editor(page, server)
    expect(page.locator("#preview-text")).to_contain_text("Halo kak, terima kasih")
    page.fill("#text", "Selamat pagi! {{ desk_name|upper }} siap membantu.")
    expect(page.locator("#preview-text")).to_have_text("Selamat pagi! HALOERZAP siap membantu.")
    page.click("#save")
    expect(page.locator("#message")).to_contain_text("Saved as version 1.")
    expect(page.locator("#version-1")).to_contain_text("by ani")

    page.goto(f"{server}/")
    page.fill("#text", "halo kak")
    page.press("#text", "Enter")
    expect(page.locator("#log li.out").first).to_have_text(
        "Selamat pagi! HALOERZAP siap membantu."
    )


def test_broken_template_is_refused_and_the_old_text_stays(page: Page, server: str) -> None:
    _open_editor(page, server)
    page.fill("#text", "Halo kak\n{% if salam %}Waalaikumsalam")
    expect(page.locator("#preview-error")).to_be_visible()
    expect(page.locator("#preview-error")).to_contain_text("line 2")
    page.click("#save")
    expect(page.locator("#error")).to_contain_text("Not saved: id/greeting.salam: line 2:")
    expect(page.locator("#text")).to_have_value("Halo kak\n{% if salam %}Waalaikumsalam")

    page.fill("#text", "{{ desk_name.__class__.__mro__ }}")
    expect(page.locator("#preview-error")).to_contain_text("'__mro__' is not allowed")
    page.click("#save")
    expect(page.locator("#error")).to_contain_text("names starting with '_' are private")

    page.goto(f"{server}/admin/phrases/id/greeting.salam")
    expect(page.locator("h1")).to_contain_text("default text")
    page.goto(f"{server}/")
    page.fill("#text", "halo kak")
    page.press("#text", "Enter")
    expect(page.locator("#log li.out").first).to_contain_text("Halo kak, terima kasih")
