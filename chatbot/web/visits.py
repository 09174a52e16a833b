"""Operations and technician visits on the web (docs/visits.md).

Two routers. `/desk/visits...` lives inside the console (login, CSRF on every POST, like
chatbot/web/desk_console.py, kept apart so the console's rebuild and this page do not
collide): the Operations queue and overview, a case's route / remote steps / visits panel,
the technicians list. `/visit/{token}` is the technician's phone page: no login, the link
token is the credential (random, per visit, stored hashed, expiring; see
chatbot/agents/visits.py). It sets no cookie, so there is no ambient authority for a
cross-site form to ride on, and it is never cached, framed or sent on as a referrer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile

from chatbot.agents.visits import (
    OPS_ROLES,
    TECHNICIAN_EDITORS,
    Photo,
    UnknownVisit,
    VisitDesk,
    WorkOrder,
)
from chatbot.errors import InvalidInput, LoketError, UnknownCase
from chatbot.web.auth import SessionUser, StaffUser, page_templates, require_role, verify_csrf
from chatbot.web.deps import ProfileDep, RowId, RowIdForm, VisitsDep
from chatbot.web.desk_frame import frame_context, load_console_settings
from chatbot.web.errors import STATUS

router = APIRouter(
    prefix="/desk/visits",
    tags=["visits"],
    dependencies=[Depends(verify_csrf), Depends(load_console_settings)],
)
technician_router = APIRouter(prefix="/visit", tags=["visits"])
templates = page_templates()
OpsUser = Annotated[SessionUser, Depends(require_role(*OPS_ROLES))]
EditorUser = Annotated[SessionUser, Depends(require_role(*TECHNICIAN_EDITORS))]
MAX_FORM_FIELDS = 10
MAX_FORM_OVERHEAD = 64_000  # the note and the multipart framing around the photo
TECHNICIAN_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the link token must not leak to other sites
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


def _ago(delta: Any) -> str:
    if delta is None:
        return "-"
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _local(moment: datetime | None, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%d %b %H:%M") if moment else "-"


templates.env.filters["ago"] = _ago
templates.env.globals["local"] = _local


def _status_of(exc: LoketError) -> int:
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    base = frame_context(request) | {
        "is_ops": request.state.user.role in OPS_ROLES,
        "message": request.query_params.get("done", ""),
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _parse_local(text: str, zone: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"the {what} is not a date and time") from exc
    if moment.tzinfo is None:  # the form's datetime-local is the desk's local time
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment


def _order(form: dict[str, str], zone: str) -> WorkOrder:
    try:
        technician = int(form.get("technician_id", ""))
    except ValueError as exc:
        raise InvalidInput("choose a technician") from exc
    return WorkOrder(
        technician_id=technician,
        window_start=_parse_local(form.get("window_start", ""), zone, "window start"),
        window_end=_parse_local(form.get("window_end", ""), zone, "window end"),
        address=form.get("address", ""),
        contact=form.get("contact", ""),
        machine_id=form.get("machine_id", ""),
        problem=form.get("problem", ""),
    )


async def _text_form(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=20)
    return {k: v for k, v in form.items() if isinstance(v, str)}


# --- Operations: queue, overview ---


@router.get("", response_class=HTMLResponse)
async def index(
    request: Request, _user: OpsUser, visits: VisitsDep, profile: ProfileDep
) -> Response:
    """Cases waiting for the remote-or-visit decision, open and overdue visits, FTF rate."""
    queue = await run_in_threadpool(visits.ops_queue)
    overview = await run_in_threadpool(visits.overview)
    return _page(
        request,
        "desk/visits/index.html",
        {"queue": queue, "overview": overview, "zone": profile.timezone},
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_panel(
    request: Request, case_id: RowId, _user: StaffUser, visits: VisitsDep, profile: ProfileDep
) -> Response:
    """A case's route, remote steps and visits, with the forms that move them."""
    return await _panel(request, visits, case_id, profile.timezone)


