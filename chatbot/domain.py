"""What crosses between channels and the desk: plain frozen dataclasses, stdlib only."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file or place the client sent; `url`/`file_id` say where the channel keeps it."""

    kind: str  # photo, video, document, voice, audio, location, contact
    url: str | None = None
    file_id: str | None = None
    content_type: str | None = None
    filename: str | None = None
    size: int | None = None
    stored_path: str | None = None  # our own copy, when the provider's URL does not last


@dataclass(frozen=True, slots=True)
class Inbound:
    """One client message as every channel hands it to the desk.

    `message_id` must be unique per channel (Telegram ids are per chat, so the
    Telegram channel prefixes the chat id); it is the idempotency key.
    """

    channel: str
    chat_id: str
    message_id: str
    text: str = ""
    kind: str = "text"  # text, photo, video, document, voice, location, contact, sticker, other
    sender_name: str | None = None
    phone: str | None = None
    attachments: tuple[Attachment, ...] = ()
    location: tuple[float, float] | None = None
    place: str | None = None  # a shared location's name and address, when the channel gives them
    contact_phone: str | None = None
    button: str | None = None
    edited: bool = False
    sent_at: datetime | None = None

    def to_json(self, text: str | None = None) -> str:
        """The message as the inbox stores it, until a stepper reads it back.

        `text` stores that text instead (the masked one). Fields are read one by one:
        `dataclasses.asdict` deep-copies every value (7% of a webhook's CPU).
        """
        data = {name: getattr(self, name) for name in _INBOUND_FIELDS}
        if text is not None:
            data["text"] = text
        data["attachments"] = [
            {name: getattr(a, name) for name in _ATTACHMENT_FIELDS} for a in self.attachments
        ]
        data["sent_at"] = self.sent_at.isoformat() if self.sent_at else None
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Inbound:
        """The message `to_json` stored."""
        data: dict[str, Any] = json.loads(text)
        data["attachments"] = tuple(Attachment(**a) for a in data.get("attachments", ()))
        if data.get("location") is not None:
            data["location"] = tuple(data["location"])
        if data.get("sent_at"):
            data["sent_at"] = datetime.fromisoformat(data["sent_at"])
        return cls(**data)


_INBOUND_FIELDS = tuple(f.name for f in fields(Inbound))
_ATTACHMENT_FIELDS = tuple(f.name for f in fields(Attachment))


@dataclass(frozen=True, slots=True)
class OutButton:
    """A quick-reply button with its label already rendered."""

    payload: str
    label: str


@dataclass(frozen=True, slots=True)
class OutFile:
    """A file an agent sends: our stored copy, sent with the reply's text as its caption."""

    attachment_id: int  # the Attachment row: signed links to the file name it
    kind: str  # photo (sent as a picture where the channel has them) or document
    path: str
    content_type: str
    filename: str


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A reply ready to leave through a channel."""

    channel: str
    chat_id: str
    text: str
    buttons: tuple[OutButton, ...] = ()
    message_id: int | None = None  # our Message row, so status callbacks find it
    client_wrote_at: datetime | None = None  # the client's last message (WhatsApp's 24-h window)
    # An approved template instead of text (campaigns, #16): Twilio's Content SID and its
    # ContentVariables JSON.
    template: str | None = None
    template_variables: str | None = None
    file: OutFile | None = None  # a file, with `text` as its caption


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What a provider says became of a reply it accepted (a status callback)."""

    provider_id: str
    status: str  # queued, sent, delivered, read, failed
    error: str | None = None
    code: int | None = None  # the provider's error code (Twilio ErrorCode), if any


def buttons_as_text(text: str, buttons: tuple[OutButton, ...]) -> str:
    """The reply with its buttons written out, for channels that have none (SMS, terminal)."""
    if not buttons:
        return text
    return f"{text}\n" + " | ".join(f"[{b.label}]" for b in buttons)
