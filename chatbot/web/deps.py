"""What routes take from the app: one `Annotated[..., Depends(...)]` alias per service.

create_app (chatbot/web/app.py) puts the services on `app.state`; each getter here reads one
of them, typed, so routes name what they use as parameters (`agents: AgentsDep`) instead of
reaching into `request.app.state`. The login's aliases (StaffUser, SupervisorUser, ...) stay
in chatbot/web/auth.py. The getters are `async def`: attribute reads, no thread needed.
The alias's type is what the route sees; create_app is what makes it true.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam

from chatbot.admin.accounts import Accounts
from chatbot.admin.calendar import OfficeCalendar
from chatbot.admin.editor import PhraseEditor, ProfileEditor
from chatbot.admin.faq import FaqEditor
from chatbot.admin.users import UserDirectory
from chatbot.agents.agent_desk import AgentDesk
from chatbot.agents.escalation import EscalationDesk
from chatbot.agents.live import ChangeFeed
from chatbot.agents.visits import VisitDesk
from chatbot.campaigns.register import CampaignDesk
from chatbot.channels.base import Channel
from chatbot.channels.files import MediaLinks, UploadPolicy
from chatbot.channels.media import MediaStore
from chatbot.clock import Clock
from chatbot.frontdesk.desk import Desk
from chatbot.frontdesk.files import FileShelf
from chatbot.supervision.pages import SupervisionPages
from chatbot.supervision.qa import QualityReview
from chatbot.throttle import Throttle
from chatbot.web.bodies import BodyReader
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

    @property
    def twilio_whatsapp_template_sid(self) -> str | None:
        """The approved WhatsApp template sent outside the 24-hour window, if any."""
        ...


MAX_ROW_ID = 2**63 - 1  # the largest id a BIGINT holds; larger ones overflow the driver
# Ids in paths, queries and forms: an id no row can have is a 422, not an OverflowError.
RowId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]
RowIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
RowIdForm = Annotated[int, Form(ge=1, le=MAX_ROW_ID)]


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: uvicorn --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def _state(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency that reads one service create_app put on `app.state`."""

    async def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    get.__name__ = f"get_{name}"
    return get


async def get_profile(request: Request) -> Profile:
    """The default profile with the admin's settings in force, as of this request."""
    desk: Desk = request.app.state.desk
    return desk.profile()


async def get_users(request: Request) -> UserDirectory | None:
    """The users page's directory; None when the app has no user accounts."""
    directory: UserDirectory | None = getattr(request.app.state, "users", None)
    return directory


ThrottleDep = Annotated[Throttle, Depends(_state("throttle"))]  # shared rate counters
BodiesDep = Annotated[BodyReader, Depends(_state("bodies"))]  # bounded body reads
SettingsDep = Annotated[WebSettings, Depends(_state("settings"))]
DeskDep = Annotated[Desk, Depends(_state("desk"))]  # the step service
ProfileDep = Annotated[Profile, Depends(get_profile)]
AgentsDep = Annotated[AgentDesk, Depends(_state("agent_desk"))]  # queue, cases, replies
FeedDep = Annotated[ChangeFeed, Depends(_state("desk_feed"))]  # the console's live notices
EscalationsDep = Annotated[EscalationDesk, Depends(_state("escalations"))]
ClockDep = Annotated[Clock, Depends(_state("clock"))]  # a frozen one in tests
ChannelsDep = Annotated[Mapping[str, Channel], Depends(_state("channels"))]
PhraseEditorDep = Annotated[PhraseEditor, Depends(_state("phrase_editor"))]
ProfileEditorDep = Annotated[ProfileEditor, Depends(_state("profile_editor"))]
FaqEditorDep = Annotated[FaqEditor, Depends(_state("faq_editor"))]  # #14: the FAQ form
CalendarDep = Annotated[OfficeCalendar, Depends(_state("office_calendar"))]  # office days
AccountsDep = Annotated[Accounts, Depends(_state("accounts"))]  # users and login sessions
UsersDep = Annotated[UserDirectory | None, Depends(get_users)]
QaDep = Annotated[QualityReview, Depends(_state("qa"))]  # samples, rubrics, reviews
SupervisionDep = Annotated[SupervisionPages, Depends(_state("supervision_pages"))]
VisitsDep = Annotated[VisitDesk, Depends(_state("visits"))]  # #17: Operations and visits
CampaignsDep = Annotated[CampaignDesk, Depends(_state("campaigns"))]  # campaigns, opt-outs

# #14 attachments both ways (docs/agent-desk.md#attachments)
UploadPolicyDep = Annotated[UploadPolicy, Depends(_state("upload_policy"))]  # types, size
MediaStoreDep = Annotated[MediaStore, Depends(_state("media"))]  # where uploads are kept
FilesDep = Annotated[FileShelf, Depends(_state("files"))]  # stored files, by who may read
MediaLinksDep = Annotated[MediaLinks | None, Depends(_state("media_links"))]  # None: no Twilio
