"""An agent and a client in two browsers: hand-off, take over, reply, escalate, resolve, survey."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.polling import wait_for
from tests.web.auth_helpers import add_user, login
from tests.web.browser import WAIT_MS
from tests.web.conftest import LiveServer
from tests.web.helpers import cases


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def test_an_agent_works_a_case_from_queue_to_survey(
    live_server: LiveServer, page: Page, browser: Browser
) -> None:
    app = live_server.app
    add_user(app, "sari", "agent")
    login(page, "sari", base_url=live_server.url)
    page.goto(f"{live_server.url}/desk")
    expect(page.locator("#queue")).to_contain_text("Tidak ada yang menunggu")  # nobody waits

    client_context = browser.new_context()
    client = client_context.new_page()
    client.set_default_timeout(WAIT_MS)
    try:
        client.goto(live_server.url)
        say(client, "halo kak")
        expect(client.locator("#log li.out")).to_have_count(2)
        say(client, "<script>alert('x')</script> laporan penjualan di BI kosong semua hari ini")
        expect(client.locator("#log li.out").last).to_contain_text("nama")
        say(client, "Wulan")
        expect(client.locator("#log li.out").last).to_contain_text("grup outlet")
        say(client, "outlet Kedai Wulan")
        expect(client.locator("#log li.out").last).to_contain_text("mohon ditunggu")

        # the queued case appears on the agent's page without a reload, escaped
        row = page.locator("#queue .case-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Wulan")
        expect(row).to_contain_text("sulit")  # the category, in the console's language
        page.click("#queue .case-row a")
        expect(page.locator("#transcript")).to_contain_text("<script>alert('x')</script>")
        page.click("#take")
        expect(page.locator("#owner")).to_have_text("sari")

        page.fill("#reply-text", "Halo kak Wulan, saya Sari. Saya cek dulu ya kak")
        page.click("#send")
        expect(client.locator("#log li.out").last).to_contain_text("saya Sari")

        # a client message shows on the agent's page live
        say(client, "baik kak ditunggu")
        expect(page.locator("#transcript li.in").last).to_contain_text("baik kak ditunggu")

        page.fill("#detail", "Laporan penjualan BI kosong sejak pagi")
        page.click("#escalate")
        expect(page.locator(".report .report-status")).to_have_text("open")
        expect(page.locator(".report .post-error")).to_contain_text("no Discord webhook")
        expect(client.locator("#log li.out").last).to_contain_text("sedang kami cek")
        page.click(".report button[data-status='fix_ready']")
        expect(page.locator(".report .report-status")).to_have_text("fix_ready")
        page.click(".report button[data-status='verified']")
        expect(client.locator("#log li.out").last).to_contain_text("sudah kami sesuaikan")

        page.click("#resolve")
        expect(page.locator("#state")).to_have_attribute("data-state", "awaiting_confirmation")
        expect(client.locator("#buttons button")).to_have_count(2)
        client.click("#buttons button:has-text('Sudah')")
        expect(client.locator("#buttons button")).to_have_count(5)
        client.click("#buttons button:has-text('4 ⭐')")
        expect(client.locator("#log li.out").last).to_contain_text("komentar")
        say(client, "agennya sabar, mantap")
        expect(client.locator("#log li.out").last).to_contain_text("Terima kasih banyak")
        expect(page.locator("#state")).to_have_text("ditutup")
    finally:
        client_context.close()

    def surveyed() -> bool:
        [case] = cases(app.state.engine, "web")
        return case["survey"] is not None and case["survey"]["comment"] is not None

    wait_for(surveyed, what="the survey answer")
    [case] = cases(app.state.engine, "web")
    assert (case["survey"]["rating"], case["survey"]["comment"]) == (4, "agennya sabar, mantap")
    assert case["resolved_by"] == "sari"
    assert case["first_response_at"] is not None
    agent_lines = [m for m in case["messages"] if m["author"] == "sari"]
    assert agent_lines[0]["status"] == "sent"  # delivered through the outbox
