"""Load the payload files under tests/payloads and shape them into requests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"


def telegram_update(name: str, **changes: Any) -> dict[str, Any]:
    """A Telegram update from tests/payloads/telegram/<name>.json."""
    data: dict[str, Any] = json.loads((PAYLOADS / "telegram" / f"{name}.json").read_text())
    return copy.deepcopy({**data, **changes})


def telegram_text(update_id: int, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
    """A private text message shaped like text.json, for any chat."""
    data = telegram_update("text", update_id=update_id)
    message = data["message"]
    message.update(message_id=message_id, text=text)
    message["chat"]["id"] = chat_id
    message["from"]["id"] = chat_id
    return data


def telegram_press(update_id: int, chat_id: int, query_id: str, data: str) -> dict[str, Any]:
    """A pressed inline button shaped like callback_query.json."""
    update = telegram_update("callback_query", update_id=update_id)
    query = update["callback_query"]
    query.update(id=query_id, data=data)
    query["from"]["id"] = chat_id
    query["message"]["chat"]["id"] = chat_id
    return update


def twilio_form(name: str, **changes: str) -> dict[str, str]:
    """Twilio's form fields from tests/payloads/twilio/<name>.form (one Key=Value a line)."""
    fields: dict[str, str] = {}
    for line in (PAYLOADS / "twilio" / f"{name}.form").read_text().splitlines():
        if line.strip():
            key, _, value = line.partition("=")
            fields[key] = value
    fields.update(changes)
    return fields


def twilio_signed(url: str, fields: dict[str, str], token: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers Twilio would post to `url`, signed with the Auth Token."""
    signature = RequestValidator(token).compute_signature(url, fields)
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": signature,
    }
    return urlencode(fields).encode(), headers
