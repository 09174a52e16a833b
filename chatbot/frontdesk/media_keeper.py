"""MediaKeeper: copies the files clients send through Twilio into the media folder.

Twilio hands a WhatsApp or SMS photo over as a URL that needs the account's credentials and
that the account may delete. The webhook only stores the message (nothing else runs on its
request path); this loop of the background worker then fetches each such file once and
records where the copy is, for the console, the retention job and the reports. A file that
cannot be fetched keeps its URL, and is tried again after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from chatbot.channels.base import Channel
from chatbot.channels.media import MediaSource, MediaStore
from chatbot.clock import sleep_unless
from chatbot.domain import Attachment
from db import attachment_queries as fq
from db.engine import read
from db.turns import in_turn

logger = logging.getLogger(__name__)

BATCH = 8  # files fetched at once


class MediaKeeper:
    """Fetches, stores and records the clients' files that only a provider URL points to."""

    def __init__(self, engine: Engine, channels: Mapping[str, Channel], store: MediaStore) -> None:
        self._engine = engine
        self._store = store
        self._channels = channels  # filled in when the app's channels open: read it each time
        self._after = 0  # files up to this row id were tried by this process

    async def keep_once(self) -> int:
        """Fetch the next files waiting for a copy; returns how many were tried."""
        sources: dict[str, MediaSource] = {
            name: channel  # type: ignore[misc]  # a MediaSource: checked just here
            for name, channel in self._channels.items()
            if hasattr(channel, "fetch_media")
        }
        if not sources:
            return 0
        rows = await in_turn(self._waiting, sorted(sources))
        if not rows:
            return 0
        self._after = max(int(r["id"]) for r in rows)
        kept = await asyncio.gather(*(self._keep(row, sources[row["channel"]]) for row in rows))
        await in_turn(self._record, [k for k in kept if k is not None])
        return len(rows)

    async def run(self, poll_seconds: float, stop: asyncio.Event) -> None:
        """Keep files until `stop` is set; a failing round is logged, never fatal."""
        while not stop.is_set():
            try:
                tried = await self.keep_once()
            except Exception:
                logger.exception("Keeping clients' files failed; trying again shortly.")
                tried = 0
            if not tried:
                await sleep_unless(stop, poll_seconds)

    def _waiting(self, channels: list[str]) -> list[Any]:
        with read(self._engine) as conn:
            return fq.attachments_to_keep(
                conn, after_id=self._after, channels=channels, limit=BATCH
            )

    async def _keep(self, row: Any, source: MediaSource) -> tuple[int, Attachment] | None:
        attachment = Attachment(
            kind=row["kind"],
            url=row["url"],
            content_type=row["content_type"],
            filename=row["filename"],
        )
        key = f"attachment-{row['id']}"
        kept = await self._store.keep(row["channel"], key, attachment, source)
        return (int(row["id"]), kept) if kept.stored_path else None

    def _record(self, kept: list[tuple[int, Attachment]]) -> None:
        if not kept:
            return
        with self._engine.begin() as conn:
            for attachment_id, attachment in kept:
                assert attachment.stored_path is not None
                assert attachment.size is not None
                fq.record_kept(
                    conn,
                    attachment_id=attachment_id,
                    stored_path=attachment.stored_path,
                    size=attachment.size,
                )
