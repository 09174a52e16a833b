"""The browser chat at /: a plain server-rendered page, a form post, and an event stream."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile

from chatbot.channels.files import UploadPolicy
from chatbot.channels.web import WebChannel, WebChatForm
from chatbot.domain import Attachment
from chatbot.errors import (
    InvalidInput,
    LoketError,
    MalformedPayload,
    PayloadTooLarge,
    TooManyRequests,
)
from chatbot.frontdesk.desk import Desk
from chatbot.frontdesk.files import FileShelf, ShelvedFile
from chatbot.throttle import Throttle
from chatbot.web.bodies import FORM_TYPE
from chatbot.web.deps import (
    AgentsDep,
    BodiesDep,
    ChannelsDep,
    DeskDep,
    FilesDep,
    MediaStoreDep,
    RowId,
    ThrottleDep,
    UploadPolicyDep,
    client_address,
)
from chatbot.web.errors import STATUS
from chatbot.web.stopping import stopping
from chatbot.web.webhooks import accept
from flows import phrase_keys as keys

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
def chat_page(
    request: Request, desk: DeskDep, files: FilesDep, policy: UploadPolicyDep
) -> Response:
    """The chat page with the conversation so far; a first visit gets a new chat id."""
    chat_id = _chat_id(request) or secrets.token_hex(12)
    messages = _with_files(files, desk.chat_history("web", chat_id))
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
            "accept": policy.accept,
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
    request: Request,
    channels: ChannelsDep,
    throttle: ThrottleDep,
    bodies: BodiesDep,
    desk: DeskDep,
) -> JSONResponse:
    """One message typed (or button pressed) in the page; the replies come on the stream.

    Counted before the body is read (per chat and per client address; a new chat also per
    address), so a flood is refused for the price of one small transaction.
    """
    chat_id = _chat_id(request)
    if chat_id is None:
        return JSONResponse({"ok": False, "error": "open the chat page first"}, status_code=400)
    await _count_post(request, throttle, desk, chat_id)
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
    files: FilesDep,
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
        stop = stopping(request)
        while loop.time() < deadline and not stop.is_set() and not await request.is_disconnected():
            fresh = await asyncio.to_thread(desk.chat_history, "web", chat_id, last)
            if fresh:
                fresh = await asyncio.to_thread(_with_files, files, fresh)
            for message in fresh:
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


# --- #14: files in the web chat (docs/agent-desk.md#attachments) ---
FILE_FORM_OVERHEAD = 64_000  # the caption, the ids and the multipart framing around the file


def _with_files(files: FileShelf, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages, each with the files it carries (`files`: url, kind, filename)."""
    if not messages:
        return messages
    by_message = files.chat_files([m["id"] for m in messages])
    return [{**m, "files": by_message.get(m["id"], [])} for m in messages]


@router.post("/chat/files")
async def post_file(
    request: Request,
    channels: ChannelsDep,
    throttle: ThrottleDep,
    desk: DeskDep,
    policy: UploadPolicyDep,
    store: MediaStoreDep,
) -> JSONResponse:
    """A file the client attaches (multipart: `file`, `message_id`, optional `text`).

    Counted like a typed message; its size is refused from the declared length before the
    body is read, and its type by name and first bytes. A refusal says why, in the client's
    language (`message`), beside the reason for programs (`error`).
    """
    chat_id = _chat_id(request)
    if chat_id is None:
        return JSONResponse({"ok": False, "error": "open the chat page first"}, status_code=400)
    await _count_post(request, throttle, desk, chat_id)
    try:
        declared = request.headers.get("content-length", "")
        if not declared.isdigit():
            raise PayloadTooLarge("an upload must say its length (Content-Length)")
        if int(declared) > policy.max_bytes + FILE_FORM_OVERHEAD:
            raise PayloadTooLarge(f"the file is over the {policy.max_bytes}-byte limit")
        try:
            form = await request.form(max_files=1, max_fields=8)
        except Exception:  # a malformed multipart body
            raise MalformedPayload("the upload could not be read as a form") from None
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise InvalidInput("no file was attached")
            data = await upload.read(policy.max_bytes + 1)
            checked = policy.check(data, upload.filename)
            fields = {k: v for k, v in form.items() if k in ("message_id", "text")}
        finally:
            await form.close()
        channel = channels["web"]
        assert isinstance(channel, WebChannel)  # the app always runs its own web chat
        file = Attachment(
            kind=checked.kind,
            content_type=checked.content_type,
            filename=checked.filename,
            size=len(checked.data),
        )
        inbound = channel.parse_upload({**_text(fields), "chat_id": chat_id}, file)
    except (PayloadTooLarge, InvalidInput, MalformedPayload) as exc:
        return _refused(exc, desk, policy, request.app.state.settings.locale)
    path = await store.keep_bytes("web", inbound.message_id, checked.data, checked.filename)
    stored = replace(file, stored_path=str(path))
    fresh = await accept(request, [replace(inbound, attachments=(stored,))])
    return JSONResponse({"ok": True, "statuses": ["accepted" if fresh[0] else "duplicate"]})


async def _count_post(request: Request, throttle: Throttle, desk: Desk, chat_id: str) -> None:
    """Count a post of this chat and address; refused with the reason the client reads.

    Raises:
        TooManyRequests: the chat or the address posts too fast, or the address has too
            many conversations open (a shared office, a carrier's NAT).
    """
    wait = await run_in_threadpool(throttle.chat_post, chat_id, client_address(request))
    if wait.seconds <= 0:
        return
    key = keys.CHAT_TOO_MANY_OPEN if wait.crowded else keys.CHAT_TOO_FAST
    message = desk.phrases.render(key, request.app.state.settings.locale, {})
    reason = "too many conversations open from here" if wait.crowded else "too many messages"
    raise TooManyRequests(f"{reason}; wait a moment", wait.seconds, message)


def _text(fields: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in fields.items() if isinstance(v, str)}


def _refused(exc: LoketError, desk: Desk, policy: UploadPolicy, locale: str) -> JSONResponse:
    """The refusal with its status, and the standard phrase that tells the client why."""
    variables: dict[str, object]
    if isinstance(exc, PayloadTooLarge):
        key, variables = keys.UPLOAD_TOO_LARGE, {"limit_mb": f"{policy.max_bytes / 1e6:.3g}"}
    else:
        key, variables = keys.UPLOAD_NOT_ACCEPTED, {"allowed": ", ".join(policy.extensions)}
    message = desk.phrases.render(key, locale, variables)
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    return JSONResponse({"ok": False, "error": str(exc), "message": message}, status_code=status)


@router.get("/chat/files/{attachment_id}")
async def chat_file(request: Request, attachment_id: RowId, files: FilesDep) -> Response:
    """A file of this chat (the client's or an agent's), to this chat's own session only."""
    chat_id = _chat_id(request)
    if chat_id is None:
        return JSONResponse({"ok": False, "error": "open the chat page first"}, status_code=400)
    found = await run_in_threadpool(files.for_chat, attachment_id, "web", chat_id)
    return file_response(found)


def file_response(found: ShelvedFile) -> FileResponse:
    """A stored file: pictures inline, anything else as a download; never sniffed as HTML."""
    disposition = "inline" if found.kind == "photo" else "attachment"
    return FileResponse(
        found.path,
        media_type=found.content_type,
        filename=found.filename,
        content_disposition_type=disposition,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
