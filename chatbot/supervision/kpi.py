"""The supervisors' KPIs over a period, for the team and per agent; formulas in docs/kpi.md.

Every figure is computed from the case clocks (docs/agent-desk.md, "Clocks") with
one compact query per table: the database does the date arithmetic and hands back numbers,
so a month of tens of thousands of cases costs a few hundred milliseconds, and each figure
keeps the ids of the cases behind it for the drill-down.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import gc
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    DateTime,
    Numeric,
    Table,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy import cast as sa_cast
from sqlalchemy.sql.elements import ColumnElement

from chatbot.frontdesk import office_hours
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
BACKLOG_STATES = ("queued", "with_agent", "escalated")  # waiting for, or in, an agent's hands
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


# The years a report may ask for: wide enough for any desk, narrow enough that a period's
# local midnights (a day before, a month after) never fall outside what datetime can hold.
YEARS = range(1970, 3000)


def _in_years(text: str, year: int) -> None:
    if year not in YEARS:
        raise ValueError(f"'{text}' is outside the years {YEARS.start}-{YEARS.stop - 1}")


def parse_month(text: str) -> tuple[int, int]:
    """'YYYY-MM' as (year, month); ValueError with a reason otherwise."""
    try:
        moment = datetime.strptime(text, "%Y-%m")  # noqa: DTZ007  # a calendar month, no moment
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a month (YYYY-MM)") from exc
    _in_years(text, moment.year)
    return moment.year, moment.month


def parse_day(text: str) -> date:
    """'YYYY-MM-DD' as a date; ValueError with a reason otherwise."""
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a date (YYYY-MM-DD)") from exc
    _in_years(text, day.year)
    return day


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


@dataclass(slots=True)
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
    comment: str | None = None
    spam: bool = False  # closed as spam: left out of every figure
    cancelled: bool = False  # called off by the client (cancelled_by_client, ...)

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
    return func.round(sa_cast(func.extract("epoch", later - earlier), Numeric), 3)


def _epoch(dialect: str, moment: Any) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return (func.julianday(moment) - 2440587.5) * 86400.0
    return func.extract("epoch", moment)


def _now_param(now: datetime) -> Any:
    return bindparam("as_of", now, type_=DateTime(timezone=True))


def case_facts(
    conn: Connection,
    period: Period,
    now: datetime,
    *,
    case_ids: Sequence[int] | None = None,
    profile: Profile | None = None,
) -> list[CaseFacts]:
    """The cases opened in the period, reduced to numbers the KPIs need.

    With a profile whose clocks count working time only, the first-response and waiting
    durations are working seconds (chatbot/frontdesk/office_hours.py), as the timers count.
    """
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
    reason = func.coalesce(c.closed_reason, "")
    query = (
        select(  # in CaseFacts' field order, so each row builds one without names
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
            literal_column("0").label("reopened"),
            SURVEY.c.rating,
            _epoch(dialect, c.opened_at).label("opened_epoch"),
            SURVEY.c.comment,
            reason.in_(SPAM_REASONS).label("spam"),
            reason.startswith("cancelled").label("cancelled"),
        )
        .select_from(CASE.outerjoin(SURVEY, SURVEY.c.case_id == c.id))
        .where(c.opened_at >= period.start, c.opened_at < period.end)
        .order_by(c.opened_at, c.id)  # the opened_at index's own order: no sort
    )
    if case_ids is not None:
        query = query.where(c.id.in_(list(case_ids)))
    rows = conn.execute(query).all()
    if dialect == "sqlite":
        facts = [CaseFacts(*row) for row in rows]
    else:  # PostgreSQL hands back numerics as Decimal
        facts = [CaseFacts(*_numbers_as_floats(tuple(row))) for row in rows]
    reopened = _reopened_stops(conn, period)
    if reopened:
        for index, fact in enumerate(facts):
            if fact.id in reopened:
                facts[index] = dataclasses.replace(
                    fact, reopened=True, sla=_reopened_sla(*reopened[fact.id], now=now)
                )
    if profile is not None and office_hours.counts_working_time(profile):
        _on_working_clock(conn, facts, period, profile, now)
    return facts


def _on_working_clock(
    conn: Connection, facts: list[CaseFacts], period: Period, profile: Profile, now: datetime
) -> None:
    """Replace the handed-off cases' FRT and wait by working seconds, in place."""
    index = {f.id: i for i, f in enumerate(facts) if f.handed_off}
    if not index:
        return
    c = CASE.c
    rows = conn.execute(
        select(c.id, c.handed_off_at, c.first_response_at, c.closed_at).where(
            c.opened_at >= period.start, c.opened_at < period.end, c.handed_off_at.is_not(None)
        )
    )
    for r in rows:
        if r.id not in index:
            continue
        handed = as_utc(r.handed_off_at)
        if handed is None:
            continue
        first, closed = as_utc(r.first_response_at), as_utc(r.closed_at)
        i = index[r.id]
        facts[i] = dataclasses.replace(
            facts[i],
            frt_s=office_hours.working_seconds(profile, handed, first) if first else None,
            wait_s=office_hours.working_seconds(profile, handed, closed or now),
        )


