"""Attachments in real browsers: a client attaches a picture in the web chat (and is told why a
file is refused), the agent sees it and sends a PDF back from the console's reply box."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from settings import Settings
from tests.fakes.server import ThreadedServer
from tests.web.auth_helpers import add_user, login
from tests.web.browser import WAIT_MS
from tests.web.conftest import LiveServer

PNG = (  # a 1x1 picture the browser can draw
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
LIMIT = 4096


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[LiveServer]:
    from chatbot.web.app import create_app

    app = create_app(
        settings.model_copy(
            update={
                "outbox_poll_seconds": 0.05,
                "media_dir": tmp_path / "media",
                "max_media_bytes": LIMIT,
            }
        )
    )
    running = ThreadedServer(app, lifespan="on").start()
    yield LiveServer(app, running.url)
    running.stop()
    app.state.engine.dispose()


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def attach(page: Page, name: str, mime: str, data: bytes) -> None:
    page.set_input_files("#file", files=[{"name": name, "mimeType": mime, "buffer": data}])


def test_a_client_uploads_a_picture_and_the_agent_sends_a_pdf_back(
    server: LiveServer, page: Page, browser: Browser
) -> None:
    add_user(server.app, "sari", "agent")
    login(page, "sari", base_url=server.url)
    client_context = browser.new_context()
    client = client_context.new_page()
    client.set_default_timeout(WAIT_MS)
    try:
        client.goto(server.url)
        say(client, "halo kak")
        say(client, "laporan penjualan di BI kosong semua hari ini")
        expect(client.locator("#log li.out").last).to_contain_text("nama")
        say(client, "Wulan")
        expect(client.locator("#log li.out").last).to_contain_text("grup outlet")
        say(client, "outlet Kedai Wulan")
        expect(client.locator("#log li.out").last).to_contain_text("mohon ditunggu")

        client.fill("#text", "ini layarnya kak")  # the caption goes with the file
        attach(client, "layar.png", "image/png", PNG)
        picture = client.locator("#log li.in img")
        expect(picture).to_have_count(1)
        expect(client.locator("#log li.in").last).to_contain_text("ini layarnya kak")
        # Loaded (or failed) first: a broken picture is complete too, with no width.
        picture.evaluate(
            "img => img.complete || new Promise(done => img.onload = img.onerror = done)"
        )
        assert picture.evaluate("img => img.naturalWidth") == 1  # served to its own session

        attach(client, "besar.png", "image/png", PNG + b"0" * LIMIT)
        expect(client.locator("#send-error")).to_contain_text("filenya terlalu besar")
        attach(client, "program.exe", "application/octet-stream", b"MZ" + b"\x00" * 64)
        expect(client.locator("#send-error")).to_contain_text("belum bisa kami terima")
        expect(client.locator("#log li.in")).to_have_count(5)  # nothing refused was sent

        page.goto(f"{server.url}/desk")
        page.click("#queue .case-row a")
        expect(page.locator("#transcript img.thumb")).to_have_count(1)  # the client's picture
        page.fill("#reply-text", "Ini panduannya kak")
        page.set_input_files(
            "#reply-file",
            files=[{"name": "panduan.pdf", "mimeType": "application/pdf", "buffer": PDF}],
        )
        page.click("#send")  # takes the case and sends, the file with its caption
        expect(page.locator("#owner")).to_have_text("sari")
        expect(page.locator("#transcript li.agent").last).to_contain_text("panduan.pdf")

        link = client.locator("#log li.out a.file")
        expect(link).to_have_text("📎 panduan.pdf")
        expect(client.locator("#log li.out").last).to_contain_text("Ini panduannya kak")
        fetched = client.request.get(f"{server.url}{link.get_attribute('href')}")
        assert (fetched.status, fetched.body()) == (200, PDF)
    finally:
        client_context.close()
