"""The supervisors' KPIs over a period, for the team and per agent; formulas in docs/kpi.md.

Every figure is computed from the case clocks (see the brief's "Case clocks" contract) with
one compact query per table: the database does the date arithmetic and hands back numbers,
so a month of tens of thousands of cases costs a few hundred milliseconds, and each figure
keeps the ids of the cases behind it for the drill-down.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    DateTime,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from db.engine import as_utc
from db.models import CaseEvent, Escalation, QaReview, User
from db.queries import CASE, SURVEY
from flows.profiles.schema import Profile

EVENT = cast(Table, CaseEvent.__table__)  # type: ignore[attr-defined]
ESCALATION = cast(Table, Escalation.__table__)  # type: ignore[attr-defined]
QA = cast(Table, QaReview.__table__)  # type: ignore[attr-defined]
USER = cast(Table, User.__table__)  # type: ignore[attr-defined]

SPAM_REASONS = ("spam",)
RESOLVED_REASONS = ("resolved", "resolved_no_reply")
BACKLOG_STATES = ("queued", "with_agent")
TEAM = "Team"

Comparison = Literal["<=", ">=", "<"]
FigureKey = Literal[
    "frt_median", "frt_within", "sla_met", "csat_average", "csat_good", "backlog",
    "escalation_rate", "qa_score",
]  # fmt: skip
FIGURE_KEYS: tuple[FigureKey, ...] = (
    "frt_median",
    "frt_within",
    "sla_met",
    "csat_average",
    "csat_good",
    "backlog",
    "escalation_rate",
    "qa_score",
)
LABELS: dict[str, str] = {
    "frt_median": "First response, median (min)",
    "frt_within": "First response within target (%)",
    "sla_met": "Resolved within SLA (%)",
    "csat_average": "CSAT average (1-5)",
    "csat_good": "CSAT ratings >= 4 (%)",
    "backlog": "Backlog now (cases)",
    "escalation_rate": "Escalation rate (%)",
    "qa_score": "QA score (%)",
}


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span [start, end) in UTC, named in the desk's local time."""

    start: datetime
    end: datetime
    label: str

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period's bounds must be aware datetimes")
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")

    def days(self, zone: ZoneInfo) -> list[date]:
        """The local calendar days the period touches, in order."""
        first = self.start.astimezone(zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(zone).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC moment a local day begins."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_period(day: date, zone: ZoneInfo) -> Period:
    """One local calendar day."""
    return Period(
        local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone), day.isoformat()
    )


def range_period(first: date, last: date, zone: ZoneInfo) -> Period:
    """Local days `first` to `last`, both included."""
    if last < first:
        raise ValueError("the range ends before it starts")
    return Period(
        local_midnight(first, zone),
        local_midnight(last + timedelta(days=1), zone),
        f"{first.isoformat()} to {last.isoformat()}",
    )


def month_period(year: int, month: int, zone: ZoneInfo) -> Period:
    """One local calendar month."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return Period(
        local_midnight(first, zone), local_midnight(following, zone), f"{year}-{month:02d}"
    )


def parse_month(text: str) -> tuple[int, int]:
    """'YYYY-MM' as (year, month); ValueError with a reason otherwise."""
    try:
        moment = datetime.strptime(text, "%Y-%m")  # noqa: DTZ007  # a calendar month, no moment
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a month (YYYY-MM)") from exc
    return moment.year, moment.month


def named_period(name: str, now: datetime, zone: ZoneInfo) -> Period:
    """'today', 'week' (Monday on) or 'month' in local time, as of `now`."""
    today = now.astimezone(zone).date()
    if name == "today":
        return day_period(today, zone)
    if name == "week":
        monday = today - timedelta(days=today.weekday())
        return Period(
            local_midnight(monday, zone),
            local_midnight(monday + timedelta(days=7), zone),
            f"week of {monday.isoformat()}",
        )
    if name == "month":
        return month_period(today.year, today.month, zone)
    raise ValueError(f"unknown period '{name}' (today, week, month)")


@dataclass(frozen=True, slots=True)
class Figure:
    """One number against its target, with the cases behind it (and those that miss)."""

    key: str
    value: float | None
    target: float | None
    comparison: Comparison
    case_ids: tuple[int, ...] = ()
    miss_ids: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        """What the number is, for people."""
        return LABELS.get(self.key, self.key)

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None when there is nothing to judge yet."""
        if self.value is None or self.target is None:
            return None
        if self.comparison == "<=":
            return self.value <= self.target
        if self.comparison == "<":
            return self.value < self.target
        return self.value >= self.target


