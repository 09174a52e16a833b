"""The browser chat: messages come from the page, replies are read by the page's event stream."""

from __future__ import annotations

from typing import ClassVar

from chatbot.domain import Inbound, OutboundMessage
from chatbot.errors import MalformedPayload

from .base import RawRequest

MAX_TEXT = 4000


class WebChannel:
    """Web chat on `loket serve`: the page posts a form and listens to an event stream."""

    name: ClassVar[str] = "web"

    def verify(self, request: RawRequest) -> None:
        """The browser is our own page; its session cookie identifies the chat."""

    def parse(self, request: RawRequest) -> list[Inbound]:
        """One typed message or pressed button from the page's form.

        Raises:
            MalformedPayload: no chat id, no message id, or an over-long text.
        """
        chat_id = _one(request.form, "chat_id")
        message_id = _one(request.form, "message_id")
        text = _one(request.form, "text").strip()
        button = _one(request.form, "button") or None
        if not chat_id or not message_id:
            raise MalformedPayload("chat_id and message_id are required")
        if len(text) > MAX_TEXT:
            raise MalformedPayload(f"message is longer than {MAX_TEXT} characters")
        if not text and button is None:
            return []
        return [
            Inbound(
                channel=self.name,
                chat_id=chat_id,
                message_id=f"{chat_id}:{message_id}",
                text=text or (button or ""),
                kind="button" if button else "text",
                button=button,
            )
        ]

    async def send(self, message: OutboundMessage) -> str:
        """The page reads replies from the database itself; delivery is recording it as sent."""
        return f"web-{message.message_id}"


def _one(form: object, name: str) -> str:
    values = form.get(name) if hasattr(form, "get") else None
    if isinstance(values, list):
        return str(values[0]) if values else ""
    return str(values) if values else ""
