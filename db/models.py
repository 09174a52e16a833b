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
    """A message in a case's transcript; outbound rows with status "pending" are the outbox."""

    __table_args__ = (
        # The idempotency key: a provider re-delivering a message hits this index. Partial
        # indexes here and below hold only the rows they serve, so a write touches fewer pages.
        Index(
            "uq_message_channel_external",
            "channel",
            "external_id",
            unique=True,
            sqlite_where=text("external_id IS NOT NULL"),
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index(
            "ix_message_provider_id",
            "provider_id",
            sqlite_where=text("provider_id IS NOT NULL"),
            postgresql_where=text("provider_id IS NOT NULL"),
        ),
        # The outbox: outbound messages still to send. A partial index keeps it as small as
        # the backlog, and a reply costs one row written with the state change, not two.
        Index(
            "ix_message_outbox",
            "channel",
            "chat_id",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    direction: str = Field(max_length=3)  # "in" | "out"
    external_id: str | None = Field(default=None, max_length=128)
    kind: str = Field(default="text", max_length=16)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    phrase_key: str | None = Field(default=None, max_length=64)
    buttons_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    author: str = Field(default="bot", max_length=64)
    status: str | None = Field(default=None, max_length=16)  # pending, sent, delivered, ...
    due_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    attempts: int = 0
    provider_id: str | None = Field(default=None, max_length=128)
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


class SurveyAnswer(SQLModel, table=True):
    """The client's 1-5 rating and optional comment for one closed case."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    rating: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_utc_column())


class PhraseVersion(SQLModel, table=True):
    """One saved text of a phrase; the newest row per (key, locale) is in force.

    Rows are never changed or deleted: a revert adds the old text again, and a reset adds a
    row with `is_reset` (its `text` keeps the file default of that moment, for the diff).
    """

    __table_args__ = (Index("ix_phraseversion_key_locale", "key", "locale", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    locale: str = Field(max_length=8)
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=64)
    is_reset: bool = False
    reverted_from: int | None = None  # the version whose text this one brought back
    created_at: datetime = Field(sa_column=_utc_column())


class ProfileVersion(SQLModel, table=True):
    """One saved set of a profile's editable settings (JSON); the newest row per profile wins."""

    __table_args__ = (Index("ix_profileversion_profile", "profile", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    profile: str = Field(max_length=32)
    settings_json: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=64)
    is_reset: bool = False
    created_at: datetime = Field(sa_column=_utc_column())


class OverrideRevision(SQLModel, table=True):
    """One row counting admin edits; workers reload their overrides when it moves."""

    id: int = Field(default=1, primary_key=True)
    value: int = 0
