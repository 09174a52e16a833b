"""What WhatsApp and SMS share on Twilio: signatures, form fields, the REST client, media."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import httpx
import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator, get_signature_algorithm

from chatbot.domain import Attachment, DeliveryReport, Inbound
from chatbot.errors import (
    InvalidSignature,
    MalformedPayload,
    MediaUnavailable,
    RetryLater,
    SendFailed,
)

from .base import RawRequest
from .fields import ShortText, Text, clean_text, first_error, place_name

Url = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(clean_text)]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-twilio-signature"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
WHATSAPP_PREFIX = "whatsapp:"
DEFAULT_REGION = "ID"  # numbers written without +62 are Indonesian
RATE_LIMITED_SECONDS = 2.0  # Twilio's 429 carries no Retry-After; the outbox backs off more
UNREACHABLE_SECONDS = 5.0
BAD_CREDENTIALS_SECONDS = 60.0  # a 401 is our settings, not the reply: retried till fixed
# Twilio error codes that retrying will never fix, with what an agent needs to know. Any other
# 4xx is final too (the request itself is wrong); these only get a clearer reason.
REFUSALS = {
    21211: "the number is not a valid phone number",
    21614: "the number cannot receive SMS (not a mobile number)",
    21610: "the client unsubscribed from this sender (replied STOP); they must write START",
    63016: "outside WhatsApp's 24-hour window: only an approved template may be sent",
}
MAX_MEDIA = 10  # Twilio sends at most 10 media per message
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

# Twilio's MessageStatus values, as the statuses a transcript shows.
_STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "partially_delivered": "sent",  # some segments of a long SMS arrived: not all yet
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


class TwilioRefused(SendFailed):
    """Twilio answered with an error that retrying will not fix; `code` is Twilio's."""

    def __init__(self, reason: str, code: int | None) -> None:
        super().__init__(reason)
        self.code = code


def refusal(code: int | None, detail: str) -> str:
    """The reason an agent sees for a refused message: what the code means, then Twilio's text."""
    known = REFUSALS.get(code) if code is not None else None
    return f"Twilio error {code}: " + (f"{known} ({detail})" if known else detail)


SHORT_CODE_DIGITS = 8  # Twilio's short codes have 5-6 digits; a phone number in any form has 9+


def e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """A phone number in E.164 (`+6281234567890`), or the input itself if it is no number.

    Short codes and alphanumeric senders are not phone numbers; they keep their form so the
    same sender always maps to the same chat.
    """
    value = raw.strip().removeprefix(WHATSAPP_PREFIX)
    if value.isdigit() and len(value) <= SHORT_CODE_DIGITS:
        return value  # "22395": a short code, not a local number to put +62 in front of
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def channel_for(form: Mapping[str, list[str]]) -> str:
    """Which channel an incoming Twilio message belongs to: `whatsapp` or `sms`."""
    sender = _first(form, "From")
    return "whatsapp" if sender.startswith(WHATSAPP_PREFIX) else "sms"


class _Params(dict[str, list[str]]):
    """Form fields with repeats kept, in the shape RequestValidator reads (`getall`)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


class TwilioSignature:
    """Checks X-Twilio-Signature against the URL Twilio called and the posted fields."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def verify(self, request: RawRequest) -> None:
        """Check the request was signed with this account's Auth Token.

        Raises:
            InvalidSignature: the signature header is missing or does not match.
        """
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:  # RequestValidator raises TypeError on None
            raise InvalidSignature("missing X-Twilio-Signature")
        algorithm = get_signature_algorithm(request.headers.get(SETTINGS_HEADER))
        if not self._validator.validate(
            request.url, _Params(request.form), signature, algorithm=algorithm
        ):
            raise InvalidSignature("X-Twilio-Signature does not match LOKET_PUBLIC_URL + path")


