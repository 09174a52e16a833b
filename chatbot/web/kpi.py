"""Supervisors' pages: the KPI dashboard with drill-down, quality review, reports, forms.

Server-rendered Jinja2 (autoescape on) with pygal SVG charts; no script. Every route needs a
login (the middleware), a role (SupervisorUser, QcUser or StaffUser) and, for forms, the CSRF
token (`verify_csrf` as a router dependency).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from chatbot.clock import Clock
from chatbot.supervision import charts, kpi, reports
from chatbot.supervision.pages import SupervisionPages
from chatbot.supervision.qa import QualityReview, ReviewRefused, sample_window
from chatbot.web.auth import QcUser, StaffUser, SupervisorUser, page_templates, verify_csrf
from chatbot.web.deps import ClockDep, ProfileDep, QaDep, RowId, RowIdQuery, SupervisionDep
from flows.profiles.schema import Profile

router = APIRouter(prefix="/desk", tags=["supervision"], dependencies=[Depends(verify_csrf)])
templates = page_templates()  # transcripts and comments are client-written, escaped
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMS = {
    "complaint": "Complaint form",
    "evaluation": "Evaluation report",
    "monitoring": "Monitoring form",
}
MAX_RANGE_DAYS = 366
PERIODS = ("today", "week", "month", "range", "day")
UNITS = {"frt_median": " min", "csat_average": " / 5", "backlog": ""}  # the rest are percent


def _figure(value: float | None, key: str) -> str:
    """A KPI figure for people: rounded, with its unit ("4.4 min", "66.7%", "3")."""
    if value is None:
        return "–"
    if key == "backlog":
        return str(round(value))
    return f"{value:.1f}{UNITS.get(key, '%')}"


def _local(value: str | datetime | None, zone: ZoneInfo, fmt: str = "%H:%M") -> str:
    """A stored moment (ISO text or datetime, UTC) in the desk's time zone."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).strftime(fmt)


templates.env.filters["figure"] = _figure
templates.env.filters["local"] = _local


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, f"supervision/{name}", context, status_code=status)


def _day(text: str | None, what: str) -> date:
    try:
        return kpi.parse_day(text or "")
    except ValueError as exc:
        raise HTTPException(400, f"{what}: {exc}") from None


def _period(
    profile: Profile, clock: Clock, period: str, first: str | None, last: str | None
) -> tuple[kpi.Period, dict[str, str]]:
    """The period the page asks for, and the query parameters that name it again."""
    zone = ZoneInfo(profile.timezone)
    if period not in PERIODS:
        raise HTTPException(422, f"the period is one of {', '.join(PERIODS[:4])}")
    if period == "range":
        start, end = _day(first, "from"), _day(last, "to")
        if end < start:
            raise HTTPException(400, "the range ends before it starts")
        if (end - start).days >= MAX_RANGE_DAYS:
            raise HTTPException(400, f"a range is at most {MAX_RANGE_DAYS} days")
        params = {"period": "range", "from": start.isoformat(), "to": end.isoformat()}
        return kpi.range_period(start, end, zone), params
    if period == "day":
        day = _day(first, "from")
        return kpi.day_period(day, zone), {"period": "day", "from": day.isoformat()}
    try:
        return kpi.named_period(period, clock.now(), zone), {"period": period}
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


PeriodName = Annotated[str, Query(max_length=16)]  # checked by _period, said on the page
FromDay = Annotated[str | None, Query(alias="from")]
ToDay = Annotated[str | None, Query(alias="to")]


@router.get("/kpi", response_class=HTMLResponse)
def dashboard(
    request: Request,
    user: SupervisorUser,
    pages: SupervisionDep,
    profile: ProfileDep,
    clock: ClockDep,
    period: PeriodName = "today",
    first: FromDay = None,
    last: ToDay = None,
) -> Response:
    """The team's and each agent's KPIs against the targets, with charts and drill-down."""
    try:
        chosen, params = _period(profile, clock, period, first, last)
    except HTTPException as exc:  # a bad range is said on the page, with the form to fix it
        asked = {"period": period, "from": first or "", "to": last or ""}
        context: dict[str, Any] = {
            "user": user,
            "report": None,
            "profile": profile,
            "params": asked,
            "error": exc.detail,
            "as_of": clock.now().astimezone(ZoneInfo(profile.timezone)),
        }
        return _page(request, "kpi.html", context, exc.status_code)
    now = clock.now()
    report = pages.kpi_report(profile, chosen, now=now)
    return _page(
        request,
        "kpi.html",
        {
            "user": user,
            "report": report,
            "profile": profile,
            "keys": kpi.FIGURE_KEYS,
            "labels": kpi.LABELS,
            "params": params,
            "charts": charts.report_charts(report),
            "as_of": now.astimezone(ZoneInfo(profile.timezone)),
        },
    )


