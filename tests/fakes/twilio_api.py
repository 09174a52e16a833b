"""A fake Twilio REST API: the real twilio.rest.Client talks to it over HTTP.

Messages.json answers like api.twilio.com (a Message resource with an SM... sid); media URLs
answer with a redirect to storage, as Twilio's do. Errors can be queued once per call.
Template sends (Content API: ContentSid + ContentVariables) are checked as Twilio does: a
message needs a Body, MediaUrl or ContentSid, and ContentVariables must be a JSON object.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.server import ThreadedServer

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "twilio-auth-token-for-tests-0001"


@dataclass
class Call:
    path: str
    form: dict[str, str]
    auth: tuple[str, str] | None
    media_urls: list[str] = field(default_factory=list)  # MediaUrl, repeated per file


class FakeTwilioApi:
    """Start with `FakeTwilioApi().start()`; `url` is LOKET_TWILIO_BASE_URL."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._answers: deque[tuple[int, dict[str, Any]]] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.media: dict[str, tuple[bytes, str]] = {}  # media sid -> (bytes, content type)
        self.media_fetches: list[tuple[str, tuple[str, str] | None]] = []
        self.delay = 0.0  # seconds each Messages.json call takes (a slow provider)
        self.keep_calls = True  # False: only count them (benchmarks of 100,000 sends)
        self.count = 0
        self.per_recipient: dict[str, int] = {}  # To -> calls, kept when keep_calls is False
        self._server = ThreadedServer(
            Starlette(
                routes=[
                    Route(
                        "/2010-04-01/Accounts/{sid}/Messages.json",
                        self._create_message,
                        methods=["POST"],
                    ),
                    Route(
                        "/2010-04-01/Accounts/{sid}/Messages/{msid}/Media/{media}",
                        self._media_redirect,
                        methods=["GET"],
                    ),
                    Route("/storage/{media}", self._storage, methods=["GET"]),
                ]
            )
        )
        self.url = ""

    def start(self) -> FakeTwilioApi:
        self.url = self._server.start().url
        return self

    def stop(self) -> None:
        self._server.stop()

    def fail_next(self, status: int, code: int, message: str) -> None:
        """Answer the next Messages.json call with a Twilio error, once."""
        with self._lock:
            self._answers.append(
                (
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )
            )

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def templates_to(self, to: str) -> list[tuple[str, dict[str, str]]]:
        """(ContentSid, ContentVariables) of each template message sent to `to`."""
        return [
            (c.form["ContentSid"], json.loads(c.form.get("ContentVariables") or "{}"))
            for c in self.calls()
            if c.form.get("To") == to and "ContentSid" in c.form
        ]

    def sent_bodies(self, to: str) -> list[str]:
        return [c.form.get("Body", "") for c in self.calls() if c.form.get("To") == to]

    async def _create_message(self, request: Request) -> Response:
        received = await request.form()
        form = {k: str(v) for k, v in received.items()}
        media_urls = [str(v) for v in received.getlist("MediaUrl")]
        auth = _basic_auth(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.count += 1
            if self.keep_calls:
                self._calls.append(Call(request.url.path, form, auth, media_urls))
            else:
                to = form.get("To", "")
                self.per_recipient[to] = self.per_recipient.get(to, 0) + 1
            queued = self._answers.popleft() if self._answers else None
        if queued is not None:
            status, body = queued
            return JSONResponse(body, status_code=status)
        if auth != (ACCOUNT_SID, AUTH_TOKEN):
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, 401)
        refused = _refusal(form, media_urls)
        if refused is not None:
            code, message = refused
            return JSONResponse({"code": code, "message": message, "status": 400}, 400)
        sid = f"SM{next(self._ids):032x}"
        account = request.path_params["sid"]
        return JSONResponse(
            {
                "account_sid": account,
                "api_version": "2010-04-01",
                "body": form.get("Body", ""),
                "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
                "date_sent": None,
                "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": None,
                "sid": sid,
                "status": "queued",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"
                },
                "to": form.get("To"),
                "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
            },
            status_code=201,
        )

    async def _media_redirect(self, request: Request) -> Response:
        auth = _basic_auth(request)
        media = request.path_params["media"]
        with self._lock:
            self.media_fetches.append((media, auth))
        if auth != (ACCOUNT_SID, AUTH_TOKEN):
            return Response(status_code=401)
        if media not in self.media:
            return Response(status_code=404)
        return RedirectResponse(f"/storage/{media}", status_code=307)

    async def _storage(self, request: Request) -> Response:
        data, content_type = self.media[request.path_params["media"]]
        return Response(data, media_type=content_type)


def _refusal(form: dict[str, str], media_urls: list[str]) -> tuple[int, str] | None:
    """Twilio's 400 for a message it cannot build, or None."""
    if any(not url.startswith(("http://", "https://")) for url in media_urls):
        return 21620, "Invalid media URL(s)"
    if len(media_urls) > 10:
        return 21623, "Number of media files exceeds allowed limit"
    if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
        return 21619, "A text message body, media URL or ContentSid must be specified"
    sid = form.get("ContentSid")
    if sid is not None and not (sid.startswith("HX") and len(sid) == 34):
        return 21655, "The ContentSid is Invalid"
    try:
        variables = json.loads(form.get("ContentVariables") or "{}")
    except json.JSONDecodeError:
        variables = None
    if not isinstance(variables, dict):
        return 21656, "The ContentVariables Parameter is invalid"
    return None


def _basic_auth(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password
