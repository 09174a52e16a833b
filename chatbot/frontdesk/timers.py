"""The clocks: FRT and SLA marks, auto-close after silence, survey expiry, backlog, hand-offs.

Every timer is derived from columns of `case` (handed_off_at, sla_due_at, updated_at...),
so nothing is lost across a restart: `due_work` reads what is due now, `TimerRunner` does it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from chatbot.agents.agent_desk import AgentDesk, Staff
from chatbot.agents.notify import Notifier
from chatbot.clock import Clock, sleep_unless
from chatbot.errors import LoketError
from chatbot.frontdesk import office_hours
from db import agent_queries as aq
from db.engine import as_utc, read
from db.turns import in_turn
from flows.front_desk import State
from flows.profiles.schema import Profile

logger = logging.getLogger(__name__)

TIMER = Staff(0, "timer", "timer")  # the actor of everything the clocks do
SURVEY_STATES = (State.SURVEY_RATING.value, State.SURVEY_COMMENT.value)
ALERT_TIMEOUT_SECONDS = 30.0
HANDOFF_CURSOR = "handoff_alerts"  # the job cursor of the hand-off announcements


@dataclass(slots=True)
class DueWork:
    """What the clocks say must happen now, for one profile's cases."""

    frt_missed: list[tuple[int, datetime]] = field(default_factory=list)  # (case, deadline)
    sla_breached: list[tuple[int, datetime]] = field(default_factory=list)
    auto_close: list[int] = field(default_factory=list)  # silent after the closing phrase
    survey_expired: list[int] = field(default_factory=list)
    backlog: int = 0
    backlog_limit: int = 0

    @property
    def backlog_over(self) -> bool:
        """More active cases than the profile allows: supervisors see a warning."""
        return self.backlog > self.backlog_limit

    def __bool__(self) -> bool:
        return bool(self.frt_missed or self.sla_breached or self.auto_close or self.survey_expired)


def due_work(conn: Connection, now: datetime, profile: Profile) -> DueWork:
    """Read what is due at `now`; changes nothing (the runner does the work)."""
    frt = aq.list_frt_due(
        conn,
        profile=profile.name,
        handed_off_before=now - timedelta(minutes=profile.first_response_minutes),
    )
    sla = aq.list_sla_due(conn, profile=profile.name, now=now)
    # A working-time deadline is never earlier than the calendar one the query used.
    deadlines = [
        (r["id"], office_hours.frt_deadline(profile, _at(r["handed_off_at"]))) for r in frt
    ]
    return DueWork(
        frt_missed=[(case_id, due) for case_id, due in deadlines if due <= now],
        sla_breached=[(r["id"], _at(r["sla_due_at"])) for r in sla],
        auto_close=aq.list_silent(
            conn,
            profile=profile.name,
            states=(State.AWAITING_CONFIRMATION.value,),
            quiet_since=now - timedelta(minutes=profile.auto_close_minutes),
        ),
        survey_expired=aq.list_silent(
            conn,
            profile=profile.name,
            states=SURVEY_STATES,
            quiet_since=now - timedelta(minutes=profile.survey_expiry_minutes),
        ),
        backlog=aq.count_backlog(conn),
        backlog_limit=profile.backlog_limit,
    )


def _at(moment: datetime | None) -> datetime:
    value = as_utc(moment)
    assert value is not None  # the queries select rows where it is set
    return value


@dataclass(slots=True)
class TickReport:
    """What one tick did (tests and logs)."""

    frt_missed: list[int] = field(default_factory=list)
    sla_breached: list[int] = field(default_factory=list)
    auto_closed: list[int] = field(default_factory=list)
    surveys_expired: list[int] = field(default_factory=list)
    assigned: list[tuple[int, str]] = field(default_factory=list)
    backlog_over: bool = False


