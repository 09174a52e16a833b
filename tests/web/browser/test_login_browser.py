"""The login page in headless Chromium: refused, then in, redirected back, and out again."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from chatbot.admin.accounts import Accounts
from tests.web.auth_helpers import PASSWORD, add_user, login
from tests.web.conftest import LiveServer


def test_login_through_the_page_reaches_the_phrases(page: Page, live_server: LiveServer) -> None:
    base = live_server.url
    page.goto(f"{base}/login")
    expect(page.locator("#first-admin")).to_contain_text("loket users add NAME --role admin")
    add_user(live_server.app, "ani", "admin")

    page.goto(f"{base}/admin/phrases")  # not logged in: sent to the login page
    expect(page).to_have_url(f"{base}/login?next=/admin/phrases")
    expect(page.locator("#first-admin")).to_have_count(0)
    page.fill("#name", "ani")
    page.fill("#password", "not-the-password")
    page.click("#submit")
    expect(page.locator("#error")).to_contain_text("Wrong name or password")

    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page).to_have_url(f"{base}/admin/phrases")
    expect(page.locator('a[data-edit="id/greeting.salam"]')).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "loket_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"

    page.click("#logout")
    expect(page).to_have_url(f"{base}/login")
    page.goto(f"{base}/admin/phrases")
    expect(page).to_have_url(f"{base}/login?next=/admin/phrases")


def test_the_helper_logs_a_page_in(page: Page, live_server: LiveServer) -> None:
    add_user(live_server.app, "ani", "admin")
    csrf = login(page, "ani", base_url=live_server.url, next_path="/admin/users")
    accounts: Accounts = live_server.app.state.accounts
    assert len(csrf) >= 43
    assert [u.name for u in accounts.online_users()] == ["ani"]
    expect(page).to_have_url(f"{live_server.url}/admin/users")
    expect(page.locator("#user-ani")).to_contain_text("admin")
