"""The channel contract: verify and parse what comes in, send what goes out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from chatbot.domain import Inbound, OutboundMessage


@dataclass(frozen=True, slots=True)
class RawRequest:
    """An HTTP request as a channel sees it; no web-framework types cross this line."""

    url: str  # the public URL the provider called: settings.public_url + path (+ query)
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    form: Mapping[str, list[str]] = field(default_factory=dict)  # repeated fields kept


class Channel(Protocol):
    """One way clients reach the desk."""

    name: ClassVar[str]

    def verify(self, request: RawRequest) -> None:
        """Check the request really comes from the provider.

        Raises:
            InvalidSignature: the secret token or signature is missing or wrong.
        """

    def parse(self, request: RawRequest) -> list[Inbound]:
        """Turn a provider request into messages; [] for updates ignored on purpose.

        Raises:
            MalformedPayload: the body cannot be understood.
        """
        ...

    async def send(self, message: OutboundMessage) -> str:
        """Deliver one reply; returns the provider's message id.

        Raises:
            RetryLater: the provider is rate limiting or unreachable.
            SendFailed: the provider refused the message for good.
        """
        ...
