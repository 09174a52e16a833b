"""The campaigns page for admins: progress and failures of each campaign, the opt-out register.

Campaigns are created and steered with `loket campaigns` (docs/campaigns.md); this page
shows them and lets an admin add numbers to, and remove them from, the register.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from chatbot.errors import InvalidInput
from chatbot.web.admin import AdminDep, AdminOnly, same_origin, templates
from chatbot.web.auth import verify_csrf
from chatbot.web.deps import CampaignsDep, ClockDep

router = APIRouter(
    prefix="/admin/campaigns",
    tags=["admin"],
    dependencies=[Depends(AdminOnly), Depends(same_origin), Depends(verify_csrf)],
)
Number = Annotated[str, Form(min_length=1, max_length=64)]


async def _page(
    request: Request, desk: CampaignsDep, *, message: str = "", error: str = "", status: int = 200
) -> Response:
    campaigns = await run_in_threadpool(desk.overview)
    opt_outs = await run_in_threadpool(desk.opt_outs)
    context = {"campaigns": campaigns, "opt_outs": opt_outs, "message": message, "error": error}
    return templates.TemplateResponse(request, "admin/campaigns.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
async def campaigns_page(request: Request, desk: CampaignsDep, done: str = "") -> Response:
    """Each campaign's numbers and failures, and the opt-out register."""
    return await _page(request, desk, message=done[:200])


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
