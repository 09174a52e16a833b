"""Table shapes only. States and channel names are stored as plain strings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def _utc_column(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class Contact(SQLModel, table=True):
    """A client as one channel knows them: a Telegram chat, a WhatsApp number, a browser."""

    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_contact_channel_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    display_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_column=_utc_column())


class Case(SQLModel, table=True):
    """One client problem from first message to survey; `state` is the flow's state value."""

    __table_args__ = (
        # At most one open case per chat: the desk finds it without scanning history.
        Index(
            "uq_case_open_chat",
            "channel",
            "chat_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_case_chat_closed", "channel", "chat_id", "closed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    profile: str = Field(max_length=32)
    locale: str = Field(default="id", max_length=8)
    state: str = Field(max_length=32, index=True)
    category: str | None = Field(default=None, max_length=8)
    sla_minutes: int | None = None
    fields_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    context_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    opened_at: datetime = Field(sa_column=_utc_column(index=True))
    updated_at: datetime = Field(sa_column=_utc_column())
    queued_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    closed_reason: str | None = Field(default=None, max_length=64)
    closed_by: str | None = Field(default=None, max_length=64)


class Message(SQLModel, table=True):
    """A message in a case's transcript, inbound or outbound; outbound rows carry delivery."""

    __table_args__ = (
        # The idempotency key: a provider re-delivering a message hits this constraint.
        UniqueConstraint("channel", "external_id", name="uq_message_channel_external"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    channel: str = Field(max_length=16)
    direction: str = Field(max_length=3)  # "in" | "out"
    external_id: str | None = Field(default=None, max_length=128)
    kind: str = Field(default="text", max_length=16)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    phrase_key: str | None = Field(default=None, max_length=64)
    buttons_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    author: str = Field(default="bot", max_length=64)
    status: str | None = Field(default=None, max_length=16)
    provider_id: str | None = Field(default=None, max_length=128, index=True)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class Attachment(SQLModel, table=True):
    """A photo, video, document, voice note or location the client sent with a case."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    message_id: int = Field(foreign_key="message.id")
    kind: str = Field(max_length=16)
    content_type: str | None = Field(default=None, max_length=128)
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    file_id: str | None = Field(default=None, max_length=256)
    filename: str | None = Field(default=None, max_length=256)
    size: int | None = None
    stored_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_utc_column())


class OutboxItem(SQLModel, table=True):
    """A reply waiting to leave; the row disappears once the provider accepted it."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True)
    case_id: int = Field(foreign_key="case.id")
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64, index=True)
    due_at: datetime = Field(sa_column=_utc_column(index=True))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SurveyAnswer(SQLModel, table=True):
    """The client's 1-5 rating and optional comment for one closed case."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    rating: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_utc_column())