def _numbers_as_floats(row: tuple[Any, ...]) -> tuple[Any, ...]:
    floats = (8, 9, 14)  # frt_s, wait_s, opened_epoch
    return tuple(float(v) if i in floats and v is not None else v for i, v in enumerate(row))


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
    """The figures of one set of cases (the team's, or one agent's), against the profile.

    One pass over the cases: the month's team card goes through tens of thousands.
    """
    targets = profile.kpi
    target_s = profile.first_response_minutes * 60
    frt_judged: list[int] = []
    frt_values: list[float] = []
    responded: list[int] = []
    frt_miss: list[int] = []
    sla_judged: list[int] = []
    sla_miss: list[int] = []
    rated: list[int] = []
    low: list[int] = []
    ratings_sum = 0
    esc_base: list[int] = []
    escalated: list[int] = []
    counts = dict.fromkeys(
        ("cases", "spam", "cancelled", "handed_off", "resolved", "closed", "reopened"), 0
    )
    categories = {"easy": 0, "normal": 0, "hard": 0}
    for f in facts:
        if f.spam:
            counts["spam"] += 1
            continue
        counts["cases"] += 1
        if f.category in categories:
            categories[f.category] += 1
        if f.closed:
            counts["closed"] += 1
        if f.reopened:
            counts["reopened"] += 1
        if f.sla == "met" or f.closed_reason in RESOLVED_REASONS:
            counts["resolved"] += 1
        if f.handed_off:
            counts["handed_off"] += 1
            if f.frt_s is not None:
                frt_judged.append(f.id)
                responded.append(f.id)
                frt_values.append(f.frt_s)
                if f.frt_s > target_s:
                    frt_miss.append(f.id)
            elif f.wait_s is not None and f.wait_s > target_s:
                frt_judged.append(f.id)
                frt_miss.append(f.id)
        if f.rating is not None:
            rated.append(f.id)
            ratings_sum += f.rating
            if f.rating < 4:
                low.append(f.id)
        if f.cancelled:
            counts["cancelled"] += 1
            continue
        if f.sla == "met" or f.sla == "missed":
            sla_judged.append(f.id)
            if f.sla == "missed":
                sla_miss.append(f.id)
        esc_base.append(f.id)
        if f.escalated:
            escalated.append(f.id)
    qa_values = [score for _, _, score in qa]
    median = round(statistics.median(frt_values) / 60.0, 4) if frt_values else None
    figures = {
        "frt_median": Figure(
            "frt_median",
            median,
            float(profile.first_response_minutes),
            "<=",
            tuple(responded),
            tuple(frt_miss),
        ),
        "frt_within": Figure(
            "frt_within",
            _pct(len(frt_judged) - len(frt_miss), len(frt_judged)),
            targets.frt_within_percent,
            ">=",
            tuple(frt_judged),
            tuple(frt_miss),
        ),
        "sla_met": Figure(
            "sla_met",
            _pct(len(sla_judged) - len(sla_miss), len(sla_judged)),
            targets.sla_met_percent,
            ">=",
            tuple(sla_judged),
            tuple(sla_miss),
        ),
        "csat_average": Figure(
            "csat_average",
            round(ratings_sum / len(rated), 4) if rated else None,
            targets.csat_average,
            ">=",
            tuple(rated),
            tuple(low),
        ),
        "csat_good": Figure(
            "csat_good",
            _pct(len(rated) - len(low), len(rated)),
            targets.csat_good_percent,
            ">=",
            tuple(rated),
            tuple(low),
        ),
        "backlog": Figure(
            "backlog", float(len(backlog)), float(profile.backlog_limit), "<", tuple(backlog)
        ),
        "escalation_rate": Figure(
            "escalation_rate",
            _pct(len(escalated), len(esc_base)),
            targets.escalation_rate_percent,
            "<",
            tuple(esc_base),
            tuple(escalated),
        ),
        "qa_score": Figure(
            "qa_score",
            round(sum(qa_values) / len(qa_values), 2) if qa_values else None,
            targets.qa_score,
            ">=",
            tuple(cid for cid, _, _ in qa),
            tuple(cid for cid, _, score in qa if score < targets.qa_score),
        ),
    }
    counts.update(
        escalated=len(escalated), rated=len(rated), reviewed=len(qa_values), **categories
    )
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
    with _no_cyclic_gc():
        return _compute(conn, profile, period, now=now, charts=charts)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a month's facts are built.

    Tens of thousands of small objects without cycles make it run again and again over the
    same objects: about a fifth of the dashboard's time. Reference counting still frees
    memory as usual; the collector resumes afterwards.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _compute(
    conn: Connection, profile: Profile, period: Period, *, now: datetime, charts: bool
) -> KpiReport:
    facts = case_facts(conn, period, now, profile=profile)
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
        comments=[(f.id, f.rating, f.comment) for f in facts if f.comment and not f.spam],
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
    """Per local day: cases by category, FRT within target %, SLA met %.

    The same rules as `scorecard`, counted in one pass (a month has tens of thousands).
    """
    target_s = profile.first_response_minutes * 60
    # Local midnights as epoch seconds: a case's day is found by bisecting, not by building
    # a datetime per case.
    days = period.days(zone)
    bounds = [local_midnight(day, zone).timestamp() for day in days]
    keys = ("easy", "normal", "hard", "uncategorised", "frt_n", "frt_ok", "sla_n", "sla_ok")
    tally = [dict.fromkeys(keys, 0) for _ in days]
    for f in facts:
        if f.spam:
            continue
        index = bisect.bisect_right(bounds, f.opened_epoch) - 1
        if index < 0:
            continue
        day = tally[index]
        day[f.category if f.category in ("easy", "normal", "hard") else "uncategorised"] += 1
        if f.handed_off:
            if f.frt_s is not None:
                day["frt_n"] += 1
                day["frt_ok"] += f.frt_s <= target_s
            elif f.wait_s is not None and f.wait_s > target_s:
                day["frt_n"] += 1
        if not f.cancelled and f.sla in ("met", "missed"):
            day["sla_n"] += 1
            day["sla_ok"] += f.sla == "met"
    return [
        {
            "day": day.isoformat(),
            "easy": t["easy"],
            "normal": t["normal"],
            "hard": t["hard"],
            "uncategorised": t["uncategorised"],
            "frt_within": _pct(t["frt_ok"], t["frt_n"]),
            "sla_met": _pct(t["sla_ok"], t["sla_n"]),
        }
        for day, t in zip(days, tally, strict=True)
    ]


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
    dialect = conn.dialect.name
    end_col = func.coalesce(c.resolved_at, c.closed_at)
    query = select(
        _epoch(dialect, c.handed_off_at).label("began"),
        _epoch(dialect, end_col).label("ended"),
    ).where(
        c.handed_off_at.is_not(None),
        c.handed_off_at < hours[-1],
        or_(end_col.is_(None), end_col > start),
        c.opened_at >= start - timedelta(days=31),  # bounded by the opened_at index
    )
    spans = [
        (float(r.began), float(r.ended) if r.ended is not None else None)
        for r in conn.execute(query)
    ]
    points = []
    for moment in hours:
        at = moment.timestamp()
        count = sum(1 for began, ended in spans if began <= at and (ended is None or ended > at))
        points.append((moment.astimezone(zone).strftime("%H:%M"), count))
    return points
