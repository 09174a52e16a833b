"""The agent console under /desk: queue, case page, replies, escalation, supervisor view.

Server-rendered Jinja2 with autoescape on (client text is hostile until shown escaped). Every
form works without script; desk.js listens to /desk/events (server-sent events, fed by the
process's one change poller, chatbot/agents/live.py) and re-fetches only the rows, counts or
transcript a notice names. The login middleware
keeps everyone without a session out; every POST carries the session's CSRF token.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, StreamingResponse
from jinja2 import pass_context

from chatbot.admin.accounts import AccountError, TooManyAttempts
from chatbot.agents.agent_desk import (
    AGENT_ROLES,
    CONTACT_CHANNELS,
    INBOX_FILTERS,
    INBOX_VIEWS,
    MANUAL_SOURCES,
    UI_LOCALES,
    AgentDesk,
    CaseView,
)
from chatbot.agents.escalation import NEXT_STATUSES
from chatbot.channels.whatsapp import WINDOW as WHATSAPP_WINDOW
from chatbot.clock import Clock
from chatbot.errors import InvalidInput, LoketError, MediaUnavailable, UnknownCase
from chatbot.resource import package_dir
from chatbot.web.auth import StaffUser, SupervisorUser, page_templates, safe_next, verify_csrf
from chatbot.web.deps import (
    AccountsDep,
    AgentsDep,
    ChannelsDep,
    ClockDep,
    EscalationsDep,
    FeedDep,
    MediaStoreDep,
    RowId,
    RowIdForm,
    SettingsDep,
    UploadPolicyDep,
    client_address,
)
from chatbot.web.desk_frame import frame_context, load_console_settings
from chatbot.web.errors import STATUS
from chatbot.web.files import agent_file, discard
from chatbot.web.stopping import unless_stopping
from flows.front_desk import State

router = APIRouter(
    prefix="/desk",
    tags=["desk"],
    dependencies=[Depends(verify_csrf), Depends(load_console_settings)],
)
templates = page_templates()  # client text, agent notes and report details are escaped
STREAM_MAX_SECONDS = 300  # EventSource reconnects by itself
POST_TIMEOUT_SECONDS = 10.0  # the agent waits this long at most for Discord / Telegram
STATIC_DIR = Path(package_dir("chatbot", "web", "static"))
STATIC_FILES = {"desk.js": "text/javascript", "desk.css": "text/css"}
CHANNELS = ("telegram", "whatsapp", "sms", "web", "manual")


LIST_KEYS = ("view", "q", *INBOX_FILTERS)  # what the list keeps across clicks and actions
DONE_COOKIE = "desk_done"  # "Done: sent" is shown once, not on every reload


def _minutes(delta: Any) -> str:
    if delta is None:
        return "-"
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


@pass_context
def _time(context: Any, moment: datetime | None) -> str:
    """A moment in the desk's time zone (the profile's, as the KPI pages and reports use)."""
    if moment is None:
        return "-"
    zone = context.get("zone")
    return (moment.astimezone(zone) if zone is not None else moment).strftime("%d %b %H:%M")


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


templates.env.filters["waited"] = _minutes
templates.env.filters["when"] = _time
templates.env.filters["iso"] = _iso


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    done = request.cookies.get(DONE_COOKIE, "")
    base = frame_context(request)
    base["message"] = done if done.replace("_", "").isalpha() else ""
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    if done:
        response.delete_cookie(DONE_COOKIE, path="/desk")
    return response


def _status_of(exc: LoketError) -> int:
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)


def _zone(agents: AgentDesk) -> ZoneInfo:
    return ZoneInfo(agents.profile().timezone)


# --- the inbox: list, conversation, client panel on one screen ---


def _activity(agents: AgentDesk) -> str:
    """The newest message and event ids, read before a page is built.

    The page's live script compares them with what /desk/events reports, so a change made
    between rendering the page and opening the event stream still refreshes it.
    """
    message, event = agents.last_activity()
    return f"{message},{event}"


def _list_params(request: Request) -> dict[str, str]:
    """The list's tab, search and filters from the query string (kept in every link)."""
    params = {k: request.query_params.get(k, "").strip()[:100] for k in LIST_KEYS}
    return {k: v for k, v in params.items() if v}


