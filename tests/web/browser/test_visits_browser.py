"""The whole Intera path in browsers: client on the web chat, the Operations decision,
the technician's page on a phone, and the client's message at each step."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr

from chatbot.agents.agent_desk import Staff
from chatbot.supervision.case_records import cases_json
from chatbot.web.app import create_app
from db import queries
from settings import Settings
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.server import ThreadedServer
from tests.polling import wait_for
from tests.web.auth_helpers import add_user, login
from tests.web.browser import WAIT_MS
from tests.web.conftest import LiveServer

TECH_CHAT = "-1009876"
PHONE = {"width": 390, "height": 844}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 300
LINK = re.compile(r"/visit/([A-Za-z0-9_-]{40,})")


@pytest.fixture
def intera_server(settings: Settings, bot_api: FakeBotApi, tmp_path: Path) -> Iterator[LiveServer]:
    app = create_app(
        settings.model_copy(
            update={
                "profile": "intera",
                "outbox_poll_seconds": 0.05,
                "telegram_token": SecretStr("123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"),
                "telegram_secret": SecretStr("s" * 32),
                "telegram_base_url": f"{bot_api.url}/bot",
                "media_dir": tmp_path / "media",
            }
        )
    )
    server = ThreadedServer(app, lifespan="on").start()
    yield LiveServer(app, server.url)
    server.stop()
    app.state.engine.dispose()


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def test_an_intera_complaint_from_chat_to_a_fixed_visit_and_the_survey(
    intera_server: LiveServer, page: Page, browser: Browser, bot_api: FakeBotApi
) -> None:
    app = intera_server.app
    base = intera_server.url
    add_user(app, "oki", "ops")
    budi = app.state.visits.add_technician(
        Staff(0, "setup", "admin"), "Budi", telegram_chat_id=TECH_CHAT
    )
    assert budi

    client_context = browser.new_context()
    client = client_context.new_page()
    client.set_default_timeout(WAIT_MS)
    phone_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = phone_context.new_page()
    phone.set_default_timeout(WAIT_MS)
    try:
        # --- the client on the web chat, to verification ---
        client.goto(base)
        say(client, "assalamualaikum kak")
        expect(client.locator("#log li.out")).to_have_count(2)
        say(client, "mesin wifi koin di warung saya mati total sejak kemarin, lampunya mati")
        expect(client.locator("#log li.out").last).to_contain_text("nama")
        say(client, "Wulan Sari")
        expect(client.locator("#log li.out").last).to_contain_text("lokasi")
        say(client, "Jl. Melati 5, Depok")
        expect(client.locator("#log li.out").last).to_contain_text("bukti")
        say(client, "TRX-12345")
        # By day "mohon ditunggu", after hours "Mohon ditunggu" with when the team is back.
        waiting = client.locator("#log li.out").last
        expect(waiting).to_contain_text("mohon ditunggu", ignore_case=True)

        # --- Operations decides: a visit ---
        login(page, "oki", base_url=base)
        page.goto(f"{base}/desk/visits")
        row = page.locator("#ops-queue tr[data-case]")
        expect(row).to_have_count(1)
        expect(row.locator(".suggestion")).to_have_text("visit")
        expect(row).to_contain_text("mati total")
        row.locator("a").click()
        expect(page.locator("#suggested")).to_have_text("visit")
        zone = ZoneInfo("Asia/Jakarta")
        start = (datetime.now(zone) + timedelta(days=1)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        page.fill("#window_start", start.strftime("%Y-%m-%dT%H:%M"))
        page.fill("#window_end", (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
        page.fill("#machine_id", "WK-0042")
        expect(page.locator("#address")).to_have_value("Jl. Melati 5, Depok")
        page.click("#decide-visit")
        expect(page.locator("#route")).to_contain_text("visit")
        expect(page.locator(".visit-status")).to_have_text("scheduled")
        expect(client.locator("#log li.out").last).to_contain_text("Budi")
        expect(client.locator("#log li.out").last).to_contain_text("09:00-12:00")

        # --- the technician is told in Telegram, with the link ---
        wait_for(lambda: bot_api.sent_texts(TECH_CHAT), what="the technician's work order")
        [order] = bot_api.sent_texts(TECH_CHAT)
        assert "WK-0042" in order
        assert "Jl. Melati 5, Depok" in order
        found = LINK.search(order)
        assert found, order
        token = found.group(1)

        # --- the technician's phone page ---
        phone.goto(f"{base}/visit/{token}")
        expect(phone.locator("#status")).to_have_text("scheduled")
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.click("#mark-on_the_way")
        expect(phone.locator("#status")).to_have_text("on_the_way")
        expect(client.locator("#log li.out").last).to_contain_text("dalam perjalanan")
        phone.click("#mark-arrived")
        expect(phone.locator("#status")).to_have_text("arrived")
        expect(client.locator("#log li.out").last).to_contain_text("sudah tiba")
        phone.click("#mark-fixed")  # without the note: refused with the reason
        expect(phone.locator("#error")).to_contain_text("note")
        phone.fill("#note", "Adaptor terbakar, sudah diganti. Mesin normal.")
        phone.set_input_files(
            "#photo", files=[{"name": "mesin.jpg", "mimeType": "image/jpeg", "buffer": JPEG}]
        )
        phone.check("#product_fault")
        phone.click("#mark-fixed")
        expect(phone.locator("#status")).to_have_text("fixed")
        expect(phone.locator("#update")).to_have_count(0)

        expect(client.locator("#log li.out").nth(-2)).to_contain_text("sudah selesai")
        expect(client.locator("#buttons button")).to_have_count(2)
        client.click("#buttons button:has-text('Sudah')")
        expect(client.locator("#buttons button")).to_have_count(5)  # the survey

        # --- back at Operations: the report, the photo, the product fault ---
        page.reload()
        expect(page.locator(".visit-status")).to_have_text("fixed")
        expect(page.locator("#visit-1")).to_contain_text("Product fault: yes")
        expect(page.locator("#compensation")).to_have_count(0)  # supervisors record it
        photo = page.request.get(f"{base}/desk/visits/1/photo")
        assert photo.status == 200
        assert photo.body() == JPEG
    finally:
        client_context.close()
        phone_context.close()

    with app.state.engine.connect() as conn:
        [case] = cases_json(conn, queries.list_cases(conn))  # `loket cases --json`'s records
    assert case["route"] == "visit"
    assert case["visit"]["status"] == "fixed"
    assert case["visit"]["technician"] == "Budi"
    assert case["resolved_by"] == "Budi"
    keys = [m["phrase_key"] for m in case["messages"] if m["direction"] == "out"]
    for key in ["visit.scheduled", "visit.on_the_way", "visit.arrived", "visit.done"]:
        assert key in keys
    json.dumps(case)  # the JSON shape stays serialisable


def test_a_technician_link_that_is_wrong_is_404_without_a_login(
    intera_server: LiveServer, page: Page
) -> None:
    answer = page.request.get(f"{intera_server.url}/visit/{'x' * 43}")
    assert answer.status == 404
    assert answer.headers["referrer-policy"] == "no-referrer"
    posted = page.request.post(
        f"{intera_server.url}/visit/{'x' * 43}", multipart={"status": "arrived"}
    )
    assert posted.status == 404
