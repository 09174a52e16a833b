"""The campaigns page's service: campaigns with their numbers, and the opt-out register.

Admins see every campaign's progress with its failures explained in Indonesian, and see and
edit the register of numbers that asked for no more campaign messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from chatbot.campaigns.audience import AudienceError, normalise
from chatbot.campaigns.service import (
    CampaignError,
    Campaigns,
    content_variables,
    parse_variables,
    parse_window,
)
from chatbot.errors import InvalidInput
from db import campaign_queries as cq
from db.engine import read

MAX_ADDRESS = 64


class CampaignDesk:
    """What /admin/campaigns reads and changes."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._campaigns = Campaigns(engine)

    def create(
        self,
        *,
        name: str,
        channel: str,
        template: str,
        variables: str,
        window: str,
        rate: float | None,
        audience_csv: str,
        profile: str,
        actor: str,
        now: datetime,
    ) -> tuple[int, str]:
        """A draft campaign from the console's upload; returns its id and a preview line.

        Raises:
            InvalidInput: a bad field or audience (the reason says which).
        """
        try:
            created = self._campaigns.create(
                name=name,
                channel=channel,
                template=template.strip(),
                variables=parse_variables(variables or "{}"),
                audience_csv=audience_csv,
                profile=profile,
                now=now,
                window=parse_window(window or "08:00-20:00"),
                rate=rate,
                actor=actor,
            )
        except (CampaignError, AudienceError) as exc:
            raise InvalidInput(str(exc)) from None
        audience = created.audience
        mapping = parse_variables(variables or "{}")
        preview = (
            f"{len(audience.recipients)} recipients, {len(audience.invalid)} invalid, "
            f"{len(audience.duplicates)} duplicates, {created.opted_out} opted out."
        )
        if skipped := audience.skipped():
            preview += " Skipped: " + "; ".join(skipped) + "."
        if (sample := created.sample) is not None:
            preview += (
                f" Sample (line {sample.line}, {sample.phone}): "
                f"{content_variables(mapping, sample.values)}"
            )
        return created.campaign_id, preview

    def steer(self, campaign_id: int, verb: str, *, now: datetime) -> str:
        """start, pause, resume or cancel; returns the new state.

        Raises:
            NotAllowed: no such campaign, or not in a state that allows it.
        """
        actions = {
            "start": self._campaigns.start,
            "pause": self._campaigns.pause,
            "resume": self._campaigns.resume,
            "cancel": self._campaigns.cancel,
        }
        return actions[verb](campaign_id, now=now)

    def overview(self) -> list[dict[str, Any]]:
        """Every campaign, newest first, with `loket campaigns status` numbers."""
        return [self._campaigns.status(int(row["id"])) for row in self._campaigns.all()]

    def agents_view(self, campaign_id: int) -> list[dict[str, Any]]:
        """Per agent: contacted, reached, replied, follow-ups open (None: still queued)."""
        with read(self._engine) as conn:
            names = dict(cq.user_names(conn))
            rows = cq.work_per_agent(conn, campaign_id=campaign_id)
        return sorted(
            (
                {
                    "agent": names.get(row["assignee_id"]) if row["assignee_id"] else None,
                    "contacted": int(row["contacted"]),
                    "reached": int(row["reached"]),
                    "replied": int(row["replied"]),
                    "open": int(row["open"]),
                }
                for row in rows
            ),
            key=lambda r: (r["agent"] is None, r["agent"] or ""),
        )

    def opt_outs(self) -> list[dict[str, Any]]:
        """The register, newest first."""
        with read(self._engine) as conn:
            return [dict(row) for row in cq.list_opt_outs(conn)]

    def opt_out(self, number: str, *, actor: str, now: datetime) -> str:
        """Put a number in the register by hand; returns it as stored.

        Raises:
            InvalidInput: not a phone number or Telegram chat id.
        """
        address = _address(number)
        with self._engine.begin() as conn:
            cq.opt_out(
                conn,
                address=address,
                channel="admin",
                reason="added by hand",
                actor=actor,
                now=now,
            )
        return address

    def opt_in(self, number: str) -> str:
        """Take a number out of the register; returns it as stored.

        Raises:
            InvalidInput: not in the register.
        """
        address = _address(number)
        with self._engine.begin() as conn:
            if not cq.opt_in(conn, address=address):
                raise InvalidInput(f"{address} is not in the opt-out register")
        return address


def _address(number: str) -> str:
    """A phone number in E.164, or a Telegram chat id (digits, maybe a leading minus)."""
    value = number.strip()
    phone = normalise(value)
    if phone is not None:
        return phone
    if value.lstrip("-").isdigit() and len(value) <= MAX_ADDRESS:
        return value
    raise InvalidInput(f"'{value[:40]}' is not a phone number or a Telegram chat id")