class MessageForm(BaseModel):
    """The fields of Twilio's incoming-message webhook that Loket reads, bounded.

    Twilio posts every value as text; repeated fields keep their first value. Field names are
    Twilio's (https://www.twilio.com/docs/messaging/guides/webhook-request).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    MessageSid: Annotated[ShortText, Field(min_length=1, max_length=64)]
    From: Annotated[ShortText, Field(min_length=1, max_length=256)]
    WaId: Annotated[str, Field(max_length=20, pattern=r"^[0-9]*$")] = ""
    Body: Text = ""
    ProfileName: ShortText = ""
    ButtonPayload: ShortText = ""
    ButtonText: ShortText = ""
    MessageType: ShortText = ""
    NumMedia: Annotated[int, Field(ge=0, le=1000)] = 0
    Latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    Longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    Label: ShortText = ""  # a shared place's name
    Address: ShortText = ""
    media: tuple[tuple[Url, ShortText], ...] = ()

    @classmethod
    def read(cls, form: Mapping[str, list[str]]) -> MessageForm:
        """Validate the posted fields.

        Raises:
            MalformedPayload: a required field is missing, or a value is not what Twilio sends.
        """
        values: dict[str, object] = {
            name: _first(form, name) for name in cls.model_fields if name in form
        }
        values.setdefault("MessageSid", _first(form, "SmsMessageSid"))
        for name in ("NumMedia", "Latitude", "Longitude"):
            if values.get(name) == "":
                del values[name]  # an empty number field means "none"
        try:
            count = min(int(_first(form, "NumMedia") or 0), MAX_MEDIA)
        except ValueError:
            count = 0  # the model names the field below
        values["media"] = tuple(
            (_first(form, f"MediaUrl{i}"), _first(form, f"MediaContentType{i}"))
            for i in range(max(count, 0))
        )
        try:
            parsed = cls.model_validate(values)
        except ValidationError as exc:
            raise MalformedPayload(f"not a Twilio message: {first_error(exc)}") from None
        if (parsed.Latitude is None) != (parsed.Longitude is None):
            raise MalformedPayload("Latitude and Longitude must come together")
        return parsed


def parse_message(request: RawRequest, channel: str) -> list[Inbound]:
    """One incoming WhatsApp or SMS message from Twilio's form fields.

    Raises:
        MalformedPayload: MessageSid or From is missing, or a field is not what Twilio sends.
    """
    form = MessageForm.read(request.form)
    if channel_for(request.form) != channel:
        raise MalformedPayload(
            f"From {form.From[:12]!r}... does not belong to the {channel} channel"
        )
    chat_id = e164(f"+{form.WaId}" if form.WaId else form.From)
    if not chat_id:
        raise MalformedPayload("From names no sender")
    text = form.Body
    attachments = tuple(
        Attachment(kind=_media_kind(kind or None), url=url, content_type=kind or None)
        for url, kind in form.media
    )
    location = (
        (form.Latitude, form.Longitude)
        if form.Latitude is not None and form.Longitude is not None
        else None
    )
    button = form.ButtonPayload or None
    kind = "text"
    if button is not None:
        kind, text = "button", form.ButtonText or text or button
    elif location is not None:
        kind = "location"
    elif form.MessageType == "sticker" or any(a.content_type == "image/webp" for a in attachments):
        kind, attachments = "sticker", ()
    elif attachments:
        kind = attachments[0].kind
    elif not text and form.MessageType not in ("", "text"):
        kind = "other"  # reactions, contacts cards, orders...
    return [
        Inbound(
            channel=channel,
            chat_id=chat_id,
            message_id=form.MessageSid,  # unique SIDs: a retried webhook is a duplicate
            text=text,
            kind=kind,
            sender_name=form.ProfileName or None,
            phone=chat_id if chat_id.startswith("+") else None,
            attachments=attachments,
            location=location,
            place=place_name(form.Label, form.Address),
            button=button,
        )
    ]


_STATUS_TEXT = TypeAdapter(ShortText)


def parse_status(request: RawRequest) -> DeliveryReport:
    """A status callback: what became of a message we sent.

    Raises:
        MalformedPayload: MessageSid or MessageStatus is missing or unknown, or a field is
            over 512 characters or holds a NUL.
    """
    form = request.form
    sid = _first(form, "MessageSid") or _first(form, "SmsSid")
    raw_status = (_first(form, "MessageStatus") or _first(form, "SmsStatus")).lower()
    if not sid or raw_status not in _STATUSES:
        raise MalformedPayload("MessageSid and a known MessageStatus are required")
    try:
        sid, code, detail = (
            _STATUS_TEXT.validate_python(value)
            for value in (sid, _first(form, "ErrorCode"), _first(form, "ErrorMessage"))
        )
    except ValidationError as exc:
        raise MalformedPayload(f"not a Twilio status: {first_error(exc)}") from None
    status = _STATUSES[raw_status]
    error = None
    if status == "failed" or code:
        error = f"Twilio {raw_status}" + (f", error {code}" if code else "")
        error += f": {detail}" if detail else ""
    return DeliveryReport(
        provider_id=sid, status=status, error=error, code=int(code) if code.isdigit() else None
    )


def rebase(url: str, base_url: str | None) -> str:
    """`url` with the scheme, host and port of `base_url`, keeping path and query."""
    if not base_url:
        return url
    base = urlsplit(base_url)
    parts = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))


@cache
def _rebased_http_client() -> type:
    """The SDK's async HTTP client, sending every REST call to LOKET_TWILIO_BASE_URL instead.

    Built at first use: the SDK's REST client brings `requests` along (about 5 MB), and a
    process with no Twilio channel configured never needs it. An instance must be built
    inside a running event loop (it opens an aiohttp session).
    """
    from twilio.http.async_http_client import AsyncTwilioHttpClient

    class RebasedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # untyped SDK class
        def __init__(self, base_url: str | None, timeout: float) -> None:
            super().__init__(timeout=timeout)
            self._base_url = base_url

        async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            """Make the SDK's request against the rebased URL."""
            return await super().request(method, rebase(url, self._base_url), *args, **kwargs)

    return RebasedHttpClient


