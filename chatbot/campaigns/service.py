"""Campaigns as the CLI and the console use them: create from an audience, start, pause...

Every change is one short transaction; the sending itself is the outbox's
(chatbot/campaigns/sending.py). States: draft -> scheduled -> running <-> paused -> done,
and cancelled from any state before done.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from chatbot.campaigns import errors
from chatbot.campaigns.audience import Audience, Recipient, read_audience
from chatbot.errors import NotAllowed
from db import campaign_queries as cq
from db.engine import as_utc, read

CHANNELS = ("whatsapp", "sms", "telegram")
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")
_CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
MAX_RATE = 1000.0
MAX_TELEGRAM_TEXT = 4000  # Telegram's limit is 4,096 characters


class CampaignError(ValueError):
    """A campaign cannot be created as asked (bad window, variables, audience...)."""


@dataclass(frozen=True, slots=True)
class Created:
    """A new campaign and what its audience file held."""

    campaign_id: int
    audience: Audience
    opted_out: int
    sample: Recipient | None  # the first recipient who will be sent to: the preview's row


def parse_window(value: str) -> tuple[str, str]:
    """A window written 08:00-20:00 as ("08:00", "20:00").

    Raises:
        CampaignError: not HH:MM-HH:MM, or the window is empty.
    """
    match = _WINDOW.match(value.strip())
    if match is None:
        raise CampaignError(
            f"the daily window must be HH:MM-HH:MM (e.g. 08:00-20:00), not {value!r}"
        )
    start, end = value.strip().split("-")
    if start == end:
        raise CampaignError("the daily window is empty: start and end are the same time")
    return start, end


def parse_variables(value: str) -> dict[str, str]:
    """The template variables as {"1": "name", "2": "paket"}: placeholder -> CSV column.

    Raises:
        CampaignError: not a JSON object of strings.
    """
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise CampaignError(f"the variables are not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in data.items()
    ):
        raise CampaignError('the variables must be a JSON object like {"1": "name"}')
    return {k: v.strip().lower() for k, v in data.items()}


def content_variables(mapping: dict[str, str], values: dict[str, str]) -> str:
    """ContentVariables JSON for one recipient: each placeholder gets its CSV column's value."""
    return json.dumps({k: values.get(col, "") for k, col in mapping.items()}, ensure_ascii=False)


def _initial_state(address: str, phone: str, opted: set[str], chats: dict[str, str] | None) -> str:
    if address in opted:
        return "opted_out"
    if chats is not None and phone not in chats:
        return "skipped"
    return "pending"


def render_text(template: str, mapping: dict[str, str], values: dict[str, str]) -> str:
    """A Telegram campaign's text: each {{placeholder}} replaced with its column's value."""
    text = template
    for key, column in mapping.items():
        text = text.replace("{{" + key + "}}", values.get(column, ""))
    return text