@dataclass(slots=True)
class Scorecard:
    """The KPIs of one agent, or of the team (agent_id None)."""

    name: str
    agent_id: int | None
    figures: dict[str, Figure]
    counts: dict[str, int]

    def __getitem__(self, key: str) -> Figure:
        return self.figures[key]


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """One case reduced to what the KPIs need; durations in seconds."""

    id: int
    assignee_id: int | None
    responder_id: int | None
    category: str | None
    state: str
    closed: bool
    closed_reason: str | None
    handed_off: bool
    frt_s: float | None  # first_response_at - handed_off_at
    wait_s: float | None  # (closed_at or now) - handed_off_at
    sla: Literal["met", "missed", "pending", "none"]
    escalated: bool
    reopened: bool
    rating: int | None
    opened_epoch: float

    @property
    def spam(self) -> bool:
        """Closed as spam: left out of every figure."""
        return self.closed_reason in SPAM_REASONS

    @property
    def cancelled(self) -> bool:
        """Called off by the client (cancelled_by_client, ...)."""
        return (self.closed_reason or "").startswith("cancelled")

    @property
    def agent_id(self) -> int | None:
        """The agent a case counts for: its owner."""
        return self.assignee_id


@dataclass(slots=True)
class KpiReport:
    """All figures of one period: the team, each agent, the comments and the charts' series."""

    period: Period
    as_of: datetime
    profile: str
    team: Scorecard
    agents: list[Scorecard]
    comments: list[tuple[int, int | None, str]]  # (case id, rating, comment)
    csat_distribution: dict[int, int]
    daily: list[dict[str, Any]] = field(default_factory=list)
    backlog_by_hour: list[tuple[str, int]] = field(default_factory=list)

    def scorecard(self, agent_id: int | None) -> Scorecard:
        """The team (None) or one agent's scorecard; KeyError if the agent has none."""
        if agent_id is None:
            return self.team
        for card in self.agents:
            if card.agent_id == agent_id:
                return card
        raise KeyError(agent_id)


def _seconds(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """Later - earlier in seconds, to the millisecond, computed by the database."""
    if dialect == "sqlite":
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)
    return func.round(
        func.cast(func.extract("epoch", later - earlier), literal_column("numeric")), 3
    )


def _epoch(dialect: str, moment: Any) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return (func.julianday(moment) - 2440587.5) * 86400.0
    return func.extract("epoch", moment)


def _now_param(now: datetime) -> Any:
    return bindparam("as_of", now, type_=DateTime(timezone=True))


def case_facts(
    conn: Connection, period: Period, now: datetime, *, case_ids: Sequence[int] | None = None
) -> list[CaseFacts]:
    """The cases opened in the period, reduced to numbers the KPIs need."""
    dialect = conn.dialect.name
    c = CASE.c
    as_of = _now_param(now)
    stop = func.coalesce(
        c.resolved_at, case((c.closed_reason.in_(RESOLVED_REASONS), c.closed_at), else_=None)
    )
    sla_state = case(
        (c.sla_due_at.is_(None), literal_column("'none'")),
        (stop.is_not(None) & (stop <= c.sla_due_at), literal_column("'met'")),
        (stop.is_not(None), literal_column("'missed'")),
        (c.sla_due_at <= as_of, literal_column("'missed'")),
        else_=literal_column("'pending'"),
    )
    query = (
        select(
            c.id,
            c.assignee_id,
            c.first_response_by,
            c.category,
            c.state,
            c.closed_at.is_not(None).label("closed"),
            c.closed_reason,
            c.handed_off_at.is_not(None).label("handed_off"),
            _seconds(dialect, c.first_response_at, c.handed_off_at).label("frt_s"),
            _seconds(dialect, func.coalesce(c.closed_at, as_of), c.handed_off_at).label("wait_s"),
            sla_state.label("sla"),
            exists().where(ESCALATION.c.case_id == c.id).label("escalated"),
            SURVEY.c.rating,
            _epoch(dialect, c.opened_at).label("opened_epoch"),
        )
        .select_from(CASE.outerjoin(SURVEY, SURVEY.c.case_id == c.id))
        .where(c.opened_at >= period.start, c.opened_at < period.end)
        .order_by(c.id)
    )
    if case_ids is not None:
        query = query.where(c.id.in_(list(case_ids)))
    rows = conn.execute(query).all()
    reopened = _reopened_stops(conn, period)
    facts: list[CaseFacts] = []
    for r in rows:
        sla = r.sla
        is_reopened = r.id in reopened
        if is_reopened:
            sla = _reopened_sla(*reopened[r.id], now=now)
        facts.append(
            CaseFacts(
                id=r.id,
                assignee_id=r.assignee_id,
                responder_id=r.first_response_by,
                category=r.category,
                state=r.state,
                closed=bool(r.closed),
                closed_reason=r.closed_reason,
                handed_off=bool(r.handed_off),
                frt_s=float(r.frt_s) if r.frt_s is not None else None,
                wait_s=float(r.wait_s) if r.wait_s is not None else None,
                sla=sla,
                escalated=bool(r.escalated),
                reopened=is_reopened,
                rating=r.rating,
                opened_epoch=float(r.opened_epoch),
            )
        )
    return facts


