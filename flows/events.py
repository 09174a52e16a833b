"""What the desk feeds a flow (FlowEvent) and what a flow hands back (Reply, Effect)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Trigger = Literal[
    "client_wrote",
    "client_asked_for_human",
    "client_cancelled",
    "agent_took_over",
    "agent_handed_back",
    "agent_escalated",
    "agent_verified_fix",
    "agent_resolved",
    "timer_expired",
]


@dataclass(frozen=True, slots=True)
class FlowEvent:
    """One thing that happened to a case, already masked and stripped of channel details."""

    trigger: Trigger
    text: str = ""
    kind: str = "text"  # text, photo, video, document, voice, location, contact, sticker, other
    button: str | None = None  # payload of a pressed quick-reply / inline button
    has_attachment: bool = False
    location: tuple[float, float] | None = None
    contact_phone: str | None = None
    reopening: Reopening | None = None  # set while the desk is closed: when it opens again


@dataclass(frozen=True, slots=True)
class Reopening:
    """When the team is back, in the desk's local time, as the after-hours phrase says it."""

    weekday: int  # 0 Monday ... 6 Sunday; the phrase names the day in its language
    time: str  # "08.00"
    date: str  # "28/12/2026"
    days_ahead: int  # 0 today, 1 tomorrow, ...
    zone: str  # "WIB"


@dataclass(frozen=True, slots=True)
class Button:
    """A quick reply; channels without buttons show the label as text."""

    payload: str
    label: str = ""  # shown as is (digits, stars) ...
    label_key: str | None = None  # ... or rendered from the phrase book


@dataclass(frozen=True, slots=True)
class Reply:
    """A sentence the bot says: which phrase, with which variables."""

    key: str
    variables: Mapping[str, object] = field(default_factory=dict)
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueCase:
    """Put the case in the agent queue."""

    reason: str


@dataclass(frozen=True, slots=True)
class SetCategory:
    """Record the case's category and the SLA it carries."""

    category: str
    sla_minutes: int


@dataclass(frozen=True, slots=True)
class RecordSurvey:
    """Store the client's rating and/or comment."""

    rating: int | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class ResolveCase:
    """The problem is declared solved (the resolution clock stops); closing follows."""

    by: str


@dataclass(frozen=True, slots=True)
class CloseCase:
    """Close the case, saying who closed it and why."""

    reason: str
    by: str


@dataclass(frozen=True, slots=True)
class RouteCase:
    """#17: the case waits for the Operations decision (remote or visit) with this suggestion."""

    suggested: str
    reasons: str


Effect = QueueCase | SetCategory | RecordSurvey | ResolveCase | CloseCase | RouteCase
