"""Helpers for the visits tests: an Intera desk, a case at Operations, the visit service."""

from __future__ import annotations

from datetime import timedelta

from chatbot.agents.agent_desk import AgentDesk, Staff
from chatbot.agents.escalation import EscalationDesk
from chatbot.agents.notify import Notifier
from chatbot.agents.visits import VisitDesk, WorkOrder
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.desk.agent_helpers import create_user
from tests.team.conftest import no_sleep

HARDWARE_STORY = (
    "mesin wifi koin di warung saya mati total sejak kemarin sore, lampunya tidak menyala"
)
SOFT_STORY = "voucher tidak keluar setelah saya masukkan koin di mesin wifi warung saya kemarin"


def reach_operations(chat: ChatDriver, story: str = HARDWARE_STORY) -> int:
    """An Intera client told the story and passed verification: the case waits for Ops.

    A story the FAQ answers gets its answer first (Intera answers before verifying); the
    client says it did not help, and verification follows.
    """
    for line in ["assalamualaikum kak", story]:
        chat.client_says(line)
    if chat.case["state"] == "self_service":
        chat.client_says("belum kak, masih sama")
    for line in ["Wulan Sari", "Jl. Melati 5, Depok", "TRX-12345"]:
        chat.client_says(line)
    assert chat.case["state"] == "queued", chat.case["state"]
    chat.bot_said()
    return int(chat.case["id"])


def visit_desk(
    chat: ChatDriver, clock: FrozenClock, tmp_path: object, notifier: Notifier | None = None
) -> VisitDesk:
    agents = AgentDesk(chat.engine, chat.desk, clock)
    escalations = EscalationDesk(
        chat.engine, agents, clock, notifier or Notifier(sleep=no_sleep), public_url="https://x"
    )
    return VisitDesk(
        chat.engine,
        agents,
        escalations,
        clock,
        public_url="https://loket.example",
        media_dir=f"{tmp_path}/media",
        max_photo_bytes=100_000,
    )


def order(clock: FrozenClock, technician_id: int, *, hours: int = 3) -> WorkOrder:
    start = clock.now() + timedelta(hours=1)
    return WorkOrder(
        technician_id=technician_id,
        window_start=start,
        window_end=start + timedelta(hours=hours),
        address="Jl. Melati 5, Depok",
        contact="+6281234567890",
        machine_id="WK-0042",
        problem="Mesin mati total",
    )


def ordered_visit(
    chat: ChatDriver, visits: VisitDesk, clock: FrozenClock, *, hours: int = 3
) -> tuple[int, Staff, tuple[int, str]]:
    """A case at Operations, and Ops ("oki") ordering a visit by Budi in an hour, `hours` long.

    Returns the case id, the Ops user and what `VisitDesk.decide` returned (visit id, link token).
    """
    case_id = reach_operations(chat)
    ops = create_user(chat.engine, "oki", "ops")
    budi = visits.add_technician(
        create_user(chat.engine, "sup", "supervisor"), "Budi", telegram_chat_id="-1001"
    )
    made = visits.decide(case_id, ops, "visit", order(clock, budi, hours=hours))
    assert made is not None
    return case_id, ops, made