def _reopened_stops(
    conn: Connection, period: Period
) -> dict[int, tuple[datetime | None, datetime | None, datetime | None]]:
    """For reopened cases: (last reopened, last resolved event, sla_due_at)."""
    e = EVENT.c
    reopened_ids = select(e.case_id).where(e.kind == "reopened")
    query = (
        select(
            e.case_id,
            func.max(case((e.kind == "reopened", e.at), else_=None)).label("reopened_at"),
            func.max(case((e.kind == "resolved", e.at), else_=None)).label("resolved_at"),
            CASE.c.sla_due_at,
        )
        .join(CASE, CASE.c.id == e.case_id)
        .where(
            e.kind.in_(("reopened", "resolved")),
            e.case_id.in_(reopened_ids),
            CASE.c.opened_at >= period.start,
            CASE.c.opened_at < period.end,
        )
        .group_by(e.case_id, CASE.c.sla_due_at)
    )
    return {
        r.case_id: (_aware(r.reopened_at), _aware(r.resolved_at), _aware(r.sla_due_at))
        for r in conn.execute(query)
    }


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # func.max() loses SQLite's DateTime type
        value = datetime.fromisoformat(value)
    return as_utc(value)


def _reopened_sla(
    reopened_at: datetime | None,
    resolved_at: datetime | None,
    due: datetime | None,
    *,
    now: datetime,
) -> Literal["met", "missed", "pending", "none"]:
    """A reopened case stops its SLA clock only at a resolution after the last reopening."""
    if due is None:
        return "none"
    stop = resolved_at if resolved_at and reopened_at and resolved_at > reopened_at else None
    if stop is not None:
        return "met" if stop <= due else "missed"
    return "missed" if due <= now else "pending"


def backlog_now(conn: Connection) -> dict[int | None, list[int]]:
    """Open cases waiting for or with an agent, by owner (None: nobody yet)."""
    c = CASE.c
    query = (
        select(c.id, c.assignee_id)
        .where(c.closed_at.is_(None), c.state.in_(BACKLOG_STATES))
        .order_by(c.id)
    )
    found: dict[int | None, list[int]] = defaultdict(list)
    for r in conn.execute(query):
        found[r.assignee_id].append(r.id)
    return found


def qa_scores(conn: Connection, period: Period) -> list[tuple[int, int | None, float]]:
    """(case id, agent id, score) of the reviews of cases opened in the period."""
    query = (
        select(QA.c.case_id, QA.c.agent_id, QA.c.score)
        .join(CASE, CASE.c.id == QA.c.case_id)
        .where(CASE.c.opened_at >= period.start, CASE.c.opened_at < period.end)
        .order_by(QA.c.case_id)
    )
    return [(r.case_id, r.agent_id, float(r.score)) for r in conn.execute(query)]


def comments(conn: Connection, period: Period) -> list[tuple[int, int | None, str]]:
    """The survey comments of the period's cases (spam left out), oldest case first."""
    query = (
        select(SURVEY.c.case_id, SURVEY.c.rating, SURVEY.c.comment)
        .join(CASE, CASE.c.id == SURVEY.c.case_id)
        .where(
            CASE.c.opened_at >= period.start,
            CASE.c.opened_at < period.end,
            SURVEY.c.comment.is_not(None),
            SURVEY.c.comment != "",
            or_(CASE.c.closed_reason.is_(None), CASE.c.closed_reason.not_in(SPAM_REASONS)),
        )
        .order_by(SURVEY.c.case_id)
    )
    return [(r.case_id, r.rating, r.comment) for r in conn.execute(query)]


