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
from sqlalchemy import Engine, select

from chatbot.clock import Clock
from chatbot.supervision import charts, kpi, reports
from chatbot.supervision.case_records import cases_json
from chatbot.supervision.qa import QualityReview, ReviewRefused, sample_window
from chatbot.web.auth import QcUser, StaffUser, SupervisorUser, page_templates, verify_csrf
from db.engine import read
from db.queries import CASE
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


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _profile(request: Request) -> Profile:
    profile: Profile = request.app.state.desk.profile()
    return profile


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, f"supervision/{name}", context, status_code=status)


def _day(text: str | None, what: str) -> date:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        raise HTTPException(400, f"{what}: '{text}' is not a date (YYYY-MM-DD)") from None


def _period(
    request: Request, period: str, first: str | None, last: str | None
) -> tuple[kpi.Period, dict[str, str]]:
    """The period the page asks for, and the query parameters that name it again."""
    profile = _profile(request)
    zone = ZoneInfo(profile.timezone)
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
        return kpi.named_period(period, _clock(request).now(), zone), {"period": period}
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


PeriodName = Annotated[str, Query(pattern=r"^(today|week|month|range|day)$")]
FromDay = Annotated[str | None, Query(alias="from")]
ToDay = Annotated[str | None, Query(alias="to")]


@router.get("/kpi", response_class=HTMLResponse)
def dashboard(
    request: Request,
    user: SupervisorUser,
    period: PeriodName = "today",
    first: FromDay = None,
    last: ToDay = None,
) -> Response:
    """The team's and each agent's KPIs against the targets, with charts and drill-down."""
    chosen, params = _period(request, period, first, last)
    profile = _profile(request)
    now = _clock(request).now()
    with read(_engine(request)) as conn:
        report = kpi.compute(conn, profile, chosen, now=now)
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
    figure: Annotated[str, Query(max_length=32)],
    period: PeriodName = "today",
    first: FromDay = None,
    last: ToDay = None,
    agent: int | None = None,
    which: Annotated[str, Query(pattern=r"^(all|miss)$")] = "all",
) -> Response:
    """The cases behind one figure (or those that miss its target)."""
    if figure not in kpi.FIGURE_KEYS:
        raise HTTPException(400, f"unknown figure '{figure}'")
    chosen, params = _period(request, period, first, last)
    profile = _profile(request)
    with read(_engine(request)) as conn:
        report = kpi.compute(conn, profile, chosen, now=_clock(request).now(), charts=False)
        try:
            card = report.scorecard(agent)
        except KeyError:
            raise HTTPException(404, f"no figures for agent {agent} in this period") from None
        shown = card[figure]
        ids = list(shown.miss_ids if which == "miss" else shown.case_ids)[:1000]
        rows = conn.execute(
            select(
                CASE.c.id, CASE.c.opened_at, CASE.c.category, CASE.c.state, CASE.c.closed_reason
            )
            .where(CASE.c.id.in_(ids))
            .order_by(CASE.c.opened_at, CASE.c.id)
        ).all()
    zone = ZoneInfo(profile.timezone)
    return _page(
        request,
        "kpi_cases.html",
        {
            "user": user,
            "card": card,
            "figure": shown,
            "which": which,
            "period": chosen,
            "params": params,
            "total": len(shown.miss_ids if which == "miss" else shown.case_ids),
            "rows": [
                {
                    "id": r.id,
                    "opened": reports.local_time(r.opened_at, zone),
                    "category": r.category or "",
                    "status": r.closed_reason or r.state,
                }
                for r in rows
            ],
        },
    )


# --- quality review ---


def _qa(request: Request) -> QualityReview:
    return QualityReview(_engine(request), _clock(request))


@router.get("/qa", response_class=HTMLResponse)
def qa_index(request: Request, user: QcUser) -> Response:
    """Each agent's sample for the review window, with what is reviewed already."""
    profile = _profile(request)
    qa = _qa(request)
    with read(_engine(request)) as conn:
        names = kpi.user_names(conn)
        agents = kpi.agent_ids(conn)
    done = {r.case_id: r for r in qa.reviews(limit=10_000)}
    samples = [
        {
            "agent": names.get(agent, f"user {agent}"),
            "cases": [(case_id, done.get(case_id)) for case_id in qa.sample(profile, agent)],
        }
        for agent in agents
    ]
    window = sample_window(profile, _clock(request).now())
    return _page(
        request,
        "qa_index.html",
        {
            "user": user,
            "samples": samples,
            "window": window,
            "profile": profile,
            "saved": request.query_params.get("saved"),
        },
    )


def _case_record(request: Request, case_id: int) -> dict[str, Any]:
    with read(_engine(request)) as conn:
        rows = list(conn.execute(select(CASE).where(CASE.c.id == case_id)).mappings())
        if not rows:
            raise HTTPException(404, f"no case {case_id}")
        return cases_json(conn, rows)[0]