async def _panel(
    request: Request,
    visits: VisitDesk,
    case_id: int,
    zone: str,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    panel = await run_in_threadpool(visits.case_panel, case_id)
    if panel is None:
        return _page(
            request,
            "desk/error.html",
            {"error": f"case {case_id} never reached Operations"},
            status=404,
        )
    return _page(
        request,
        "desk/visits/case.html",
        {"case_id": case_id, "panel": panel, "zone": zone, "error": error},
        status=status,
    )


async def _act(
    request: Request, visits: VisitDesk, case_id: int, zone: str, action: Any, done: str
) -> Response:
    try:
        await run_in_threadpool(action)
    except UnknownCase as exc:
        return _page(request, "desk/error.html", {"error": str(exc)}, status=404)
    except LoketError as exc:
        return await _panel(request, visits, case_id, zone, error=str(exc), status=_status_of(exc))
    return RedirectResponse(f"/desk/visits/cases/{case_id}?done={done}", status_code=303)


@router.post("/cases/{case_id}/route")
async def decide(
    request: Request, case_id: RowId, user: OpsUser, visits: VisitsDep, profile: ProfileDep
) -> Response:
    """Remote or visit; a visit comes with its work order, and the technician is told."""
    form = await _text_form(request)
    route = form.get("route", "")
    made: list[tuple[int, str] | None] = []

    def act() -> None:
        order = _order(form, profile.timezone) if route == "visit" else None
        made.append(visits.decide(case_id, user, route, order))

    response = await _act(request, visits, case_id, profile.timezone, act, f"routed {route}")
    if made and made[0] is not None:
        await visits.notify(*made[0])  # never raises; the outcome shows on the visit
    return response


@router.post("/cases/{case_id}/visits")
async def schedule(
    request: Request, case_id: RowId, user: OpsUser, visits: VisitsDep, profile: ProfileDep
) -> Response:
    """Another visit on a case routed to a visit."""
    form = await _text_form(request)
    made: list[tuple[int, str]] = []

    def act() -> None:
        made.append(visits.schedule(case_id, user, _order(form, profile.timezone)))

    response = await _act(request, visits, case_id, profile.timezone, act, "scheduled")
    if made:
        await visits.notify(*made[0])
    return response


@router.post("/{visit_id}/cancel")
async def cancel(
    request: Request,
    visit_id: RowId,
    user: OpsUser,
    visits: VisitsDep,
    profile: ProfileDep,
    case_id: RowIdForm,
) -> Response:
    """Operations calls a visit off; the client is told."""
    return await _act(
        request,
        visits,
        case_id,
        profile.timezone,
        lambda: visits.cancel(visit_id, user),
        "cancelled",
    )


@router.post("/{visit_id}/resend")
async def resend(
    request: Request,
    visit_id: RowId,
    user: OpsUser,
    visits: VisitsDep,
    profile: ProfileDep,
    case_id: RowIdForm,
) -> Response:
    """Tell the technician again with a new link (the old one stops working)."""
    made: list[str] = []
    response = await _act(
        request,
        visits,
        case_id,
        profile.timezone,
        lambda: made.append(visits.renew_link(visit_id, user)),
        "link sent again",
    )
    if made:
        await visits.notify(visit_id, made[0])
    return response


@router.get("/{visit_id}/photo")
async def photo(visit_id: RowId, _user: StaffUser, visits: VisitsDep) -> Response:
    """The technician's latest photo of a visit."""
    path = await run_in_threadpool(visits.photo_path, visit_id)
    if path is None:
        return HTMLResponse("no photo", status_code=404)
    return FileResponse(path, headers={"Cache-Control": "private, no-store"})


# --- remote fix ---


@router.post("/cases/{case_id}/remote-steps")
async def remote_step(
    request: Request,
    case_id: RowId,
    user: StaffUser,
    visits: VisitsDep,
    profile: ProfileDep,
    phrase: Annotated[str, Form(max_length=64)],
) -> Response:
    """Send the client the next step-by-step instruction."""
    return await _act(
        request,
        visits,
        case_id,
        profile.timezone,
        lambda: visits.send_remote_step(case_id, user, phrase),
        "step sent",
    )


@router.post("/cases/{case_id}/remote-steps/{step_id}")
async def remote_result(
    request: Request,
    case_id: RowId,
    step_id: RowId,
    user: StaffUser,
    visits: VisitsDep,
    profile: ProfileDep,
    result: Annotated[str, Form(max_length=16)],
) -> Response:
    """The client's result of a step; all steps failed files the technical team's report."""
    filed: list[int | None] = []

    def act() -> None:
        filed.append(visits.record_remote_result(case_id, user, step_id, result))

    response = await _act(request, visits, case_id, profile.timezone, act, f"step {result}")
    if filed and filed[0] is not None:
        await visits.post_report(filed[0])
    return response


# --- technicians ---


@router.get("/technicians", response_class=HTMLResponse)
async def technicians(request: Request, _user: EditorUser, visits: VisitsDep) -> Response:
    """The technicians list (supervisors and admins edit it)."""
    listed = await run_in_threadpool(visits.technicians)
    return _page(request, "desk/visits/technicians.html", {"technicians": listed})


@router.post("/technicians")
async def edit_technicians(request: Request, user: EditorUser, visits: VisitsDep) -> Response:
    """Add a technician, or change one's contacts and whether they are on the list."""
    form = await _text_form(request)
    try:
        if form.get("technician_id"):
            try:
                technician_id = int(form["technician_id"])
            except ValueError as exc:
                raise InvalidInput("no such technician") from exc
            await run_in_threadpool(
                lambda: visits.update_technician(
                    user,
                    technician_id,
                    telegram_chat_id=form.get("telegram_chat_id", ""),
                    whatsapp=form.get("whatsapp", ""),
                    active=form.get("active") == "1",
                )
            )
        else:
            await run_in_threadpool(
                lambda: visits.add_technician(
                    user,
                    form.get("name", ""),
                    telegram_chat_id=form.get("telegram_chat_id", ""),
                    whatsapp=form.get("whatsapp", ""),
                )
            )
    except LoketError as exc:
        listed = await run_in_threadpool(visits.technicians)
        return _page(
            request,
            "desk/visits/technicians.html",
            {"technicians": listed, "error": str(exc)},
            status=_status_of(exc),
        )
    return RedirectResponse("/desk/visits/technicians?done=saved", status_code=303)


# --- the technician's page (no login: the link token) ---


def _technician_page(request: Request, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, "visit/technician.html", context, status_code=status
    )
    response.headers.update(TECHNICIAN_HEADERS)
    return response


@technician_router.get("/{token}", response_class=HTMLResponse)
async def technician_page(request: Request, token: str, visits: VisitsDep) -> Response:
    """The work order and the buttons for the next step."""
    try:
        visit = await run_in_threadpool(visits.visit_for_token, token)
    except UnknownVisit as exc:
        return _technician_page(request, {"error": str(exc), "visit": None}, status=404)
    done = request.query_params.get("done", "")
    return _technician_page(request, {"visit": visit, "token": token, "done": done})


@technician_router.post("/{token}")
async def technician_update(request: Request, token: str, visits: VisitsDep) -> Response:
    """On the way, arrived, fixed or not fixed, with a note and a photo.

    The link is checked before the body is read, and a body larger than a photo and a note
    is refused unread: nobody without a valid link gets an upload parsed.
    """
    try:
        await run_in_threadpool(visits.visit_for_token, token)
    except UnknownVisit as exc:
        return _technician_page(request, {"error": str(exc), "visit": None}, status=404)
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > visits.max_photo_bytes + MAX_FORM_OVERHEAD:
        return _technician_page(
            request,
            {"error": "the photo is too large (or the upload has no length)", "visit": None},
            status=413,
        )
    try:
        form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    except Exception as exc:  # a malformed multipart body
        return _technician_page(
            request, {"error": f"the form could not be read: {exc}", "visit": None}, status=400
        )
    status = form.get("status")
    note = form.get("note") or ""
    faults = form.getlist("product_fault")  # a hidden "0", then the checkbox's "1"
    upload = form.get("photo")
    try:
        if not isinstance(status, str) or not isinstance(note, str):
            raise InvalidInput("choose what happened")
        picture = None
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read(visits.max_photo_bytes + 1)
            picture = Photo(data, upload.content_type or "")
        await run_in_threadpool(
            lambda: visits.technician_update(
                token,
                status,
                note=note,
                photo=picture,
                product_fault="1" in faults if faults else None,
            )
        )
    except UnknownVisit as exc:
        return _technician_page(request, {"error": str(exc), "visit": None}, status=404)
    except LoketError as exc:
        try:
            visit = await run_in_threadpool(visits.visit_for_token, token)
        except UnknownVisit:
            visit = None
        return _technician_page(
            request,
            {"error": str(exc), "visit": visit, "token": token},
            status=_status_of(exc),
        )
    finally:
        await form.close()
    return RedirectResponse(f"/visit/{token}?done={status}", status_code=303)