@router.get("/kpi/cases", response_class=HTMLResponse)
def drill_down(
    request: Request,
    user: SupervisorUser,
    pages: SupervisionDep,
    profile: ProfileDep,
    clock: ClockDep,
    figure: Annotated[str, Query(max_length=32)],
    period: PeriodName = "today",
    first: FromDay = None,
    last: ToDay = None,
    agent: RowIdQuery = None,
    which: Annotated[str, Query(pattern=r"^(all|miss)$")] = "all",
) -> Response:
    """The cases behind one figure (or those that miss its target)."""
    if figure not in kpi.FIGURE_KEYS:
        raise HTTPException(400, f"unknown figure '{figure}'")
    chosen, params = _period(profile, clock, period, first, last)
    try:
        cases = pages.figure_cases(
            profile,
            chosen,
            now=clock.now(),
            figure=figure,
            agent=agent,
            misses_only=which == "miss",
        )
    except KeyError:
        raise HTTPException(404, f"no figures for agent {agent} in this period") from None
    zone = ZoneInfo(profile.timezone)
    return _page(
        request,
        "kpi_cases.html",
        {
            "user": user,
            "card": cases.card,
            "figure": cases.figure,
            "which": which,
            "period": chosen,
            "params": params,
            "total": cases.total,
            "rows": [
                {
                    "id": r.id,
                    "opened": reports.local_time(r.opened_at, zone),
                    "category": r.category or "",
                    "status": r.closed_reason or r.state,
                }
                for r in cases.rows
            ],
        },
    )


# --- quality review ---


@router.get("/qa", response_class=HTMLResponse)
def qa_index(
    request: Request,
    user: QcUser,
    qa: QaDep,
    pages: SupervisionDep,
    profile: ProfileDep,
    clock: ClockDep,
    campaign: RowIdQuery = None,
) -> Response:
    """Each agent's sample for the review window, with what is reviewed already.

    `?campaign=ID` samples only the cases that campaign's replies opened (QC tapping).
    """
    names, agents = pages.reviewed_agents()
    done = {r.case_id: r for r in qa.reviews(limit=10_000)}
    samples = [
        {
            "agent": names.get(agent, f"user {agent}"),
            "cases": [
                (case_id, done.get(case_id))
                for case_id in qa.sample(profile, agent, campaign_id=campaign)
            ],
        }
        for agent in agents
    ]
    window = sample_window(profile, clock.now())
    return _page(
        request,
        "qa_index.html",
        {
            "user": user,
            "samples": samples,
            "campaign": campaign,
            "window": window,
            "profile": profile,
            "saved": request.query_params.get("saved"),
        },
    )


def _case_record(pages: SupervisionPages, case_id: int) -> dict[str, Any]:
    record = pages.case_record(case_id)
    if record is None:
        raise HTTPException(404, f"no case {case_id}")
    return record


def _review_page(
    request: Request,
    user: Any,
    qa: QualityReview,
    pages: SupervisionPages,
    profile: Profile,
    case_id: RowId,
    error: str | None = None,
    status: int = 200,
) -> Response:
    record = _case_record(pages, case_id)
    return _page(
        request,
        "qa_review.html",
        {
            "user": user,
            "case": record,
            "items": qa.prefill(profile, case_id),
            "review": qa.review_of(case_id),
            "error": error,
            "zone": ZoneInfo(profile.timezone),
        },
        status,
    )


@router.get("/qa/cases/{case_id}", response_class=HTMLResponse)
def qa_review(
    request: Request,
    user: QcUser,
    qa: QaDep,
    pages: SupervisionDep,
    profile: ProfileDep,
    case_id: RowId,
) -> Response:
    """The transcript and the rubric, items the record decides already ticked."""
    return _review_page(request, user, qa, pages, profile, case_id)


@router.post("/qa/cases/{case_id}", response_class=HTMLResponse)
async def qa_save(
    request: Request,
    user: QcUser,
    qa: QaDep,
    pages: SupervisionDep,
    profile: ProfileDep,
    case_id: RowId,
) -> Response:
    """Store the reviewer's answers; a missing answer re-shows the form with the reason."""
    form = await request.form()
    answers: dict[str, bool] = {}
    for item in profile.qa_rubric:
        value = form.get(f"item_{item.key}")
        if value in ("yes", "no"):
            answers[item.key] = value == "yes"
    comment = str(form.get("comment") or "")[:4000]
    try:
        qa.save(profile, case_id, user.name, answers, comment)
    except ReviewRefused as exc:
        return _review_page(request, user, qa, pages, profile, case_id, str(exc), 422)
    return RedirectResponse(f"/desk/qa?saved={case_id}", status_code=303)


