"""Quality review (ERZAP QA score, Telkom "tapping"): a sample per agent, a rubric, a score.

The sample is deterministic (a hash of agent, window and case), so two reviewers opening the
page see the same cases. Items the record can decide are pre-filled; the reviewer confirms or
overrides each one and the weighted score is stored in `qareview`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, select, update

from chatbot.clock import Clock
from chatbot.errors import LoketError
from chatbot.supervision import kpi
from db import campaign_queries
from db.engine import as_utc, read
from db.queries import CASE, MESSAGE
from flows import phrase_keys
from flows.profiles.schema import Profile, QaItem


class ReviewRefused(LoketError):
    """A review that cannot be stored: unknown case, case not closed, or a missing item."""


@dataclass(frozen=True, slots=True)
class ItemAnswer:
    """One rubric line of one review: what the record said, and what the reviewer decided."""

    item: QaItem
    prefilled: bool | None  # None: the record cannot tell, the reviewer decides
    ok: bool | None = None

    @property
    def overridden(self) -> bool:
        """The reviewer disagreed with the record."""
        return self.prefilled is not None and self.ok is not None and self.ok != self.prefilled


@dataclass(frozen=True, slots=True)
class Review:
    """A stored review, as the pages show it."""

    case_id: int
    agent_id: int | None
    reviewer: str
    score: float
    comment: str | None
    items: dict[str, dict[str, Any]]
    created_at: datetime


def score(rubric: tuple[QaItem, ...], answers: dict[str, bool]) -> float:
    """The weighted share of items met, 0-100, to 2 decimals."""
    total = sum(item.weight for item in rubric)
    met = sum(item.weight for item in rubric if answers.get(item.key))
    return round(100.0 * met / total, 2) if total else 0.0


def sample_window(profile: Profile, now: datetime) -> kpi.Period:
    """The last `qa_period_days` whole local days up to and including today."""
    zone = ZoneInfo(profile.timezone)
    today = now.astimezone(zone).date()
    return kpi.range_period(today - timedelta(days=profile.qa_period_days - 1), today, zone)


class QualityReview:
    """Samples, pre-fills and stores reviews for one desk."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def sample(
        self, profile: Profile, agent_id: int, *, campaign_id: int | None = None
    ) -> list[int]:
        """Closed cases of this agent in the window, `qa_sample_size` of them, same every time.

        Reviewed cases stay in the sample (so the page shows them as done) and the choice does
        not move when new cases close, except for cases entering the window. With a
        campaign, only the cases its replies opened (the QC officer's tapping of a campaign,
        docs/campaigns.md).
        """
        window = sample_window(profile, self._clock.now())
        c = CASE.c
        query = select(c.id).where(
            c.assignee_id == agent_id,
            c.closed_at.is_not(None),
            c.closed_at >= window.start,
            c.closed_at < window.end,
            c.closed_reason.not_in(kpi.SPAM_REASONS),
        )
        if campaign_id is not None:
            query = query.where(c.id.in_(campaign_queries.cases_of_campaign(campaign_id)))
        with read(self._engine) as conn:
            ids = conn.execute(query).scalars()

            def draw(case_id: int) -> str:
                key = f"{agent_id}:{window.start.isoformat()}:{case_id}"
                return hashlib.sha256(key.encode()).hexdigest()

            return sorted(sorted(ids, key=draw)[: profile.qa_sample_size])

    def prefill(self, profile: Profile, case_id: int) -> list[ItemAnswer]:
        """The rubric with the items the record decides already answered."""
        with read(self._engine) as conn:
            decided = self._decided(conn, profile, case_id)
        return [
            ItemAnswer(item, decided.get(item.auto) if item.auto else None)
            for item in profile.qa_rubric
        ]

    def _decided(self, conn: Connection, profile: Profile, case_id: int) -> dict[str, bool | None]:
        row = conn.execute(select(CASE.c.opened_at).where(CASE.c.id == case_id)).one_or_none()
        if row is None:
            raise ReviewRefused(f"no case {case_id}")
        start = as_utc(row.opened_at) or self._clock.now()
        period = kpi.Period(start, start + timedelta(microseconds=1), f"case {case_id}")
        facts = kpi.case_facts(
            conn, period, self._clock.now(), case_ids=[case_id], profile=profile
        )
        fact = facts[0] if facts else None
        target_s = profile.first_response_minutes * 60
        frt: bool | None = None
        if fact is not None and fact.handed_off:
            if fact.frt_s is not None:
                frt = fact.frt_s <= target_s
            elif fact.wait_s is not None and fact.wait_s > target_s:
                frt = False
        sla = {"met": True, "missed": False}.get(fact.sla) if fact else None
        out = conn.execute(
            select(MESSAGE.c.phrase_key, MESSAGE.c.author).where(
                MESSAGE.c.case_id == case_id, MESSAGE.c.direction == "out"
            )
        ).all()
        keys = [m.phrase_key or "" for m in out]
        agent_keys = [m.phrase_key for m in out if m.author != "bot"]
        # An agent greets with the console's standard greeting; a case the bot handled alone
        # counts the bot's greeting.
        greeted = (
            phrase_keys.AGENT_GREETING in agent_keys
            if agent_keys
            else any(k.startswith("greeting.") for k in keys)
        )
        return {
            "frt_met": frt,
            "sla_met": sla,
            "survey_sent": phrase_keys.SURVEY_ASK_RATING in keys,
            "greeting_phrase": greeted,
            "closing_phrase": any(k.startswith("closing.") for k in keys),
            # Agents' own replies chosen from the phrase book carry its key.
            "standard_phrases": bool(agent_keys) and all(agent_keys),
        }

    def save(
        self,
        profile: Profile,
        case_id: int,
        reviewer: str,
        answers: dict[str, bool],
        comment: str | None = None,
    ) -> Review:
        """Store (or replace) the review of a closed case; the score is weighted by the rubric.

        Raises:
            ReviewRefused: the case is unknown or still open, or an item is unanswered.
        """
        missing = [item.key for item in profile.qa_rubric if item.key not in answers]
        if missing:
            raise ReviewRefused(f"answer every item: {', '.join(missing)}")
        prefilled = {a.item.key: a.prefilled for a in self.prefill(profile, case_id)}
        items = {
            item.key: {
                "label": item.label,
                "weight": item.weight,
                "ok": bool(answers[item.key]),
                "prefilled": prefilled.get(item.key),
            }
            for item in profile.qa_rubric
        }
        value = score(profile.qa_rubric, answers)
        now = self._clock.now()
        text = (comment or "").strip() or None
        with self._engine.begin() as conn:
            case = conn.execute(
                select(CASE.c.closed_at, CASE.c.assignee_id).where(CASE.c.id == case_id)
            ).one_or_none()
            if case is None:
                raise ReviewRefused(f"no case {case_id}")
            if case.closed_at is None:
                raise ReviewRefused(f"case {case_id} is still open")
            values = {
                "agent_id": case.assignee_id,
                "reviewer": reviewer,
                "items_json": json.dumps(items, ensure_ascii=False),
                "score": value,
                "comment": text,
                "updated_at": now,
            }
            done = conn.execute(update(kpi.QA).where(kpi.QA.c.case_id == case_id).values(**values))
            if not done.rowcount:
                conn.execute(insert(kpi.QA).values(case_id=case_id, created_at=now, **values))
        return Review(case_id, case.assignee_id, reviewer, value, text, items, now)

    def reviews(self, *, agent_id: int | None = None, limit: int = 200) -> list[Review]:
        """Newest reviews first; one agent's own when `agent_id` is given."""
        query = select(kpi.QA).order_by(kpi.QA.c.updated_at.desc()).limit(limit)
        if agent_id is not None:
            query = query.where(kpi.QA.c.agent_id == agent_id)
        with read(self._engine) as conn:
            return [
                Review(
                    r.case_id,
                    r.agent_id,
                    r.reviewer,
                    float(r.score),
                    r.comment,
                    json.loads(r.items_json),
                    r.created_at,
                )
                for r in conn.execute(query)
            ]

    def review_of(self, case_id: int) -> Review | None:
        """The review of one case, if any."""
        with read(self._engine) as conn:
            r = conn.execute(select(kpi.QA).where(kpi.QA.c.case_id == case_id)).one_or_none()
        if r is None:
            return None
        return Review(
            r.case_id, r.agent_id, r.reviewer, float(r.score), r.comment,
            json.loads(r.items_json), r.created_at,
        )  # fmt: skip
