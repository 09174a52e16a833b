"""What the outbox dispatcher sends for campaigns: due recipients in the window, paced.

The dispatcher (chatbot/frontdesk/outbox.py) claims recipients here besides the desk's
replies, sends them through the same channels, and hands each result back the moment its
send returns. A claim leases its recipients in the database, so after a crash or restart
only the sends that were in flight can go out twice; pacing (rate, daily cap) is memory.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, RowMapping

from chatbot.campaigns import errors
from chatbot.campaigns.service import content_variables, render_text
from chatbot.clock import Clock
from chatbot.domain import DeliveryReport
from chatbot.frontdesk.office_hours import is_working_day
from db import campaign_queries as cq
from db.engine import as_utc, read
from flows.profiles.schema import Profile

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # a claimed recipient is not sent again by others before this
MAX_ATTEMPTS = 8  # temporary failures (429, 5xx, network) before a recipient is failed
DAY = timedelta(hours=24)
CAP_CHANNELS = ("whatsapp",)  # the messaging tier caps business-initiated WhatsApp only
CAP_RECOUNT_SECONDS = 10.0  # the 24-hour count is read again this often, kept in step between


SendResult = tuple["CampaignSend", str, str, float, "int | None"]  # kind, detail, wait, code


@dataclass(frozen=True, slots=True)
class CampaignSend:
    """One recipient's template message, claimed and ready for its channel."""

    recipient_id: int
    campaign_id: int
    channel: str
    chat_id: str
    template: str
    variables: str  # ContentVariables JSON
    attempts: int  # including this one
    text: str = ""  # the message itself where there are no templates (Telegram)


