"""The agent desk's service layer: queue, take over, reply, resolve, transfer, manual cases.

No HTTP here: the console (chatbot/web/desk_console.py), the timers and the tests call these
methods. Every method is one transaction. Replies are outbound `message` rows written with
status "pending": writing them is sending, the outbox delivers them on the case's channel.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, RowMapping

from chatbot.clock import Clock
from chatbot.domain import Attachment
from chatbot.errors import CaseTaken, InvalidInput, NotAllowed, UnknownCase
from chatbot.frontdesk import contacts, office_hours, outbox
from chatbot.frontdesk.desk import MANUAL_CHANNEL, Desk
from chatbot.frontdesk.files import MAX_CAPTION, record_file
from db import agent_queries as aq
from db import label_queries as lq
from db import queries
from db.engine import as_utc, read
from flows import classify, guards
from flows import phrase_keys as keys
from flows.events import QueueCase, SetCategory, Trigger
from flows.front_desk import Outcome, State
from flows.profiles.schema import Profile

logger = logging.getLogger(__name__)

SUPERVISOR_ROLES = ("supervisor", "admin")
AGENT_ROLES = ("agent", "supervisor", "admin", "ops")  # who may own a case (ops: #17)
AUTO_ASSIGN_ROLES = ("agent",)  # supervisors pick cases by hand
MANUAL_SOURCES = ("phone", "walk_in", "suggestion_box", "email")
CONTACT_CHANNELS = ("whatsapp", "telegram", "sms")
ONLINE_MINUTES = 5  # "online" = seen by the console within this many minutes
MAX_TEXT = 4000
INBOX_VIEWS = ("waiting", "mine", "open", "closed")  # the console's list tabs
INBOX_FILTERS = ("state", "category", "channel", "source", "owner", "label")
INBOX_LIMIT = 100  # rows per list tab; search narrows further
PRESENCES = ("online", "away", "offline")  # away and offline get no new cases by routing
TYPING_SECONDS = 6  # "typing…" lasts this long after the agent's last keystroke notice
UI_LOCALES = ("id", "en")  # the console's languages (the clients' phrases have their own)
MAX_LABEL = 32  # characters of one case label
MAX_LABELS = 20  # labels on one case


class Actor(Protocol):
    """Who acts in the console: the login's SessionUser fits, so do tests' plain objects."""

    @property
    def id(self) -> int:
        """The desk_user id."""
        ...

    @property
    def name(self) -> str:
        """The user name, written as author of messages and actor of events."""
        ...

    @property
    def role(self) -> str:
        """agent, supervisor, qc or admin."""
        ...


@dataclass(frozen=True, slots=True)
class Staff:
    """A plain Actor (timers, CLI, tests)."""

    id: int
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One line of the queue or of the supervisor's list."""

    id: int
    state: str
    source: str
    channel: str
    client_name: str
    category: str | None
    opened_at: datetime
    queued_at: datetime | None
    waited: timedelta | None  # since the latest entry into the queue
    sla_due_at: datetime | None
    sla_breached: bool
    frt_due_at: datetime | None
    frt_missed: bool
    first_response_at: datetime | None
    escalation_status: str | None
    assignee_id: int | None
    assignee: str | None
    last_client_text: str
    failed_messages: int
    resolved_at: datetime | None
    closed_at: datetime | None
    unread: int = 0  # client messages since an agent last wrote
    labels: tuple[str, ...] = ()  # agents' free-text labels, alphabetically


@dataclass(frozen=True, slots=True)
class StaffStatus:
    """A desk user as the supervisor sees them."""

    id: int
    name: str
    role: str
    online: bool  # seen lately and presence "online": routing may give them cases
    load: int
    last_seen_at: datetime | None
    presence: str = "online"
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """A user's console settings: the name clients read, the console's language, presence."""

    display_name: str | None
    ui_locale: str
    presence: str
    enter_sends: bool = True  # False: Shift+Enter sends and Enter is a new line


@dataclass(slots=True)
class CaseView:
    """Everything the case page shows."""

    item: QueueItem
    case: dict[str, Any]
    contact: dict[str, Any]
    fields: dict[str, str]
    story: str
    messages: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    events: list[dict[str, Any]]
    escalations: list[dict[str, Any]]
    compensations: list[dict[str, Any]]
    profile: Profile
    last_client_at: datetime | None = None  # the client's latest message (WhatsApp's window)
    labels: list[str] = field(default_factory=list)