def user_names(conn: Connection) -> dict[int, str]:
    """Desk users by id."""
    return {r.id: r.name for r in conn.execute(select(USER.c.id, USER.c.name))}


def agent_ids(conn: Connection) -> list[int]:
    """Active users with the agent role, who get a scorecard even with no case."""
    query = select(USER.c.id).where(USER.c.role == "agent", USER.c.active.is_(True))
    return [r.id for r in conn.execute(query.order_by(USER.c.name))]


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def scorecard(
    name: str,
    agent_id: int | None,
    facts: Iterable[CaseFacts],
    profile: Profile,
    *,
    backlog: Sequence[int],
    qa: Sequence[tuple[int, int | None, float]],
) -> Scorecard:
    """The figures of one set of cases (the team's, or one agent's), against the profile."""
    targets = profile.kpi
    target_s = profile.first_response_minutes * 60
    counted = [f for f in facts if not f.spam]
    frt_decided = [
        f
        for f in counted
        if f.handed_off and (f.frt_s is not None or (f.wait_s is not None and f.wait_s > target_s))
    ]
    responded = [f for f in frt_decided if f.frt_s is not None]
    frt_ok = [f.id for f in responded if f.frt_s is not None and f.frt_s <= target_s]
    frt_miss = [f.id for f in frt_decided if f.id not in set(frt_ok)]
    median = (
        round(statistics.median(cast(float, f.frt_s) for f in responded) / 60.0, 4)
        if responded
        else None
    )
    sla_cases = [f for f in counted if not f.cancelled and f.sla in ("met", "missed")]
    sla_miss = [f.id for f in sla_cases if f.sla == "missed"]
    rated = [f for f in counted if f.rating is not None]
    good = [f for f in rated if (f.rating or 0) >= 4]
    esc_base = [f for f in counted if not f.cancelled]
    escalated = [f.id for f in esc_base if f.escalated]
    qa_values = [score for _, _, score in qa]
    qa_low = [cid for cid, _, score in qa if score < targets.qa_score]
    ids = [f.id for f in counted]

    def figure(
        key: str,
        value: float | None,
        target: float | None,
        comparison: Comparison,
        cases: Iterable[int],
        misses: Iterable[int] = (),
    ) -> Figure:
        return Figure(key, value, target, comparison, tuple(cases), tuple(misses))

    figures = {
        "frt_median": figure(
            "frt_median",
            median,
            float(profile.first_response_minutes),
            "<=",
            (f.id for f in responded),
            frt_miss,
        ),
        "frt_within": figure(
            "frt_within",
            _pct(len(frt_ok), len(frt_decided)),
            targets.frt_within_percent,
            ">=",
            (f.id for f in frt_decided),
            frt_miss,
        ),
        "sla_met": figure(
            "sla_met",
            _pct(len(sla_cases) - len(sla_miss), len(sla_cases)),
            targets.sla_met_percent,
            ">=",
            (f.id for f in sla_cases),
            sla_miss,
        ),
        "csat_average": figure(
            "csat_average",
            round(sum(f.rating or 0 for f in rated) / len(rated), 4) if rated else None,
            targets.csat_average,
            ">=",
            (f.id for f in rated),
            (f.id for f in rated if (f.rating or 0) < 4),
        ),
        "csat_good": figure(
            "csat_good",
            _pct(len(good), len(rated)),
            targets.csat_good_percent,
            ">=",
            (f.id for f in rated),
            (f.id for f in rated if (f.rating or 0) < 4),
        ),
        "backlog": figure(
            "backlog", float(len(backlog)), float(profile.backlog_limit), "<", backlog
        ),
        "escalation_rate": figure(
            "escalation_rate",
            _pct(len(escalated), len(esc_base)),
            targets.escalation_rate_percent,
            "<",
            (f.id for f in esc_base),
            escalated,
        ),
        "qa_score": figure(
            "qa_score",
            round(sum(qa_values) / len(qa_values), 2) if qa_values else None,
            targets.qa_score,
            ">=",
            (cid for cid, _, _ in qa),
            qa_low,
        ),
    }
    counts = {
        "cases": len(ids),
        "spam": sum(1 for f in facts if f.spam),
        "cancelled": sum(1 for f in counted if f.cancelled),
        "handed_off": sum(1 for f in counted if f.handed_off),
        "resolved": sum(
            1 for f in counted if f.sla == "met" or f.closed_reason in RESOLVED_REASONS
        ),
        "closed": sum(1 for f in counted if f.closed),
        "reopened": sum(1 for f in counted if f.reopened),
        "escalated": len(escalated),
        "rated": len(rated),
        "reviewed": len(qa_values),
        "easy": sum(1 for f in counted if f.category == "easy"),
        "normal": sum(1 for f in counted if f.category == "normal"),
        "hard": sum(1 for f in counted if f.category == "hard"),
    }
    return Scorecard(name, agent_id, figures, counts)