class TimerRunner:
    """Applies due work every few seconds; notifies the team of new hand-offs."""

    def __init__(
        self,
        engine: Engine,
        agents: AgentDesk,
        clock: Clock,
        notifier: Notifier | None = None,
        *,
        auto_assign: bool = False,
        public_url: str = "",
    ) -> None:
        self._engine = engine
        self._agents = agents
        self._clock = clock
        self._notifier = notifier
        self._auto_assign = auto_assign
        self._public = public_url.rstrip("/")
        self._backlog_over = False

    def use_notifier(self, notifier: Notifier) -> None:
        """Announce hand-offs through this notifier (the app builds it in its lifespan)."""
        self._notifier = notifier

    def tick(self) -> TickReport:
        """Do everything that is due now, each case in its own transaction."""
        report = TickReport()
        now = self._clock.now()
        for name in self._agents.desk.profiles:
            profile = self._agents.profile(name)
            with read(self._engine) as conn:
                work = due_work(conn, now, profile)
            report.backlog_over = report.backlog_over or work.backlog_over
            self._mark(work, report)
            for case_id in work.auto_close:
                if self._expire(case_id, State.AWAITING_CONFIRMATION.value, profile, now):
                    report.auto_closed.append(case_id)
            for case_id in work.survey_expired:
                if self._expire(case_id, None, profile, now):
                    report.surveys_expired.append(case_id)
        if self._auto_assign:
            report.assigned = self._agents.auto_assign()
        if report.backlog_over != self._backlog_over:
            self._backlog_over = report.backlog_over
            if report.backlog_over:
                logger.warning("Backlog: more active cases than the profile's limit.")
        return report

    def _mark(self, work: DueWork, report: TickReport) -> None:
        with self._engine.begin() as conn:
            for case_id, deadline in work.frt_missed:
                if aq.mark_clock(conn, case_id=case_id, column="frt_missed_at", at=deadline):
                    self._agents.record_event(conn, case_id, "frt_missed", TIMER.name)
                    report.frt_missed.append(case_id)
            for case_id, deadline in work.sla_breached:
                if aq.mark_clock(conn, case_id=case_id, column="sla_breached_at", at=deadline):
                    self._agents.record_event(conn, case_id, "sla_breached", TIMER.name)
                    report.sla_breached.append(case_id)

    def _expire(self, case_id: int, state: str | None, profile: Profile, now: datetime) -> bool:
        """Fire timer_expired if the case is still silent in the state it was read in."""
        with self._agents.desk.transaction() as conn:  # the step service: edits in force
            case = aq.get_case(conn, case_id=case_id, lock=True)
            if case is None or case["closed_at"] is not None:
                return False
            wanted = (state,) if state is not None else SURVEY_STATES
            minutes = (
                profile.auto_close_minutes if state is not None else profile.survey_expiry_minutes
            )
            quiet = as_utc(case["updated_at"])
            if case["state"] not in wanted or quiet is None:
                return False
            if quiet > now - timedelta(minutes=minutes):  # the client wrote meanwhile
                return False
            try:
                self._agents.fire(conn, case_id, "timer_expired", TIMER)
            except LoketError:
                logger.exception("Case %s: the timer could not expire it.", case_id)
                return False
        logger.info("Case %s: %s expired after silence.", case_id, case["state"])
        return True

    def new_handoffs(self) -> list[dict[str, Any]]:
        """Cases that entered the queue since any worker last announced (the first run starts).

        The cursor lives in the database: a restart repeats nothing and announces the
        hand-offs made while no server ran; of several workers, one claims each batch.
        """
        try:
            with self._engine.begin() as conn:
                cursor = aq.read_cursor(conn, name=HANDOFF_CURSOR)
                if cursor is None:
                    aq.start_cursor(conn, name=HANDOFF_CURSOR, value=aq.last_event_id(conn))
                    return []
                rows = aq.list_events_after(conn, after_id=cursor, kinds=("queued",))
                if not rows or not aq.move_cursor(
                    conn, name=HANDOFF_CURSOR, old=cursor, new=int(rows[-1]["id"])
                ):
                    return []
        except IntegrityError:  # another worker created the cursor at the same moment
            return []
        return [dict(r) for r in rows]

    def handoff_text(self, event: dict[str, Any]) -> str:
        """The alert agents get in their Telegram group / Discord for one hand-off."""
        case_id = event["case_id"]
        return (
            f"Kasus #{case_id} masuk antrean ({event['detail'] or 'queued'}). "
            f"{self._public}/desk/cases/{case_id}"
        )

    async def run_once(self) -> TickReport:
        """One tick, then the hand-off alerts."""
        report: TickReport = await in_turn(self.tick)
        handoffs: list[dict[str, Any]] = await in_turn(self.new_handoffs)
        notifier = self._notifier
        if notifier is not None and notifier.destinations and handoffs:
            posts = (notifier.post(self.handoff_text(event)) for event in handoffs)
            try:  # a slow Discord or Telegram must not hold the clocks back for long
                await asyncio.wait_for(asyncio.gather(*posts), ALERT_TIMEOUT_SECONDS)
            except TimeoutError:
                logger.warning("Hand-off alerts got no answer in time; not sent again.")
        return report

    async def run(self, poll_seconds: float, stop: asyncio.Event) -> None:
        """Tick until `stop` is set; a failing tick is logged, never fatal."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                logger.exception("Timer tick failed; retrying on the next one.")
            await sleep_unless(stop, poll_seconds)
