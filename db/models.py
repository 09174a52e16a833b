"""Table shapes only. States and channel names are stored as plain strings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def _utc_column(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class User(SQLModel, table=True):
    """A desk user: an agent, a supervisor, a QC reviewer or an admin."""

    __tablename__ = "desk_user"  # "user" is reserved in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)  # agent | supervisor | qc | admin
    password_hash: str = Field(max_length=255)
    active: bool = True
    created_at: datetime = Field(sa_column=_utc_column())
    last_seen_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class WebSession(SQLModel, table=True):
    """A login: the cookie carries the token, the row keeps only its SHA-256."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="desk_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_utc_column())
    expires_at: datetime = Field(sa_column=_utc_column())


class Contact(SQLModel, table=True):
    """A client as one channel knows them: a Telegram chat, a WhatsApp number, a browser."""

    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_contact_channel_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    display_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_column=_utc_column())


class Case(SQLModel, table=True):
    """One client problem from first message to survey; `state` is the flow's state value."""

    __table_args__ = (
        # At most one open case per chat: the desk finds it without scanning history.
        Index(
            "uq_case_open_chat",
            "channel",
            "chat_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_case_chat_closed", "channel", "chat_id", "closed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    profile: str = Field(max_length=32)
    locale: str = Field(default="id", max_length=8)
    state: str = Field(max_length=32, index=True)
    category: str | None = Field(default=None, max_length=8)
    sla_minutes: int | None = None
    fields_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    context_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    opened_at: datetime = Field(sa_column=_utc_column(index=True))
    updated_at: datetime = Field(sa_column=_utc_column())
    queued_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    closed_reason: str | None = Field(default=None, max_length=64)
    closed_by: str | None = Field(default=None, max_length=64)
    # --- the agent desk and its clocks (see docs/agent-desk.md for each definition) ---
    # Where the case came from: chat (a channel), or phone / walk_in / suggestion_box / email
    # when an agent opened it by hand.
    source: str = Field(default="chat", max_length=16)
    # First hand-off to the agent queue; `queued_at` is the latest one (queue order).
    handed_off_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    assignee_id: int | None = Field(default=None, foreign_key="desk_user.id", index=True)
    assigned_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # First human reply after the first hand-off, and who wrote it.
    first_response_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    first_response_by: int | None = Field(default=None, foreign_key="desk_user.id")
    # Marked by the timers when the first-response target passed without a human reply.
    frt_missed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # opened_at + the category's SLA minutes; moved when the category changes.
    sla_due_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Marked by the timers when sla_due_at passed before the case was resolved.
    sla_breached_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # First time the problem was declared solved (agent resolved, or the client said the
    # FAQ answer solved it); the closing flow (confirmation, survey) follows.
    resolved_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    resolved_by: str | None = Field(default=None, max_length=64)
    # Set when personal data and transcripts were anonymised by the retention timer.
    anonymised_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class Message(SQLModel, table=True):
    """A message in a case's transcript; outbound rows with status "pending" are the outbox."""

    __table_args__ = (
        # The idempotency key: a provider re-delivering a message hits this index. Partial
        # indexes here and below hold only the rows they serve, so a write touches fewer pages.
        Index(
            "uq_message_channel_external",
            "channel",
            "external_id",
            unique=True,
            sqlite_where=text("external_id IS NOT NULL"),
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index(
            "ix_message_provider_id",
            "provider_id",
            sqlite_where=text("provider_id IS NOT NULL"),
            postgresql_where=text("provider_id IS NOT NULL"),
        ),
        # The outbox: outbound messages still to send. A partial index keeps it as small as
        # the backlog, and a reply costs one row written with the state change, not two.
        Index(
            "ix_message_outbox",
            "channel",
            "chat_id",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    direction: str = Field(max_length=3)  # "in" | "out"
    external_id: str | None = Field(default=None, max_length=128)
    kind: str = Field(default="text", max_length=16)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    phrase_key: str | None = Field(default=None, max_length=64)
    buttons_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    author: str = Field(default="bot", max_length=64)
    status: str | None = Field(default=None, max_length=16)  # pending, sent, delivered, ...
    due_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    attempts: int = 0
    provider_id: str | None = Field(default=None, max_length=128)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # The worker (host:pid) whose dispatcher leased the reply last: who holds it, who sent it.
    leased_by: str | None = Field(default=None, max_length=64)


class Attachment(SQLModel, table=True):
    """A photo, video, document, voice note or location the client sent with a case."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    message_id: int = Field(foreign_key="message.id")
    kind: str = Field(max_length=16)
    content_type: str | None = Field(default=None, max_length=128)
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    file_id: str | None = Field(default=None, max_length=256)
    filename: str | None = Field(default=None, max_length=256)
    size: int | None = None
    stored_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_utc_column())


class SurveyAnswer(SQLModel, table=True):
    """The client's 1-5 rating and optional comment for one closed case."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    rating: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_utc_column())


class PhraseVersion(SQLModel, table=True):
    """One saved text of a phrase; the newest row per (key, locale) is in force.

    Rows are never changed or deleted: a revert adds the old text again, and a reset adds a
    row with `is_reset` (its `text` keeps the file default of that moment, for the diff).
    """

    __table_args__ = (Index("ix_phraseversion_key_locale", "key", "locale", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    locale: str = Field(max_length=8)
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=64)
    is_reset: bool = False
    reverted_from: int | None = None  # the version whose text this one brought back
    created_at: datetime = Field(sa_column=_utc_column())


class ProfileVersion(SQLModel, table=True):
    """One saved set of a profile's editable settings (JSON); the newest row per profile wins."""

    __table_args__ = (Index("ix_profileversion_profile", "profile", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    profile: str = Field(max_length=32)
    settings_json: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=64)
    is_reset: bool = False
    created_at: datetime = Field(sa_column=_utc_column())


class OverrideRevision(SQLModel, table=True):
    """One row counting admin edits; workers reload their overrides when it moves."""

    id: int = Field(default=1, primary_key=True)
    value: int = 0


class CaseEvent(SQLModel, table=True):
    """What happened to a case outside the transcript: queued, taken, transferred, resolved...

    An append-only log: the KPIs and the QA review read clocks and owners from it.
    """

    __table_args__ = (
        Index("ix_caseevent_case", "case_id", "id"),
        Index("ix_caseevent_kind_case", "kind", "case_id"),  # KPIs: reopened cases (0006)
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    kind: str = Field(max_length=32)
    actor: str | None = Field(default=None, max_length=64)  # user name, "bot", "client", "timer"
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = Field(sa_column=_utc_column(index=True))


class CaseNote(SQLModel, table=True):
    """An internal note on a case; the client never sees it."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    author: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_utc_column())


class Escalation(SQLModel, table=True):
    """A report to the developer/IT team (docs/procedures.md#erzap-developer-report).

    Its status moves open -> fix_ready -> verified -> closed.
    """

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    area: str = Field(max_length=64)
    outlet: str = Field(default="", max_length=200)  # Grup Outlet / Domain
    detail: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="open", max_length=16, index=True)
    filed_by: str = Field(max_length=64)
    # Where the report was posted and what went wrong, shown in the console.
    posted_to: str | None = Field(default=None, max_length=64)
    post_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime = Field(sa_column=_utc_column())


class Compensation(SQLModel, table=True):
    """Bahtera's compensation step: the product's fault, the loss, what was agreed."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    product_fault: bool
    loss: str = Field(sa_column=Column(Text, nullable=False))
    compensation: str = Field(sa_column=Column(Text, nullable=False))
    recorded_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_utc_column())


class QaReview(SQLModel, table=True):
    """A QC reviewer's rubric score of one closed case (ERZAP QA score)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", unique=True)
    agent_id: int | None = Field(default=None, foreign_key="desk_user.id", index=True)
    reviewer: str = Field(max_length=64)
    items_json: str = Field(sa_column=Column(Text, nullable=False))  # {item: {"ok": bool, ...}}
    score: float  # 0-100, weighted by the profile's rubric
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_utc_column(index=True))
    updated_at: datetime = Field(sa_column=_utc_column())


class JobCursor(SQLModel, table=True):
    """How far a background job has read an append-only log (e.g. hand-off alerts).

    Kept in the database so a restart neither repeats nor skips, and moved with a
    compare-and-set so that of several `loket serve` workers only one announces each entry.
    """

    name: str = Field(primary_key=True, max_length=32)
    value: int


class Chat(SQLModel, table=True):
    """A conversation as the inbox numbers it: one row per (channel, chat id).

    Ingress bumps `last_seq` under this row's lock, so a chat's inbox rows are numbered in
    the order they commit (an id from a sequence is not commit order on PostgreSQL).
    """

    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_chat_channel_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    last_seq: int = 0


class ChatClaim(SQLModel, table=True):
    """The row a stepper locks (FOR UPDATE SKIP LOCKED) while it steps one chat.

    Separate from `chat`, whose lock ingress takes: a chat being stepped still accepts
    new messages without waiting for the stepper's transaction.
    """

    chat_key: int = Field(primary_key=True, foreign_key="chat.id")


class InboxMessage(SQLModel, table=True):
    """One accepted client message, durable before the provider hears 200.

    `payload` is the channel's parsed message (JSON); `stepped_at` is set in the same
    transaction as the flow's effects and replies, so a message is stepped exactly once.
    """

    __table_args__ = (
        # The idempotency key: a provider re-delivering a message changes nothing.
        UniqueConstraint("channel", "external_id", name="uq_inbox_channel_external"),
        # Messages still to step, by chat and order; as small as the backlog.
        Index(
            "ix_inbox_pending",
            "chat_key",
            "seq",
            sqlite_where=text("stepped_at IS NULL"),
            postgresql_where=text("stepped_at IS NULL"),
        ),
        # The same messages in accepted order: steppers claim the chats of the oldest.
        Index(
            "ix_inbox_pending_order",
            "id",
            "chat_key",
            sqlite_where=text("stepped_at IS NULL"),
            postgresql_where=text("stepped_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_key: int = Field(foreign_key="chat.id")
    seq: int
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=_utc_column())
    stepped_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    attempts: int = 0  # steps that raised; after a few the message is set aside, not lost
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Throttle(SQLModel, table=True):
    """A counter that every worker process shares: login failures, web chat posts.

    Times are Unix seconds (floats), so the counting statements compare numbers on SQLite
    and PostgreSQL alike. `window_start` opens the current counting window (for a login key:
    the last attempt); `blocked_until` is 0 unless the key is refused until then.
    """

    key: str = Field(primary_key=True, max_length=200)
    hits: int
    window_start: float
    blocked_until: float = 0.0


class WebChatOrigin(SQLModel, table=True):
    """The client address that started a web chat: open web cases are capped per address.

    Written when a chat is new (chatbot/throttle.py); forgotten by the throttle's sweep a day
    after its case closed, like the other per-address counters.
    """

    chat_id: str = Field(primary_key=True, max_length=64)
    address: str = Field(max_length=64, index=True)
    started_at: float


# --- #17: Intera operations routing (remote fix or technician visit) and visits ---------------
# docs/visits.md. A profile with `routing` sends each verified case to the Operations queue;
# an ops user decides remote or visit. Remote steps and visits (work orders) are kept here.


class CaseRoute(SQLModel, table=True):
    """The Operations decision for one case: the bot's suggestion, then remote or visit."""

    case_id: int = Field(primary_key=True, foreign_key="case.id")
    suggested: str = Field(max_length=16)  # remote | visit
    reasons: str = Field(default="", sa_column=Column(Text, nullable=False))
    route: str | None = Field(default=None, max_length=16, index=True)  # remote | visit
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    created_at: datetime = Field(sa_column=_utc_column())


class RemoteStep(SQLModel, table=True):
    """One step-by-step instruction sent to the client on a remote fix, and its result."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    phrase_key: str = Field(max_length=64)
    result: str = Field(default="sent", max_length=16)  # sent | worked | failed
    sent_by: str = Field(max_length=64)
    sent_at: datetime = Field(sa_column=_utc_column())
    result_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class Technician(SQLModel, table=True):
    """A field technician: told of visits in Telegram (their chat or a group) or WhatsApp."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    telegram_chat_id: str | None = Field(default=None, max_length=64)
    whatsapp: str | None = Field(default=None, max_length=32)
    active: bool = True
    created_at: datetime = Field(sa_column=_utc_column())


class Visit(SQLModel, table=True):
    """A work order: a technician goes to the client's machine within a time window.

    The technician's page is reached with a random link token; only its SHA-256 is kept.
    """

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    technician_id: int = Field(foreign_key="technician.id", index=True)
    status: str = Field(default="scheduled", max_length=16, index=True)
    address: str = Field(sa_column=Column(Text, nullable=False))
    latitude: float | None = None
    longitude: float | None = None
    contact: str = Field(default="", max_length=64)
    machine_id: str = Field(default="", max_length=64)
    problem: str = Field(sa_column=Column(Text, nullable=False))
    window_start: datetime = Field(sa_column=_utc_column())
    window_end: datetime = Field(sa_column=_utc_column(index=True))
    token_hash: str = Field(max_length=64, unique=True)
    product_fault: bool | None = None
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    photo_path: str | None = Field(default=None, max_length=255)
    notified_to: str | None = Field(default=None, max_length=64)
    notify_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime = Field(sa_column=_utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class VisitEvent(SQLModel, table=True):
    """One status change of a visit: who, when, the note and photo given with it."""

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    status: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    photo_path: str | None = Field(default=None, max_length=255)
    at: datetime = Field(sa_column=_utc_column())


# --- returning clients and office hours (docs/office-hours.md) ---


class ContactField(SQLModel, table=True):
    """A verified datum of a contact (name, outlet...), reused when the client comes back.

    One row per contact and field key; `verified_at` says when the client last gave or
    confirmed it, so the desk asks to confirm it once it is older than the profile allows.
    """

    __table_args__ = (UniqueConstraint("contact_id", "key", name="uq_contactfield_key"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    key: str = Field(max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))
    case_id: int | None = Field(default=None, foreign_key="case.id")  # where it was verified
    verified_at: datetime = Field(sa_column=_utc_column())


class CalendarDate(SQLModel, table=True):
    """A date an admin added to (closed) or removed from (open) a profile's office calendar."""

    __table_args__ = (UniqueConstraint("profile", "day", name="uq_calendardate_day"),)

    id: int | None = Field(default=None, primary_key=True)
    profile: str = Field(max_length=32)
    day: date
    is_open: bool  # True: a working day despite a holiday; False: a day off
    note: str = Field(default="", max_length=200)
    author: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_utc_column())


# Returning clients across channels are found by phone number (migration 0011).
Index("ix_contact_phone", Contact.__table__.c.phone)  # type: ignore[attr-defined]


# --- #16 outbound caring campaigns (chatbot/campaigns/, docs/campaigns.md) ---


class Campaign(SQLModel, table=True):
    """An outbound template send to an audience: draft, scheduled, running, paused, done..."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    channel: str = Field(max_length=16)  # whatsapp | sms | telegram
    template: str = Field(max_length=128)  # Twilio Content SID (HX...)
    variables_json: str = Field(sa_column=Column(Text, nullable=False))  # {"1": "name", ...}
    profile: str = Field(max_length=32)  # the desk profile a reply's case follows
    state: str = Field(max_length=16, index=True)
    start_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    window_start: str = Field(default="08:00", max_length=5)  # desk's local time, HH:MM
    window_end: str = Field(default="20:00", max_length=5)
    every_day: bool = False  # also on weekends and holidays (default: working days only)
    rate: float | None = None  # messages per second; None: as fast as the outbox goes
    invalid: int = 0  # audience rows skipped at import: not a phone number
    duplicates: int = 0  # audience rows skipped at import: the same number again
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime = Field(sa_column=_utc_column())


class CampaignRecipient(SQLModel, table=True):
    """One recipient of a campaign and what became of its message.

    `state` is the latest (pending, sent, delivered, read, failed, replied, opted_out,
    skipped); the *_at columns keep each milestone, so counts never lose a delivered
    message that was later replied to. A pending row with a future `due_at` is leased by a
    dispatcher (or waits for a retry).
    """

    __table_args__ = (
        UniqueConstraint("campaign_id", "chat_id", name="uq_campaignrecipient_chat"),
        Index(
            "ix_campaignrecipient_pending",
            "campaign_id",
            "id",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index(
            "ix_campaignrecipient_provider",
            "provider_id",
            sqlite_where=text("provider_id IS NOT NULL"),
            postgresql_where=text("provider_id IS NOT NULL"),
        ),
        Index("ix_campaignrecipient_chat", "channel", "chat_id", "sent_at"),
        Index(
            "ix_campaignrecipient_case",
            "case_id",
            sqlite_where=text("case_id IS NOT NULL"),
            postgresql_where=text("case_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)  # E.164 for WhatsApp and SMS
    name: str | None = Field(default=None, max_length=200)
    variables_json: str = Field(sa_column=Column(Text, nullable=False))  # the CSV row
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    due_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    provider_id: str | None = Field(default=None, max_length=128)
    error_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    read_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    replied_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    case_id: int | None = Field(default=None, foreign_key="case.id")
    updated_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class OptOut(SQLModel, table=True):
    """A number (or chat) that asked to get no more campaign messages; deleted on opt-in."""

    address: str = Field(primary_key=True, max_length=64)  # E.164, or a Telegram chat id
    channel: str = Field(max_length=16)  # where the request came from ("admin" by hand)
    reason: str = Field(max_length=64)  # the keyword, "twilio 131050", or the admin's note
    actor: str = Field(max_length=64)  # "client", "provider" or the admin's name
    created_at: datetime = Field(sa_column=_utc_column())


# --- #14: the agent console's per-user settings ---


class AgentSetting(SQLModel, table=True):
    """One desk user's console settings: the name clients see, the console's language, presence.

    A row appears the first time the user changes something; without one the user is shown
    by login name, the console speaks Indonesian, and presence is "online".
    """

    user_id: int = Field(primary_key=True, foreign_key="desk_user.id")
    display_name: str | None = Field(default=None, max_length=64)  # what clients read
    ui_locale: str = Field(default="id", max_length=8)  # the console's language: id | en
    presence: str = Field(default="online", max_length=8)  # online | away | offline
    presence_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    typing_case_id: int | None = None  # the case whose reply the agent is writing
    typing_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # #14 (B): Enter sends and Shift+Enter is a new line (True), or the other way round
    enter_sends: bool = Field(default=True, sa_column_kwargs={"server_default": text("true")})


class CaseLabel(SQLModel, table=True):
    """#14 (B): a free-text label an agent put on a case ("vip", "refund"); the list filters by it.

    Stored as typed, spaces collapsed and lower-cased (AgentDesk.add_label), one row per
    label per case.
    """

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    label: str = Field(primary_key=True, max_length=32, index=True)
    added_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_utc_column())


# --- #14 (speed): the console's tab counts read a narrow index, not the wide case rows ---

Index(
    "ix_case_open_lists",
    Case.__table__.c.closed_at,  # type: ignore[attr-defined]
    Case.__table__.c.state,  # type: ignore[attr-defined]
    Case.__table__.c.assignee_id,  # type: ignore[attr-defined]
    Case.__table__.c.resolved_at,  # type: ignore[attr-defined]
    Case.__table__.c.handed_off_at,  # type: ignore[attr-defined]
)

# --- the queue position ("masih lama?"): only queued cases, in the order agents take them ---

Index(
    "ix_case_queue",
    Case.__table__.c.profile,  # type: ignore[attr-defined]
    Case.__table__.c.queued_at,  # type: ignore[attr-defined]
    Case.__table__.c.id,  # type: ignore[attr-defined]
    sqlite_where=text("state = 'queued'"),
    postgresql_where=text("state = 'queued'"),
)
