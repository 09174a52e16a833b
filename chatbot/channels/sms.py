"""Plain SMS through Twilio: text in and out, buttons written as text."""

from __future__ import annotations

from typing import ClassVar

from chatbot.domain import Attachment, Inbound, OutboundMessage, buttons_as_text
from chatbot.errors import SendFailed

from .base import RawRequest
from .files import MediaLinks, media_link
from .twilio_common import TwilioAccount, parse_message


class SmsChannel:
    """SMS (and MMS) on a Twilio number."""

    name: ClassVar[str] = "sms"

    def __init__(
        self, account: TwilioAccount, sender: str | None, *, links: MediaLinks | None = None
    ) -> None:
        self._account = account
        self._sender = sender
        self._links = links  # agents' files go as MMS, from links Twilio fetches

    def verify(self, request: RawRequest) -> None:
        """Check Twilio's signature.

        Raises:
            InvalidSignature: X-Twilio-Signature is missing or wrong.
        """
        self._account.signature.verify(request)

    def parse(self, request: RawRequest) -> list[Inbound]:
        """One incoming SMS; the chat id is the sender's E.164 number.

        Raises:
            MalformedPayload: required fields are missing or not numbers.
        """
        return parse_message(request, self.name)

    async def fetch_media(self, attachment: Attachment, limit: int) -> bytes:
        """Download an MMS picture with the account's credentials.

        Raises:
            MediaUnavailable: the file could not be fetched within the limit.
        """
        return await self._account.fetch_media(attachment, limit)

    async def send(self, message: OutboundMessage) -> str:
        """Send one reply as plain text.

        Raises:
            RetryLater: Twilio said 429 or 5xx, or could not be reached.
            SendFailed: Twilio refused the message (bad number, unsubscribed client...).
        """
        if not self._sender:
            raise SendFailed("LOKET_TWILIO_SMS_FROM is not set: no SMS sender")
        if message.template:  # a campaign's template (Twilio's Content API serves SMS too)
            return await self._account.create_message(
                to=message.chat_id,
                from_=self._sender,
                content_sid=message.template,
                content_variables=message.template_variables or "{}",
            )
        if message.file is not None:  # MMS: Twilio fetches the file from our signed link
            return await self._account.create_message(
                to=message.chat_id,
                from_=self._sender,
                body=message.text,
                media_url=[media_link(self._links, message.file)],
            )
        return await self._account.create_message(
            to=message.chat_id,
            from_=self._sender,
            body=buttons_as_text(message.text, message.buttons),
        )
