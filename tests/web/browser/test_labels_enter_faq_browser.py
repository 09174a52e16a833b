"""#14 in headless Chromium: case labels and the label filter, Enter preference, the FAQ form."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from chatbot.admin.faq import FaqEditor
from tests.polling import wait_for
from tests.web.auth_helpers import add_user, login
from tests.web.browser import WAIT_MS
from tests.web.browser.test_desk_inbox_browser import agent_texts, hand_off
from tests.web.conftest import LiveServer


def _logged_in(live_server: LiveServer, browser: Browser, name: str, role: str) -> Page:
    add_user(live_server.app, name, role)
    page = browser.new_context().new_page()
    page.set_default_timeout(WAIT_MS)
    login(page, name, base_url=live_server.url)
    return page


@pytest.fixture
def agent(live_server: LiveServer, browser: Browser) -> Iterator[Page]:
    page = _logged_in(live_server, browser, "sari", "agent")
    yield page
    page.context.close()


def test_labels_in_the_client_panel_on_the_rows_and_as_a_filter(
    live_server: LiveServer, agent: Page
) -> None:
    app, page = live_server.app, agent
    wulan = hand_off(app, "lb1", "Wulan")
    budi = hand_off(app, "lb2", "Budi")
    page.goto(f"{live_server.url}/desk/cases/{wulan}")
    page.fill("#label-form input[name=label]", "  VIP  ")
    page.click("#add-label")
    expect(page.locator('#labels li[data-label="vip"]')).to_be_visible()
    page.fill("#label-form input[name=label]", "refund")
    page.click("#add-label")
    expect(page.locator("#labels li.label")).to_have_count(2)
    page.goto(f"{live_server.url}/desk")  # the list shows them on the row
    expect(page.locator(f'.case-row[data-case="{wulan}"] .row-labels')).to_have_text("refund vip")
    expect(page.locator(f'.case-row[data-case="{budi}"] .row-labels')).to_have_count(0)
    page.click("#filters summary")
    page.select_option("#filter-label", "vip")
    page.click("#apply-filters")
    expect(page.locator(".case-row")).to_have_count(1)
    expect(page.locator(".case-row")).to_have_attribute("data-case", str(wulan))
    assert "label=vip" in page.url
    # remove one: the filter by it finds nothing any more
    page.click(f'.case-row[data-case="{wulan}"] a')
    page.click('#labels li[data-label="vip"] button')
    expect(page.locator('#labels li[data-label="vip"]')).to_have_count(0)
    expect(page.locator('#labels li[data-label="refund"]')).to_be_visible()
    page.goto(f"{live_server.url}/desk?view=waiting&label=vip")
    expect(page.locator(".case-row")).to_have_count(0)


def test_shift_enter_sends_when_the_agent_chose_it(live_server: LiveServer, agent: Page) -> None:
    app, page = live_server.app, agent
    case_id = hand_off(app, "en1", "Wulan")
    page.goto(f"{live_server.url}/desk/account")
    expect(page.locator("#enter_sends")).to_have_value("1")  # Enter sends by default
    page.select_option("#enter_sends", "0")
    page.click("#save-settings")
    expect(page.locator("#enter_sends")).to_have_value("0")
    page.goto(f"{live_server.url}/desk/cases/{case_id}")
    box = page.locator("#reply-text")
    expect(box).to_have_attribute(
        "placeholder",
        "Balas… ketik / untuk kalimat standar. Shift+Enter mengirim, Enter baris baru.",
    )
    box.press_sequentially("Baris satu")
    box.press("Enter")  # a new line now, not a send
    box.press_sequentially("Baris dua")
    expect(box).to_have_value("Baris satu\nBaris dua")
    assert agent_texts(app, case_id, "sari") == []
    box.press("Shift+Enter")  # sends
    # (a form sends line ends as CRLF)
    wait_for(lambda: agent_texts(app, case_id, "sari") == ["Baris satu\r\nBaris dua"])
    # and back: Enter sends again
    page.goto(f"{live_server.url}/desk/account")
    page.select_option("#enter_sends", "1")
    page.click("#save-settings")
    page.goto(f"{live_server.url}/desk/cases/{case_id}")
    box = page.locator("#reply-text")
    box.press_sequentially("Satu baris")
    box.press("Enter")
    wait_for(lambda: agent_texts(app, case_id, "sari")[-1:] == ["Satu baris"])


def test_the_faq_form_previews_refuses_and_saves(
    live_server: LiveServer, browser: Browser
) -> None:
    page = _logged_in(live_server, browser, "ani", "admin")
    try:
        page.goto(f"{live_server.url}/admin/profile")
        page.click("#faq-form-link")
        expect(page.locator("h1")).to_contain_text("FAQ of erzap")
        page.fill("#id", "add_cashier")  # taken
        page.fill("#keywords", "poin member")
        page.fill("#answer_id", "Buka menu Pelanggan > Poin Member.")
        page.fill("#answer_en", "Halo {{ nama")
        page.fill("#question", "cara cek poin member gimana?")
        page.click("#preview-button")
        expect(page.locator("#error-id")).to_contain_text("another entry already has the id")
        expect(page.locator("#error-answer_en")).to_contain_text("template syntax error")
        expect(page.locator("#answer_id")).to_have_value("Buka menu Pelanggan > Poin Member.")
        page.fill("#id", "loyalty_points")
        page.fill("#answer_en", "Open Customers > Loyalty Points.")
        page.click("#preview-button")
        expect(page.locator("#preview-id")).to_contain_text(
            "Baik kak, berikut caranya:\nBuka menu Pelanggan > Poin Member."
        )
        expect(page.locator("#match-entry")).to_have_text("loyalty_points")
        page.click("#save")
        expect(page.locator("#message")).to_contain_text("Saved 'loyalty_points'")
        expect(page.locator('tr[data-entry="loyalty_points"]')).to_be_visible()
        faq: FaqEditor = live_server.app.state.faq_editor
        assert faq.entry("erzap", "loyalty_points") is not None
        page.click("#edit-loyalty_points")
        page.fill("#answer_id", "")
        page.click("#save")
        expect(page.locator("#error-answer_id")).to_have_text("the answer is empty")
        page.click("#delete-loyalty_points")
        expect(page.locator('tr[data-entry="loyalty_points"]')).to_have_count(0)
    finally:
        page.context.close()
