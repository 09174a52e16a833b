"""A fake Telegram Bot API: the real python-telegram-bot talks to it over HTTP.

It answers like api.telegram.org (`{"ok": true, "result": ...}`), records every call with
the form fields PTB posted, and can be told to answer a method with an error (429, 5xx...)
or to take its time, once per queued answer. It can also be down for a while (`outage`), or
hold one chat's sends unanswered until the test lets them go (`hold`, `release`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import ThreadedServer

BOT_ID = 7000000001


@dataclass
class Call:
    method: str
    token: str
    form: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    uploads: dict[str, Upload] = field(default_factory=dict)  # multipart files, by field

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        raw = self.form.get("reply_markup")
        return json.loads(raw) if raw else None


@dataclass(frozen=True)
class Upload:
    """A file PTB uploaded in a multipart body (sendPhoto, sendDocument)."""

    filename: str
    content_type: str
    data: bytes


class FakeBotApi:
    """Start with `FakeBotApi().start()`; `url` + "/bot" is the Bot's base_url."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._answers: dict[str, deque[tuple[int, dict[str, Any]]]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._ids = itertools.count(1000)
        self.delay = 0.0  # seconds every sendMessage takes (restart tests)
        self.outage: int | None = None  # while set, every sendMessage answers this 5xx status
        self._held: dict[str, threading.Event] = {}  # chat id -> set when its sends may go
        self._holding: dict[str, int] = defaultdict(int)  # chat id -> sends waiting now
        self.updates: deque[dict[str, Any]] = deque()  # what getUpdates hands out
        self.files: dict[str, bytes] = {}  # file_id -> content, for getFile and downloads
        self._server = ThreadedServer(
            Starlette(
                routes=[
                    Route("/bot{token}/{method}", self._handle, methods=["POST"]),
                    Route("/file/bot{token}/files/{file_id}", self._download, methods=["GET"]),
                ]
            )
        )
        self.url = ""

    def start(self) -> FakeBotApi:
        self.url = self._server.start().url
        return self

    def stop(self) -> None:
        with self._lock:
            for gate in self._held.values():
                gate.set()
        self._server.stop()

    def hold(self, chat_id: str | int) -> None:
        """Leave sendMessage calls to this chat unanswered until `release(chat_id)`."""
        with self._lock:
            self._held[str(chat_id)] = threading.Event()

    def release(self, chat_id: str | int) -> None:
        """Answer the held sends to this chat (and the ones after them) as usual."""
        with self._lock:
            gate = self._held.pop(str(chat_id), None)
        if gate is not None:
            gate.set()

    def holding(self, chat_id: str | int) -> int:
        """How many sends to this chat are being held right now."""
        with self._lock:
            return self._holding[str(chat_id)]

    def answer(self, method: str, *, status: int, json: dict[str, Any]) -> None:
        """Answer the next call of `method` with this status and body, once."""
        with self._lock:
            self._answers[method].append((status, json))

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def sent_texts(self, chat_id: str | int) -> list[str]:
        return [
            c.form["text"] for c in self.calls("sendMessage") if c.form["chat_id"] == str(chat_id)
        ]

    async def _handle(self, request: Request) -> Response:
        method = request.path_params["method"]
        token = request.path_params["token"]
        uploads: dict[str, Upload] = {}
        async with request.form() as received:
            form = {
                k: getattr(v, "filename", None) or str(v)  # an upload: recorded by its name
                for k, v in received.items()
            }
            for name, value in received.items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    kind = value.content_type or ""
                    uploads[name] = Upload(value.filename or "", kind, data)
        if method == "sendMessage":
            await self._wait_while_held(request, form.get("chat_id", ""))
        with self._lock:
            queued = self._answers[method].popleft() if self._answers[method] else None
        if queued is None and method == "sendMessage" and self.outage is not None:
            reason = HTTPStatus(self.outage).phrase
            queued = (self.outage, {"ok": False, "error_code": self.outage, "description": reason})
        if queued is not None:
            status, body = queued
            with self._lock:
                self._calls.append(Call(method, token, form, uploads=uploads))
            return JSONResponse(body, status_code=status)
        if method == "getFile" and form.get("file_id") not in self.files:
            with self._lock:
                self._calls.append(Call(method, token, form, uploads=uploads))
            body = {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
            return JSONResponse(body, status_code=400)
        if method == "sendMessage" and self.delay:
            await asyncio.sleep(self.delay)
        if method in ("sendPhoto", "sendDocument") and not (
            uploads or form.get(method[4:].lower())
        ):
            with self._lock:
                self._calls.append(Call(method, token, form, uploads=uploads))
            body = {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: file must be non-empty",
            }
            return JSONResponse(body, status_code=400)
        with self._lock:
            self._calls.append(Call(method, token, form, uploads=uploads))
        return JSONResponse({"ok": True, "result": self._result(method, form)})

    async def _wait_while_held(self, request: Request, chat_id: str) -> None:
        """Until the chat is released, or the client gives up (it still counts as sent)."""
        with self._lock:
            gate = self._held.get(chat_id)
            if gate is None:
                return
            self._holding[chat_id] += 1
        try:
            while not gate.is_set():  # polled: the server's loop keeps answering other chats
                if await request.is_disconnected():
                    break
                await asyncio.sleep(0.005)
        finally:
            with self._lock:
                self._holding[chat_id] -= 1

    async def _download(self, request: Request) -> Response:
        data = self.files.get(request.path_params["file_id"])
        if data is None:
            return Response(status_code=404)
        return Response(data, media_type="application/octet-stream")

    def _result(self, method: str, form: dict[str, str]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Loket", "username": "loket_bot"}
        if method in ("sendMessage", "sendDocument", "sendPhoto"):
            chat_id = int(form["chat_id"])
            message: dict[str, Any] = {
                "message_id": next(self._ids),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Loket"},
                "chat": {"id": chat_id, "type": "private"},
                "date": int(time.time()),
                "text": form.get("text", ""),
            }
            if method == "sendDocument":
                message["document"] = {
                    "file_id": "BQAD-fake",
                    "file_unique_id": "fake-unique",
                    "file_name": form.get("document", ""),
                }
                message["caption"] = form.get("caption", "")
            if method == "sendPhoto":
                message["photo"] = [
                    {
                        "file_id": "AgAD-fake",
                        "file_unique_id": "fake-photo",
                        "width": 1,
                        "height": 1,
                    }
                ]
                message["caption"] = form.get("caption", "")
            if form.get("reply_markup"):
                message["reply_markup"] = json.loads(form["reply_markup"])
            return message
        if method == "getUpdates":
            with self._lock:
                batch = list(self.updates)
                self.updates.clear()
            return batch
        if method == "getFile":
            file_id = form["file_id"]
            return {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": len(self.files[file_id]),
                "file_path": f"files/{file_id}",
            }
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return True  # setWebhook, deleteWebhook, answerCallbackQuery...
