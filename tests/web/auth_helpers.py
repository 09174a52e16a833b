"""Log in for real in tests: create users through Accounts, log in through /login.

    user = add_user(app, "ani", "admin")
    csrf = login(client, "ani")                       # TestClient / httpx.Client
    login(page, "ani", base_url=live_server.url)      # Playwright page

After `login(client, ...)` the client sends the session cookie and, unless
`csrf_header=False`, the `X-CSRF-Token` header on every request, so form posts pass
`verify_csrf`; the token is also returned for tests that build requests by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.admin.accounts import Accounts, UserInfo

PASSWORD = "correct-horse-9"
_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def add_user(app: FastAPI, name: str, role: str, password: str = PASSWORD) -> UserInfo:
    """A new active user in the app's database."""
    accounts: Accounts = app.state.accounts
    return accounts.add_user(name, role, password)


def login(
    client_or_page: Any,
    name: str,
    password: str = PASSWORD,
    *,
    base_url: str | None = None,
    next_path: str = "",
    csrf_header: bool = True,
) -> str:
    """Log in through the login form; return the session's CSRF token."""
    if hasattr(client_or_page, "goto"):
        return _login_page(client_or_page, name, password, base_url, next_path)
    client = client_or_page
    base = (base_url or str(client.base_url)).rstrip("/")
    answer = client.post(
        f"{base}/login",
        data={"name": name, "password": password, "next": next_path},
        follow_redirects=False,
    )
    assert answer.status_code == 303, f"login as {name} failed: {answer.status_code}"
    page = client.get(f"{base}/login")
    found = _META.search(page.text)
    assert found, "no CSRF token on the login page after login"
    if csrf_header:
        client.headers["X-CSRF-Token"] = found.group(1)
    return found.group(1)


def _login_page(page: Any, name: str, password: str, base_url: str | None, next_path: str) -> str:
    assert base_url, "give base_url= (the live server's address) to log a page in"
    target = f"{base_url.rstrip('/')}/login"
    if next_path:
        target += f"?next={next_path}"
    page.goto(target)
    page.fill("#name", name)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("#submit")
    assert "/login" not in page.url, f"login as {name} failed: still on {page.url}"
    meta = page.locator('meta[name="csrf-token"]')  # on the admin pages; "" where absent
    return str(meta.get_attribute("content") or "") if meta.count() else ""


@contextmanager
def signed_in(app: FastAPI, name: str, role: str) -> Iterator[TestClient]:
    """A new user of `role`, and a client logged in as them through /login."""
    add_user(app, name, role)
    with TestClient(app) as client:
        login(client, name)
        yield client
