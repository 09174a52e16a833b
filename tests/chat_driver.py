"""Drive whole conversations through Desk.receive and read replies from the outbox."""

from __future__ import annotations

import itertools
import json
from typing import Any

from sqlalchemy import Engine, select

from chatbot.domain import Attachment, Inbound
from chatbot.frontdesk.desk import Desk, Receipt
from db import queries

_ids = itertools.count(1)


class ChatDriver:
    """One client on one channel, talking to the real desk on a real database."""

    def __init__(
        self, desk: Desk, engine: Engine, *, channel: str = "terminal", chat_id: str = "client-1"
    ) -> None:
        self.desk = desk
        self.engine = engine
        self.channel = channel
        self.chat_id = chat_id
        self._seen = 0

    def client_says(self, text: str = "", **extra: Any) -> Receipt:
        return self.desk.receive(self.inbound(text, **extra))

    def inbound(
        self,
        text: str = "",
        *,
        message_id: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        **extra: Any,
    ) -> Inbound:
        return Inbound(
            channel=self.channel,
            chat_id=self.chat_id,
            message_id=message_id or f"m{next(_ids)}",
            text=text,
            attachments=attachments,
            **extra,
        )

    def _outbound(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(queries.MESSAGE)
                    .join(queries.CASE)
                    .where(
                        queries.CASE.c.channel == self.channel,
                        queries.CASE.c.chat_id == self.chat_id,
                        queries.MESSAGE.c.direction == "out",
                    )
                    .order_by(queries.MESSAGE.c.id)
                ).mappings()
            )

    def bot_said(self) -> list[str]:
        """Phrase keys of the replies since the last call."""
        rows = self._outbound()
        new = rows[self._seen :]
        self._seen = len(rows)
        return [r["phrase_key"] for r in new]

    def last_texts(self, n: int = 1) -> list[str]:
        return [r["text"] for r in self._outbound()[-n:]]

    def last_buttons(self) -> list[dict[str, str]]:
        rows = self._outbound()
        return json.loads(rows[-1]["buttons_json"] or "[]") if rows else []

    @property
    def case(self) -> Any:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(queries.CASE)
                    .where(
                        queries.CASE.c.channel == self.channel,
                        queries.CASE.c.chat_id == self.chat_id,
                    )
                    .order_by(queries.CASE.c.id.desc())
                )
                .mappings()
                .first()
            )

    @property
    def fields(self) -> dict[str, str]:
        return dict(json.loads(self.case["fields_json"]))