def _list_context(
    request: Request,
    agents: AgentDesk,
    user: Any,
    *,
    default_view: str = "waiting",
    only: list[int] | None = None,
) -> dict[str, Any]:
    params = _list_params(request)
    view = params.get("view", default_view)
    filters = {k: v for k, v in params.items() if k in INBOX_FILTERS}
    error = ""
    try:
        rows = agents.inbox(user, view, search=params.get("q", ""), filters=filters, only=only)
    except InvalidInput as exc:
        error, view, params = str(exc), "waiting", {}
        rows = agents.inbox(user, view)
    counts = agents.view_counts(user)
    profile = agents.profile()
    staff = [] if only is not None else agents.staff(with_load=False)  # a patch has no filters
    return {
        "tab": view,
        "tabs": INBOX_VIEWS,
        "rows": rows,
        "counts": counts,
        "q": params.get("q", ""),
        "filters": filters,
        "qs": urlencode(params),
        "list_error": error,
        "backlog": counts["backlog"],
        "backlog_limit": profile.backlog_limit,
        "filter_choices": {
            "state": [s.value for s in State],
            "category": list(profile.categories),
            "channel": list(CHANNELS),
            "source": ["chat", *MANUAL_SOURCES],
            "owner": ["none", *[s.name for s in staff if s.role in AGENT_ROLES]],
            "label": agents.known_labels(),
        },
        "zone": ZoneInfo(profile.timezone),
    }


def _inbox_page(
    request: Request,
    agents: AgentDesk,
    user: Any,
    now: datetime,
    case_id: int | None = None,
    *,
    error: str = "",
    draft: str = "",
    status: int = 200,
) -> Response:
    """The one screen; with `X-Desk-Part: case` only the conversation and client panes."""
    activity = _activity(agents)
    context: dict[str, Any] = {"activity": activity, "now": now, "item": None, "error": error}
    if case_id is not None:
        try:
            context.update(_case_context(agents, user, case_id, now))
        except UnknownCase as exc:
            return _page(request, "desk/error.html", {"error": str(exc)}, status=404)
        context["draft"] = draft
    if request.headers.get("x-desk-part") == "case" and case_id is not None:
        params = _list_params(request)
        context.update({"qs": urlencode(params), "zone": _zone(agents)})
        return _page(request, "desk/_panes.html", context, status)
    default = "mine" if context["item"] is not None and context.get("mine") else "waiting"
    context.update(_list_context(request, agents, user, default_view=default))
    if context["list_error"] and status == 200:
        status = 422  # an unknown tab or filter: said on the page, the waiting list shown
    return _page(request, "desk/inbox.html", context, status)


@router.get("", response_class=HTMLResponse)
def queue_page(request: Request, user: StaffUser, agents: AgentsDep, clock: ClockDep) -> Response:
    """The inbox: the list (waiting, mine, all open, closed), nothing opened yet."""
    return _inbox_page(request, agents, user, clock.now())


MAX_PATCH_ROWS = 200  # a notice names at most this many cases (chatbot/agents/live.py)


def _patch_rows(request: Request) -> list[int] | None:
    """`rows=1,2,3`: only these cases' rows (those still in the list) and the tab counts.

    Raises:
        InvalidInput: not a comma-separated list of at most MAX_PATCH_ROWS case ids.
    """
    if "rows" not in request.query_params:
        return None
    parts = [p for p in request.query_params["rows"].split(",") if p.strip()]
    if len(parts) > MAX_PATCH_ROWS or not all(p.strip().isdigit() for p in parts):
        raise InvalidInput(f"rows is a comma-separated list of at most {MAX_PATCH_ROWS} case ids")
    return [int(p) for p in parts]


@router.get("/fragments/queue", response_class=HTMLResponse)
def queue_fragment(
    request: Request, user: StaffUser, agents: AgentsDep, clock: ClockDep
) -> Response:
    """The list alone (tab counts, rows), for the page's live refresh; `rows=` patches rows."""
    try:
        only = _patch_rows(request)
    except InvalidInput as exc:
        return HTMLResponse(str(exc), status_code=422)
    context = _list_context(request, agents, user, only=only)
    context.update({"now": clock.now(), "item": None, "current": request.query_params.get("case")})
    return _page(request, "desk/_list.html", context)


