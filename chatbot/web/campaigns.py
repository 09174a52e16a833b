"""Campaign pages: the admins' (progress, failures, the opt-out register) and the team's.

Campaigns are created and steered with `loket campaigns` (docs/campaigns.md). Admins see
them at /admin/campaigns and edit the register there; team leaders follow their agents'
campaign work live at /desk/campaigns.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from chatbot.errors import InvalidInput, NotAllowed
from chatbot.web.admin import AdminDep, AdminOnly, same_origin, templates
from chatbot.web.auth import SupervisorUser, verify_csrf
from chatbot.web.deps import CampaignsDep, ClockDep, RowId, RowIdQuery, SettingsDep

router = APIRouter(
    prefix="/admin/campaigns",
    tags=["admin"],
    dependencies=[Depends(AdminOnly), Depends(same_origin), Depends(verify_csrf)],
)
team_router = APIRouter(
    prefix="/desk/campaigns", tags=["supervision"], dependencies=[Depends(verify_csrf)]
)
Number = Annotated[str, Form(min_length=1, max_length=64)]
STEPS = {  # the buttons a campaign in each state shows
    "draft": ("start", "cancel"),
    "scheduled": ("pause", "cancel"),
    "running": ("pause", "cancel"),
    "paused": ("resume", "cancel"),
}
REFRESH_SECONDS = 15  # the team leader's page reloads itself: a live view without scripts


async def _page(
    request: Request, desk: CampaignsDep, *, message: str = "", error: str = "", status: int = 200
) -> Response:
    campaigns = await run_in_threadpool(desk.overview)
    opt_outs = await run_in_threadpool(desk.opt_outs)
    context = {
        "campaigns": campaigns,
        "opt_outs": opt_outs,
        "message": message,
        "error": error,
        "steps": STEPS,
    }
    return templates.TemplateResponse(request, "admin/campaigns.html", context, status_code=status)


@team_router.get("", response_class=HTMLResponse)
async def team_page(
    request: Request, user: SupervisorUser, desk: CampaignsDep, campaign: RowIdQuery = None
) -> Response:
    """Per agent, for one campaign: contacted, reached, replied, follow-ups open."""
    campaigns = await run_in_threadpool(desk.overview)
    chosen = next((c for c in campaigns if c["id"] == campaign), None)
    if chosen is None and campaign is None and campaigns:
        chosen = campaigns[0]
    agents = await run_in_threadpool(desk.agents_view, chosen["id"]) if chosen else []
    context = {
        "user": user,
        "campaigns": campaigns,
        "chosen": chosen,
        "agents": agents,
        "refresh": REFRESH_SECONDS,
    }
    status = 404 if campaign is not None and chosen is None else 200
    return templates.TemplateResponse(
        request, "supervision/campaigns.html", context, status_code=status
    )


@router.get("", response_class=HTMLResponse)
async def campaigns_page(request: Request, desk: CampaignsDep, done: str = "") -> Response:
    """Each campaign's numbers and failures, and the opt-out register."""
    return await _page(request, desk, message=done[:MAX_DONE_CHARS])


MAX_DONE_CHARS = 1500  # the draft's summary with its skipped lines, shown after the upload
MAX_AUDIENCE_BYTES = 20_000_000  # an audience of a few hundred thousand rows


@router.post("/new", response_class=HTMLResponse)
async def campaign_new(
    request: Request,
    desk: CampaignsDep,
    admin: AdminDep,
    clock: ClockDep,
    settings: SettingsDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    channel: Annotated[str, Form(pattern="^(whatsapp|sms|telegram)$")],
    template: Annotated[str, Form(min_length=1, max_length=4000)],
    audience: UploadFile,
    variables: Annotated[str, Form(max_length=2000)] = "{}",
    window: Annotated[str, Form(max_length=11)] = "08:00-20:00",
    rate: Annotated[float | None, Form(gt=0, le=1000)] = None,
) -> Response:
    """Upload an audience: a draft campaign, with what the file held and a sample row."""
    data = await audience.read(MAX_AUDIENCE_BYTES + 1)
    try:
        if len(data) > MAX_AUDIENCE_BYTES:
            raise InvalidInput(f"the audience file is over {MAX_AUDIENCE_BYTES} bytes")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(
                "the audience file is not UTF-8 text (save it as CSV UTF-8)"
            ) from None
        campaign_id, preview = await run_in_threadpool(
            lambda: desk.create(
                name=name,
                channel=channel,
                template=template,
                variables=variables,
                window=window,
                rate=rate,
                audience_csv=text,
                profile=settings.profile,
                actor=admin.name,
                now=clock.now(),
            )
        )
    except InvalidInput as exc:
        return await _page(request, desk, error=str(exc), status=422)
    done = f"Draft campaign {campaign_id}: {preview}"
    return RedirectResponse(
        f"/admin/campaigns?done={quote(done[:MAX_DONE_CHARS])}", status_code=303
    )


@router.post("/{campaign_id}/{verb}", response_class=HTMLResponse)
async def campaign_steer(
    request: Request,
    desk: CampaignsDep,
    clock: ClockDep,
    campaign_id: RowId,
    verb: Annotated[str, PathParam(pattern="^(start|pause|resume|cancel)$")],
) -> Response:
    """Start, pause, resume or cancel a campaign."""
    try:
        state = await run_in_threadpool(lambda: desk.steer(campaign_id, verb, now=clock.now()))
    except NotAllowed as exc:
        return await _page(request, desk, error=str(exc), status=409)
    done = f"Campaign {campaign_id} is {state}."
    return RedirectResponse(f"/admin/campaigns?done={quote(done)}", status_code=303)


@router.post("/optout", response_class=HTMLResponse)
async def optout_change(
    request: Request,
    desk: CampaignsDep,
    admin: AdminDep,
    clock: ClockDep,
    action: Annotated[str, Form(pattern="^(add|remove)$")],
    number: Number,
) -> Response:
    """Add a number to the register, or take one out."""
    try:
        if action == "add":
            address = await run_in_threadpool(
                lambda: desk.opt_out(number, actor=admin.name, now=clock.now())
            )
            done = f"{address} will get no campaign messages."
        else:
            address = await run_in_threadpool(desk.opt_in, number)
            done = f"{address} may get campaign messages again."
    except InvalidInput as exc:
        return await _page(request, desk, error=str(exc), status=422)
    return RedirectResponse(f"/admin/campaigns?done={quote(done)}", status_code=303)
