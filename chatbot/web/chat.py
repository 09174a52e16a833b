"""The browser chat at /: a plain server-rendered page, a form post, and an event stream."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.templating import Jinja2Templates

from chatbot.channels.web import WebChatForm
from chatbot.errors import InvalidInput, TooManyRequests
from chatbot.web.bodies import FORM_TYPE
from chatbot.web.deps import (
    AgentsDep,
    BodiesDep,
    ChannelsDep,
    DeskDep,
    ThrottleDep,
    client_address,
)
from chatbot.web.webhooks import accept

router = APIRouter(tags=["web chat"])
COOKIE = "loket_chat"
STREAM_POLL_SECONDS = 0.25
STREAM_MAX_SECONDS = 300  # browsers reconnect EventSource streams by themselves
TYPING_EVERY = 4  # polls between two looks at whether an agent is typing (once a second)


def _templates(request: Request) -> Jinja2Templates:
    return Jinja2Templates(directory=request.app.state.templates_dir)


def _chat_id(request: Request) -> str | None:
    value = request.cookies.get(COOKIE, "")
    return value if value.isalnum() and 8 <= len(value) <= 64 else None


@router.get("/", response_class=HTMLResponse)
def chat_page(request: Request, desk: DeskDep) -> Response:
    """The chat page with the conversation so far; a first visit gets a new chat id."""
    chat_id = _chat_id(request) or secrets.token_hex(12)
    messages = desk.chat_history("web", chat_id)
    response = _templates(request).TemplateResponse(
        request,
        "chat.html",
        {
            "messages": messages,
            "last_id": messages[-1]["id"] if messages else 0,
            # the quick replies still open (Sudah/Belum, the stars) come back on a reload
            "open_buttons": messages[-1]["buttons"]
            if messages and messages[-1]["direction"] == "out"
            else [],
            "desk_name": desk.desk_name,
        },
    )
    response.set_cookie(COOKIE, chat_id, httponly=True, samesite="strict", max_age=30 * 86400)
    return response


MAX_EVENT_ID = 2**63 - 1  # the largest message id a database column holds


def _form_schema() -> dict[str, object]:
    """The posted fields as the description shows them (the chat id comes in the cookie)."""
    schema = WebChatForm.model_json_schema()
    schema["properties"].pop("chat_id")
    schema["required"] = [n for n in schema.get("required", []) if n != "chat_id"]
    return {"requestBody": {"content": {FORM_TYPE: {"schema": schema}}, "required": True}}


@router.post("/chat/messages", openapi_extra=_form_schema())
async def post_message(
    request: Request, channels: ChannelsDep, throttle: ThrottleDep, bodies: BodiesDep
) -> JSONResponse:
    """One message typed (or button pressed) in the page; the replies come on the stream.

    Counted before the body is read (per chat and per client address; a new chat also per
    address), so a flood is refused for the price of one small transaction.
    """
    chat_id = _chat_id(request)
    if chat_id is None:
        return JSONResponse({"ok": False, "error": "open the chat page first"}, status_code=400)
    wait = await run_in_threadpool(throttle.chat_post, chat_id, client_address(request))
    if wait > 0:
        raise TooManyRequests(
            "too many messages or open conversations from here; wait a moment", wait
        )
    head = bodies.head(request)
    limit = request.app.state.settings.web_chat_max_bytes
    raw = await bodies.read(request, head, limit=limit, proven=False)
    channel = channels["web"]
    inbounds = channel.parse(replace(raw, form={**raw.form, "chat_id": [chat_id]}))
    fresh = await accept(request, inbounds)
    statuses = ["accepted" if new else "duplicate" for new in fresh]
    return JSONResponse({"ok": True, "statuses": statuses})


@router.get("/chat/events")
async def chat_events(
    request: Request,
    desk: DeskDep,
    agents: AgentsDep,
    after: Annotated[int, Query(ge=0, le=MAX_EVENT_ID)] = 0,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> Response:
    """Server-sent events: each new message of this chat, bot or client, as JSON.

    Also `event: typing` with `{"name": ...}` when an agent starts or stops writing a reply
    (an empty name: nobody is).
    """
    chat_id = _chat_id(request)
    if chat_id is None:
        return JSONResponse({"ok": False, "error": "open the chat page first"}, status_code=400)
    last = after
    if last_event_id:  # a reconnecting browser sends the last id it saw
        if not last_event_id.isascii() or not last_event_id.isdigit():
            raise InvalidInput("Last-Event-ID must be a message id (digits)")
        last = min(int(last_event_id), MAX_EVENT_ID)

    async def stream() -> AsyncIterator[str]:
        nonlocal last
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_MAX_SECONDS
        typing, rounds = "", 0
        yield "retry: 1000\n\n"
        while loop.time() < deadline and not await request.is_disconnected():
            for message in await asyncio.to_thread(desk.chat_history, "web", chat_id, last):
                last = message["id"]
                yield f"id: {last}\ndata: {json.dumps(message, ensure_ascii=False)}\n\n"
            if rounds % TYPING_EVERY == 0:  # an agent writing a reply: "Sari sedang mengetik…"
                now = await asyncio.to_thread(agents.agent_typing, "web", chat_id) or ""
                if now != typing:
                    typing = now
                    yield f"event: typing\ndata: {json.dumps({'name': now})}\n\n"
            rounds += 1
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