def compute(
    conn: Connection,
    profile: Profile,
    period: Period,
    *,
    now: datetime,
    charts: bool = True,
) -> KpiReport:
    """The team's and each agent's KPIs for the cases opened in the period, as of `now`."""
    facts = case_facts(conn, period, now)
    backlog = backlog_now(conn)
    qa = qa_scores(conn, period)
    names = user_names(conn)
    team_backlog = sorted(i for ids in backlog.values() for i in ids)
    team = scorecard(TEAM, None, facts, profile, backlog=team_backlog, qa=qa)
    by_agent: dict[int, list[CaseFacts]] = defaultdict(list)
    for f in facts:
        if f.agent_id is not None:
            by_agent[f.agent_id].append(f)
    everyone = set(by_agent) | set(agent_ids(conn)) | {a for _, a, _ in qa if a is not None}
    everyone |= {a for a in backlog if a is not None}
    agents = [
        scorecard(
            names.get(agent, f"user {agent}"),
            agent,
            by_agent.get(agent, []),
            profile,
            backlog=backlog.get(agent, []),
            qa=[item for item in qa if item[1] == agent],
        )
        for agent in everyone
    ]
    agents.sort(key=lambda card: card.name.lower())
    distribution = {star: 0 for star in range(1, 6)}
    for f in facts:
        if not f.spam and f.rating in distribution:
            distribution[f.rating] += 1
    report = KpiReport(
        period=period,
        as_of=now,
        profile=profile.name,
        team=team,
        agents=agents,
        comments=comments(conn, period),
        csat_distribution=distribution,
    )
    if charts:
        zone = ZoneInfo(profile.timezone)
        report.daily = daily_series(facts, period, profile, zone)
        report.backlog_by_hour = backlog_through_day(conn, period, now, zone)
    return report


def daily_series(
    facts: Sequence[CaseFacts], period: Period, profile: Profile, zone: ZoneInfo
) -> list[dict[str, Any]]:
    """Per local day: cases by category, FRT within target %, SLA met %."""
    by_day: dict[date, list[CaseFacts]] = defaultdict(list)
    for f in facts:
        by_day[datetime.fromtimestamp(f.opened_epoch, zone).date()].append(f)
    series = []
    for day in period.days(zone):
        card = scorecard(day.isoformat(), None, by_day.get(day, []), profile, backlog=(), qa=())
        series.append(
            {
                "day": day.isoformat(),
                "easy": card.counts["easy"],
                "normal": card.counts["normal"],
                "hard": card.counts["hard"],
                "uncategorised": card.counts["cases"]
                - card.counts["easy"]
                - card.counts["normal"]
                - card.counts["hard"],
                "frt_within": card["frt_within"].value,
                "sla_met": card["sla_met"].value,
            }
        )
    return series


def backlog_through_day(
    conn: Connection, period: Period, now: datetime, zone: ZoneInfo
) -> list[tuple[str, int]]:
    """The backlog at each local hour of the period's last day, up to `now`.

    Counted afterwards from the clocks: cases handed off and not yet resolved or closed.
    """
    last_day = period.days(zone)[-1]
    start = local_midnight(last_day, zone)
    hours = [start + timedelta(hours=h) for h in range(25)]
    hours = [h for h in hours if h <= max(now, start)]
    if not hours:
        return []
    c = CASE.c
    end_col = func.coalesce(c.resolved_at, c.closed_at)
    query = select(c.handed_off_at, end_col.label("ended")).where(
        c.handed_off_at.is_not(None),
        c.handed_off_at < hours[-1],
        or_(end_col.is_(None), end_col > start),
        and_(c.opened_at >= start - timedelta(days=31)),  # bounded by the opened_at index
    )
    spans = [(as_utc(r.handed_off_at), _aware(r.ended)) for r in conn.execute(query)]
    points = []
    for moment in hours:
        count = sum(
            1
            for began, ended in spans
            if began is not None and began <= moment and (ended is None or ended > moment)
        )
        points.append((moment.astimezone(zone).strftime("%H:%M"), count))
    return points
