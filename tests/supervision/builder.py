"""Hand-built cases: the client side through the real Desk.receive, the agent side in SQL.

The agent desk writes the clock columns and events; these tests write them directly, as
docs/agent-desk.md ("Clocks") defines them, to build exact cases cheaply.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update

from chatbot.frontdesk.desk import Desk
from chatbot.supervision.kpi import ESCALATION, EVENT, QA, USER
from db import queries
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock

_chats = itertools.count(1)


class CaseBuilder:
    """Builds cases at chosen moments; every method takes the moment it happens at."""

    def __init__(self, desk: Desk, engine: Engine, clock: FrozenClock) -> None:
        self.desk = desk
        self.engine = engine
        self.clock = clock

    def at(self, moment: datetime) -> None:
        self.clock._now = moment  # the frozen clock only moves forward in tests; set it

    def user(self, name: str, role: str = "agent") -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(USER).values(
                        name=name,
                        role=role,
                        password_hash="x",
                        active=True,
                        created_at=self.clock.now(),
                    )
                ).inserted_primary_key[0]
            )

    def client_case(
        self, at: datetime, *, name: str = "Budi", chat_id: str | None = None
    ) -> tuple[int, ChatDriver]:
        """A client greets and asks for a human: the case is queued at `at`."""
        chat = ChatDriver(self.desk, self.engine, chat_id=chat_id or f"client-{next(_chats)}")
        self.at(at)
        receipt = chat.client_says("halo kak", sender_name=name)
        chat.client_says("mau bicara dengan cs")
        assert receipt.case_id is not None
        return receipt.case_id, chat

    def set(self, case_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(queries.CASE).where(queries.CASE.c.id == case_id).values(**values))

    def event(
        self,
        case_id: int,
        kind: str,
        at: datetime,
        actor: str = "timer",
        detail: str | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(EVENT).values(case_id=case_id, kind=kind, at=at, actor=actor, detail=detail)
            )

    def hand_off(self, case_id: int, at: datetime | None = None) -> datetime:
        with self.engine.connect() as conn:
            queued = conn.execute(
                select(queries.CASE.c.queued_at).where(queries.CASE.c.id == case_id)
            ).scalar_one()
        moment = at or queued
        self.set(case_id, handed_off_at=moment)
        self.event(case_id, "queued", moment, actor="bot", detail="client asked")
        return moment

    def classify(self, case_id: int, category: str, sla_minutes: int, opened_at: datetime) -> None:
        self.set(
            case_id,
            category=category,
            sla_minutes=sla_minutes,
            sla_due_at=opened_at + timedelta(minutes=sla_minutes),
        )

    def agent_reply(
        self,
        case_id: int,
        agent_id: int,
        agent: str,
        at: datetime,
        *,
        first: bool = True,
        phrase_key: str | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(
                select(queries.CASE.c.channel, queries.CASE.c.chat_id).where(
                    queries.CASE.c.id == case_id
                )
            ).one()
            conn.execute(
                insert(queries.MESSAGE).values(
                    case_id=case_id,
                    channel=row.channel,
                    chat_id=row.chat_id,
                    direction="out",
                    text="Baik kak, saya cek dulu ya.",
                    author=agent,
                    phrase_key=phrase_key,
                    status="sent",
                    created_at=at,
                )
            )
        if first:
            self.set(
                case_id,
                assignee_id=agent_id,
                assigned_at=at,
                first_response_at=at,
                first_response_by=agent_id,
                state="with_agent",
            )
            self.event(case_id, "replied", at, actor=agent)

    def resolve(self, case_id: int, agent: str, at: datetime, *, first: bool = True) -> None:
        if first:
            self.set(case_id, resolved_at=at, resolved_by=agent, state="awaiting_confirmation")
        else:
            self.set(case_id, state="awaiting_confirmation")
        self.event(case_id, "resolved", at, actor=agent)

    def escalate(self, case_id: int, agent: str, at: datetime, area: str = "POS") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(ESCALATION).values(
                    case_id=case_id,
                    area=area,
                    outlet="toko.erzap.id",
                    detail="stok minus",
                    status="open",
                    filed_by=agent,
                    created_at=at,
                    updated_at=at,
                )
            )
        self.event(case_id, "escalated", at, actor=agent, detail=area)

    def review(self, case_id: int, agent_id: int, score: float, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(QA).values(
                    case_id=case_id,
                    agent_id=agent_id,
                    reviewer="sri",
                    items_json="{}",
                    score=score,
                    created_at=at,
                    updated_at=at,
                )
            )


def utc(hour: int, minute: int = 0, second: int = 0, day: int = 23) -> datetime:
    """A moment on November `day` 2026, UTC (10:00 in Jakarta is 03:00 UTC)."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


