"""The part of a Telegram update Loket reads, as strict pydantic models.

Telegram resends an update for as long as the webhook answers anything but 2xx, so every
body must end as messages or as a typed refusal (MalformedPayload, a 400), never as an
unexpected exception. The models name only the fields the desk uses; everything else in an
update is ignored. Strings must be storable (fields.py); numbers are bounded so no timestamp
or integer column overflows. Field names follow the Bot API (https://core.telegram.org/bots/api).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chatbot.errors import MalformedPayload

from .fields import ShortText, Text, first_error

MAX_ID = 2**53  # Telegram ids fit in 52 bits (Bot API: "at most 52 significant bits")
MAX_DATE = 2**34  # Unix seconds, past the year 2500: datetime.fromtimestamp never overflows

Id = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)]
UnixTime = Annotated[int, Field(ge=0, le=MAX_DATE)]


class _Part(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class UserIn(_Part):
    """A Telegram user (the sender)."""

    id: Id
    first_name: ShortText = ""
    last_name: ShortText | None = None

    @property
    def full_name(self) -> str:
        """First and last name, as Telegram shows them."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


class ChatIn(_Part):
    """The chat a message belongs to."""

    id: Id
    type: ShortText


class FileIn(_Part):
    """A photo size, video, voice note, audio or document."""

    file_id: ShortText
    file_size: Annotated[int, Field(ge=0, le=2**40)] | None = None
    mime_type: ShortText | None = None
    file_name: ShortText | None = None


class LocationIn(_Part):
    """A shared place."""

    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]


class VenueIn(_Part):
    """A named place (Telegram sends its `location` beside it)."""

    title: ShortText = ""
    address: ShortText = ""


class ContactIn(_Part):
    """A shared contact card; `user_id` says whose."""

    phone_number: ShortText
    user_id: Id | None = None


class ButtonIn(_Part):
    """One inline button of the message a button press came from."""

    text: ShortText
    callback_data: ShortText | None = None


class KeyboardIn(_Part):
    """The inline keyboard of a message."""

    inline_keyboard: list[list[ButtonIn]] = Field(default_factory=list, max_length=100)


class MessageIn(_Part):
    """A message (or, inside a callback query, the possibly inaccessible message)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)

    message_id: Id
    date: UnixTime
    chat: ChatIn
    sender: UserIn | None = Field(default=None, alias="from")
    edit_date: UnixTime | None = None
    text: Text | None = None
    caption: Text | None = None
    location: LocationIn | None = None
    venue: VenueIn | None = None
    contact: ContactIn | None = None
    sticker: dict[str, Any] | None = None
    photo: list[FileIn] | None = Field(default=None, max_length=100)
    video: FileIn | None = None
    video_note: FileIn | None = None
    voice: FileIn | None = None
    audio: FileIn | None = None
    document: FileIn | None = None
    reply_markup: KeyboardIn | None = None

    @property
    def sent_at(self) -> datetime:
        """When the client sent it."""
        return datetime.fromtimestamp(self.date, UTC)


class CallbackQueryIn(_Part):
    """A pressed inline button."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)

    id: ShortText
    sender: UserIn = Field(alias="from")
    message: MessageIn | None = None
    data: ShortText | None = None


class UpdateIn(_Part):
    """One update: at most one of these kinds is set; other kinds are ignored on purpose."""

    update_id: Annotated[int, Field(ge=0, le=MAX_ID)]
    message: MessageIn | None = None
    edited_message: MessageIn | None = None
    callback_query: CallbackQueryIn | None = None


def read_update(body: bytes | str | dict[str, Any]) -> UpdateIn:
    """Validate a webhook body (JSON text) or a decoded update (polling).

    pydantic's JSON reader refuses nesting deeper than 200 levels and lone surrogate escapes
    itself, so a hostile body cannot exhaust the stack.

    Raises:
        MalformedPayload: not a Telegram update, with the first problem named.
    """
    try:
        if isinstance(body, dict):
            return UpdateIn.model_validate(body)
        return UpdateIn.model_validate_json(body)
    except ValidationError as exc:
        raise MalformedPayload(f"not a Telegram update: {first_error(exc)}") from None