@router.get("/qa/mine", response_class=HTMLResponse)
def qa_mine(request: Request, user: StaffUser, qa: QaDep) -> Response:
    """An agent's own reviews: score, each item and the reviewer's comment."""
    return _page(
        request,
        "qa_mine.html",
        {"user": user, "reviews": qa.reviews(agent_id=user.id)},
    )


# --- reports ---


@router.get("/reports", response_class=HTMLResponse)
def reports_index(
    request: Request, user: SupervisorUser, profile: ProfileDep, clock: ClockDep
) -> Response:
    """The downloads: daily log, monthly report, case export, director's summary."""
    now = clock.now().astimezone(ZoneInfo(profile.timezone))
    return _page(
        request,
        "reports.html",
        {"user": user, "today": now.date(), "month": f"{now.year}-{now.month:02d}"},
    )


def _month(text: str) -> tuple[int, int]:
    try:
        return kpi.parse_month(text)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/reports/daily.xlsx")
def daily_download(
    _user: SupervisorUser,
    pages: SupervisionDep,
    profile: ProfileDep,
    clock: ClockDep,
    day: Annotated[str, Query(alias="date")],
) -> Response:
    """The daily log of a day as a workbook."""
    chosen = _day(day, "date")
    buffer = io.BytesIO()
    pages.write_daily(profile, chosen, buffer, now=clock.now())
    return Response(
        buffer.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="daily-{chosen}.xlsx"'},
    )


@router.get("/reports/monthly.xlsx")
def monthly_download(
    _user: SupervisorUser, pages: SupervisionDep, profile: ProfileDep, clock: ClockDep, month: str
) -> Response:
    """The monthly performance workbook."""
    year, number = _month(month)
    buffer = io.BytesIO()
    pages.write_monthly(profile, year, number, buffer, now=clock.now())
    return Response(
        buffer.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="monthly-{month}.xlsx"'},
    )


@router.get("/reports/monthly", response_class=HTMLResponse)
def monthly_page(
    _user: SupervisorUser, pages: SupervisionDep, profile: ProfileDep, clock: ClockDep, month: str
) -> Response:
    """The monthly performance report as a printable page."""
    year, number = _month(month)
    return HTMLResponse(pages.monthly_html(profile, year, number, now=clock.now()))


@router.get("/reports/export")
def export_download(
    _user: SupervisorUser,
    pages: SupervisionDep,
    profile: ProfileDep,
    clock: ClockDep,
    first: Annotated[str, Query(alias="from")],
    last: Annotated[str, Query(alias="to")],
    fmt: Annotated[str, Query(alias="format", pattern=r"^(csv|jsonl)$")] = "csv",
) -> Response:
    """Cases of a range of days: CSV, or JSONL with the transcripts."""
    start, end = _day(first, "from"), _day(last, "to")
    if end < start:
        raise HTTPException(400, "the range ends before it starts")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise HTTPException(400, f"a range is at most {MAX_RANGE_DAYS} days")
    out = io.StringIO()
    pages.export_cases(profile, start, end, fmt, out, now=clock.now())
    media = "text/csv" if fmt == "csv" else "application/x-ndjson"
    name = f"cases-{start}-{end}.{fmt}"
    return StreamingResponse(
        iter([out.getvalue()]),
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/reports/director", response_class=HTMLResponse)
def director_summary(
    _user: SupervisorUser, pages: SupervisionDep, profile: ProfileDep, clock: ClockDep, month: str
) -> Response:
    """PANASEA's monthly summary for the director: counts, KPIs, escalations, the cases."""
    year, number = _month(month)
    zone = ZoneInfo(profile.timezone)
    period = kpi.month_period(year, number, zone)
    now = clock.now()
    report, lines = pages.director_summary(profile, period, now=now)
    return HTMLResponse(
        reports.render_page(
            "director.html",
            report=report,
            profile=profile,
            keys=kpi.FIGURE_KEYS,
            lines=lines[:500],
            more=max(0, len(lines) - 500),
            as_of=now.astimezone(zone),
        )
    )


@router.get("/cases/{case_id}/forms/{form}", response_class=HTMLResponse)
def case_form(
    _user: StaffUser, pages: SupervisionDep, profile: ProfileDep, case_id: RowId, form: str
) -> Response:
    """PANASEA's printable forms, filled from the case: complaint, evaluation, monitoring."""
    if form not in FORMS:
        raise HTTPException(404, f"no form '{form}' ({', '.join(FORMS)})")
    record = _case_record(pages, case_id)
    zone = ZoneInfo(profile.timezone)

    def local(value: str | None) -> str:
        if not value:
            return ""
        return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return HTMLResponse(
        reports.render_page(
            f"form_{form}.html",
            case=record,
            profile=profile,
            title=FORMS[form],
            local=local,
            notes=pages.case_notes(case_id),
            follow_up=[
                (local(record["opened_at"]), "case opened"),
                *((local(e["at"]), e["kind"]) for e in record["events"]),
            ],
        )
    )
