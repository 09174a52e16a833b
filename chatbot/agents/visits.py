"""Operations routing, remote fixes and technician visits (docs/visits.md).

Intera's procedure (docs/procedures.md#intera, step 4.e-4.i): a verified complaint goes to
the Operations team, who decide whether the client can be guided remotely or a technician
must go to the machine. This service is what the Operations pages, the agent's remote-fix
panel and the technician's phone page do, without HTTP.

Every change that touches a case runs in the step service's transaction
(`Desk.transaction()`), and what the client hears is a standard phrase written to the case's
outbox there (`Desk.write_replies`); closing a fixed visit steps the case's flow with
`Desk.step_case`, like an agent's resolve. Telling a technician is network I/O done after
the commit (`notify()`), its outcome recorded on the visit.

The technician's page is reached with a per-visit random link token (32 bytes, only its
SHA-256 is stored, like login sessions): technicians work on phones in the field without
desk accounts, the link opens one visit only, stops working when the visit ends or
`LOKET_VISIT_LINK_HOURS` after its window, and cannot be forged from the visit id.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time
from sqlalchemy import Connection, Engine, RowMapping

from chatbot.agents.agent_desk import SUPERVISOR_ROLES, Actor, AgentDesk
from chatbot.agents.escalation import EscalationDesk
from chatbot.agents.notify import Notifier, PostResult
from chatbot.clock import Clock
from chatbot.errors import CaseTaken, InvalidInput, NotAllowed, UnknownCase
from db import agent_queries as aq
from db import queries
from db import visit_queries as vq
from db.engine import as_utc, read
from flows import guards
from flows import phrase_keys as keys
from flows.front_desk import State
from flows.profiles.schema import Profile
from flows.routing import ROUTES

logger = logging.getLogger(__name__)

OPS_ROLES = ("ops", *SUPERVISOR_ROLES)  # who decides remote or visit and schedules visits
TECHNICIAN_EDITORS = SUPERVISOR_ROLES  # who edits the technicians list
OPEN_STATUSES = vq.OPEN_VISIT_STATUSES
PHONE_CHANNELS = ("whatsapp", "sms")  # whose chat id is the client's phone number
FINISHED = ("fixed", "not_fixed")
# What the technician may press from each status (the page shows these buttons).
TECHNICIAN_NEXT: dict[str, tuple[str, ...]] = {
    "scheduled": ("on_the_way", "arrived"),
    "on_the_way": ("arrived",),
    "arrived": ("fixed", "not_fixed"),
}
REMOTE_RESULTS = ("worked", "failed")
PHOTO_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
PHOTO_MAGIC = {".jpg": (b"\xff\xd8\xff",), ".png": (b"\x89PNG\r\n\x1a\n",), ".webp": (b"RIFF",)}
MAX_TEXT = 2000
MAX_WINDOW = timedelta(days=2)
# A fixed visit resolves the case from these states (an agent may have resolved it already).
RESOLVABLE = (State.QUEUED.value, State.WITH_AGENT.value, State.ESCALATED.value)


class UnknownVisit(UnknownCase):
    """No visit with this id, or a technician link that is wrong or no longer valid."""


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """What the technician needs to know, as Operations fills it in."""

    technician_id: int
    window_start: datetime
    window_end: datetime
    address: str
    contact: str = ""
    machine_id: str = ""
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo the technician took (bytes as uploaded)."""

    data: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class VisitOverview:
    """The supervisor's view of visits."""

    open_by_technician: dict[str, list[dict[str, Any]]]
    overdue: list[dict[str, Any]]
    finished_cases: int
    fixed_first_time: int

    @property
    def first_time_fix_rate(self) -> float | None:
        """Share of cases whose first finished visit fixed the machine (None: no data)."""
        if not self.finished_cases:
            return None
        return round(100.0 * self.fixed_first_time / self.finished_cases, 1)


