"""Provider webhooks: Telegram updates, Twilio messages and Twilio status callbacks.

Each route reads the body under a size limit, lets the channel verify and parse it, stores
every message in the inbox, and acknowledges only after that commit, so a crash makes the
provider deliver again and the inbox's idempotency key makes that harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from chatbot.channels.base import Channel, RawRequest
from chatbot.channels.media import MediaSource, MediaStore
from chatbot.channels.telegram import TelegramChannel
from chatbot.channels.twilio_common import EMPTY_TWIML, channel_for, parse_status
from chatbot.domain import Inbound
from chatbot.errors import MalformedPayload, PayloadTooLarge, UnknownChannel
from chatbot.frontdesk.desk import Desk
from chatbot.frontdesk.outbox import record_delivery
from chatbot.web.ingress import IngressWriter

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
TWILIO_CHANNELS = ("whatsapp", "sms")
FORM_TYPE = "application/x-www-form-urlencoded"


async def read_raw(request: Request, *, public_url: str, limit: int) -> RawRequest:
    """The request as channels see it, read without ever holding more than `limit` bytes.

    The URL is the public one the provider called (LOKET_PUBLIC_URL + path + query), since
    behind a proxy the URL this server sees is not the one Twilio signed.

    Raises:
        PayloadTooLarge: the body is over `limit` bytes.
        MalformedPayload: a form body is not valid UTF-8.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body is over the {limit}-byte limit")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise PayloadTooLarge(f"body is over the {limit}-byte limit")
    body = bytes(chunks)
    url = public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += f"?{request.url.query}"
    form: dict[str, list[str]] = {}
    if request.headers.get("content-type", "").startswith(FORM_TYPE):
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise MalformedPayload("form body is not UTF-8") from exc
    headers = {name.lower(): value for name, value in request.headers.items()}
    return RawRequest(url=url, headers=headers, body=body, form=form)


def _channel(request: Request, name: str) -> Channel:
    channels: Mapping[str, Channel] = request.app.state.channels
    channel = channels.get(name)
    if channel is None:
        raise UnknownChannel(f"the {name} channel is not configured on this installation")
    return channel


async def _raw(request: Request) -> RawRequest:
    settings = request.app.state.settings
    return await read_raw(
        request, public_url=settings.public_url, limit=settings.max_webhook_bytes
    )


async def accept(request: Request, inbounds: list[Inbound]) -> list[bool]:
    """Store the messages in the inbox; returns once they are committed (then answer 200).

    Returns, per message, whether it was new. A stepper takes them from there
    (chatbot/frontdesk/stepper.py): nothing else runs while the provider waits. Requests
    arriving together share a commit (chatbot/web/ingress.py).
    """
    writer: IngressWriter = request.app.state.ingress
    return await writer.write(inbounds)


async def telegram_update(request: Request) -> Response:
    """One Telegram update; 200 only once its messages are in the inbox.

    A pressed button is answered in the response body (answerCallbackQuery), which
    Telegram runs for us without another request. A plain Starlette route (added below):
    the busiest route has no parameters for FastAPI to solve on every request.
    """
    channel = _channel(request, "telegram")
    if not isinstance(channel, TelegramChannel):  # the route is Telegram's own
        raise UnknownChannel("the telegram channel is not configured on this installation")
    raw = await _raw(request)
    channel.verify(raw)
    inbounds = channel.parse(raw)
    await accept(request, inbounds)
    answer = channel.webhook_answer(inbounds)
    return JSONResponse(answer) if answer else Response(status_code=200)


router.add_route(f"{router.prefix}/telegram", telegram_update, methods=["POST"])


@router.post("/twilio")
async def twilio_message(request: Request) -> Response:
    """One WhatsApp or SMS message from Twilio; answered with empty TwiML.

    Replies leave later through the outbox and the REST API, not in this response, so
    they are retried and paced like every other reply.
    """
    raw = await _raw(request)
    channel = _channel(request, channel_for(raw.form))
    channel.verify(raw)
    await accept(request, [await _keep_media(request, channel, i) for i in channel.parse(raw)])
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post("/twilio/status")
async def twilio_status(request: Request) -> Response:
    """A delivery status callback (queued, sent, delivered, read, failed + ErrorCode)."""
    raw = await _raw(request)
    channels: Mapping[str, Channel] = request.app.state.channels
    channel = next((channels[n] for n in TWILIO_CHANNELS if n in channels), None)
    if channel is None:
        raise UnknownChannel("no Twilio channel is configured on this installation")
    channel.verify(raw)
    report = parse_status(raw)
    state = request.app.state
    await run_in_threadpool(
        record_delivery, state.engine, report, channels=TWILIO_CHANNELS, clock=state.clock
    )
    return Response(status_code=204)


async def _keep_media(request: Request, channel: Any, inbound: Inbound) -> Inbound:
    """Fetch the client's media before the desk's transaction; a replay fetches nothing."""
    store: MediaStore | None = getattr(request.app.state, "media", None)
    if store is None or not inbound.attachments or not hasattr(channel, "fetch_media"):
        return inbound
    desk: Desk = request.app.state.desk
    if await asyncio.to_thread(desk.is_accepted, inbound.channel, inbound.message_id):
        return inbound
    source: MediaSource = channel
    return await store.keep(inbound, source)
