"""Attachments read by message: the file an outbox row carries, the files a web chat shows."""

from __future__ import annotations

from sqlalchemy import Connection, RowMapping, select, update

from db.queries import ATTACHMENT, MESSAGE


def file_of_message(conn: Connection, *, message_id: int) -> RowMapping | None:
    """The stored file an outbound message carries (an agent's file), if any."""
    query = (
        select(ATTACHMENT)
        .where(ATTACHMENT.c.message_id == message_id, ATTACHMENT.c.stored_path.is_not(None))
        .order_by(ATTACHMENT.c.id)
        .limit(1)
    )
    return conn.execute(query).mappings().first()


def files_of_messages(conn: Connection, *, message_ids: list[int]) -> list[RowMapping]:
    """The attachments of these messages, in order (the web chat shows them with the text)."""
    if not message_ids:
        return []
    query = (
        select(
            ATTACHMENT.c.id,
            ATTACHMENT.c.message_id,
            ATTACHMENT.c.kind,
            ATTACHMENT.c.filename,
            ATTACHMENT.c.content_type,
        )
        .where(ATTACHMENT.c.message_id.in_(message_ids), ATTACHMENT.c.stored_path.is_not(None))
        .order_by(ATTACHMENT.c.id)
    )
    return list(conn.execute(query).mappings())


def stored_file(conn: Connection, *, attachment_id: int) -> RowMapping | None:
    """One attachment with the channel and chat of its message (who may read it)."""
    query = (
        select(
            ATTACHMENT.c.id,
            ATTACHMENT.c.kind,
            ATTACHMENT.c.filename,
            ATTACHMENT.c.content_type,
            ATTACHMENT.c.stored_path,
            MESSAGE.c.channel,
            MESSAGE.c.chat_id,
            MESSAGE.c.direction,
        )
        .join(MESSAGE, MESSAGE.c.id == ATTACHMENT.c.message_id)
        .where(ATTACHMENT.c.id == attachment_id)
    )
    return conn.execute(query).mappings().first()


def attachments_to_keep(
    conn: Connection, *, after_id: int, channels: list[str], limit: int
) -> list[RowMapping]:
    """Clients' files a provider hosts at a URL and we have no copy of yet, oldest first."""
    query = (
        select(
            ATTACHMENT.c.id,
            ATTACHMENT.c.kind,
            ATTACHMENT.c.url,
            ATTACHMENT.c.content_type,
            ATTACHMENT.c.filename,
            MESSAGE.c.channel,
        )
        .join(MESSAGE, MESSAGE.c.id == ATTACHMENT.c.message_id)
        .where(
            ATTACHMENT.c.id > after_id,
            ATTACHMENT.c.url.is_not(None),
            ATTACHMENT.c.stored_path.is_(None),
            MESSAGE.c.direction == "in",
            MESSAGE.c.channel.in_(channels),
        )
        .order_by(ATTACHMENT.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def record_kept(conn: Connection, *, attachment_id: int, stored_path: str, size: int) -> None:
    """Our copy of a client's file is stored: the console and retention use it."""
    conn.execute(
        update(ATTACHMENT)
        .where(ATTACHMENT.c.id == attachment_id, ATTACHMENT.c.stored_path.is_(None))
        .values(stored_path=stored_path, size=size)
    )
