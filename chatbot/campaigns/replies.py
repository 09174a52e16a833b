"""A campaign recipient writing back: their new case is tied to the campaign.

Called by the step service (chatbot/frontdesk/desk.py) when a message opens a case, so a
reply on any channel follows the campaign profile's caring flow and reaches the agents'
queue like any other case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from db import campaign_queries as cq
from db import queries

REPLY_WINDOW = timedelta(hours=72)  # a message this long after a campaign's is its reply


def campaign_for_reply(
    conn: Connection, *, channel: str, chat_id: str, now: datetime
) -> dict[str, Any] | None:
    """The campaign message this chat's first message answers (id, campaign_id, profile)."""
    return cq.reply_target(conn, channel=channel, chat_id=chat_id, since=now - REPLY_WINDOW)


def tie_case(conn: Connection, *, link: Mapping[str, Any], case_id: int, now: datetime) -> None:
    """Mark the recipient replied, with their case, and note it in the case's event log."""
    cq.mark_replied(conn, recipient_id=int(link["id"]), case_id=case_id, now=now)
    queries.record_events(
        conn,
        case_id=case_id,
        events=[queries.EventRow("campaign_reply", "client", f"campaign {link['campaign_id']}")],
        now=now,
    )
