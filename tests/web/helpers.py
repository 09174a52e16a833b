"""Helpers for webhook tests: settings aimed at the fakes, waiting, reading transcripts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine

from db import inbox_queries as iq
from db import queries
from db.engine import read
from settings import Settings
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi

SECRET = "telegram-webhook-secret-0123456789"
TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
PUBLIC = "https://loket.example.co.id"


def channel_settings(
    settings: Settings,
    tmp_path: Path,
    bot_api: FakeBotApi,
    twilio_api: FakeTwilioApi,
    **extra: Any,
) -> Settings:
    values: dict[str, Any] = {
        "public_url": PUBLIC,
        "telegram_token": SecretStr(TOKEN),
        "telegram_secret": SecretStr(SECRET),
        "telegram_base_url": f"{bot_api.url}/bot",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": SecretStr(AUTH_TOKEN),
        "twilio_whatsapp_from": "+14155238886",
        "twilio_sms_from": "+14155552671",
        "twilio_base_url": twilio_api.url,
        "media_dir": tmp_path / "media",
        "outbox_poll_seconds": 0.02,
        # The providers' limits are tested on their own; here they would only slow tests.
        "telegram_max_per_chat_per_second": 1000.0,
        "sms_max_per_second": 1000.0,
    }
    values.update(extra)
    return settings.model_copy(update=values)


def cases(engine: Engine, channel: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = [r for r in queries.list_cases(conn) if r["channel"] == channel]
        messages = queries.list_messages(conn, case_ids=[r["id"] for r in rows])
        surveys = {
            s["case_id"]: s for s in queries.list_surveys(conn, case_ids=[r["id"] for r in rows])
        }
        attachments = queries.list_attachments(conn, case_ids=[r["id"] for r in rows])
    return [
        {
            **dict(r),
            "messages": [dict(m) for m in messages if m["case_id"] == r["id"]],
            "attachments": [dict(a) for a in attachments if a["case_id"] == r["id"]],
            "survey": dict(surveys[r["id"]]) if r["id"] in surveys else None,
        }
        for r in rows
    ]


def outbound(engine: Engine, channel: str, chat_id: str | None = None) -> list[dict[str, Any]]:
    return [
        m
        for case in cases(engine, channel)
        if chat_id is None or case["chat_id"] == chat_id
        for m in case["messages"]
        if m["direction"] == "out"
    ]


def outbox_size(engine: Engine) -> int:
    with engine.connect() as conn:
        return queries.count_pending(conn)


def last_buttons(engine: Engine, channel: str, chat_id: str) -> list[str]:
    rows = outbound(engine, channel, chat_id)
    return [b["payload"] for b in json.loads(rows[-1]["buttons_json"] or "[]")] if rows else []


def stepped(engine: Engine) -> bool:
    """No accepted message waits for the stepper any more."""
    with read(engine) as conn:
        return not iq.has_unstepped(conn)


def rows(html: str) -> list[int]:
    """The case ids of the console list's rows, in order."""
    return [int(n) for n in re.findall(r'class="case-row[^"]*" data-case="(\d+)"', html)]
