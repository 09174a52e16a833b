"""A fake Discord webhook endpoint: records each post, answers 204 or what it is told."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import ThreadedServer


@dataclass
class Post:
    content: str
    files: list[tuple[str, bytes]]


class FakeDiscord:
    """Start with `FakeDiscord().start()`; `webhook_url` goes in LOKET_DISCORD_WEBHOOK_URL."""

    def __init__(self) -> None:
        self._posts: list[Post] = []
        self._answers: deque[tuple[int, dict[str, Any]]] = deque()
        self._lock = threading.Lock()
        self._server = ThreadedServer(
            Starlette(routes=[Route("/api/webhooks/{id}/{token}", self._handle, methods=["POST"])])
        )
        self.webhook_url = ""
        self.delay = 0.0  # seconds each post takes (timeouts)

    def start(self) -> FakeDiscord:
        self.webhook_url = f"{self._server.start().url}/api/webhooks/123/secret-token"
        return self

    def stop(self) -> None:
        self._server.stop()

    def answer(self, status: int, body: dict[str, Any] | None = None) -> None:
        """Answer the next post with this status, once."""
        with self._lock:
            self._answers.append((status, body or {}))

    @property
    def posts(self) -> list[Post]:
        with self._lock:
            return list(self._posts)

    async def _handle(self, request: Request) -> Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            queued = self._answers.popleft() if self._answers else None
        if queued is not None:
            return JSONResponse(queued[1], status_code=queued[0])
        if request.headers.get("content-type", "").startswith("multipart/"):
            async with request.form() as form:
                payload = json.loads(str(form["payload_json"]))
                files = [
                    (value.filename or "", await value.read())
                    for key, value in form.multi_items()
                    if key.startswith("files[") and not isinstance(value, str)
                ]
        else:
            payload, files = json.loads(await request.body()), []
        with self._lock:
            self._posts.append(Post(payload.get("content", ""), files))
        return Response(status_code=204)