NOW = utc(6)  # 13:00 in Jakarta


def standard_day(b: CaseBuilder) -> dict[str, Any]:
    """One day at the desk with every edge: cancelled, reopened, escalated, closed by
    silence, spam, still open, bot only, and a case of the day before.
    """
    ani = b.user("ani")
    budi = b.user("budi")
    b.user("sri", role="qc")

    # A: answered in 1 min, normal, resolved in time, confirmed, rated 5.
    a, chat_a = b.client_case(utc(3), name="Ani Client")
    b.hand_off(a)
    b.classify(a, "normal", 120, utc(3))
    b.agent_reply(a, ani, "ani", utc(3, 1), phrase_key="agent.greeting")
    b.resolve(a, "ani", utc(3, 30))
    b.at(utc(3, 31))
    chat_a.client_says("ya")
    chat_a.client_says("5")
    chat_a.client_says("mantap kak")

    # B: answered in 4 min (FRT missed), hard, escalated, resolved, closed by silence.
    bb, _ = b.client_case(utc(3, 10))
    b.hand_off(bb)
    b.classify(bb, "hard", 720, utc(3, 10))
    b.agent_reply(bb, ani, "ani", utc(3, 14))
    b.escalate(bb, "ani", utc(3, 20))
    b.resolve(bb, "ani", utc(5, 30))
    b.set(
        bb,
        state="closed",
        closed_at=utc(5, 50),
        closed_reason="resolved_no_reply",
        closed_by="timer",
    )
    b.event(bb, "closed", utc(5, 50), detail="resolved_no_reply")

    # C: the client calls it off one minute after the hand-off, before any reply.
    c, chat_c = b.client_case(utc(3, 20))
    b.hand_off(c)
    b.classify(c, "normal", 120, utc(3, 20))
    b.at(utc(3, 21))
    chat_c.client_says("batal")

    # D: answered at exactly 2 min, easy, resolved, reopened, resolved again too late.
    d, chat_d = b.client_case(utc(4))
    b.hand_off(d)
    b.classify(d, "easy", 30, utc(4))
    b.agent_reply(d, budi, "budi", utc(4, 2))
    b.resolve(d, "budi", utc(4, 10))
    b.event(d, "reopened", utc(4, 15), actor="client")
    b.set(d, state="with_agent")
    b.resolve(d, "budi", utc(5), first=False)
    b.at(utc(5, 1))
    chat_d.client_says("ya")
    chat_d.client_says("3")
    chat_d.client_says("lama sekali")

    # E: waiting in the queue for an hour, nobody answered.
    e, _ = b.client_case(utc(5))
    b.hand_off(e)
    b.classify(e, "normal", 120, utc(5))

    # F: with budi, not resolved yet, not due yet.
    f, _ = b.client_case(utc(5, 10))
    b.hand_off(f)
    b.classify(f, "hard", 720, utc(5, 10))
    b.agent_reply(f, budi, "budi", utc(5, 11))

    # G: spam.
    g, _ = b.client_case(utc(5, 20))
    b.hand_off(g)
    b.set(g, state="closed", closed_at=utc(5, 21), closed_reason="spam", closed_by="budi")

    # H: the bot greeted, the client said nothing more.
    h_chat = ChatDriver(b.desk, b.engine, chat_id=f"client-{next(_chats)}")
    b.at(utc(5, 30))
    h = h_chat.client_says("halo kak").case_id

    # Z: the day before (16:59 UTC on the 22nd is 23:59 in Jakarta): outside the period.
    z, _ = b.client_case(utc(16, 59, day=22))
    b.hand_off(z)
    b.classify(z, "easy", 30, utc(16, 59, day=22))
    b.agent_reply(z, ani, "ani", utc(17, 30, day=22))

    b.review(a, ani, 95.0, utc(5, 40))
    b.review(d, budi, 80.0, utc(5, 40))
    b.at(NOW)
    return {
        "ani": ani,
        "budi": budi,
        "A": a,
        "B": bb,
        "C": c,
        "D": d,
        "E": e,
        "F": f,
        "G": g,
        "H": h,
        "Z": z,
    }