@router.get("/static/{name}")
def static_file(name: str, _user: StaffUser) -> Response:
    """The console's script and style (chatbot/web/static): no build step, no CDN."""
    if name not in STATIC_FILES:
        return HTMLResponse("no such file", status_code=404)
    return FileResponse(
        STATIC_DIR / name,
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "private, max-age=300"},
    )


STREAM_IDLE_SECONDS = 15.0  # a comment line this often: a closed tab is noticed and let go


@router.get("/events")
async def desk_events(
    request: Request, _user: StaffUser, feed: FeedDep, since: str = ""
) -> Response:
    """Server-sent events: one `data:` line per change, naming the cases it touched.

    The first line is the newest message and event ids (the page compares them with the ones
    it was rendered with); given the page's own ids as `since=message,event`, it also names
    what changed in between. Each later line is a `Notice` (chatbot/agents/live.py): `cases`,
    their `owners`, `counts` (list membership or tab counts may have moved), `all` and
    `queued` (clients who joined the queue). All streams of this process share one poller.
    """
    page = _marker(since)

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_MAX_SECONDS
        async with feed.subscribe() as notices:
            first = await feed.opening(notices, page)
            yield f"retry: 1000\ndata: {json.dumps(first)}\n\n"
            while loop.time() < deadline and not await request.is_disconnected():
                stopped, notice = await unless_stopping(request, notices.next(STREAM_IDLE_SECONDS))
                if stopped:
                    return
                if notice is None:
                    yield ": idle\n\n"
                else:
                    yield f"data: {json.dumps(notice.as_json())}\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


def _marker(since: str) -> tuple[int, int] | None:
    """A page's `message,event` marker from the query string; None when absent or malformed."""
    parts = since.split(",")
    if len(parts) != 2 or not all(p.isdigit() and len(p) < 19 for p in parts):
        return None
    return int(parts[0]), int(parts[1])


# --- one case ---


def _transcript_context(agents: AgentDesk, case_id: int) -> dict[str, Any]:
    """What the transcript and status show (the live refresh needs no more)."""
    view: CaseView = agents.case_view(case_id)
    by_message: dict[int, list[dict[str, Any]]] = {}
    for item in view.attachments:
        by_message.setdefault(item["message_id"], []).append(item)
    return {
        "view": view,
        "item": view.item,
        "attachments_by_message": by_message,
        "zone": ZoneInfo(view.profile.timezone),
        "buttons": {m["id"]: json.loads(m["buttons_json"] or "[]") for m in view.messages},
    }


def _case_context(agents: AgentDesk, user: Any, case_id: int, now: datetime) -> dict[str, Any]:
    context = _transcript_context(agents, case_id)
    view: CaseView = context["view"]
    staff = agents.staff(with_load=False)  # names and presence for the transfer list
    phrases = agents.standard_phrases(case_id, user)
    return {
        **context,
        "phrases": phrases,
        "phrase_list": [{"key": k, "text": t} for k, t in phrases],
        "history": agents.contact_history(case_id),
        "staff": [s for s in staff if s.role in AGENT_ROLES],
        "categories": list(view.profile.categories),
        "areas": view.profile.escalation_areas,
        "next_statuses": NEXT_STATUSES,
        "mine": view.item.assignee_id == user.id,
        "now": now,
        "window_closed_since": _window_closed_since(view, now),
    }


def _window_closed_since(view: CaseView, now: datetime) -> datetime | None:
    """For WhatsApp: the client's last message when it is older than the 24-hour window."""
    if view.case["channel"] != "whatsapp":
        return None
    last = view.last_client_at
    return last if last is not None and now - last > WHATSAPP_WINDOW else None


def _case_page(
    request: Request,
    agents: AgentDesk,
    clock: Clock,
    user: Any,
    case_id: RowId,
    *,
    error: str = "",
    draft: str = "",
    status: int = 200,
) -> Response:
    return _inbox_page(
        request, agents, user, clock.now(), case_id, error=error, draft=draft, status=status
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, case_id: RowId, user: StaffUser, agents: AgentsDep, clock: ClockDep
) -> Response:
    """The inbox with this case open: list, conversation, client panel, every action."""
    return _case_page(request, agents, clock, user, case_id)


