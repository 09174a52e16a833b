"""What routes take from the app: one `Annotated[..., Depends(...)]` alias per service.

create_app (chatbot/web/app.py) puts the services on `app.state`; each getter here reads one
of them, typed, so routes name what they use as parameters (`agents: AgentsDep`) instead of
reaching into `request.app.state`. The login's aliases (StaffUser, SupervisorUser, ...) stay
in chatbot/web/auth.py. The getters are `async def`: attribute reads, no thread needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Protocol

from fastapi import Depends, Request

from chatbot.admin.accounts import Accounts
from chatbot.admin.editor import PhraseEditor, ProfileEditor
from chatbot.admin.users import UserDirectory
from chatbot.agents.agent_desk import AgentDesk
from chatbot.agents.escalation import EscalationDesk
from chatbot.channels.base import Channel
from chatbot.clock import Clock
from chatbot.frontdesk.desk import Desk
from chatbot.supervision.pages import SupervisionPages
from chatbot.supervision.qa import QualityReview
from flows.profiles.schema import Profile


class WebSettings(Protocol):
    """The settings routes read (settings are imported only at composition roots)."""

    @property
    def profile(self) -> str:
        """The profile in force when none is named."""
        ...

    @property
    def public_url(self) -> str:
        """The URL clients and providers reach this server at."""
        ...

    @property
    def media_dir(self) -> Path:
        """Where client media is kept."""
        ...

    @property
    def max_media_bytes(self) -> int:
        """The largest media file fetched for the console."""
        ...


async def get_settings(request: Request) -> WebSettings:
    """The installation's settings."""
    settings: WebSettings = request.app.state.settings
    return settings


async def get_desk(request: Request) -> Desk:
    """The front desk (the step service)."""
    desk: Desk = request.app.state.desk
    return desk


async def get_profile(request: Request) -> Profile:
    """The default profile with the admin's settings in force, as of this request."""
    desk: Desk = request.app.state.desk
    return desk.profile()


async def get_agents(request: Request) -> AgentDesk:
    """The agent desk: queue, cases, replies."""
    agents: AgentDesk = request.app.state.agent_desk
    return agents


async def get_escalations(request: Request) -> EscalationDesk:
    """Escalation reports and compensation."""
    escalations: EscalationDesk = request.app.state.escalations
    return escalations


async def get_clock(request: Request) -> Clock:
    """The app's clock (a frozen one in tests)."""
    clock: Clock = request.app.state.clock
    return clock


async def get_channels(request: Request) -> Mapping[str, Channel]:
    """The configured channels by name."""
    channels: Mapping[str, Channel] = request.app.state.channels
    return channels


async def get_phrase_editor(request: Request) -> PhraseEditor:
    """The admin's phrase editor."""
    editor: PhraseEditor = request.app.state.phrase_editor
    return editor


async def get_profile_editor(request: Request) -> ProfileEditor:
    """The admin's profile settings editor."""
    editor: ProfileEditor = request.app.state.profile_editor
    return editor


async def get_accounts(request: Request) -> Accounts:
    """Desk user accounts and login sessions."""
    accounts: Accounts = request.app.state.accounts
    return accounts


async def get_users(request: Request) -> UserDirectory | None:
    """The users page's directory; None when the app has no user accounts."""
    directory: UserDirectory | None = getattr(request.app.state, "users", None)
    return directory


async def get_qa(request: Request) -> QualityReview:
    """Quality review: samples, prefilled rubrics, saved reviews."""
    qa: QualityReview = request.app.state.qa
    return qa


async def get_supervision(request: Request) -> SupervisionPages:
    """The supervisors' pages' reads: KPIs, a figure's cases, reports, forms."""
    pages: SupervisionPages = request.app.state.supervision_pages
    return pages


SettingsDep = Annotated[WebSettings, Depends(get_settings)]
DeskDep = Annotated[Desk, Depends(get_desk)]
ProfileDep = Annotated[Profile, Depends(get_profile)]
AgentsDep = Annotated[AgentDesk, Depends(get_agents)]
EscalationsDep = Annotated[EscalationDesk, Depends(get_escalations)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ChannelsDep = Annotated[Mapping[str, Channel], Depends(get_channels)]
PhraseEditorDep = Annotated[PhraseEditor, Depends(get_phrase_editor)]
ProfileEditorDep = Annotated[ProfileEditor, Depends(get_profile_editor)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]
UsersDep = Annotated[UserDirectory | None, Depends(get_users)]
QaDep = Annotated[QualityReview, Depends(get_qa)]
SupervisionDep = Annotated[SupervisionPages, Depends(get_supervision)]
