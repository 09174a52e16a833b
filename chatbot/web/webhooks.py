"""Provider webhooks: Telegram updates, Twilio messages and Twilio status callbacks.

Each route refuses what it can from the headers alone, reads the body under the limits of
chatbot/web/bodies.py, lets the channel verify and parse it, stores every message in the
inbox, and acknowledges only after that commit, so a crash makes the provider deliver again
and the inbox's idempotency key makes that harmless.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from chatbot.channels.base import Channel, RawRequest
from chatbot.channels.telegram import TelegramChannel
from chatbot.channels.twilio_common import (
    EMPTY_TWIML,
    SIGNATURE_HEADER,
    MessageForm,
    channel_for,
    parse_status,
)
from chatbot.domain import Inbound
from chatbot.errors import InvalidSignature, UnknownChannel
from chatbot.frontdesk.outbox import record_delivery
from chatbot.web.bodies import FORM_TYPE, BodyReader
from chatbot.web.ingress import IngressWriter

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
TWILIO_CHANNELS = ("whatsapp", "sms")


def _channel(request: Request, name: str) -> Channel:
    channels: Mapping[str, Channel] = request.app.state.channels
    channel = channels.get(name)
    if channel is None:
        raise UnknownChannel(f"the {name} channel is not configured on this installation")
    return channel


def _bodies(request: Request) -> BodyReader:
    reader: BodyReader = request.app.state.bodies
    return reader


def _limit(request: Request) -> int:
    limit: int = request.app.state.settings.max_webhook_bytes
    return limit


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
    bodies = _bodies(request)
    head = bodies.head(request)
    channel.verify(head)  # the secret is a header: checked before a byte of body is read
    raw = await bodies.read(request, head, limit=_limit(request), proven=True)
    inbounds = channel.parse(raw)
    await accept(request, inbounds)
    answer = channel.webhook_answer(inbounds)
    return JSONResponse(answer) if answer else Response(status_code=200)


router.add_route(f"{router.prefix}/telegram", telegram_update, methods=["POST"])


def _twilio_form() -> dict[str, object]:
    """Twilio's fields as the description shows them (MediaUrlN come numbered: no `media`)."""
    schema = MessageForm.model_json_schema()
    schema["properties"].pop("media")
    return {"requestBody": {"content": {FORM_TYPE: {"schema": schema}}, "required": True}}


@router.post("/twilio", openapi_extra=_twilio_form())
async def twilio_message(request: Request) -> Response:
    """One WhatsApp or SMS message from Twilio; answered with empty TwiML.

    Replies leave later through the outbox and the REST API, not in this response, so
    they are retried and paced like every other reply.
    """
    raw = await _unproven_form(request)
    channel = _channel(request, channel_for(raw.form))
    channel.verify(raw)
    await accept(request, channel.parse(raw))
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post("/twilio/status")
async def twilio_status(request: Request) -> Response:
    """A delivery status callback (queued, sent, delivered, read, failed + ErrorCode)."""
    raw = await _unproven_form(request)
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


async def _unproven_form(request: Request) -> RawRequest:
    """A Twilio form, read only when it carries a signature (checked once it is read).

    Raises:
        InvalidSignature: no X-Twilio-Signature header: refused before reading the body.
    """
    bodies = _bodies(request)
    head = bodies.head(request)
    if not head.headers.get(SIGNATURE_HEADER):
        raise InvalidSignature("missing X-Twilio-Signature")
    return await bodies.read(request, head, limit=_limit(request), proven=False)
