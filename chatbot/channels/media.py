"""MediaStore: keeps our own copy of client media whose provider URLs do not last."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import mimetypes
from pathlib import Path
from typing import Protocol

from chatbot.domain import Attachment
from chatbot.errors import MediaUnavailable

logger = logging.getLogger(__name__)


class MediaSource(Protocol):
    """A channel that can download the files its clients send."""

    async def fetch_media(self, attachment: Attachment, limit: int) -> bytes:
        """The file's bytes, at most `limit` of them.

        Raises:
            MediaUnavailable: the file could not be fetched within the limit.
        """
        ...


class MediaStore:
    """Files under `root/<channel>/`, named after the message, capped at `max_bytes` each."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self._root = root
        self._max_bytes = max_bytes

    async def keep(
        self, channel: str, key: str, attachment: Attachment, source: MediaSource
    ) -> Attachment:
        """The attachment with a stored copy of its file, fetched from its URL.

        `key` names the file (the attachment's row id), so fetching again overwrites the
        same file. Runs in the background worker, never on a webhook's request path. A
        failed download keeps the attachment as it was: its URL stays.
        """
        if not attachment.url:
            return attachment
        try:
            data = await source.fetch_media(attachment, self._max_bytes)
        except MediaUnavailable as exc:
            logger.warning("Keeping only the URL of a %s attachment: %s", channel, exc)
            return attachment
        path = self._path_for(channel, key, attachment.content_type)
        await asyncio.to_thread(_write, path, data)
        return dataclasses.replace(attachment, stored_path=str(path), size=len(data))

    async def keep_bytes(self, channel: str, key: str, data: bytes, filename: str) -> Path:
        """Store an uploaded file (already checked: chatbot/channels/files.py); its path.

        `key` names the file: the message id of a client's upload, so a repeated post of the
        same message writes the same file rather than a second one.
        """
        stem = hashlib.sha256(key.encode()).hexdigest()[:24]
        path = self._root / channel / f"{stem}-0{Path(filename).suffix.lower() or '.bin'}"
        await asyncio.to_thread(_write, path, data)
        return path.resolve()

    def _path_for(self, channel: str, key: str, content_type: str | None) -> Path:
        stem = hashlib.sha256(key.encode()).hexdigest()[:24]  # no odd characters in names
        extension = mimetypes.guess_extension(content_type or "") or ".bin"
        return self._root / channel / f"{stem}-0{extension}"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(path)  # a crash mid-write leaves no half file under the real name