@dataclass(slots=True)
class TwilioAccount:
    """One Twilio account: the async REST client, the signature check and a media fetcher."""

    client: Any  # twilio.rest.Client (untyped)
    signature: TwilioSignature
    account_sid: str
    auth_token: str
    base_url: str | None
    status_callback: str | None
    _http: Any  # the rebased SDK client (_rebased_http_client)
    _media: httpx.AsyncClient

    @classmethod
    def open(
        cls,
        *,
        account_sid: str,
        auth_token: str,
        base_url: str | None,
        status_callback: str | None,
        timeout: float = 15.0,
    ) -> TwilioAccount:
        """Build the clients; call inside the running loop and `aclose()` at the end."""
        from twilio.rest import Client

        http = _rebased_http_client()(base_url, timeout)
        client = Client(account_sid, auth_token, http_client=http)
        if base_url:
            # Client reads TWILIO_REGION/TWILIO_EDGE from the environment and rewrites hosts
            # with them; a local base URL must not be turned into 127.ie1.0.1.
            client.region = client.edge = None
        media = httpx.AsyncClient(timeout=timeout, follow_redirects=True)
        return cls(
            client=client,
            signature=TwilioSignature(auth_token),
            account_sid=account_sid,
            auth_token=auth_token,
            base_url=base_url,
            status_callback=status_callback,
            _http=http,
            _media=media,
        )

    async def aclose(self) -> None:
        """Close the HTTP sessions."""
        await self._http.close()
        await self._media.aclose()

    async def create_message(self, **fields: Any) -> str:
        """Create a Message through the REST API; returns its SID.

        429, 5xx and network errors pass, so they are retried; a 401 is retried too, since
        rotated or mistyped credentials are fixed in the settings, not in the reply. Any other
        4xx is Twilio refusing this message (bad number, unsubscribed, outside the window).

        Raises:
            RetryLater: Twilio said 429, 5xx or 401, or could not be reached.
            TwilioRefused: Twilio refused the message for good; the reason names the code.
        """
        if self.status_callback:
            fields.setdefault("status_callback", self.status_callback)
        try:
            message = await self.client.messages.create_async(**fields)
        except TwilioRestException as exc:
            if exc.status == 429:
                raise RetryLater(RATE_LIMITED_SECONDS, f"Twilio 429: {exc.msg}") from exc
            if exc.status >= 500:
                raise RetryLater(UNREACHABLE_SECONDS, f"Twilio {exc.status}: {exc.msg}") from exc
            if exc.status == 401:
                raise RetryLater(
                    BAD_CREDENTIALS_SECONDS,
                    f"Twilio refused the credentials (check LOKET_TWILIO_*): {exc.msg}",
                ) from exc
            raise TwilioRefused(refusal(exc.code, exc.msg), exc.code) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RetryLater(UNREACHABLE_SECONDS, f"Twilio unreachable: {exc!r}") from exc
        return str(message.sid)

    async def fetch_media(self, attachment: Attachment, limit: int) -> bytes:
        """Download one media file with the account's credentials, at most `limit` bytes.

        Twilio's media URLs answer with a redirect to storage; httpx drops the credentials
        when the redirect leaves the host.

        Raises:
            MediaUnavailable: no URL, an error status, a network error, or over the limit.
        """
        if not attachment.url:
            raise MediaUnavailable("the attachment has no URL")
        url = rebase(attachment.url, self.base_url) if _is_twilio(attachment.url) else None
        if url is None:
            raise MediaUnavailable("not a Twilio media URL; not sending credentials there")
        try:
            async with self._media.stream(
                "GET", url, auth=(self.account_sid, self.auth_token)
            ) as response:
                if response.status_code != 200:
                    raise MediaUnavailable(f"media fetch answered {response.status_code}")
                declared = int(response.headers.get("content-length") or 0)
                if declared > limit:
                    raise MediaUnavailable(f"media is {declared} bytes, over {limit}")
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > limit:
                        raise MediaUnavailable(f"media is over {limit} bytes")
                return bytes(data)
        except (TimeoutError, httpx.HTTPError) as exc:
            raise MediaUnavailable(f"media fetch failed: {exc!r}") from exc


def _is_twilio(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "twilio.com" or host.endswith(".twilio.com")


def _first(form: Mapping[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


def _media_kind(content_type: str | None) -> str:
    major = (content_type or "").partition("/")[0]
    return {"image": "photo", "video": "video", "audio": "voice"}.get(major, "document")
