"""Fuzz every route of the app in process: random requests, with and without valid auth; no 5xx.

Hypothesis draws a route from the app's OpenAPI description (plus the Telegram webhook, a
plain Starlette route), fills its path parameters with numbers past any column, text and
escapes, adds the declared and some undeclared query and form fields, a body (bytes, a form,
JSON) and headers, and sends it through Starlette's TestClient (the ASGI app directly, no
network). Each request goes out in one of three ways: anonymous, as a logged-in admin (with
the CSRF token), or as a provider (Telegram's secret header, a valid Twilio signature over the
drawn form). Any answer of 500 or more is a finding; it prints the inputs tried, the 5xx seen
and the first few findings, and exits 1 if there were any. tests/web/test_route_fuzz.py runs
it with a fixed seed and fewer examples.

Usage: python -m bench.fuzz [--examples 3000] [--seed N] [--db sqlite|postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from chatbot.admin.accounts import Accounts
from chatbot.web.app import create_app
from settings import Settings

PUBLIC = "https://loket.example.co.id"
SECRET = "fuzz-telegram-secret-0123456789"
TWILIO_TOKEN = "f" * 32
ADMIN, PASSWORD = "fuzz-admin", "fuzz-password-123"
MODES = ("anonymous", "admin", "provider")
SESSION_COOKIE = "loket_session"

numbers = st.sampled_from(["0", "1", "2", "-1", "9" * 23, "1e3", "0x10", " 1", "1.5"])
words = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
) | st.sampled_from(["", "id", "en", "greeting.salam", "%00", "..", "admin", "<script>"])
values = numbers | words | st.integers(-(2**70), 2**70).map(str)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@dataclass(frozen=True)
class Operation:
    """One method on one path, with the parameter and form field names it declares."""

    method: str
    path: str
    path_params: tuple[str, ...]
    query: tuple[str, ...]
    form: tuple[str, ...]


@dataclass
class Report:
    """What a run tried and what it found."""

    routes: int = 0
    tried: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        """Answers of 500 or more."""
        return sum(n for status, n in self.by_status.items() if status >= 500)


def fuzz_settings(settings: Settings, media_dir: Path) -> Settings:
    """Settings with every channel configured against unreachable providers, limits opened."""
    return settings.model_copy(
        update={
            "public_url": PUBLIC,
            "telegram_token": SecretStr("123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"),
            "telegram_secret": SecretStr(SECRET),
            "telegram_base_url": "http://127.0.0.1:9/bot",
            "twilio_account_sid": "AC" + "0" * 32,
            "twilio_auth_token": SecretStr(TWILIO_TOKEN),
            "twilio_whatsapp_from": "+14155238886",
            "twilio_sms_from": "+14155552671",
            "twilio_base_url": "http://127.0.0.1:9",
            "media_dir": media_dir,
            # deep, not throttled: the limits have tests of their own
            "web_chat_posts_per_minute": 10**6,
            "web_chat_posts_per_minute_per_address": 10**6,
            "web_chat_new_chats_per_hour": 10**6,
            "login_free_attempts": 10**6,
        }
    )


def operations(app: FastAPI) -> list[Operation]:
    """Every documented operation, plus the Telegram webhook (not in the description)."""
    found = [Operation("POST", "/webhooks/telegram", (), (), ())]
    for path, methods in app.openapi()["paths"].items():
        for method, spec in methods.items():
            params = spec.get("parameters", [])
            form: list[str] = []
            content = spec.get("requestBody", {}).get("content", {})
            for media in content.values():
                schema = media.get("schema", {})
                if "$ref" in schema:
                    name = schema["$ref"].rsplit("/", 1)[-1]
                    schema = app.openapi()["components"]["schemas"][name]
                form.extend(schema.get("properties", {}))
            found.append(
                Operation(
                    method.upper(),
                    path,
                    tuple(p["name"] for p in params if p["in"] == "path"),
                    tuple(p["name"] for p in params if p["in"] == "query"),
                    tuple(form),
                )
            )
    return found


@st.composite
def requests(draw: st.DrawFn, ops: list[Operation]) -> dict[str, Any]:
    """One request: method, URL, headers, body, and how it authenticates."""
    op = draw(st.sampled_from(ops))
    path = op.path
    for name in op.path_params:
        path = path.replace("{" + name + "}", quote(draw(values), safe=""))
    query = {n: draw(values) for n in op.query if draw(st.booleans())}
    if draw(st.booleans()):
        query[draw(st.sampled_from(["after", "next", "x", "page"]))] = draw(values)
    names = [*op.form, "text", "message_id", "button", "MessageSid", "From", "Body", "NumMedia"]
    fields = {n: draw(values) for n in names if draw(st.integers(0, 2)) == 0}
    kind = draw(st.sampled_from(["form", "form", "json", "bytes", "none"]))
    headers: dict[str, str] = {}
    body: bytes = b""
    if kind == "form":
        body = urlencode(fields).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    elif kind == "json":
        body = json.dumps(draw(json_values)).encode()
        headers["content-type"] = "application/json"
    elif kind == "bytes":
        body = draw(st.binary(max_size=500))
        headers["content-type"] = draw(
            st.sampled_from(["multipart/form-data; boundary=x", "text/plain", "application/json"])
        )
    if draw(st.integers(0, 4)) == 0:
        headers["last-event-id"] = draw(header_text)
    if draw(st.integers(0, 6)) == 0:
        headers["origin"] = draw(st.sampled_from(["https://evil.example", "null", PUBLIC]))
    mode = draw(st.sampled_from(MODES))
    return {
        "method": op.method,
        "path": path,
        "query": query,
        "headers": headers,
        "body": body,
        "fields": fields if kind == "form" else None,
        "mode": mode,
    }


class Driver:
    """Sends drawn requests through one TestClient, keeping the admin logged in."""

    def __init__(self, app: FastAPI, client: TestClient) -> None:
        self._accounts: Accounts = app.state.accounts
        self._client = client
        self._token = ""
        self._csrf = ""

    def _login(self) -> None:
        user = self._accounts.authenticate(ADMIN, PASSWORD, "fuzz")
        assert user is not None, "the fuzz admin cannot log in"
        self._token, self._csrf = self._accounts.start_session(user.id)

    def send(self, request: dict[str, Any]) -> int | None:
        """The answer's status; None when the client could not even send the request."""
        headers = dict(request["headers"])
        self._client.cookies.clear()
        cookies = {"loket_chat": "fuzzchat0001"}
        url = request["path"]
        if request["mode"] == "admin":
            if not self._token or self._accounts.session_user(self._token) is None:
                self._login()
            cookies[SESSION_COOKIE] = self._token
            headers["x-csrf-token"] = self._csrf
        elif request["mode"] == "provider":
            headers["x-telegram-bot-api-secret-token"] = SECRET
            if request["fields"] is not None:
                query = urlencode(request["query"])
                signed_url = PUBLIC + url + (f"?{query}" if query else "")
                headers["x-twilio-signature"] = RequestValidator(TWILIO_TOKEN).compute_signature(
                    signed_url, request["fields"]
                )
        for name, value in cookies.items():
            self._client.cookies.set(name, value)
        try:
            with self._client.stream(
                request["method"],
                url,
                params=request["query"],
                headers=headers,
                content=request["body"],
                follow_redirects=False,
            ) as answer:
                return answer.status_code  # streams (SSE) are closed unread
        except (UnicodeError, ValueError) as exc:  # httpx refused to build it
            if "header" in str(exc).lower() or isinstance(exc, UnicodeError):
                return None
            raise