class AgentDesk:
    """What agents and supervisors do to cases; the flow still decides what the client hears."""

    def __init__(self, engine: Engine, desk: Desk, clock: Clock) -> None:
        self._engine = engine
        self._desk = desk
        self._clock = clock

    @property
    def desk_engine(self) -> Engine:
        """The database this desk works on."""
        return self._engine

    @property
    def desk(self) -> Desk:
        """The front desk whose phrase book and profiles this desk uses."""
        return self._desk

    def profile(self, name: str | None = None) -> Profile:
        """A profile with admin settings in force (the default one without a name)."""
        return self._desk.profile(name)

    # --- reading ---

    def queue(self) -> list[QueueItem]:
        """Waiting cases nobody owns, longest waiting first."""
        with read(self._engine) as conn:
            return [self._item(r) for r in aq.list_case_rows(conn, queued_only=True)]

    def my_cases(self, actor: Actor) -> list[QueueItem]:
        """The open cases this user owns."""
        with read(self._engine) as conn:
            return [self._item(r) for r in aq.list_case_rows(conn, assignee_id=actor.id)]

    def all_cases(self, *, include_closed: bool = False) -> list[QueueItem]:
        """Every open case (and recently closed ones on request), for supervisors."""
        with read(self._engine) as conn:
            rows = aq.list_case_rows(conn, open_only=not include_closed)
        return [self._item(r) for r in rows]

    def inbox(
        self,
        actor: Actor,
        view: str,
        *,
        search: str = "",
        filters: dict[str, str] | None = None,
        limit: int = INBOX_LIMIT,
        only: list[int] | None = None,
    ) -> list[QueueItem]:
        """One tab of the console's list: waiting, mine, all open or closed (newest first).

        With `only`, just those cases' rows (the ones still in the tab): the live patch.

        Raises:
            InvalidInput: an unknown tab or filter.
        """
        if view not in INBOX_VIEWS:
            raise InvalidInput(f"the list is one of {', '.join(INBOX_VIEWS)}")
        chosen = {k: v.strip() for k, v in (filters or {}).items() if v and v.strip()}
        unknown = set(chosen) - set(INBOX_FILTERS)
        if unknown:
            raise InvalidInput(f"unknown filter {', '.join(sorted(unknown))}")
        with read(self._engine) as conn:
            rows = aq.list_case_rows(
                conn,
                queued_only=view == "waiting",
                assignee_id=actor.id if view == "mine" else None,
                open_only=view != "closed",
                closed_only=view == "closed",
                search=search,
                filters=chosen,
                limit=limit,
                case_ids=only,
            )
            labels = lq.labels_of(conn, case_ids=[r["id"] for r in rows])
        items = [self._item(r) for r in rows]
        return [replace(i, labels=tuple(labels[i.id])) if i.id in labels else i for i in items]

    def view_counts(self, actor: Actor) -> dict[str, int]:
        """How many cases are waiting, mine and open: the list tabs' counts."""
        with read(self._engine) as conn:
            return aq.count_views(conn, user_id=actor.id)

    def backlog(self) -> tuple[int, int]:
        """(active cases, the profile's limit): more than the limit is a warning."""
        with read(self._engine) as conn:
            return aq.count_backlog(conn), self.profile().backlog_limit

    def staff(self, *, with_load: bool = True) -> list[StaffStatus]:
        """Desk users, who is online, and how many cases each works on (0 without load)."""
        since = self._clock.now() - timedelta(minutes=ONLINE_MINUTES)
        with read(self._engine) as conn:
            rows = aq.list_staff(conn, with_load=with_load)
        return [
            StaffStatus(
                id=r["id"],
                name=r["name"],
                role=r["role"],
                online=(seen := as_utc(r["last_seen_at"])) is not None
                and seen >= since
                and r["presence"] == "online",
                load=int(r["load"]),
                last_seen_at=seen,
                presence=r["presence"],
                display_name=r["display_name"],
            )
            for r in rows
        ]

    def settings_of(self, actor: Actor) -> AgentSettings:
        """The user's console settings (defaults when never changed)."""
        with read(self._engine) as conn:
            row = aq.get_setting(conn, user_id=actor.id)
        if row is None:
            return AgentSettings(display_name=None, ui_locale="id", presence="online")
        return AgentSettings(
            row["display_name"], row["ui_locale"], row["presence"], bool(row["enter_sends"])
        )

    def set_presence(self, actor: Actor, presence: str) -> None:
        """Online, away or offline; routing gives new cases to online agents only.

        Raises:
            InvalidInput: not one of PRESENCES.
        """
        if presence not in PRESENCES:
            raise InvalidInput(f"presence is one of {', '.join(PRESENCES)}")
        with self._tx() as conn:
            aq.save_setting(
                conn, user_id=actor.id, presence=presence, presence_at=self._clock.now()
            )

    def typing(self, case_id: int, actor: Actor) -> None:
        """The agent is writing a reply to this case (the web chat shows it for a few seconds).

        Raises:
            UnknownCase: no such case.
        """
        with self._tx() as conn:
            self._require(conn, case_id)
            aq.save_setting(
                conn, user_id=actor.id, typing_case_id=case_id, typing_at=self._clock.now()
            )

    def agent_typing(self, channel: str, chat_id: str) -> str | None:
        """Who is writing to this chat right now (display name), for the client's page."""
        since = self._clock.now() - timedelta(seconds=TYPING_SECONDS)
        with read(self._engine) as conn:
            return aq.agent_typing(conn, channel=channel, chat_id=chat_id, since=since)

    def save_settings(
        self, actor: Actor, *, display_name: str, ui_locale: str, enter_sends: bool = True
    ) -> None:
        """The name clients read, the console's language, and whether Enter sends a reply.

        Raises:
            InvalidInput: an unknown language, or a name over 64 characters or with controls.
        """
        name = " ".join(display_name.split())
        if len(name) > 64 or any(not ch.isprintable() for ch in name):
            raise InvalidInput("the display name has at most 64 printable characters")
        if ui_locale not in UI_LOCALES:
            raise InvalidInput(f"the console's language is one of {', '.join(UI_LOCALES)}")
        with self._tx() as conn:
            aq.save_setting(
                conn,
                user_id=actor.id,
                display_name=name or None,
                ui_locale=ui_locale,
                enter_sends=enter_sends,
            )

    def last_activity(self) -> tuple[int, int]:
        """The newest message id and event id, noted in a console page when it is rendered.

        The page compares them with the first line of /desk/events (chatbot/agents/live.py
        polls for changes, once per process). A read: it never queues behind writes.
        """
        with read(self._engine) as conn:
            return aq.last_activity(conn)

    def case_of_report(self, escalation_id: int) -> int | None:
        """The case an escalation report belongs to; None when there is no such report."""
        with read(self._engine) as conn:
            report = aq.get_escalation(conn, escalation_id=escalation_id)
        return int(report["case_id"]) if report is not None else None

    def attachment(
        self, case_id: int, attachment_id: int, *, media_dir: str | Path
    ) -> tuple[RowMapping | None, RowMapping | None, Path | None]:
        """(the attachment, its case, our stored copy) for the console's download.

        The stored copy is only given when it is a file under `media_dir`; the caller checks
        the attachment belongs to the case.
        """
        with read(self._engine) as conn:
            item = aq.get_attachment(conn, attachment_id=attachment_id)
            case = aq.get_case(conn, case_id=case_id)
        path = Path(item["stored_path"]).resolve() if item and item["stored_path"] else None
        inside = path is not None and path.is_relative_to(Path(media_dir).resolve())
        return item, case, path if inside and path is not None and path.is_file() else None

    def case_view(self, case_id: int) -> CaseView:
        """The case page: transcript, fields, notes, events, reports.

        Raises:
            UnknownCase: no such case.
        """
        with read(self._engine) as conn:
            rows = aq.list_case_rows(conn, open_only=False, case_id=case_id)
            row = rows[0] if rows else None
            if row is None:
                raise UnknownCase(f"no case {case_id}")
            found = aq.get_contact(conn, contact_id=row["contact_id"])
            contact: dict[str, Any] = dict(found) if found is not None else {}
            view = CaseView(
                item=self._item(row),
                case=dict(row),
                contact=contact,
                fields=json.loads(row["fields_json"]),
                story=str(json.loads(row["context_json"]).get("story", "")),
                messages=[dict(m) for m in queries.list_messages(conn, case_ids=[case_id])],
                attachments=[dict(a) for a in queries.list_attachments(conn, case_ids=[case_id])],
                notes=[dict(n) for n in aq.list_notes(conn, case_id=case_id)],
                events=[dict(e) for e in aq.list_events(conn, case_id=case_id)],
                escalations=[dict(e) for e in aq.list_escalations(conn, case_id=case_id)],
                compensations=[dict(c) for c in aq.list_compensations(conn, case_id=case_id)],
                profile=self.profile(row["profile"]),
                labels=lq.labels_of(conn, case_ids=[case_id]).get(case_id, []),
            )
        wrote = [as_utc(m["created_at"]) for m in view.messages if m["direction"] == "in"]
        view.last_client_at = max((w for w in wrote if w is not None), default=None)
        return view

    def contact_history(self, case_id: int) -> contacts.ContactHistory | None:
        """The case's client across their channels: verified fields and earlier cases."""
        with read(self._engine) as conn:
            return contacts.history(conn, case_id=case_id)

    def standard_phrases(self, case_id: int, actor: Actor) -> list[tuple[str, str]]:
        """The one-click phrases as this case's client would read them: (key, text)."""
        with read(self._engine) as conn:
            case = self._require(conn, case_id)
            variables = self._phrase_variables(conn, case, actor)
        return [
            (key, self._desk.phrases.render(key, case["locale"], variables))
            for key in keys.STANDARD_PHRASES
        ]

    # --- taking and giving cases ---

    def take(self, case_id: int, actor: Actor) -> None:
        """Become the case's one owner.

        Raises:
            CaseTaken: another agent owns it already (named in the message).
            NotAllowed: the case is closed or in a state no agent can take it from.
        """
        with self._tx() as conn:
            case = self._require(conn, case_id, lock=True)
            if case["assignee_id"] == actor.id:
                return
            self._claim(conn, case, actor, event="taken", actor_name=actor.name)

    def claim(self, conn: Connection, case_id: int, actor: Actor) -> None:
        """`take` inside the caller's transaction (an Operations decision takes its case).

        Raises:
            CaseTaken: another agent owns it already.
            NotAllowed: the case is closed or cannot be taken in its state.
        """
        case = self._require(conn, case_id, lock=True)
        if case["assignee_id"] != actor.id:
            self._claim(conn, case, actor, event="taken", actor_name=actor.name)

    def auto_assign(self) -> list[tuple[int, str]]:
        """Give waiting cases to online agents with free capacity, longest waiting first.

        Returns (case id, agent name) for every case assigned.
        """
        now = self._clock.now()
        done: list[tuple[int, str]] = []
        with self._tx() as conn:
            waiting = aq.list_unassigned_queue(conn)
            if not waiting:
                return done
            online = {
                r["id"]: dict(r)
                for r in aq.list_online(
                    conn, roles=AUTO_ASSIGN_ROLES, since=now - timedelta(minutes=ONLINE_MINUTES)
                )
            }
            for row in waiting:
                capacity = self.profile(row["profile"]).agent_capacity
                free = [a for a in online.values() if a["load"] < capacity]
                if not free:
                    break
                agent = min(free, key=lambda a: (a["load"], a["id"]))
                case = self._require(conn, row["id"], lock=True)
                staff = Staff(agent["id"], agent["name"], agent["role"])
                try:
                    self._claim(conn, case, staff, event="assigned", actor_name="auto")
                except (CaseTaken, NotAllowed):
                    continue
                agent["load"] += 1
                done.append((row["id"], agent["name"]))
        for case_id, name in done:
            logger.info("Case %s auto-assigned to %s.", case_id, name)
        return done

    def transfer(self, case_id: int, actor: Actor, to_user_id: int) -> None:
        """Give the case to another agent (its owner, or a supervisor, may).

        Raises:
            NotAllowed: the actor may not move this case, or the target cannot own cases.
            CaseTaken: the owner changed meanwhile.
        """
        self._move(case_id, actor, to_user_id, kind="transferred")

    def reassign(self, case_id: int, actor: Actor, to_user_id: int) -> None:
        """A supervisor gives any open case, owned or waiting, to an agent.

        Raises:
            NotAllowed: the actor is not a supervisor, or the target cannot own cases.
        """
        if actor.role not in SUPERVISOR_ROLES:
            raise NotAllowed("only supervisors reassign cases")
        self._move(case_id, actor, to_user_id, kind="assigned")

    def hand_back(self, case_id: int, actor: Actor) -> None:
        """Give the case back to the bot, which continues the procedure with the client.

        Raises:
            NotAllowed: not the owner (or a supervisor), or not possible in this state.
        """
        with self._tx() as conn:
            case = self._require(conn, case_id, lock=True)
            self._check_owner(case, actor)
            self._run_flow(conn, case, "agent_handed_back", actor)
            queries.release_case(conn, case_id=case_id)
            self.record_event(conn, case_id, "returned_to_bot", actor.name)

    # --- working a case ---

    def reply(
        self,
        case_id: int,
        actor: Actor,
        *,
        text: str = "",
        phrase: str | None = None,
        file: Attachment | None = None,
    ) -> int:
        """Send the client free text or a standard phrase; returns the message id.

        `file`: a stored file (chatbot/channels/files.py checked it) sent with the text as
        its caption, through the outbox like any reply.

        Raises:
            InvalidInput: empty or over-long text, or an unknown phrase.
            NotAllowed: not the owner (or a supervisor), or the case is closed.
        """
        if phrase is not None and phrase not in keys.STANDARD_PHRASES:
            raise InvalidInput(f"'{phrase}' is not a standard phrase")
        if phrase is None and not text.strip() and file is None:
            raise InvalidInput("the reply is empty")
        with self._tx() as conn:
            case = self._require(conn, case_id, lock=True)
            if case["assignee_id"] is None and case["closed_at"] is None:
                # replying to a case nobody owns takes it: one step, one transaction
                self._claim(conn, case, actor, event="taken", actor_name=actor.name)
            sent = self.say(conn, case_id, actor, phrase, text=text, file=file)
            aq.clear_typing(conn, user_id=actor.id)  # sent: no longer "typing…"
            return sent

    def say(
        self,
        conn: Connection,
        case_id: int,
        actor: Actor,
        phrase: str | None,
        *,
        text: str = "",
        file: Attachment | None = None,
    ) -> int:
        """`reply` inside the caller's transaction (escalation phrases use it too).

        Raises:
            InvalidInput: empty or over-long text.
            NotAllowed: not the owner (or a supervisor), or the case is closed.
        """
        case = self._require(conn, case_id, lock=True)
        self._check_owner(case, actor)
        if phrase is not None:
            variables = self._phrase_variables(conn, case, actor)
            text = self._desk.phrases.render(phrase, case["locale"], variables)
        text = text.strip()
        if not text and file is None:
            raise InvalidInput("the reply is empty")
        limit = MAX_CAPTION if file is not None else MAX_TEXT
        if len(text) > limit:
            raise InvalidInput(f"the reply is longer than {limit} characters")
        now = self._clock.now()
        kind = file.kind if file is not None else "text"
        row = queries.OutboundRow(text, phrase_key=phrase, author=actor.name, kind=kind)
        self._write(conn, case, [row])
        if file is not None:  # the outbox sends the row with its file (frontdesk/outbox.py)
            record_file(conn, case_id, aq.last_message_id(conn, case_id=case_id), file, now)
        if aq.mark_first_response(conn, case_id=case_id, user_id=actor.id, now=now):
            self.record_event(conn, case_id, "replied", actor.name)
        aq.update_case(conn, case_id=case_id, updated_at=now)
        return aq.last_message_id(conn, case_id=case_id)

    def send_again(self, case_id: int, message_id: int, actor: Actor, *, now: datetime) -> None:
        """Put a reply that failed for good back in the outbox (chatbot/frontdesk/outbox.py).

        Raises:
            NotAllowed: the case has no failed reply with that id.
        """
        outbox.send_again(
            self._engine, case_id=case_id, message_id=message_id, actor=actor.name, now=now
        )

    def set_category(self, case_id: int, actor: Actor, category: str) -> None:
        """Easy / Normal / Hard; the SLA deadline moves with it (opened_at + its minutes).

        Raises:
            InvalidInput: not a category of the profile.
            NotAllowed: not the owner (or a supervisor).
        """
        with self._tx() as conn:
            case = self._require(conn, case_id, lock=True)
            self._check_owner(case, actor)
            profile = self.profile(case["profile"])
            rule = profile.categories.get(category)  # type: ignore[call-overload]
            if rule is None:
                raise InvalidInput(f"unknown category '{category}'")
            opened = as_utc(case["opened_at"])
            assert opened is not None
            aq.update_case(
                conn,
                case_id=case_id,
                category=category,
                sla_minutes=rule.sla_minutes,
                sla_due_at=office_hours.sla_deadline(profile, opened, rule.sla_minutes),
                # a new deadline is judged again by the timers
                sla_breached_at=None,
            )
            self.record_event(conn, case_id, "category_set", actor.name, category)

    def add_note(self, case_id: int, actor: Actor, text: str) -> None:
        """An internal note the client never sees.

        Raises:
            InvalidInput: empty or over-long note.
        """
        text = text.strip()
        if not text or len(text) > MAX_TEXT:
            raise InvalidInput(f"a note needs 1 to {MAX_TEXT} characters")
        with self._tx() as conn:
            self._require(conn, case_id)
            aq.record_note(
                conn, case_id=case_id, author=actor.name, text=text, now=self._clock.now()
            )
            self.record_event(conn, case_id, "note", actor.name)

    def add_label(self, case_id: int, actor: Actor, label: str) -> str:
        """Put a free-text label on a case (any agent, open or closed case); the label as kept.

        Raises:
            InvalidInput: empty, over MAX_LABEL characters, with control characters, or the
                case has MAX_LABELS already.
            UnknownCase: no such case.
        """
        cleaned = " ".join(label.split()).lower()
        if not cleaned or len(cleaned) > MAX_LABEL or not cleaned.isprintable():
            raise InvalidInput(f"a label has 1 to {MAX_LABEL} printable characters")
        with self._tx() as conn:
            self._require(conn, case_id, lock=True)
            if len(lq.labels_of(conn, case_ids=[case_id]).get(case_id, [])) >= MAX_LABELS:
                raise InvalidInput(f"a case has at most {MAX_LABELS} labels")
            if lq.add_label(
                conn, case_id=case_id, label=cleaned, by=actor.name, now=self._clock.now()
            ):
                self.record_event(conn, case_id, "label_added", actor.name, cleaned)
        return cleaned

    def remove_label(self, case_id: int, actor: Actor, label: str) -> None:
        """Take a label off a case (nothing happens when it has no such label).

        Raises:
            UnknownCase: no such case.
        """
        with self._tx() as conn:
            self._require(conn, case_id, lock=True)
            if lq.remove_label(conn, case_id=case_id, label=label):
                self.record_event(conn, case_id, "label_removed", actor.name, label)

    def known_labels(self) -> list[str]:
        """Every label in use, for the list's filter."""
        with read(self._engine) as conn:
            return lq.known_labels(conn)

    def resolve(self, case_id: int, actor: Actor) -> None:
        """Declare the problem solved: the closing phrase, then confirmation and survey.

        Raises:
            NotAllowed: not the owner (or a supervisor), or not possible in this state.
        """
        with self._tx() as conn:
            case = self._require(conn, case_id, lock=True)
            self._check_owner(case, actor)
            self._run_flow(conn, case, "agent_resolved", actor)
            now = self._clock.now()
            if case["resolved_at"] is None:
                aq.update_case(conn, case_id=case_id, resolved_at=now, resolved_by=actor.name)
            self.record_event(conn, case_id, "resolved", actor.name)

    def fire(self, conn: Connection, case_id: int, trigger: Trigger, actor: Actor) -> Outcome:
        """Run one non-client trigger through the case's flow inside the caller's transaction.

        Raises:
            UnknownCase: no such case.
            NotAllowed: the flow has no such step from the case's state.
        """
        case = self._require(conn, case_id, lock=True)
        return self._run_flow(conn, case, trigger, actor)

    # --- cases that do not start in chat ---

    def open_case(
        self,
        actor: Actor,
        *,
        source: str,
        complaint: str,
        fields: dict[str, str],
        client_name: str = "",
        contact_channel: str = "",
        contact: str = "",
        take: bool = True,
    ) -> int:
        """Open a case for a phone call, walk-in, suggestion-box note or email.

        It enters the queue like a chat hand-off (same clocks and closing). With a WhatsApp,
        Telegram or SMS contact, replies and the survey reach the client there; without one
        the case's channel is "manual" and replies are only recorded.

        Raises:
            InvalidInput: unknown source, empty complaint, a field that is not valid, a bad
                contact, or a contact that already has an open case.
        """
        if source not in MANUAL_SOURCES:
            raise InvalidInput(f"source must be one of {', '.join(MANUAL_SOURCES)}")
        complaint = guards.mask_secrets(complaint.strip())
        if not complaint or len(complaint) > MAX_TEXT:
            raise InvalidInput(f"the complaint needs 1 to {MAX_TEXT} characters")
        profile = self.profile()
        known = {f.key: f for f in profile.fields}
        clean: dict[str, str] = {}
        for key, value in fields.items():
            if key not in known:
                raise InvalidInput(f"unknown field '{key}'")
            if value.strip():
                clean[key] = value.strip()[:200]
        channel, chat_id = self._contact(contact_channel, contact)
        now = self._clock.now()
        found = classify.classify(complaint, profile)
        context = {"story": complaint}
        with self._tx() as conn:
            if channel != MANUAL_CHANNEL:
                open_id = aq.find_open_case(conn, channel=channel, chat_id=chat_id)
                if open_id is not None:
                    raise InvalidInput(
                        f"that {channel} contact already has an open case: #{open_id}"
                    )
            name = client_name.strip()[:200] or clean.get("name") or clean.get("identity")
            phone = chat_id if chat_id.startswith("+") else None
            contact_id = queries.ensure_contact(
                conn, channel=channel, chat_id=chat_id, name=name or None, phone=phone, now=now
            )
            row = queries.open_case(
                conn,
                contact_id=contact_id,
                channel=channel,
                chat_id=chat_id,
                profile=profile.name,
                locale=profile.locale,
                state=State.QUEUED.value,
                now=now,
            )
            queries.record_step(
                conn,
                case_id=row.id,
                state=State.QUEUED.value,
                locale=profile.locale,
                fields_json=json.dumps(clean, ensure_ascii=False),
                context_json=json.dumps(context, ensure_ascii=False),
                now=now,
            )
            aq.update_case(conn, case_id=row.id, source=source)
            queries.record_message(
                conn,
                case_id=row.id,
                channel=channel,
                chat_id=chat_id,
                direction="in",
                text=complaint,
                now=now,
                kind="text",
                author="client",
            )
            self._desk.apply_effects(
                conn,
                row.id,
                now,
                [SetCategory(found.category, found.sla_minutes)],
                now,
                actor=actor.name,
            )
            self._desk.apply_effects(
                conn, row.id, now, [QueueCase(reason=source)], now, actor=actor.name
            )
            if take:
                case = self._require(conn, row.id, lock=True)
                self._claim(conn, case, actor, event="taken", actor_name=actor.name)
        logger.info("Case %s opened by hand (%s) by %s.", row.id, source, actor.name)
        return row.id

    # --- helpers ---

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self._desk.transaction() as conn:  # the step service's: edits in force
            yield conn

    def _require(self, conn: Connection, case_id: int, *, lock: bool = False) -> RowMapping:
        case = aq.get_case(conn, case_id=case_id, lock=lock)
        if case is None:
            raise UnknownCase(f"no case {case_id}")
        return case

    def _check_owner(self, case: RowMapping, actor: Actor) -> None:
        if case["closed_at"] is not None:
            raise NotAllowed(f"case {case['id']} is closed")
        if case["assignee_id"] == actor.id or actor.role in SUPERVISOR_ROLES:
            return
        if case["assignee_id"] is None:
            raise NotAllowed(f"take case {case['id']} first")
        raise NotAllowed(f"case {case['id']} belongs to another agent")

    def _claim(
        self, conn: Connection, case: RowMapping, actor: Actor, *, event: str, actor_name: str
    ) -> None:
        if case["closed_at"] is not None:
            raise NotAllowed(f"case {case['id']} is closed")
        if actor.role not in AGENT_ROLES:
            raise NotAllowed(f"a {actor.role} cannot own cases")
        if case["assignee_id"] is not None:
            owner = aq.user_name(conn, user_id=case["assignee_id"]) or "another agent"
            raise CaseTaken(f"case {case['id']} is already taken by {owner}")
        turn = self._step(case, "agent_took_over")
        now = self._clock.now()
        if not aq.claim_case(
            conn,
            case_id=case["id"],
            user_id=actor.id,
            from_state=case["state"],
            to_state=turn.state.value,
            now=now,
        ):
            fresh = self._require(conn, case["id"])
            owner = aq.user_name(conn, user_id=fresh["assignee_id"]) or "another agent"
            raise CaseTaken(f"case {case['id']} is already taken by {owner}")
        self.record_event(
            conn, case["id"], event, actor_name, actor.name if event == "assigned" else None
        )

    def _move(self, case_id: int, actor: Actor, to_user_id: int, *, kind: str) -> None:
        with self._tx() as conn:
            case = self._require(conn, case_id, lock=True)
            target = aq.get_user(conn, user_id=to_user_id)
            if target is None or not target["active"] or target["role"] not in AGENT_ROLES:
                raise NotAllowed("the case can only go to an active agent or supervisor")
            if case["assignee_id"] is None:  # a waiting case: the target takes it over
                if actor.role not in SUPERVISOR_ROLES:
                    raise NotAllowed(f"take case {case_id} first")
                staff = Staff(target["id"], target["name"], target["role"])
                self._claim(conn, case, staff, event="assigned", actor_name=actor.name)
                return
            self._check_owner(case, actor)
            if case["assignee_id"] == to_user_id:
                return
            previous = aq.user_name(conn, user_id=case["assignee_id"])
            if not aq.move_case(
                conn,
                case_id=case_id,
                from_user=case["assignee_id"],
                to_user=to_user_id,
                now=self._clock.now(),
            ):
                raise CaseTaken(f"case {case_id} changed owner meanwhile; reload")
            self.record_event(conn, case_id, kind, actor.name, f"{previous} -> {target['name']}")

    def _step(self, case: RowMapping, trigger: Trigger) -> Outcome:
        return self._desk.plan_step(case, trigger)

    def _run_flow(
        self, conn: Connection, case: RowMapping, trigger: Trigger, actor: Actor
    ) -> Outcome:
        return self._desk.step_case(conn, case, trigger, actor=actor.name, role=actor.role)

    def _write(self, conn: Connection, case: RowMapping, rows: list[queries.OutboundRow]) -> None:
        self._desk.write_replies(conn, case, rows)

    def record_event(
        self, conn: Connection, case_id: int, kind: str, actor: str, detail: str | None = None
    ) -> None:
        """Append one event to the case's log, in the caller's transaction."""
        queries.record_events(
            conn,
            case_id=case_id,
            events=[queries.EventRow(kind, actor, detail)],
            now=self._clock.now(),
        )

    def _phrase_variables(
        self, conn: Connection, case: RowMapping, actor: Actor
    ) -> dict[str, object]:
        fields = json.loads(case["fields_json"])
        contact = aq.get_contact(conn, contact_id=case["contact_id"])
        shown = contact["display_name"] if contact is not None else None
        name = fields.get("name") or fields.get("identity") or shown
        setting = aq.get_setting(conn, user_id=actor.id)
        return {
            "client_name": name or "",
            # clients read the agent's display name (a profile field), never the login name
            "agent_name": (setting["display_name"] if setting else None) or actor.name,
            "desk_name": self.profile(case["profile"]).desk_name,
        }

    def _contact(self, channel: str, contact: str) -> tuple[str, str]:
        channel, contact = channel.strip(), contact.strip()
        if not channel and not contact:
            return MANUAL_CHANNEL, f"{MANUAL_CHANNEL}-{secrets.token_hex(8)}"
        if channel not in CONTACT_CHANNELS:
            raise InvalidInput(f"contact channel must be one of {', '.join(CONTACT_CHANNELS)}")
        if channel == "telegram":
            if not contact.lstrip("-").isdigit():
                raise InvalidInput("a Telegram contact is the numeric chat id")
            return channel, contact
        phone = guards.clean_phone(contact)
        if phone is None:
            raise InvalidInput("the phone number is not valid")
        return channel, phone

    def _item(self, row: RowMapping) -> QueueItem:
        now = self._clock.now()
        fields = json.loads(row["fields_json"])
        name = fields.get("name") or fields.get("identity") or row["contact_name"] or ""
        queued = as_utc(row["queued_at"])
        handed = as_utc(row["handed_off_at"])
        first = as_utc(row["first_response_at"])
        frt_due = (
            office_hours.frt_deadline(self.profile(row["profile"]), handed)
            if handed is not None
            else None
        )
        sla_due = as_utc(row["sla_due_at"])
        resolved = as_utc(row["resolved_at"])
        closed = as_utc(row["closed_at"])
        return QueueItem(
            id=row["id"],
            state=row["state"],
            source=row["source"],
            channel=row["channel"],
            client_name=name,
            category=row["category"],
            opened_at=as_utc(row["opened_at"]) or now,
            queued_at=queued,
            waited=now - queued if queued is not None and closed is None else None,
            sla_due_at=sla_due,
            sla_breached=row["sla_breached_at"] is not None
            or (sla_due is not None and resolved is None and closed is None and sla_due <= now),
            frt_due_at=frt_due,
            frt_missed=row["frt_missed_at"] is not None
            or (frt_due is not None and first is None and closed is None and frt_due <= now)
            or (frt_due is not None and first is not None and first > frt_due),
            first_response_at=first,
            escalation_status=row["escalation_status"],
            assignee_id=row["assignee_id"],
            assignee=row["assignee_name"],
            last_client_text=(row["last_client_text"] or "")[:160],
            failed_messages=int(row["failed_messages"] or 0),
            resolved_at=resolved,
            closed_at=closed,
            unread=int(row["unread"] or 0) if "unread" in row else 0,
        )
