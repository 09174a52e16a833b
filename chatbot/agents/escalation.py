"""Escalation to the developer/IT team (ERZAP, Bahtera) and Bahtera's compensation record.

Filing a report is a database change (the client hears "sedang kami cek" through the flow);
posting it to Discord / the Telegram group is network I/O done afterwards by `post()`, whose
outcome is recorded on the report (posted_to / post_error) and shown in the console.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine, RowMapping

from chatbot.agents.agent_desk import SUPERVISOR_ROLES, Actor, AgentDesk
from chatbot.agents.notify import Notifier, PostResult
from chatbot.clock import Clock
from chatbot.errors import InvalidInput, NotAllowed, UnknownCase
from db import agent_queries as aq
from db import queries
from db.engine import read
from flows import phrase_keys as keys
from flows.front_desk import State

logger = logging.getLogger(__name__)

STATUSES = ("open", "fix_ready", "verified", "closed")
# Forward along the procedure; a fix that does not work goes back to the developers.
NEXT_STATUSES: dict[str, tuple[str, ...]] = {
    "open": ("fix_ready", "closed"),
    "fix_ready": ("verified", "open"),
    "verified": ("closed",),
    "closed": (),
}
MAX_FIELD = 4000


class EscalationDesk:
    """Files reports from a case, posts them, moves their status, records compensation."""

    def __init__(
        self,
        engine: Engine,
        agents: AgentDesk,
        clock: Clock,
        notifier: Notifier | None = None,
        *,
        public_url: str = "",
    ) -> None:
        self._engine = engine
        self._agents = agents
        self._clock = clock
        self._notifier = notifier or Notifier()
        self._public = public_url.rstrip("/")

    @property
    def notifier(self) -> Notifier:
        """Where reports are posted."""
        return self._notifier

    def use_notifier(self, notifier: Notifier) -> None:
        """Post through this notifier from now on (the app builds it in its lifespan)."""
        self._notifier = notifier

    def file(
        self,
        case_id: int,
        actor: Actor,
        *,
        area: str,
        outlet: str,
        detail: str,
        media: str = "",
    ) -> int:
        """File a report with the developers' template; the client hears the "checking" phrase.

        Returns the report's id; post it with `post()`.

        Raises:
            InvalidInput: an unknown area, or an empty detail.
            NotAllowed: the actor does not own the case, or it is not with an agent.
        """
        case = self._case(case_id)
        areas = self._agents.profile(case["profile"]).escalation_areas
        if areas and area not in areas:
            raise InvalidInput(f"area must be one of: {', '.join(areas)}")
        detail, outlet, media = detail.strip(), outlet.strip(), media.strip()
        if not detail:
            raise InvalidInput("describe the problem (detail)")
        if len(detail) + len(media) > MAX_FIELD or len(outlet) > 200:
            raise InvalidInput("the report is too long")
        text = f"{detail}\n\nScreenshot/Video: {media}" if media else detail
        now = self._clock.now()
        with self._agents.desk.transaction() as conn:  # steps the case: edits in force
            current = aq.get_case(conn, case_id=case_id, lock=True)
            assert current is not None
            if current["closed_at"] is not None:
                raise NotAllowed(f"case {case_id} is closed")
            if current["assignee_id"] != actor.id and actor.role not in SUPERVISOR_ROLES:
                raise NotAllowed(f"take case {case_id} before escalating it")
            escalation_id = aq.record_escalation(
                conn,
                case_id=case_id,
                area=area or "-",
                outlet=outlet,
                detail=text,
                filed_by=actor.name,
                now=now,
            )
            if current["state"] != State.ESCALATED.value:  # a second report: already told
                self._agents.fire(conn, case_id, "agent_escalated", actor)
            self._agents.record_event(conn, case_id, "escalated", actor.name, area)
        logger.info("Case %s escalated (report %s, %s).", case_id, escalation_id, area)
        return escalation_id

    async def post(self, escalation_id: int, *, within_seconds: float = 30.0) -> PostResult:
        """Post the report to Discord and/or the Telegram group; the outcome is recorded.

        Never raises for the destinations: a failure (or no answer within `within_seconds`,
        retries included) is recorded on the report, where the console offers to post again.
        """
        text = await asyncio.to_thread(self.report_text, escalation_id)
        try:
            result = await asyncio.wait_for(self._notifier.post(text), within_seconds)
        except TimeoutError:
            result = PostResult(errors=[f"no answer within {within_seconds:g}s; post it again"])
        await asyncio.to_thread(self._record_post, escalation_id, result)
        return result

    def _record_post(self, escalation_id: int, result: PostResult) -> None:
        with self._engine.begin() as conn:
            aq.record_post_result(
                conn,
                escalation_id=escalation_id,
                posted_to=",".join(result.posted_to) or None,
                error=result.error_text(),
            )

    def report_text(self, escalation_id: int) -> str:
        """The report as the developers read it, with a link back to the case.

        The template is docs/procedures.md#erzap-developer-report.

        Raises:
            UnknownCase: no such report.
        """
        with read(self._engine) as conn:
            report = aq.get_escalation(conn, escalation_id=escalation_id)
            if report is None:
                raise UnknownCase(f"no report {escalation_id}")
            case = aq.get_case(conn, case_id=report["case_id"])
            attachments = queries.list_attachments(conn, case_ids=[report["case_id"]])
        assert case is not None
        desk_name = self._agents.profile(case["profile"]).desk_name
        link = f"{self._public}/desk/cases/{case['id']}"
        files = [f"{link}/attachments/{a['id']}" for a in attachments]
        lines = [
            f"[{desk_name}] Laporan #{report['id']} | Kasus #{case['id']}"
            f" | Area: {report['area']}",
            f"Grup Outlet / Domain: {report['outlet'] or '-'}",
            f"Detail Kendala: {report['detail']}",
            f"Lampiran kasus: {' '.join(files) if files else '-'}",
            f"Kategori: {case['category'] or '-'} | Dilaporkan oleh: {report['filed_by']}",
            f"Kasus: {link}",
        ]
        return "\n".join(lines)

    def set_status(self, escalation_id: int, actor: Actor, status: str) -> None:
        """Move a report along open -> fix_ready -> verified -> closed.

        On "verified" the client hears the "sudah kami sesuaikan" phrase.

        Raises:
            InvalidInput: not a status, or not a step allowed from the current one.
            NotAllowed: the actor does not own the case.
        """
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        with self._agents.desk.transaction() as conn:  # steps the case: edits in force
            report = aq.get_escalation(conn, escalation_id=escalation_id)
            if report is None:
                raise UnknownCase(f"no report {escalation_id}")
            case = aq.get_case(conn, case_id=report["case_id"], lock=True)
            assert case is not None
            if case["assignee_id"] != actor.id and actor.role not in SUPERVISOR_ROLES:
                raise NotAllowed(f"only the owner of case {case['id']} moves its reports")
            if status not in NEXT_STATUSES[report["status"]]:
                raise InvalidInput(f"a report that is {report['status']} cannot become {status}")
            if not aq.set_escalation_status(
                conn,
                escalation_id=escalation_id,
                from_status=report["status"],
                to_status=status,
                now=self._clock.now(),
            ):
                raise InvalidInput("the report changed meanwhile; reload")
            self._agents.record_event(
                conn, case["id"], "escalation_status", actor.name, f"#{escalation_id} {status}"
            )
            if status == "verified" and case["closed_at"] is None:
                if case["state"] == State.ESCALATED.value:
                    self._agents.fire(conn, case["id"], "agent_verified_fix", actor)
                else:
                    self._agents.say(conn, case["id"], actor, keys.ESCALATION_FIXED)

    def record_compensation(
        self, case_id: int, actor: Actor, *, product_fault: bool, loss: str, compensation: str
    ) -> None:
        """Bahtera: whether the product was at fault, the client's loss, what was agreed.

        Raises:
            NotAllowed: only supervisors record compensation.
            InvalidInput: loss or compensation missing.
        """
        if actor.role not in SUPERVISOR_ROLES:
            raise NotAllowed("only supervisors record compensation")
        loss, compensation = loss.strip(), compensation.strip()
        if not loss or not compensation or len(loss) + len(compensation) > MAX_FIELD:
            raise InvalidInput("state the loss and the compensation agreed")
        self._case(case_id)
        with self._engine.begin() as conn:
            aq.record_compensation(
                conn,
                case_id=case_id,
                product_fault=product_fault,
                loss=loss,
                compensation=compensation,
                recorded_by=actor.name,
                now=self._clock.now(),
            )
            self._agents.record_event(
                conn,
                case_id,
                "compensation",
                actor.name,
                "product fault" if product_fault else "not the product's fault",
            )

    def _case(self, case_id: int) -> RowMapping:
        with read(self._engine) as conn:
            case = aq.get_case(conn, case_id=case_id)
        if case is None:
            raise UnknownCase(f"no case {case_id}")
        return case