def _review_page(
    request: Request, user: Any, case_id: int, error: str | None = None, status: int = 200
) -> Response:
    profile = _profile(request)
    record = _case_record(request, case_id)
    qa = _qa(request)
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
def qa_review(request: Request, user: QcUser, case_id: int) -> Response:
    """The transcript and the rubric, items the record decides already ticked."""
    return _review_page(request, user, case_id)


@router.post("/qa/cases/{case_id}", response_class=HTMLResponse)
async def qa_save(request: Request, user: QcUser, case_id: int) -> Response:
    """Store the reviewer's answers; a missing answer re-shows the form with the reason."""
    profile = _profile(request)
    form = await request.form()
    answers: dict[str, bool] = {}
    for item in profile.qa_rubric:
        value = form.get(f"item_{item.key}")
        if value in ("yes", "no"):
            answers[item.key] = value == "yes"
    comment = str(form.get("comment") or "")[:4000]
    try:
        _qa(request).save(profile, case_id, user.name, answers, comment)
    except ReviewRefused as exc:
        return _review_page(request, user, case_id, error=str(exc), status=422)
    return RedirectResponse(f"/desk/qa?saved={case_id}", status_code=303)


@router.get("/qa/mine", response_class=HTMLResponse)
def qa_mine(request: Request, user: StaffUser) -> Response:
    """An agent's own reviews: score, each item and the reviewer's comment."""
    return _page(
        request,
        "qa_mine.html",
        {"user": user, "reviews": _qa(request).reviews(agent_id=user.id)},
    )


# --- reports ---


@router.get("/reports", response_class=HTMLResponse)
def reports_index(request: Request, user: SupervisorUser) -> Response:
    """The downloads: daily log, monthly report, case export, director's summary."""
    now = _clock(request).now().astimezone(ZoneInfo(_profile(request).timezone))
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
    request: Request, _user: SupervisorUser, day: Annotated[str, Query(alias="date")]
) -> Response:
    """The daily log of a day as a workbook."""
    chosen = _day(day, "date")
    buffer = io.BytesIO()
    with read(_engine(request)) as conn:
        reports.write_daily(conn, _profile(request), chosen, buffer, now=_clock(request).now())
    return Response(
        buffer.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="daily-{chosen}.xlsx"'},
    )


@router.get("/reports/monthly.xlsx")
def monthly_download(request: Request, _user: SupervisorUser, month: str) -> Response:
    """The monthly performance workbook."""
    year, number = _month(month)
    buffer = io.BytesIO()
    with read(_engine(request)) as conn:
        reports.write_monthly(
            conn, _profile(request), year, number, buffer, now=_clock(request).now()
        )
    return Response(
        buffer.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="monthly-{month}.xlsx"'},
    )


@router.get("/reports/monthly", response_class=HTMLResponse)
def monthly_page(request: Request, _user: SupervisorUser, month: str) -> Response:
    """The monthly performance report as a printable page."""
    year, number = _month(month)
    with read(_engine(request)) as conn:
        page = reports.monthly_html(
            conn, _profile(request), year, number, now=_clock(request).now()
        )
    return HTMLResponse(page)


@router.get("/reports/export")
def export_download(
    request: Request,
    _user: SupervisorUser,
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
    with read(_engine(request)) as conn:
        reports.export_cases(
            conn, _profile(request), start, end, fmt, out, now=_clock(request).now()
        )
    media = "text/csv" if fmt == "csv" else "application/x-ndjson"
    name = f"cases-{start}-{end}.{fmt}"
    return StreamingResponse(
        iter([out.getvalue()]),
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/reports/director", response_class=HTMLResponse)
def director_summary(request: Request, _user: SupervisorUser, month: str) -> Response:
    """PANASEA's monthly summary for the director: counts, KPIs, escalations, the cases."""
    year, number = _month(month)
    profile = _profile(request)
    zone = ZoneInfo(profile.timezone)
    period = kpi.month_period(year, number, zone)
    now = _clock(request).now()
    with read(_engine(request)) as conn:
        report = kpi.compute(conn, profile, period, now=now, charts=False)
        lines = reports.case_lines(conn, period, profile, now=now)
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
def case_form(request: Request, _user: StaffUser, case_id: int, form: str) -> Response:
    """PANASEA's printable forms, filled from the case: complaint, evaluation, monitoring."""
    if form not in FORMS:
        raise HTTPException(404, f"no form '{form}' ({', '.join(FORMS)})")
    profile = _profile(request)
    record = _case_record(request, case_id)
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
            notes=_notes(request, case_id),
            follow_up=[
                (local(record["opened_at"]), "case opened"),
                *((local(e["at"]), e["kind"]) for e in record["events"]),
            ],
        )
    )


def _notes(request: Request, case_id: int) -> list[dict[str, Any]]:
    from db.models import CaseNote

    table = CaseNote.__table__  # type: ignore[attr-defined]
    with read(_engine(request)) as conn:
        return [
            {"author": r.author, "text": r.text, "at": r.created_at}
            for r in conn.execute(
                select(table).where(table.c.case_id == case_id).order_by(table.c.id)
            )
        ]