class _Pace:
    """A token bucket: `rate` sends a second, bursts up to one second's worth."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self._tokens = max(1.0, rate)
        self._last = now

    def available(self, now: float) -> int:
        self._tokens = min(max(1.0, self.rate), self._tokens + (now - self._last) * self.rate)
        self._last = now
        return int(self._tokens)

    def spend(self, count: int) -> None:
        self._tokens -= count


class CampaignFeed:
    """Claims campaign recipients for the outbox and records what their sends came to."""

    def __init__(
        self,
        engine: Engine,
        profile: Callable[[str], Profile],
        clock: Clock,
        *,
        daily_cap: int,
        lease: timedelta = LEASE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._profile = profile
        self._clock = clock
        self._daily_cap = daily_cap
        self._lease = lease
        self._monotonic = monotonic
        self._paces: dict[int, _Pace] = {}
        self._in_flight = 0  # claimed and not yet recorded, counted against the daily cap
        self._capped_logged: set[int] = set()
        self._unconfigured_logged: set[int] = set()
        self._cap_count: tuple[float, int] | None = None  # (read at, unique sent in 24 h)

    def claim(self, limit: int, channels: Collection[str] | None = None) -> list[CampaignSend]:
        """Lease up to `limit` due recipients of the campaigns allowed to send now.

        A scheduled campaign whose start time has come becomes running; a running one with
        no recipient left pending becomes done. Outside its daily window, on a non-working
        day, with the tier's daily cap reached, or on a channel this process has not
        configured (`channels`; None: any), a campaign claims nothing: it waits.
        """
        now = self._clock.now()
        claimed: list[CampaignSend] = []
        with read(self._engine) as conn:  # most rounds: no campaign, no write turn taken
            if not cq.active_campaigns(conn):
                return claimed
        with self._engine.begin() as conn:
            for campaign in cq.active_campaigns(conn):
                room = limit - len(claimed)
                if room <= 0:
                    break
                campaign_id = int(campaign["id"])
                if channels is not None and campaign["channel"] not in channels:
                    if campaign_id not in self._unconfigured_logged:
                        self._unconfigured_logged.add(campaign_id)
                        logger.warning(
                            "Campaign %s waits: its channel '%s' is not configured here.",
                            campaign_id,
                            campaign["channel"],
                        )
                    continue
                if campaign["state"] == "scheduled":
                    start_at = as_utc(campaign["start_at"])
                    if start_at is not None and start_at > now:
                        continue
                    cq.set_state(
                        conn,
                        campaign_id=campaign_id,
                        state="running",
                        from_states=("scheduled",),
                        now=now,
                    )
                if not self._in_window(campaign, now):
                    continue
                room = min(room, self._paced(campaign), self._under_cap(conn, campaign, now))
                if room <= 0:
                    continue
                rows = cq.claim_recipients(
                    conn, campaign_id=campaign_id, now=now, until=now + self._lease, limit=room
                )
                if not rows:
                    if not cq.has_unfinished(conn, campaign_id=campaign_id):
                        cq.set_state(
                            conn,
                            campaign_id=campaign_id,
                            state="done",
                            from_states=("running",),
                            now=now,
                        )
                        self._paces.pop(campaign_id, None)
                        logger.info("Campaign %s is done.", campaign_id)
                    continue
                pace = self._paces.get(campaign_id)
                if pace is not None:
                    pace.spend(len(rows))
                claimed.extend(self._send_of(campaign, row) for row in rows)
        self._in_flight += len(claimed)
        return claimed

    def record(self, results: list[SendResult]) -> None:
        """Store the results of sends that returned together, in one short transaction.

        The dispatcher hands over whatever returned while the previous write ran (a group
        commit), so each result is stored as soon as the database can take it. Codes that
        retrying will not fix are never retried: 63016, 131047 and 131049 fail the
        recipient with the code, 131050 (the user stopped marketing messages) puts the
        number in the opt-out register as well.
        """
        self._in_flight = max(0, self._in_flight - len(results))
        now = self._clock.now()
        sent = [(result[0].recipient_id, result[2]) for result in results if result[1] == "sent"]
        if self._cap_count is not None:
            self._cap_count = (self._cap_count[0], self._cap_count[1] + len(sent))
        with self._engine.begin() as conn:
            cq.mark_sent_many(conn, sent=sent, now=now)  # most results: one statement for all
            for result in results:
                if result[1] != "sent":
                    self._record_unsent(conn, result, now)

    def _record_unsent(self, conn: Connection, result: SendResult, now: datetime) -> None:
        send, kind, detail, wait, code = result
        if kind == "retry" and send.attempts < MAX_ATTEMPTS:
            cq.mark_retry(
                conn,
                recipient_id=send.recipient_id,
                due_at=now + timedelta(seconds=wait),
                error=detail,
            )
            return
        suppress = errors.suppresses(code)
        if suppress:
            cq.opt_out(
                conn,
                address=send.chat_id,
                channel=send.channel,
                reason=f"provider error {code}",
                actor="provider",
                now=now,
            )
        cq.mark_failed(
            conn,
            recipient_id=send.recipient_id,
            code=code,
            error=detail,
            now=now,
            state="opted_out" if suppress else "failed",
        )
        logger.warning(
            "Campaign %s: recipient %s was not sent: %s",
            send.campaign_id,
            send.recipient_id,
            detail,
        )

    def _send_of(self, campaign: RowMapping, row: RowMapping) -> CampaignSend:
        mapping = json.loads(campaign["variables_json"])
        values = json.loads(row["variables_json"])
        return CampaignSend(
            recipient_id=int(row["id"]),
            campaign_id=int(campaign["id"]),
            channel=campaign["channel"],
            chat_id=row["chat_id"],
            template=campaign["template"],
            variables=content_variables(mapping, values),
            attempts=int(row["attempts"]) + 1,
            text=(
                render_text(campaign["template"], mapping, values)
                if campaign["channel"] == "telegram"
                else ""
            ),
        )

    def _in_window(self, campaign: RowMapping, now: datetime) -> bool:
        profile = self._profile(campaign["profile"])
        local = now.astimezone(ZoneInfo(profile.timezone))
        if not campaign["every_day"] and not is_working_day(profile, local.date()):
            return False
        return in_window(local.time(), campaign["window_start"], campaign["window_end"])

    def _paced(self, campaign: RowMapping) -> int:
        rate = campaign["rate"]
        if not rate:
            return 1_000_000
        campaign_id = int(campaign["id"])
        now = self._monotonic()
        pace = self._paces.get(campaign_id)
        if pace is None or pace.rate != rate:
            pace = self._paces[campaign_id] = _Pace(float(rate), now)
        return pace.available(now)

    def _under_cap(self, conn: Any, campaign: RowMapping, now: datetime) -> int:
        if campaign["channel"] not in CAP_CHANNELS:
            return 1_000_000
        tick = self._monotonic()
        if self._cap_count is None or tick - self._cap_count[0] > CAP_RECOUNT_SECONDS:
            used = cq.unique_sent_since(conn, channel=campaign["channel"], since=now - DAY)
            self._cap_count = (tick, used)
        used = self._cap_count[1]
        room = self._daily_cap - used - self._in_flight
        if room <= 0 and int(campaign["id"]) not in self._capped_logged:
            self._capped_logged.add(int(campaign["id"]))
            logger.warning(
                "Campaign %s waits: %s unique WhatsApp recipients in 24 h reached the tier cap"
                " (LOKET_CAMPAIGN_DAILY_CAP).",
                campaign["id"],
                used,
            )
        return room


def record_campaign_delivery(conn: Connection, report: DeliveryReport, *, now: datetime) -> bool:
    """A status callback on a campaign message, in the caller's transaction; False if none.

    A failure whose code means the user stopped marketing messages (131050) opts the
    number out as well; no failure is retried from here.
    """
    row = cq.update_delivery(
        conn,
        provider_id=report.provider_id,
        status=report.status,
        code=report.code,
        error=report.error,
        now=now,
    )
    if row is None:
        return False
    if report.status == "failed" and errors.suppresses(report.code):
        cq.opt_out(
            conn,
            address=row["chat_id"],
            channel=row["channel"],
            reason=f"provider error {report.code}",
            actor="provider",
            now=now,
        )
        cq.mark_failed(
            conn,
            recipient_id=int(row["id"]),
            code=report.code,
            error=report.error or "",
            now=now,
            state="opted_out",
        )
    return True


def in_window(local: clock_time, start: str, end: str) -> bool:
    """Whether a local time falls in the "HH:MM"-"HH:MM" window (which may pass midnight)."""
    begin = _hhmm(start)
    finish = _hhmm(end)
    if begin < finish:
        return begin <= local < finish
    return local >= begin or local < finish


def _hhmm(value: str) -> clock_time:
    hours, minutes = (int(part) for part in value.split(":"))
    return clock_time.max if hours == 24 else clock_time(hours, minutes)