@router.get("/cases/{case_id}/fragment", response_class=HTMLResponse)
def case_fragment(
    request: Request, case_id: RowId, _user: StaffUser, agents: AgentsDep, clock: ClockDep
) -> Response:
    """The transcript and status alone, for the page's live refresh."""
    try:
        context = {**_transcript_context(agents, case_id), "now": clock.now()}
    except UnknownCase as exc:
        return HTMLResponse(str(exc), status_code=404)
    return _page(request, "desk/_transcript.html", context)


def _back_to(request: Request, case_id: int) -> str:
    query = urlencode(_list_params(request))
    return f"/desk/cases/{case_id}" + (f"?{query}" if query else "")


def _done(request: Request, case_id: int, done: str) -> Response:
    """Back to the case (its list tab kept); "Done: ..." shows once, not on each reload."""
    response = RedirectResponse(_back_to(request, case_id), status_code=303)
    response.set_cookie(DONE_COOKIE, done, max_age=60, path="/desk", httponly=True, samesite="lax")
    return response


async def _act(
    request: Request,
    agents: AgentDesk,
    clock: Clock,
    user: Any,
    case_id: RowId,
    action: Callable[[], object],
    done: str,
    draft: str = "",
) -> Response:
    """Run a service call; success goes back to the case page, a refusal is shown there."""
    try:
        await run_in_threadpool(action)
    except UnknownCase as exc:
        return _page(request, "desk/error.html", {"error": str(exc)}, status=404)
    except LoketError as exc:
        return _case_page(
            request,
            agents,
            clock,
            user,
            case_id,
            error=str(exc),
            draft=draft,
            status=_status_of(exc),
        )
    return _done(request, case_id, done)


@router.post("/cases/{case_id}/typing")
async def typing(case_id: RowId, user: StaffUser, agents: AgentsDep) -> Response:
    """The agent is writing to this case; the web chat shows "… is typing" for a moment."""
    try:
        await run_in_threadpool(lambda: agents.typing(case_id, user))
    except UnknownCase as exc:
        return HTMLResponse(str(exc), status_code=404)
    return Response(status_code=204)


@router.post("/cases/{case_id}/take")
async def take(
    request: Request, case_id: RowId, user: StaffUser, agents: AgentsDep, clock: ClockDep
) -> Response:
    """Become the case's owner; a second agent is told who was first."""
    return await _act(
        request, agents, clock, user, case_id, lambda: agents.take(case_id, user), "taken"
    )


