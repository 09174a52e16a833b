"""The one-screen inbox in headless Chromium: in place, real URLs, live, `/` phrases, phone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from chatbot.domain import Inbound
from chatbot.frontdesk.desk import Desk
from db import queries
from tests.web.auth_helpers import add_user, login
from tests.web.browser import WAIT_MS
from tests.web.conftest import LiveServer

# The browser's Notification API, recorded: headless Chromium shows no notification.
RECORD_NOTIFICATIONS = """
window.__notes = [];
window.Notification = function (title, options) { window.__notes.push(options.body); };
window.Notification.permission = "granted";
window.Notification.requestPermission = function () { return Promise.resolve("granted"); };
"""
_seq = iter(range(1, 10_000))


def client_says(app: FastAPI, chat_id: str, *lines: str) -> int:
    desk: Desk = app.state.desk
    receipt = None
    for line in lines:
        receipt = desk.receive(
            Inbound(channel="web", chat_id=chat_id, message_id=f"m{next(_seq)}", text=line)
        )
    assert receipt is not None
    assert receipt.case_id is not None
    return receipt.case_id


def hand_off(app: FastAPI, chat_id: str, name: str) -> int:
    return client_says(
        app,
        chat_id,
        "halo kak",
        "laporan penjualan di BI kosong semua hari ini",
        name,
        f"outlet Kedai {name}",
    )


def agent_texts(app: FastAPI, case_id: int, author: str) -> list[str]:
    with app.state.engine.connect() as conn:
        return [
            m["text"]
            for m in queries.list_messages(conn, case_ids=[case_id])
            if m["author"] == author
        ]


@pytest.fixture
def agent(live_server: LiveServer, browser: Browser) -> Iterator[Page]:
    add_user(live_server.app, "sari", "agent")
    context = browser.new_context()
    context.add_init_script(RECORD_NOTIFICATIONS)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    login(page, "sari", base_url=live_server.url)
    yield page
    context.close()


def test_actions_update_in_place_and_urls_stay_real(live_server: LiveServer, agent: Page) -> None:
    app, page = live_server.app, agent
    add_user(app, "budi", "agent")
    case_id = hand_off(app, "w1", "Wulan")
    page.goto(f"{live_server.url}/desk")
    page.evaluate("window.__same_page = true")  # gone if anything reloads the page
    page.click(f'.case-row[data-case="{case_id}"] a')
    expect(page).to_have_url(f"{live_server.url}/desk/cases/{case_id}")
    expect(page.locator("#case-pane h1")).to_contain_text("Wulan")
    expect(page.locator(f'.case-row[data-case="{case_id}"]')).to_have_class("case-row current")
    page.click("#take")
    expect(page.locator("#owner")).to_have_text("sari")
    expect(page.locator("#done")).to_have_text("Berhasil: kasus diambil")  # Done: taken
    page.fill("#note-form textarea", "cek akun demo")
    page.click("#add-note")
    expect(page.locator("#notes")).to_contain_text("cek akun demo")
    page.select_option("#transfer-form select", label="budi")
    page.click("#transfer")
    expect(page.locator("#owner")).to_have_text("budi")
    assert page.evaluate("window.__same_page") is True
    page.go_back()  # the history has real URLs: back lands on the list
    expect(page).to_have_url(f"{live_server.url}/desk")
    expect(page.locator("#case-pane .empty-pane")).to_be_visible()
    page.go_forward()
    expect(page.locator("#case-pane h1")).to_contain_text("Wulan")
    page.reload()  # a reload lands on the same case, and "Done" does not come back
    expect(page.locator("#owner")).to_have_text("budi")
    expect(page.locator("#done")).to_have_count(0)


def test_slash_phrases_fill_in_names_and_send_only_on_enter(
    live_server: LiveServer, agent: Page
) -> None:
    app, page = live_server.app, agent
    case_id = hand_off(app, "w2", "Wulan")
    page.goto(f"{live_server.url}/desk/cases/{case_id}")
    expect(page.locator("#send")).to_have_text("Ambil dan kirim")  # Take and send
    box = page.locator("#reply-text")
    box.press_sequentially("/")
    options = page.locator("#phrase-menu [role=option]")
    expect(page.locator("#phrase-menu")).to_be_visible()
    assert options.count() >= 5
    box.press_sequentially("greet")  # by key
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("agent.greeting")
    box.press("Enter")  # chooses; sends nothing
    expect(page.locator("#phrase-menu")).to_be_hidden()
    text = box.input_value()
    assert "Wulan" in text
    assert "sari" in text.lower()
    assert agent_texts(app, case_id, "sari") == []
    box.press("Shift+Enter")
    box.press_sequentially("Saya cek dulu ya kak")
    box.press("Enter")  # sends, and takes the case nobody owned
    expect(page.locator("#owner")).to_have_text("sari")
    expect(page.locator("#transcript li.agent")).to_have_count(1)
    [sent] = agent_texts(app, case_id, "sari")
    assert sent.startswith(text.strip())
    assert sent.endswith("\nSaya cek dulu ya kak")  # Shift+Enter made a new line, not a send
    # by text, too: a word of the phrase, not of its key
    box = page.locator("#reply-text")
    expect(box).to_have_value("")
    box.press_sequentially("/ditunggu")
    assert page.locator("#phrase-menu [role=option]").count() >= 1
    box.press("Escape")
    expect(page.locator("#phrase-menu")).to_be_hidden()


def test_live_hand_off_and_client_message_notify_while_reading_another_case(
    live_server: LiveServer, agent: Page
) -> None:
    app, page = live_server.app, agent
    first = hand_off(app, "w3", "Wulan")
    page.goto(f"{live_server.url}/desk/cases/{first}")
    page.click("#take")
    expect(page.locator("#owner")).to_have_text("sari")
    page.evaluate("window.__same_page = true")
    page.fill("#reply-text", "Halo kak Wulan")
    page.press("#reply-text", "Enter")
    expect(page.locator("#transcript li.agent")).to_have_count(1)

    second = hand_off(app, "w4", "Budi")  # a new hand-off while sari reads Wulan's case
    expect(page.locator("#tab-waiting .count")).to_have_text("1")
    expect(page).to_have_title(f"(1) #{first} Wulan · Loket")
    page.wait_for_function("window.__notes.some(n => n.includes('klien baru menunggu'))")

    client_says(app, "w3", "kak sudah dicek belum?")  # a client message on sari's case
    expect(page.locator("#transcript li.in").last).to_contain_text("sudah dicek belum")
    page.wait_for_function("window.__notes.some(n => n.includes('Pesan klien'))")
    expect(page).to_have_title(f"(2) #{first} Wulan · Loket")
    page.click("#tab-mine")
    expect(page.locator(f'.case-row[data-case="{first}"] .unread')).to_have_text("1")
    assert page.evaluate("window.__same_page") is True
    assert second != first


def test_a_new_hand_off_is_announced_when_a_take_leaves_the_waiting_count_as_it_was(
    live_server: LiveServer, agent: Page
) -> None:
    """Budi takes the one waiting case as a new client is queued: still 1 waiting, a new one."""
    app, page = live_server.app, agent
    budi = add_user(app, "budi", "agent")
    first = hand_off(app, "w8", "Wulan")
    page.goto(f"{live_server.url}/desk")
    expect(page.locator("#tab-waiting .count")).to_have_text("1")
    second = hand_off(app, "w9", "Dewi")
    app.state.agent_desk.take(first, budi)  # in the same tick of the live feed, mostly
    expect(page.locator(f'#list-live .case-row[data-case="{second}"]')).to_be_visible()
    expect(page.locator("#tab-waiting .count")).to_have_text("1")
    page.wait_for_function("window.__notes.some(n => n.includes('klien baru menunggu'))")


def test_shortcuts_help_next_conversation_and_take(live_server: LiveServer, agent: Page) -> None:
    app, page = live_server.app, agent
    first = hand_off(app, "w5", "Wulan")
    second = hand_off(app, "w6", "Budi")
    page.goto(f"{live_server.url}/desk")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    expect(page.locator("#help")).to_contain_text("percakapan berikut / sebelumnya")
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    expect(page).to_have_url(f"{live_server.url}/desk/cases/{first}")
    page.keyboard.press("j")
    expect(page).to_have_url(f"{live_server.url}/desk/cases/{second}")
    page.keyboard.press("t")
    expect(page.locator("#owner")).to_have_text("sari")
    expect(page.locator("#reply-text")).to_be_focused()  # ready to write after taking
    page.locator("#reply-text").blur()
    page.keyboard.press("s")
    expect(page.locator("#q")).to_be_focused()


def test_a_phone_shows_one_pane_at_a_time(live_server: LiveServer, browser: Browser) -> None:
    app = live_server.app
    add_user(app, "sari", "agent")
    case_id = hand_off(app, "w7", "Wulan")
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        login(page, "sari", base_url=live_server.url)
        page.goto(f"{live_server.url}/desk")
        expect(page.locator("#list-pane")).to_be_visible()
        expect(page.locator("#case-pane")).to_be_hidden()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.tap(f'.case-row[data-case="{case_id}"] a')
        expect(page.locator("#case-pane h1")).to_contain_text("Wulan")
        expect(page.locator("#list-pane")).to_be_hidden()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for selector in ("#take", "#send", ".case-head .back"):
            box = page.locator(selector).bounding_box()
            assert box is not None
            assert box["height"] >= 44, selector
        page.tap(".case-head .back")
        expect(page.locator("#list-pane")).to_be_visible()
    finally:
        context.close()


def test_the_console_speaks_indonesian_until_the_agent_picks_english(
    live_server: LiveServer, agent: Page
) -> None:
    case_id = hand_off(live_server.app, "w8", "Wulan")
    page = agent
    page.goto(f"{live_server.url}/desk")
    expect(page.locator("#tab-waiting")).to_contain_text("Menunggu")
    page.goto(f"{live_server.url}/desk/account")
    page.fill("#display_name", "Sari W.")
    page.select_option("#ui_locale", "en")
    page.click("#save-settings")
    expect(page.locator("#done")).to_have_text("Done: saved")
    page.goto(f"{live_server.url}/desk/cases/{case_id}")
    expect(page.locator("#tab-waiting")).to_contain_text("Waiting")
    expect(page.locator("#send")).to_have_text("Take and send")
    expect(page.locator("header .who")).to_contain_text("Sari W.")
    page.locator("#reply-text").press_sequentially("/greet")
    page.locator("#reply-text").press("Enter")
    expect(page.locator("#reply-text")).to_have_value(re.compile("Sari W\\."))  # clients read it


def test_the_web_chat_client_sees_the_agent_typing(
    live_server: LiveServer, agent: Page, browser: Browser
) -> None:
    context = browser.new_context()
    client = context.new_page()
    client.set_default_timeout(WAIT_MS)
    try:
        client.goto(live_server.url)
        for line in ("halo kak", "laporan penjualan di BI kosong semua", "Wulan", "outlet Kedai"):
            client.fill("#text", line)
            client.press("#text", "Enter")
            expect(client.locator("#log li.in").last).to_have_text(line)
        expect(client.locator("#log li.out").last).to_contain_text("mohon ditunggu")
        page = agent
        page.goto(f"{live_server.url}/desk")
        page.click("#queue .case-row a")
        page.click("#take")
        expect(page.locator("#owner")).to_have_text("sari")
        expect(client.locator("#typing")).to_be_hidden()
        page.locator("#reply-text").press_sequentially("Halo kak Wulan")
        expect(client.locator("#typing")).to_have_text("sari sedang mengetik…")
        page.locator("#reply-text").press("Enter")
        expect(client.locator("#log li.out").last).to_have_text("Halo kak Wulan")
        expect(client.locator("#typing")).to_be_hidden()
    finally:
        context.close()
