"""WhatsApp through Twilio: numbers from WaId, media kept, the 24-hour window respected."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import ClassVar

from chatbot.clock import Clock
from chatbot.domain import Attachment, Inbound, OutboundMessage, buttons_as_text
from chatbot.errors import SendFailed

from .base import RawRequest
from .files import MediaLinks, media_link
from .twilio_common import WHATSAPP_PREFIX, TwilioAccount, TwilioRefused, parse_message

WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window after the client's message
OUTSIDE_WINDOW_CODE = 63016  # Twilio: "Failed to send freeform message outside the window"
MAX_VARIABLE = 1000  # characters of reply put into the template's {{1}}


class WhatsAppChannel:
    """WhatsApp on a Twilio sender; replies outside the window go as the approved template."""

    name: ClassVar[str] = "whatsapp"

    def __init__(
        self,
        account: TwilioAccount,
        sender: str | None,
        clock: Clock,
        *,
        template_sid: str | None = None,
        links: MediaLinks | None = None,
    ) -> None:
        self._account = account
        self._links = links  # agents' files go as links Twilio fetches
        self._sender = _address(sender) if sender else None
        self._clock = clock
        self._template_sid = template_sid

    def verify(self, request: RawRequest) -> None:
        """Check Twilio's signature.

        Raises:
            InvalidSignature: X-Twilio-Signature is missing or wrong.
        """
        self._account.signature.verify(request)

    def parse(self, request: RawRequest) -> list[Inbound]:
        """One incoming WhatsApp message; the chat id is the client's E.164 number.

        Raises:
            MalformedPayload: required fields are missing or not numbers.
        """
        return parse_message(request, self.name)

    async def fetch_media(self, attachment: Attachment, limit: int) -> bytes:
        """Download a media file the client sent (Twilio's URLs do not last).

        Raises:
            MediaUnavailable: the file could not be fetched within the limit.
        """
        return await self._account.fetch_media(attachment, limit)

    async def send(self, message: OutboundMessage) -> str:
        """Send one reply; buttons become text (quick replies need approved templates).

        Raises:
            RetryLater: Twilio said 429 or 5xx, or could not be reached.
            SendFailed: Twilio refused it, or it falls outside the 24-hour window and no
                template is configured (the reason is shown to agents).
        """
        if self._sender is None:
            raise SendFailed("LOKET_TWILIO_WHATSAPP_FROM is not set: no WhatsApp sender")
        to = _address(message.chat_id)
        if message.template:  # a campaign's approved template: no window applies
            return await self._account.create_message(
                to=to,
                from_=self._sender,
                content_sid=message.template,
                content_variables=message.template_variables or "{}",
            )
        wrote = message.client_wrote_at
        outside = wrote is not None and self._clock.now() - wrote > WINDOW
        if message.file is not None:
            if outside:  # a template carries text only: the file would be silently lost
                raise SendFailed(
                    "outside WhatsApp's 24-hour window a file cannot be sent; "
                    "the client must write first"
                )
            return await self._account.create_message(
                to=to,
                from_=self._sender,
                body=message.text,
                media_url=[media_link(self._links, message.file)],
            )
        if outside:
            return await self._send_template(to, message.text)
        try:
            return await self._account.create_message(
                to=to, from_=self._sender, body=buttons_as_text(message.text, message.buttons)
            )
        except TwilioRefused as exc:
            if exc.code != OUTSIDE_WINDOW_CODE:
                raise
            return await self._send_template(to, message.text)

    async def _send_template(self, to: str, text: str) -> str:
        if not self._template_sid:
            raise SendFailed(
                "outside WhatsApp's 24-hour window and no approved template is configured "
                "(LOKET_TWILIO_WHATSAPP_TEMPLATE_SID); the client must write first"
            )
        assert self._sender is not None
        return await self._account.create_message(
            to=to,
            from_=self._sender,
            content_sid=self._template_sid,
            content_variables=json.dumps({"1": text[:MAX_VARIABLE]}, ensure_ascii=False),
        )


def _address(number: str) -> str:
    return number if number.startswith(WHATSAPP_PREFIX) else f"{WHATSAPP_PREFIX}{number}"