def token_hash(token: str) -> str:
    """The SHA-256 of a technician link token, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_overdue(visit: RowMapping | dict[str, Any], now: datetime) -> bool:
    """An open visit whose window ended without the technician marking it done."""
    end = as_utc(visit["window_end"])
    return visit["status"] in OPEN_STATUSES and end is not None and end < now


def first_time_fix(visits: list[dict[str, Any]]) -> tuple[int, int]:
    """(cases with a finished visit, of them fixed by their first finished visit)."""
    first: dict[int, str] = {}
    never = datetime.max.replace(tzinfo=UTC)
    for v in sorted(visits, key=lambda v: (as_utc(v["finished_at"]) or never, v["id"])):
        if v["status"] in FINISHED and v["case_id"] not in first:
            first[v["case_id"]] = v["status"]
    return len(first), sum(1 for status in first.values() if status == "fixed")


class VisitDesk:
    """Operations decisions, remote steps, work orders, technician updates, the overview."""

    def __init__(
        self,
        engine: Engine,
        agents: AgentDesk,
        escalations: EscalationDesk,
        clock: Clock,
        *,
        public_url: str = "",
        media_dir: str | Path = "data/media",
        max_photo_bytes: int = 10_000_000,
        link_hours: float = 48.0,
        technicians_chat_id: str | None = None,
    ) -> None:
        self._engine = engine
        self._agents = agents
        self._escalations = escalations
        self._clock = clock
        self._public = public_url.rstrip("/")
        self._media = Path(media_dir)
        self._max_photo = max_photo_bytes
        self._link = timedelta(hours=link_hours)
        self.technicians_chat_id = technicians_chat_id or None  # the technicians' group

    @property
    def notifier(self) -> Notifier:
        """The team notifier (the escalation desk's, set by the app's lifespan)."""
        return self._escalations.notifier

    @property
    def agents(self) -> AgentDesk:
        """The agent desk whose transactions and cases this service works on."""
        return self._agents

    @property
    def max_photo_bytes(self) -> int:
        """The largest photo a technician may upload."""
        return self._max_photo

    async def post_report(self, report_id: int) -> PostResult:
        """Post a technical-team report filed by `record_remote_result`; never raises."""
        return await self._escalations.post(report_id, within_seconds=10.0)

    # --- reading ---

    def ops_queue(self) -> list[dict[str, Any]]:
        """Cases waiting for the Operations decision, oldest first, with the suggestion."""
        with read(self._engine) as conn:
            rows = vq.list_undecided(conn)
        out = []
        for r in rows:
            fields = json.loads(r["fields_json"])
            out.append(
                {
                    "case_id": r["case_id"],
                    "client_name": fields.get("name") or r["contact_name"] or "",
                    "story": str(json.loads(r["context_json"]).get("story", ""))[:300],
                    "location": fields.get("location", ""),
                    "category": r["category"],
                    "suggested": r["suggested"],
                    "reasons": r["reasons"],
                    "waiting": self._clock.now() - (as_utc(r["created_at"]) or self._clock.now()),
                }
            )
        return out

    def case_panel(self, case_id: int) -> dict[str, Any] | None:
        """The route, remote steps and visits of a case (None: it never reached Operations)."""
        with read(self._engine) as conn:
            route = vq.get_route(conn, case_id=case_id)
            if route is None:
                return None
            case = aq.get_case(conn, case_id=case_id)
            assert case is not None
            steps = [dict(s) for s in vq.list_remote_steps(conn, case_id=case_id)]
            visits = [dict(v) for v in vq.list_visits(conn, case_ids=[case_id])]
            for visit in visits:
                visit["events"] = [
                    dict(e) for e in vq.list_visit_events(conn, visit_id=visit["id"])
                ]
                visit["overdue"] = is_overdue(visit, self._clock.now())
            technicians = [dict(t) for t in vq.list_technicians(conn, active_only=True)]
        profile = self._agents.profile(case["profile"])
        fields = json.loads(case["fields_json"])
        sent = {s["phrase_key"] for s in steps}
        return {
            "route": dict(route),
            "steps": steps,
            "remote_steps": profile.routing.remote_steps if profile.routing else (),
            "next_step": next(
                (
                    s.key
                    for s in (profile.routing.remote_steps if profile.routing else ())
                    if s.key not in sent
                ),
                None,
            ),
            "visits": visits,
            "technicians": technicians,
            "defaults": {
                "address": fields.get("location", ""),
                # a WhatsApp or SMS chat is the client's number; a web or Telegram id is not
                "contact": fields.get("phone", "")
                or (case["chat_id"] if case["channel"] in PHONE_CHANNELS else ""),
                "problem": str(json.loads(case["context_json"]).get("story", ""))[:MAX_TEXT],
            },
            "product_fault": any(v["product_fault"] for v in visits),
        }

    def technicians(self) -> list[dict[str, Any]]:
        """Every technician, active or not, by name."""
        with read(self._engine) as conn:
            return [dict(t) for t in vq.list_technicians(conn)]

    def overview(self) -> VisitOverview:
        """Open visits by technician (with age), overdue visits, first-time-fix rate."""
        now = self._clock.now()
        with read(self._engine) as conn:
            visits = [dict(v) for v in vq.list_visits(conn)]
        by_tech: dict[str, list[dict[str, Any]]] = {}
        overdue = []
        for v in visits:
            if v["status"] not in OPEN_STATUSES:
                continue
            v["age"] = now - (as_utc(v["created_at"]) or now)
            v["overdue"] = is_overdue(v, now)
            by_tech.setdefault(v["technician"], []).append(v)
            if v["overdue"]:
                overdue.append(v)
        finished, fixed = first_time_fix(visits)
        return VisitOverview(by_tech, overdue, finished, fixed)

    # --- Operations ---

    def decide(
        self, case_id: int, actor: Actor, route: str, order: WorkOrder | None = None
    ) -> tuple[int, str] | None:
        """Operations decides remote or visit; a visit needs its work order at once.

        Remote: the case stays in the agent queue, and whoever takes it guides the client
        with the profile's steps. Visit: the deciding user takes the case and the work order
        is scheduled (see `schedule`); returns (visit id, link token) then.

        Raises:
            NotAllowed: not an ops user, supervisor or admin; the case is closed.
            InvalidInput: an unknown route, a visit without its work order, a bad order.
            CaseTaken: the route was decided already (by whom is named).
            UnknownCase: no such case, or it never reached Operations.
        """
        self._check_ops(actor)
        if route not in ROUTES:
            raise InvalidInput(f"route must be one of {', '.join(ROUTES)}")
        if route == "visit" and order is None:
            raise InvalidInput("a visit needs its technician, time window and address")
        with self._agents.desk.transaction() as conn:
            case = self._open_case(conn, case_id)
            now = self._clock.now()
            if not vq.decide_route(
                conn, case_id=case_id, route=route, decided_by=actor.name, now=now
            ):
                found = vq.get_route(conn, case_id=case_id)
                if found is None:
                    raise UnknownCase(f"case {case_id} is not waiting for Operations")
                raise CaseTaken(
                    f"case {case_id} was already routed ({found['route']}) "
                    f"by {found['decided_by']}"
                )
            self._agents.record_event(conn, case_id, "routed", actor.name, route)
            if route == "remote":
                return None
            assert order is not None
            if case["assignee_id"] is None:
                self._agents.claim(conn, case_id, actor)
            return self._schedule(conn, case_id, actor, order)

    def schedule(self, case_id: int, actor: Actor, order: WorkOrder) -> tuple[int, str]:
        """Another visit on a routed case, after a visit or the remote steps did not fix it.

        The technical team may go to the site after remote guidance (Intera's step g).

        Returns (visit id, link token).

        Raises:
            NotAllowed: not ops/supervisor/admin, the case is closed or not routed yet.
            InvalidInput: a bad work order.
        """
        self._check_ops(actor)
        with self._agents.desk.transaction() as conn:
            case = self._open_case(conn, case_id)
            if vq.get_route(conn, case_id=case_id) is None:
                raise NotAllowed(f"case {case_id} is not routed yet: decide remote or visit first")
            if case["assignee_id"] is None:
                self._agents.claim(conn, case_id, actor)
            return self._schedule(conn, case_id, actor, order)

    def cancel(self, visit_id: int, actor: Actor) -> None:
        """Operations cancels an open visit; the client is told.

        Raises:
            NotAllowed: not ops/supervisor/admin, or the visit is not open.
            UnknownVisit: no such visit.
        """
        self._check_ops(actor)
        with self._agents.desk.transaction() as conn:
            visit = self._visit(conn, visit_id)
            if visit["status"] not in OPEN_STATUSES:
                raise NotAllowed(f"visit {visit_id} is {visit['status']}: it cannot be cancelled")
            self._move(conn, visit, "cancelled", actor.name, note=None, photo=None)

    def renew_link(self, visit_id: int, actor: Actor) -> str:
        """A new link for an open visit (the old one stops working); returns the token.

        Only the hash is stored, so a lost or leaked link is replaced, never shown again.

        Raises:
            NotAllowed: not ops/supervisor/admin, or the visit is not open.
            UnknownVisit: no such visit.
        """
        self._check_ops(actor)
        token = secrets.token_urlsafe(32)
        with self._agents.desk.transaction() as conn:
            visit = self._visit(conn, visit_id)
            if visit["status"] not in OPEN_STATUSES:
                raise NotAllowed(f"visit {visit_id} is {visit['status']}: it needs no link")
            vq.update_visit(conn, visit_id=visit_id, token_hash=token_hash(token))
            self._agents.record_event(conn, visit["case_id"], "visit_link_renewed", actor.name)
        return token

    def link(self, token: str) -> str:
        """The technician's page for a link token."""
        return f"{self._public}/visit/{token}"

    async def notify(self, visit_id: int, token: str) -> PostResult:
        """Tell the technician (Telegram chat, WhatsApp, or the technicians' group).

        Telegram goes through the team notifier; WhatsApp through the case's outbox (the
        one sender), so it is retried and its outcome shows in the case transcript. The
        outcome is recorded on the visit (notified_to / notify_error); never raises.
        """
        with read(self._engine) as conn:
            visit = vq.get_visit(conn, visit_id=visit_id)
            assert visit is not None
            tech = vq.get_technician(conn, technician_id=visit["technician_id"])
            case = aq.get_case(conn, case_id=visit["case_id"])
        assert tech is not None
        assert case is not None
        text = self._order_text(visit, tech, case, token)
        result = PostResult()
        if tech["telegram_chat_id"]:
            result = await self.notifier.post_telegram(tech["telegram_chat_id"], text)
        elif tech["whatsapp"]:
            with self._agents.desk.transaction() as conn:
                queries.enqueue_replies(
                    conn,
                    case_id=case["id"],
                    channel="whatsapp",
                    chat_id=tech["whatsapp"],
                    replies=[queries.OutboundRow(text, author="operations")],
                    now=self._clock.now(),
                )
            result.posted_to.append("whatsapp")
        elif self.technicians_chat_id:
            result = await self.notifier.post_telegram(self.technicians_chat_id, text)
        else:
            result.errors.append(
                "the technician has no Telegram chat or WhatsApp number and no technicians' "
                "group is configured (LOKET_TECHNICIAN_TELEGRAM_CHAT_ID)"
            )
        with self._engine.begin() as conn:
            vq.update_visit(
                conn,
                visit_id=visit_id,
                notified_to=",".join(result.posted_to) or None,
                notify_error=result.error_text(),
            )
        return result

    # --- remote fix ---

    def send_remote_step(self, case_id: int, actor: Actor, phrase_key: str) -> int:
        """Send the client one of the profile's remote steps (the intro before the first).

        Returns the step's id.

        Raises:
            InvalidInput: not one of the profile's remote steps.
            NotAllowed: the case is not routed remote, not the actor's, or closed.
        """
        with self._agents.desk.transaction() as conn:
            case = self._open_case(conn, case_id)
            self._require_route(conn, case_id, "remote")
            profile = self._agents.profile(case["profile"])
            allowed = [s.key for s in profile.routing.remote_steps] if profile.routing else []
            if phrase_key not in allowed:
                raise InvalidInput(f"'{phrase_key}' is not a remote step of this desk")
            if not vq.list_remote_steps(conn, case_id=case_id):
                self._agents.say(conn, case_id, actor, keys.VISIT_REMOTE_INTRO)
            self._agents.say(conn, case_id, actor, phrase_key)
            step_id = vq.record_remote_step(
                conn,
                case_id=case_id,
                phrase_key=phrase_key,
                sent_by=actor.name,
                now=self._clock.now(),
            )
            self._agents.record_event(conn, case_id, "remote_step", actor.name, phrase_key)
            return step_id

    def record_remote_result(
        self, case_id: int, actor: Actor, step_id: int, result: str
    ) -> int | None:
        """The client's result of a step; every step failed escalates the case.

        The report goes to the profile's technical team (chatbot/agents/escalation.py);
        its id is returned then, else None.

        Raises:
            InvalidInput: an unknown result or step.
            NotAllowed: the case is not the actor's, or closed.
        """
        if result not in REMOTE_RESULTS:
            raise InvalidInput(f"result must be one of {', '.join(REMOTE_RESULTS)}")
        with self._agents.desk.transaction() as conn:
            case = self._open_case(conn, case_id)
            self._require_route(conn, case_id, "remote")
            if case["assignee_id"] != actor.id and actor.role not in SUPERVISOR_ROLES:
                raise NotAllowed(f"take case {case_id} before recording its remote steps")
            if not vq.set_remote_result(
                conn, step_id=step_id, case_id=case_id, result=result, now=self._clock.now()
            ):
                raise InvalidInput(f"case {case_id} has no remote step {step_id}")
            self._agents.record_event(conn, case_id, f"remote_{result}", actor.name)
            steps = vq.list_remote_steps(conn, case_id=case_id)
            profile = self._agents.profile(case["profile"])
        routing = profile.routing
        assert routing is not None
        failed = {s["phrase_key"] for s in steps if s["result"] == "failed"}
        if result != "failed" or not failed.issuperset(s.key for s in routing.remote_steps):
            return None
        lines = [f"- {s['phrase_key']}: {s['result']}" for s in steps]
        fields = json.loads(case["fields_json"])
        story = str(json.loads(case["context_json"]).get("story", ""))
        detail = f"{story}\n\nRemote steps tried with the client:\n" + "\n".join(lines)
        return self._escalations.file(
            case_id,
            actor,
            area=routing.technical_area,
            outlet=fields.get("location", "")[:200],
            detail=detail[:3000],
        )

    # --- the technician's page ---

    def visit_for_token(self, token: str) -> dict[str, Any]:
        """The visit a technician link opens, with its case's client and history.

        Raises:
            UnknownVisit: no visit has this token, or its link expired.
        """
        if not token or len(token) > 100:
            raise UnknownVisit("this link is not valid")
        with read(self._engine) as conn:
            visit = vq.visit_by_token(conn, token_hash=token_hash(token))
            if visit is None:
                raise UnknownVisit("this link is not valid")
            self._check_link(visit)
            tech = vq.get_technician(conn, technician_id=visit["technician_id"])
            case = aq.get_case(conn, case_id=visit["case_id"])
            events = [dict(e) for e in vq.list_visit_events(conn, visit_id=visit["id"])]
        assert tech is not None
        assert case is not None
        fields = json.loads(case["fields_json"])
        profile = self._agents.profile(case["profile"])
        return {
            **dict(visit),
            "technician": tech["name"],
            "client_name": fields.get("name", ""),
            "events": events,
            "next": TECHNICIAN_NEXT.get(visit["status"], ()),
            "window": self.window_text(visit, profile),
            "overdue": is_overdue(visit, self._clock.now()),
        }

    def technician_update(
        self,
        token: str,
        status: str,
        *,
        note: str = "",
        photo: Photo | None = None,
        product_fault: bool | None = None,
    ) -> None:
        """The technician marks on the way / arrived / fixed / not fixed (note, photo).

        The client hears the step's standard phrase. Fixed resolves the case (the closing
        phrase, then confirmation and the survey); the technician's report is a case note
        for the PIC, and the product-fault flag is kept for the compensation record.

        Raises:
            UnknownVisit: a bad or expired link.
            NotAllowed: the step is not possible from the visit's status.
            InvalidInput: a finished visit without a note, a bad photo, an over-long note.
        """
        note = guards.mask_secrets(note.strip())
        if len(note) > MAX_TEXT:
            raise InvalidInput(f"the note is longer than {MAX_TEXT} characters")
        if status in FINISHED and not note:
            raise InvalidInput("write what was done (a note) before finishing the visit")
        stored = self._store_photo(photo) if photo is not None else None
        try:
            with self._agents.desk.transaction() as conn:
                visit = vq.visit_by_token(conn, token_hash=token_hash(token))
                if visit is None:
                    raise UnknownVisit("this link is not valid")
                self._check_link(visit)
                visit = self._visit(conn, visit["id"])
                if status not in TECHNICIAN_NEXT.get(visit["status"], ()):
                    raise NotAllowed(
                        f"the visit is {visit['status']}: '{status}' is not possible now"
                    )
                tech = vq.get_technician(conn, technician_id=visit["technician_id"])
                assert tech is not None
                self._move(
                    conn,
                    visit,
                    status,
                    tech["name"],
                    note=note or None,
                    photo=stored,
                    product_fault=product_fault if status in FINISHED else None,
                )
        except Exception:
            if stored is not None:
                Path(stored).unlink(missing_ok=True)
            raise

    def photo_path(self, visit_id: int, event_id: int | None = None) -> Path | None:
        """The stored photo of a visit (its latest, or one event's) for the console."""
        with read(self._engine) as conn:
            visit = vq.get_visit(conn, visit_id=visit_id)
            if visit is None:
                return None
            name = visit["photo_path"]
            if event_id is not None:
                found = [
                    e for e in vq.list_visit_events(conn, visit_id=visit_id) if e["id"] == event_id
                ]
                name = found[0]["photo_path"] if found else None
        if not name:
            return None
        path = Path(name).resolve()
        inside = path.is_relative_to(self._media.resolve())
        return path if inside and path.is_file() else None

    # --- technicians ---

    def add_technician(
        self, actor: Actor, name: str, *, telegram_chat_id: str = "", whatsapp: str = ""
    ) -> int:
        """A new technician (supervisors and admins edit the list).

        Raises:
            NotAllowed: not a supervisor or admin.
            InvalidInput: no name, a taken name, a bad chat id or number.
        """
        self._check_editor(actor)
        name = name.strip()
        if not name or len(name) > 64:
            raise InvalidInput("a technician needs a name of 1 to 64 characters")
        chat, phone = self._contacts(telegram_chat_id, whatsapp)
        with self._engine.begin() as conn:
            if vq.technician_named(conn, name=name) is not None:
                raise InvalidInput(f"a technician named '{name}' exists already")
            return vq.add_technician(
                conn, name=name, telegram_chat_id=chat, whatsapp=phone, now=self._clock.now()
            )

    def update_technician(
        self,
        actor: Actor,
        technician_id: int,
        *,
        telegram_chat_id: str = "",
        whatsapp: str = "",
        active: bool = True,
    ) -> None:
        """Change a technician's contacts, or take them off (or back on) the list.

        Raises:
            NotAllowed: not a supervisor or admin.
            InvalidInput: a bad chat id or number, an unknown technician.
        """
        self._check_editor(actor)
        chat, phone = self._contacts(telegram_chat_id, whatsapp)
        with self._engine.begin() as conn:
            if not vq.update_technician(
                conn,
                technician_id=technician_id,
                telegram_chat_id=chat,
                whatsapp=phone,
                active=active,
            ):
                raise InvalidInput(f"no technician {technician_id}")

    # --- helpers ---

    def window_text(self, visit: RowMapping | dict[str, Any], profile: Profile) -> str:
        """The time window as the client reads it, in the desk's time zone and language."""
        zone = ZoneInfo(profile.timezone)
        start, end = as_utc(visit["window_start"]), as_utc(visit["window_end"])
        assert start is not None
        assert end is not None
        locale = "id" if profile.locale == "id" else "en"
        first = format_datetime(start, "EEEE, d MMM y HH:mm", tzinfo=zone, locale=locale)
        if start.astimezone(zone).date() == end.astimezone(zone).date():
            last = format_time(end, "HH:mm", tzinfo=zone, locale=locale)
        else:
            last = format_datetime(end, "EEEE, d MMM y HH:mm", tzinfo=zone, locale=locale)
        return f"{first}-{last}"

    def _schedule(
        self, conn: Connection, case_id: int, actor: Actor, order: WorkOrder
    ) -> tuple[int, str]:
        case = self._open_case(conn, case_id)
        now = self._clock.now()
        start, end = as_utc(order.window_start), as_utc(order.window_end)
        if start is None or end is None or end <= start or end - start > MAX_WINDOW:
            raise InvalidInput("the time window must end after it starts, within two days")
        if end <= now:
            raise InvalidInput("the time window is already over")
        address = order.address.strip()
        problem = guards.mask_secrets(order.problem.strip())
        if not address or len(address) > MAX_TEXT:
            raise InvalidInput("the work order needs the client's address")
        if not problem or len(problem) > MAX_TEXT:
            raise InvalidInput("the work order needs the problem")
        if len(order.contact) > 64 or len(order.machine_id) > 64:
            raise InvalidInput("the contact and the machine id have at most 64 characters")
        tech = vq.get_technician(conn, technician_id=order.technician_id)
        if tech is None or not tech["active"]:
            raise InvalidInput("choose an active technician")
        if not (tech["telegram_chat_id"] or tech["whatsapp"] or self.technicians_chat_id):
            # else the client hears the visit is booked and nobody tells the technician
            raise InvalidInput(
                f"nobody can tell {tech['name']}: add their Telegram chat or WhatsApp number "
                "on the technicians list, or set LOKET_TECHNICIAN_TELEGRAM_CHAT_ID"
            )
        latitude = longitude = None
        fields = json.loads(case["fields_json"])
        location = str(fields.get("location", ""))
        if location.count(",") == 1:  # a shared location: "lat,lng"
            try:
                latitude, longitude = (float(p) for p in location.split(","))
            except ValueError:
                latitude = longitude = None
        token = secrets.token_urlsafe(32)
        visit_id = vq.add_visit(
            conn,
            case_id=case_id,
            technician_id=tech["id"],
            status="scheduled",
            address=address,
            latitude=latitude,
            longitude=longitude,
            contact=order.contact.strip(),
            machine_id=order.machine_id.strip(),
            problem=problem,
            window_start=start,
            window_end=end,
            token_hash=token_hash(token),
            created_by=actor.name,
            created_at=now,
            updated_at=now,
        )
        vq.record_visit_event(
            conn, visit_id=visit_id, status="scheduled", actor=actor.name, now=now
        )
        profile = self._agents.profile(case["profile"])
        window = self.window_text({"window_start": start, "window_end": end}, profile)
        self._tell(conn, case, keys.VISIT_SCHEDULED, actor.name, tech["name"], window=window)
        self._agents.record_event(conn, case_id, "visit_scheduled", actor.name, tech["name"])
        logger.info("Case %s: visit %s scheduled with %s.", case_id, visit_id, tech["name"])
        return visit_id, token

    def _move(
        self,
        conn: Connection,
        visit: RowMapping,
        status: str,
        actor: str,
        *,
        note: str | None,
        photo: str | None,
        product_fault: bool | None = None,
    ) -> None:
        now = self._clock.now()
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status in (*FINISHED, "cancelled"):
            values["finished_at"] = now
        if note is not None:
            values["note"] = note
        if photo is not None:
            values["photo_path"] = photo
        if product_fault is not None:
            values["product_fault"] = product_fault
        if not vq.move_visit(
            conn, visit_id=visit["id"], from_status=visit["status"], values=values
        ):
            raise CaseTaken(f"visit {visit['id']} changed meanwhile; reload")
        vq.record_visit_event(
            conn,
            visit_id=visit["id"],
            status=status,
            actor=actor,
            now=now,
            note=note,
            photo_path=photo,
        )
        case = aq.get_case(conn, case_id=visit["case_id"], lock=True)
        assert case is not None
        self._agents.record_event(conn, case["id"], f"visit_{status}", actor, note)
        if case["closed_at"] is not None:
            return  # the client called it off meanwhile: nothing more to say
        tech = vq.get_technician(conn, technician_id=visit["technician_id"])
        assert tech is not None
        self._tell(conn, case, keys.VISIT_STATUS_PHRASES[status], actor, tech["name"])
        if status in FINISHED:
            fault = {True: "yes", False: "no", None: "not said"}[product_fault]
            report = (
                f"Technician report ({tech['name']}, visit {visit['id']}): {status}. "
                f"Product fault: {fault}.\n{note or ''}"
            )
            aq.record_note(conn, case_id=case["id"], author=actor, text=report, now=now)
        if status == "fixed" and case["state"] in RESOLVABLE:  # else resolved already
            self._agents.desk.step_case(
                conn, case, "agent_resolved", actor=actor, role="technician"
            )
            if case["resolved_at"] is None:
                aq.update_case(conn, case_id=case["id"], resolved_at=now, resolved_by=actor)
            self._agents.record_event(conn, case["id"], "resolved", actor)

    def _tell(
        self,
        conn: Connection,
        case: RowMapping,
        key: str,
        author: str,
        technician: str,
        **extra: object,
    ) -> None:
        fields = json.loads(case["fields_json"])
        variables = {"client_name": fields.get("name", ""), "technician": technician, **extra}
        text = self._agents.desk.phrases.render(key, case["locale"], variables)
        self._agents.desk.write_replies(
            conn, case, [queries.OutboundRow(text, phrase_key=key, author=author)]
        )

    def _order_text(
        self, visit: RowMapping, tech: RowMapping, case: RowMapping, token: str
    ) -> str:
        profile = self._agents.profile(case["profile"])
        where = visit["address"]
        if visit["latitude"] is not None and visit["longitude"] is not None:
            where += f"\nhttps://maps.google.com/?q={visit['latitude']},{visit['longitude']}"
        return (
            f"Work order #{visit['id']} (case #{case['id']}) for {tech['name']}\n"
            f"When: {self.window_text(visit, profile)}\n"
            f"Where: {where}\n"
            f"Contact: {visit['contact'] or '-'}\n"
            f"Machine: {visit['machine_id'] or '-'}\n"
            f"Problem: {visit['problem']}\n"
            f"Update the visit here: {self.link(token)}"
        )

    def _check_link(self, visit: RowMapping) -> None:
        end = as_utc(visit["window_end"])
        assert end is not None
        if self._clock.now() > end + self._link:
            raise UnknownVisit("this link has expired; ask Operations for a new one")

    def _visit(self, conn: Connection, visit_id: int) -> RowMapping:
        visit = vq.get_visit(conn, visit_id=visit_id, lock=True)
        if visit is None:
            raise UnknownVisit(f"no visit {visit_id}")
        return visit

    def _open_case(self, conn: Connection, case_id: int) -> RowMapping:
        case = aq.get_case(conn, case_id=case_id, lock=True)
        if case is None:
            raise UnknownCase(f"no case {case_id}")
        if case["closed_at"] is not None or case["state"] == State.CLOSED.value:
            raise NotAllowed(f"case {case_id} is closed")
        return case

    def _require_route(self, conn: Connection, case_id: int, route: str) -> None:
        found = vq.get_route(conn, case_id=case_id)
        if found is None or found["route"] != route:
            raise NotAllowed(f"case {case_id} is not routed to a {route} fix")

    def _check_ops(self, actor: Actor) -> None:
        if actor.role not in OPS_ROLES:
            raise NotAllowed("only Operations (ops), supervisors and admins route cases")

    def _check_editor(self, actor: Actor) -> None:
        if actor.role not in TECHNICIAN_EDITORS:
            raise NotAllowed("only supervisors and admins edit the technicians list")

    def _contacts(self, chat: str, phone: str) -> tuple[str | None, str | None]:
        chat, phone = chat.strip(), phone.strip()
        if chat and not chat.lstrip("-").isdigit():
            raise InvalidInput("a Telegram chat id is a number (a group's starts with -)")
        cleaned = guards.clean_phone(phone) if phone else None
        if phone and cleaned is None:
            raise InvalidInput("the WhatsApp number is not valid")
        return chat or None, cleaned

    def _store_photo(self, photo: Photo) -> str:
        suffix = PHOTO_TYPES.get(photo.content_type.split(";")[0].strip().lower())
        if suffix is None:
            raise InvalidInput("the photo must be a JPEG, PNG or WebP image")
        if not photo.data:
            raise InvalidInput("the photo is empty")
        if len(photo.data) > self._max_photo:
            raise InvalidInput(f"the photo is larger than {self._max_photo // 1_000_000} MB")
        if not photo.data.startswith(PHOTO_MAGIC[suffix]):
            raise InvalidInput("the file is not the image it claims to be")
        folder = self._media / "visits"
        folder.mkdir(parents=True, exist_ok=True)
        path = (folder / f"{secrets.token_hex(16)}{suffix}").resolve()
        path.write_bytes(photo.data)
        return str(path)  # like attachments' stored_path: retention deletes it by this