@router.post("/cases/{case_id}/reply")
async def reply(
    request: Request,
    case_id: RowId,
    user: StaffUser,
    agents: AgentsDep,
    clock: ClockDep,
    policy: UploadPolicyDep,
    store: MediaStoreDep,
    text: Annotated[str, Form()] = "",
    phrase: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Send free text or a standard phrase to the client on their channel.

    With a `file`: the file, with the text as its caption (docs/agent-desk.md#attachments).
    """
    try:
        attached = await agent_file(file, policy, store)
    except LoketError as exc:
        status = _status_of(exc)
        return _case_page(
            request, agents, clock, user, case_id, error=str(exc), draft=text, status=status
        )
    answer = await _act(
        request,
        agents,
        clock,
        user,
        case_id,
        lambda: agents.reply(case_id, user, text=text, phrase=phrase or None, file=attached),
        "sent",
        draft=text,
    )
    if answer.status_code != 303:  # refused: nothing refers to the stored file
        discard(attached)
    return answer


@router.post("/cases/{case_id}/messages/{message_id}/resend")
async def resend(
    request: Request,
    case_id: RowId,
    message_id: RowId,
    user: StaffUser,
    agents: AgentsDep,
    clock: ClockDep,
) -> Response:
    """Send a reply that was not delivered again, once its cause is gone (frontdesk/outbox.py)."""
    now = clock.now()
    return await _act(
        request,
        agents,
        clock,
        user,
        case_id,
        lambda: agents.send_again(case_id, message_id, user, now=now),
        "resent",
    )


@router.post("/cases/{case_id}/category")
async def set_category(
    request: Request,
    case_id: RowId,
    user: StaffUser,
    agents: AgentsDep,
    clock: ClockDep,
    category: Annotated[str, Form()],
) -> Response:
    """Easy / Normal / Hard; moves the SLA deadline."""
    return await _act(
        request,
        agents,
        clock,
        user,
        case_id,
        lambda: agents.set_category(case_id, user, category),
        "category",
    )


@router.post("/cases/{case_id}/notes")
async def add_note(
    request: Request,
    case_id: RowId,
    user: StaffUser,
    agents: AgentsDep,
    clock: ClockDep,
    text: Annotated[str, Form()],
) -> Response:
    """An internal note; the client never sees it."""
    return await _act(
        request, agents, clock, user, case_id, lambda: agents.add_note(case_id, user, text), "note"
    )


@router.post("/cases/{case_id}/labels")
async def add_label(
    request: Request,
    case_id: RowId,
    user: StaffUser,
    agents: AgentsDep,
    clock: ClockDep,
    label: Annotated[str, Form(max_length=200)],
) -> Response:
    """Put a free-text label on the case (the list filters by it)."""
    return await _act(
        request,
        agents,
        clock,
        user,
        case_id,
        lambda: agents.add_label(case_id, user, label),
        "label",
    )


@router.post("/cases/{case_id}/labels/remove")
async def remove_label(
    request: Request,
    case_id: RowId,
    user: StaffUser,
    agents: AgentsDep,
    clock: ClockDep,
    label: Annotated[str, Form(max_length=200)],
) -> Response:
    """Take a label off the case."""
    return await _act(
        request,
        agents,
        clock,
        user,
        case_id,
        lambda: agents.remove_label(case_id, user, label),
        "label removed",
    )


@router.post("/cases/{case_id}/hand-back")
async def hand_back(
    request: Request, case_id: RowId, user: StaffUser, agents: AgentsDep, clock: ClockDep
) -> Response:
    """Give the case back to the bot."""
    return await _act(
        request,
        agents,
        clock,
        user,
        case_id,
        lambda: agents.hand_back(case_id, user),
        "handed_back",
    )


@router.post("/cases/{case_id}/transfer")
async def transfer(
    request: Request,
    case_id: RowId,
    user: StaffUser,
    agents: AgentsDep,
    clock: ClockDep,
    to_user: RowIdForm,
) -> Response:
    """Give the case to another agent."""
    return await _act(
        request,
        agents,
        clock,
        user,
        case_id,
        lambda: agents.transfer(case_id, user, to_user),
        "transferred",
    )


@router.post("/cases/{case_id}/reassign")
async def reassign(
    request: Request,
    case_id: RowId,
    user: SupervisorUser,
    agents: AgentsDep,
    clock: ClockDep,
    to_user: RowIdForm,
) -> Response:
    """A supervisor gives any open case to an agent."""
    return await _act(
        request,
        agents,
        clock,
        user,
        case_id,
        lambda: agents.reassign(case_id, user, to_user),
        "reassigned",
    )


@router.post("/cases/{case_id}/resolve")
async def resolve(
    request: Request, case_id: RowId, user: StaffUser, agents: AgentsDep, clock: ClockDep
) -> Response:
    """Declare it solved: closing phrase, then confirmation and survey."""
    return await _act(
        request, agents, clock, user, case_id, lambda: agents.resolve(case_id, user), "resolved"
    )


@router.post("/cases/{case_id}/escalations")
async def escalate(
    request: Request,
    case_id: RowId,
    user: StaffUser,
    agents: AgentsDep,
    clock: ClockDep,
    escalations: EscalationsDep,
    detail: Annotated[str, Form()],
    area: Annotated[str, Form()] = "",
    outlet: Annotated[str, Form()] = "",
    media: Annotated[str, Form()] = "",
) -> Response:
    """File a report for the developer/IT team and post it (Discord / Telegram group)."""
    try:
        report = await run_in_threadpool(
            lambda: escalations.file(
                case_id, user, area=area, outlet=outlet, detail=detail, media=media
            )
        )
    except UnknownCase as exc:
        return _page(request, "desk/error.html", {"error": str(exc)}, status=404)
    except LoketError as exc:
        return _case_page(
            request, agents, clock, user, case_id, error=str(exc), status=_status_of(exc)
        )
    # never raises; a failure shows on the case page, with a button to post again
    await escalations.post(report, within_seconds=POST_TIMEOUT_SECONDS)
    return _done(request, case_id, "escalated")


@router.post("/escalations/{escalation_id}/status")
async def escalation_status(
    request: Request,
    escalation_id: RowId,
    user: StaffUser,
    agents: AgentsDep,
    clock: ClockDep,
    escalations: EscalationsDep,
    status: Annotated[str, Form()],
) -> Response:
    """Move a report: fix ready, verified (the client is told), closed."""
    case_id = agents.case_of_report(escalation_id)
    if case_id is None:
        return _page(request, "desk/error.html", {"error": "no such report"}, status=404)
    return await _act(
        request,
        agents,
        clock,
        user,
        case_id,
        lambda: escalations.set_status(escalation_id, user, status),
        "report",
    )


@router.post("/escalations/{escalation_id}/repost")
async def escalation_repost(
    request: Request,
    escalation_id: RowId,
    _user: StaffUser,
    agents: AgentsDep,
    escalations: EscalationsDep,
) -> Response:
    """Post a report again after Discord or Telegram failed."""
    case_id = agents.case_of_report(escalation_id)
    if case_id is None:
        return _page(request, "desk/error.html", {"error": "no such report"}, status=404)
    await escalations.post(escalation_id, within_seconds=POST_TIMEOUT_SECONDS)
    return _done(request, case_id, "reposted")


@router.post("/cases/{case_id}/compensation")
async def compensation(
    request: Request,
    case_id: RowId,
    user: SupervisorUser,
    agents: AgentsDep,
    clock: ClockDep,
    escalations: EscalationsDep,
    loss: Annotated[str, Form()],
    agreed: Annotated[str, Form()],
    product_fault: Annotated[str, Form()] = "",
) -> Response:
    """Bahtera: a supervisor records the product's fault, the loss and what was agreed."""
    return await _act(
        request,
        agents,
        clock,
        user,
        case_id,
        lambda: escalations.record_compensation(
            case_id, user, product_fault=bool(product_fault), loss=loss, compensation=agreed
        ),
        "compensation",
    )


@router.get("/cases/{case_id}/attachments/{attachment_id}")
async def attachment(
    case_id: RowId,
    attachment_id: RowId,
    _user: StaffUser,
    agents: AgentsDep,
    settings: SettingsDep,
    channels: ChannelsDep,
) -> Response:
    """A client's photo, video or document, for logged-in staff only.

    Our stored copy when there is one; a Telegram file is fetched from Telegram (which keeps
    it) through the bot; a provider's https URL is a redirect.
    """
    item, case, path = await run_in_threadpool(
        lambda: agents.attachment(case_id, attachment_id, media_dir=settings.media_dir)
    )
    if item is None or case is None or item["case_id"] != case_id:
        return HTMLResponse("no such attachment", status_code=404)
    kind = item["content_type"] or "application/octet-stream"
    if path is not None:  # our own copy, only from under the media folder
        guessed = item["content_type"] or mimetypes.guess_type(path.name)[0]
        return FileResponse(path, media_type=guessed or "application/octet-stream")
    telegram: Any = channels.get("telegram")
    if item["file_id"] and case["channel"] == "telegram" and hasattr(telegram, "fetch_file"):
        try:
            data = await telegram.fetch_file(item["file_id"], settings.max_media_bytes)
        except MediaUnavailable as exc:
            return HTMLResponse(str(exc), status_code=502)
        return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=3600"})
    url = item["url"] or ""
    if url.startswith("https://"):
        return RedirectResponse(url, status_code=307)
    return HTMLResponse("this attachment is kept by the channel only", status_code=404)


# --- supervisors ---


@router.get("/supervisor", response_class=HTMLResponse)
def supervisor_page(
    request: Request, _user: SupervisorUser, agents: AgentsDep, clock: ClockDep
) -> Response:
    """All cases, who is online and how loaded, the backlog warning; reassign from here."""
    backlog, limit = agents.backlog()
    staff = agents.staff()
    return _page(
        request,
        "desk/supervisor.html",
        {
            "cases": agents.all_cases(),
            "staff": staff,
            "owners": [s for s in staff if s.role in ("agent", "supervisor", "admin")],
            "backlog": backlog,
            "backlog_limit": limit,
            "now": clock.now(),
            "zone": _zone(agents),
        },
    )


# --- cases that do not start in chat ---


@router.get("/new", response_class=HTMLResponse)
def new_case_page(request: Request, _user: StaffUser, agents: AgentsDep) -> Response:
    """The form for a phone call, walk-in, suggestion-box note or email."""
    return _new_case(request, agents, {}, "")


def _new_case(
    request: Request, agents: AgentDesk, values: dict[str, str], error: str, status: int = 200
) -> Response:
    profile = agents.profile()
    return _page(
        request,
        "desk/new_case.html",
        {
            "profile": profile,
            "sources": MANUAL_SOURCES,
            "channels": CONTACT_CHANNELS,
            "values": values,
            "error": error,
        },
        status,
    )


@router.post("/new")
async def new_case(request: Request, user: StaffUser, agents: AgentsDep) -> Response:
    """Open the case; it joins the queue (or the agent keeps it) with the same clocks."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    profile = agents.profile()
    fields = {f.key: values.get(f"field_{f.key}", "") for f in profile.fields}
    try:
        case_id = await run_in_threadpool(
            lambda: agents.open_case(
                user,
                source=values.get("source", ""),
                complaint=values.get("complaint", ""),
                fields=fields,
                client_name=values.get("client_name", ""),
                contact_channel=values.get("contact_channel", ""),
                contact=values.get("contact", ""),
                take=bool(values.get("take")),
            )
        )
    except LoketError as exc:
        return _new_case(request, agents, values, str(exc), _status_of(exc))
    return _done(request, case_id, "opened")


# --- the user's own account: display name, language, password, presence ---


def _account_page(
    request: Request, agents: AgentDesk, user: Any, error: str = "", status: int = 200
) -> Response:
    context = {"settings": agents.settings_of(user), "locales": UI_LOCALES, "error": error}
    return _page(request, "desk/account.html", context, status)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, user: StaffUser, agents: AgentsDep) -> Response:
    """The name clients read, the console's language, and a new password."""
    return _account_page(request, agents, user)


@router.post("/account")
async def save_account(
    request: Request,
    user: StaffUser,
    agents: AgentsDep,
    display_name: Annotated[str, Form(max_length=200)] = "",
    ui_locale: Annotated[str, Form(max_length=8)] = "id",
    enter_sends: Annotated[str, Form(max_length=8)] = "1",
) -> Response:
    """Save the display name, the console's language and which key sends a reply."""
    try:
        if enter_sends not in {"1", "0"}:
            raise InvalidInput("enter_sends is 1 (Enter sends) or 0 (Shift+Enter sends)")
        await run_in_threadpool(
            lambda: agents.save_settings(
                user,
                display_name=display_name,
                ui_locale=ui_locale,
                enter_sends=enter_sends == "1",
            )
        )
    except LoketError as exc:
        return _account_page(request, agents, user, str(exc), _status_of(exc))
    response = RedirectResponse("/desk/account", status_code=303)
    response.set_cookie(DONE_COOKIE, "saved", max_age=60, path="/desk", httponly=True)
    return response


@router.post("/account/password")
async def change_password(
    request: Request,
    user: StaffUser,
    agents: AgentsDep,
    accounts: AccountsDep,
    current: Annotated[str, Form(max_length=4096)] = "",
    new: Annotated[str, Form(max_length=4096)] = "",
    repeat: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    """A new password for oneself: the current one first; every session ends, log in again."""
    if new != repeat:
        return _account_page(request, agents, user, "the new passwords differ", 422)
    try:
        known = await run_in_threadpool(
            lambda: accounts.authenticate(user.name, current, client_address(request))
        )
        if known is None:
            return _account_page(request, agents, user, "the current password is wrong", 403)
        await run_in_threadpool(lambda: accounts.set_password(user.name, new))
    except TooManyAttempts as exc:
        return _account_page(request, agents, user, str(exc), 429)
    except AccountError as exc:
        return _account_page(request, agents, user, str(exc), 422)
    return RedirectResponse("/login?next=/desk&changed=1", status_code=303)


@router.post("/presence")
async def set_presence(
    user: StaffUser,
    agents: AgentsDep,
    presence: Annotated[str, Form(max_length=16)],
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Online, away or offline; routing gives new cases to online agents only."""
    try:
        await run_in_threadpool(lambda: agents.set_presence(user, presence))
    except LoketError as exc:
        return HTMLResponse(str(exc), status_code=_status_of(exc))
    return RedirectResponse(safe_next(back) or "/desk", status_code=303)