class Campaigns:
    """Creating and steering campaigns; reading their numbers."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self,
        *,
        name: str,
        channel: str,
        template: str,
        variables: dict[str, str],
        audience_csv: str,
        profile: str,
        now: datetime,
        start_at: datetime | None = None,
        window: tuple[str, str] = ("08:00", "20:00"),
        rate: float | None = None,
        every_day: bool = False,
        actor: str = "cli",
    ) -> Created:
        """Store a draft campaign with one recipient per valid, first-seen number.

        Numbers already in the opt-out register are stored as `opted_out`, never sent.

        Raises:
            CampaignError: a bad channel, template, rate, or a variable naming no column.
            AudienceError: the file has no `phone` column.
        """
        name = name.strip()
        if not name or len(name) > 200:
            raise CampaignError("the campaign needs a name of 1-200 characters")
        if channel not in CHANNELS:
            raise CampaignError(f"the channel must be one of {', '.join(CHANNELS)}")
        if channel != "telegram" and not _CONTENT_SID.match(template):
            raise CampaignError(
                "the template must be an approved template's Content SID (HX + 32 hex digits)"
            )
        if channel == "telegram" and not 0 < len(template.strip()) <= MAX_TELEGRAM_TEXT:
            raise CampaignError(
                "on Telegram --template is the message text, with {{1}}-style placeholders "
                f"(1-{MAX_TELEGRAM_TEXT} characters)"
            )
        if rate is not None and not 0 < rate <= MAX_RATE:
            raise CampaignError(f"the rate must be between 0 and {MAX_RATE:.0f} messages a second")
        audience = read_audience(audience_csv)
        missing = sorted(set(variables.values()) - set(audience.columns))
        if missing:
            raise CampaignError(
                f"the variables name columns the audience does not have: {', '.join(missing)}"
            )
        with self._engine.begin() as conn:
            campaign_id = cq.insert_campaign(
                conn,
                name=name,
                channel=channel,
                template=template,
                variables_json=json.dumps(variables, ensure_ascii=False),
                profile=profile,
                state="draft",
                start_at=start_at,
                window_start=window[0],
                window_end=window[1],
                every_day=every_day,
                rate=rate,
                invalid=len(audience.invalid),
                duplicates=len(audience.duplicates),
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            phones = [r.phone for r in audience.recipients]
            # Telegram: only chats that started the bot and shared this number can be written.
            chats = cq.telegram_chats(conn, phones=phones) if channel == "telegram" else None
            addresses = {p: chats.get(p, p) if chats is not None else p for p in phones}
            opted = cq.opted_out_among(conn, addresses=list(addresses.values()))
            states = {p: _initial_state(addresses[p], p, opted, chats) for p in phones}
            cq.insert_recipients(
                conn,
                [
                    {
                        "campaign_id": campaign_id,
                        "channel": channel,
                        "chat_id": addresses[r.phone],
                        "name": r.name[:200] if r.name else None,
                        "variables_json": json.dumps(r.values, ensure_ascii=False),
                        "state": states[r.phone],
                        "error": (
                            "no Telegram chat with this number has started the bot"
                            if chats is not None and r.phone not in chats
                            else None
                        ),
                        "attempts": 0,
                        "updated_at": now,
                    }
                    for r in audience.recipients
                ],
            )
        sample = next((r for r in audience.recipients if states[r.phone] == "pending"), None)
        return Created(campaign_id, audience, len(opted), sample)

    def start(self, campaign_id: int, *, now: datetime) -> str:
        """Draft -> running (or scheduled, when its start time is ahead); returns the state.

        Raises:
            NotAllowed: no such campaign, or it is not a draft.
        """
        with self._engine.begin() as conn:
            campaign = self._get(conn, campaign_id)
            start_at = as_utc(campaign["start_at"])
            state = "scheduled" if start_at is not None and start_at > now else "running"
            if not cq.set_state(
                conn,
                campaign_id=campaign_id,
                state=state,
                from_states=("draft",),
                now=now,
                start_at=start_at or now,
            ):
                raise NotAllowed(f"campaign {campaign_id} is {campaign['state']}, not a draft")
        return state

    def pause(self, campaign_id: int, *, now: datetime) -> str:
        """Scheduled or running -> paused: nothing more is claimed (sends in flight finish).

        Raises:
            NotAllowed: no such campaign, or it is not scheduled or running.
        """
        return self._move(campaign_id, "paused", ("scheduled", "running"), now)

    def resume(self, campaign_id: int, *, now: datetime) -> str:
        """Paused -> running (scheduled if its start time is still ahead).

        Raises:
            NotAllowed: no such campaign, or it is not paused.
        """
        with self._engine.begin() as conn:
            campaign = self._get(conn, campaign_id)
            start_at = as_utc(campaign["start_at"])
            state = "scheduled" if start_at is not None and start_at > now else "running"
        return self._move(campaign_id, state, ("paused",), now)

    def cancel(self, campaign_id: int, *, now: datetime) -> str:
        """Any state but done -> cancelled; the unsent recipients become `skipped`.

        Raises:
            NotAllowed: no such campaign, or it is done or cancelled already.
        """
        with self._engine.begin() as conn:
            campaign = self._get(conn, campaign_id)
            if not cq.set_state(
                conn,
                campaign_id=campaign_id,
                state="cancelled",
                from_states=("draft", "scheduled", "running", "paused"),
                now=now,
            ):
                raise NotAllowed(f"campaign {campaign_id} is {campaign['state']} already")
            cq.skip_pending(conn, campaign_id=campaign_id, now=now)
        return "cancelled"

    def status(self, campaign_id: int) -> dict[str, Any]:
        """The numbers `loket campaigns status --json` prints.

        Raises:
            NotAllowed: no such campaign.
        """
        with read(self._engine) as conn:
            campaign = self._get(conn, campaign_id)
            numbers = cq.counts(conn, campaign_id=campaign_id)
            failures = cq.failures_by_code(conn, campaign_id=campaign_id)
        return {
            "id": campaign["id"],
            "name": campaign["name"],
            "state": campaign["state"],
            "recipients": numbers["recipients"],
            "invalid": campaign["invalid"],
            "duplicates": campaign["duplicates"],
            "opted_out": numbers["opted_out"],
            "sent": numbers["sent"],
            "delivered": numbers["delivered"],
            "read": numbers["read"],
            "failed": numbers["failed"],
            "replied": numbers["replied"],
            "pending": numbers["pending"],
            "skipped": numbers["skipped"],
            "failures": [
                {"code": code, "count": count, "meaning": errors.explain(code)}
                for code, count in failures
            ],
        }

    def all(self) -> list[dict[str, Any]]:
        """Every campaign with its state, newest first."""
        with read(self._engine) as conn:
            return [dict(row) for row in cq.list_campaigns(conn)]

    def _move(
        self, campaign_id: int, state: str, from_states: tuple[str, ...], now: datetime
    ) -> str:
        with self._engine.begin() as conn:
            campaign = self._get(conn, campaign_id)
            if not cq.set_state(
                conn, campaign_id=campaign_id, state=state, from_states=from_states, now=now
            ):
                raise NotAllowed(
                    f"campaign {campaign_id} is {campaign['state']}: cannot become {state}"
                )
        return state

    @staticmethod
    def _get(conn: Connection, campaign_id: int) -> Any:
        campaign = cq.get_campaign(conn, campaign_id=campaign_id)
        if campaign is None:
            raise NotAllowed(f"no campaign {campaign_id}")
        return campaign