def run(app: FastAPI, *, examples: int, seed: int | None) -> Report:
    """Send `examples` drawn requests to `app`; derandomised unless a seed is given."""
    ops = operations(app)
    report = Report(routes=len(ops))
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.accounts.add_user(ADMIN, "admin", PASSWORD)
        driver = Driver(app, client)

        @settings(
            max_examples=examples,
            database=None,
            deadline=None,
            derandomize=seed is None,
            suppress_health_check=list(HealthCheck),
        )
        @given(request=requests(ops))
        def one(request: dict[str, Any]) -> None:
            status = driver.send(request)
            if status is None:
                return
            report.tried += 1
            report.by_status[status] += 1
            if status >= 500 and len(report.findings) < 20:
                report.findings.append(f"{status} {request}")

        if seed is not None:
            one = hypothesis_seed(seed)(one)
        one()
    return report


@contextmanager
def fuzz_app(database_url: str | None = None) -> Iterator[FastAPI]:
    """The app on a fresh database (SQLite in a temporary directory unless a URL is given)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/fuzz.db"
        base = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
        app = create_app(fuzz_settings(base, Path(tmp) / "media"), background=False)
        try:
            yield app
        finally:
            app.state.engine.dispose()


def main(argv: list[str]) -> int:
    """Run the fuzz; exit 1 when any request got a 5xx."""
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz")
    parser.add_argument("--examples", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--db", default=None, help="a database URL (default: a SQLite file)")
    args = parser.parse_args(argv)
    chosen = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    with fuzz_app(args.db) as app:
        report = run(app, examples=args.examples, seed=chosen)
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(report.by_status.items()))
    print(f"seed {chosen}: {report.tried} inputs tried over {report.routes} operations")
    print(f"statuses: {statuses}")
    print(f"5xx seen: {report.server_errors}")
    for finding in report.findings:
        print(f"  {finding[:400]}")
    return 1 if report.server_errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
