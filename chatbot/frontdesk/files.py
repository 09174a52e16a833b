"""FileShelf: the stored files of messages, for the outbox, the web chat and signed links.

Every file handed out is one we stored (an agent's file, a web chat client's upload, a
client's media kept from a provider), and only from under the media folder: a row pointing
elsewhere is treated as no file at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping

from chatbot.domain import Attachment, OutFile
from chatbot.errors import UnknownFile
from db import attachment_queries as fq
from db import queries
from db.engine import read

# A file's caption: Telegram's limit (1,024), also WhatsApp's for a media message's body.
MAX_CAPTION = 1024


def record_file(
    conn: Connection, case_id: int, message_id: int, file: Attachment, now: datetime
) -> None:
    """Keep an agent's stored file with the outbound message that carries it."""
    queries.record_attachment(
        conn,
        case_id=case_id,
        message_id=message_id,
        kind=file.kind,
        now=now,
        content_type=file.content_type,
        filename=file.filename,
        size=file.size,
        stored_path=file.stored_path,
    )


@dataclass(frozen=True, slots=True)
class ShelvedFile:
    """A stored file to serve: where it is, its type and its name."""

    path: Path
    content_type: str
    filename: str
    kind: str


class FileShelf:
    """Reads attachments' stored copies; never writes (MediaStore does, before the commit)."""

    def __init__(self, engine: Engine, media_dir: str | Path) -> None:
        self._engine = engine
        self._root = Path(media_dir).resolve()

    def out_file(self, message_id: int) -> OutFile | None:
        """The file an outbound message carries, or None when it is no longer kept."""
        with read(self._engine) as conn:
            row = fq.file_of_message(conn, message_id=message_id)
        path = self._inside(row)
        if row is None or path is None:
            return None
        return OutFile(
            attachment_id=row["id"],
            kind=row["kind"],
            path=str(path),
            content_type=row["content_type"] or "application/octet-stream",
            filename=row["filename"] or path.name,
        )

    def chat_files(self, message_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Per message, its files as the web chat page shows them (a link on this chat)."""
        with read(self._engine) as conn:
            rows = fq.files_of_messages(conn, message_ids=message_ids)
        shown: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            shown.setdefault(row["message_id"], []).append(
                {
                    "url": f"/chat/files/{row['id']}",
                    "kind": row["kind"],
                    "filename": row["filename"] or row["kind"],
                }
            )
        return shown

    def for_chat(self, attachment_id: int, channel: str, chat_id: str) -> ShelvedFile:
        """A file of this chat, for its own session only.

        Raises:
            UnknownFile: no such file, it belongs to another chat, or it is no longer kept.
        """
        return self._shelved(
            attachment_id,
            lambda row: (
                (row["channel"], row["chat_id"])
                == (
                    channel,
                    chat_id,
                )
            ),
        )

    def for_link(self, attachment_id: int) -> ShelvedFile:
        """A file an agent sent, for the provider fetching it through a signed link.

        Raises:
            UnknownFile: no such file, it is a client's, or it is no longer kept.
        """
        return self._shelved(attachment_id, lambda row: row["direction"] == "out")

    def _shelved(self, attachment_id: int, allowed: Any) -> ShelvedFile:
        with read(self._engine) as conn:
            row = fq.stored_file(conn, attachment_id=attachment_id)
        path = self._inside(row)
        if row is None or path is None or not allowed(row):
            raise UnknownFile("no such file")
        return ShelvedFile(
            path=path,
            content_type=row["content_type"] or "application/octet-stream",
            filename=row["filename"] or path.name,
            kind=row["kind"],
        )

    def _inside(self, row: RowMapping | None) -> Path | None:
        if row is None or not row["stored_path"]:
            return None
        path = Path(row["stored_path"]).resolve()
        if not path.is_relative_to(self._root) or not path.is_file():
            return None
        return path
