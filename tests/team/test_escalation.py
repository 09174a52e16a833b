"""Escalation reports: the developers' template, posting, status steps, the client's phrases."""

from __future__ import annotations

import pytest

from chatbot.agents.agent_desk import AgentDesk
from chatbot.agents.escalation import EscalationDesk
from chatbot.agents.notify import Notifier
from chatbot.errors import InvalidInput, NotAllowed
from db import agent_queries as aq
from flows import phrase_keys as keys
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.desk.agent_helpers import case_row, create_user, events, queue_hard_case
from tests.fakes.discord_api import FakeDiscord
from tests.team.conftest import no_sleep

PUBLIC = "https://loket.example.co.id"


def escalations(
    agents: AgentDesk, discord: FakeDiscord | None, clock: FrozenClock
) -> EscalationDesk:
    notifier = Notifier(
        discord_webhook_url=discord.webhook_url if discord else None, sleep=no_sleep
    )
    return EscalationDesk(agents.desk_engine, agents, clock, notifier, public_url=PUBLIC)


@pytest.fixture
def taken(chat: ChatDriver, agents: AgentDesk) -> tuple[int, object]:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    chat.bot_said()
    return case_id, sari


async def test_filing_tells_the_client_and_posts_the_template(
    chat: ChatDriver,
    agents: AgentDesk,
    clock: FrozenClock,
    discord: FakeDiscord,
    taken: tuple[int, object],
) -> None:
    case_id, sari = taken
    desk = escalations(agents, discord, clock)
    report = desk.file(
        case_id,
        sari,  # type: ignore[arg-type]
        area="BI",
        outlet="kedaiwulan.erzap.id",
        detail="Laporan penjualan BI kosong sejak pagi",
        media="https://drive.example/video.mp4",
    )
    assert chat.bot_said() == [keys.ESCALATION_CHECKING]
    assert "Wulan" in chat.last_texts()[0]
    assert case_row(chat.engine, case_id)["state"] == "escalated"
    assert ("escalated", "sari", "BI") in events(chat.engine, case_id)
    result = await desk.post(report)
    assert result.ok
    [post] = discord.posts
    assert "Grup Outlet / Domain: kedaiwulan.erzap.id" in post.content
    assert "Detail Kendala: Laporan penjualan BI kosong sejak pagi" in post.content
    assert "https://drive.example/video.mp4" in post.content
    assert "Area: BI" in post.content
    assert f"{PUBLIC}/desk/cases/{case_id}" in post.content
    with chat.engine.connect() as conn:
        row = aq.get_escalation(conn, escalation_id=report)
    assert row is not None
    assert (row["status"], row["posted_to"], row["post_error"]) == ("open", "discord", None)
    [item] = agents.my_cases(sari)  # type: ignore[arg-type]
    assert item.escalation_status == "open"


async def test_a_failed_post_is_recorded_for_the_console(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock, taken: tuple[int, object]
) -> None:
    case_id, sari = taken
    desk = escalations(agents, None, clock)
    report = desk.file(case_id, sari, area="POS", outlet="", detail="struk dobel")  # type: ignore[arg-type]
    result = await desk.post(report)
    assert not result.ok
    with chat.engine.connect() as conn:
        row = aq.get_escalation(conn, escalation_id=report)
    assert row is not None
    assert row["posted_to"] is None
    assert "no Discord webhook" in row["post_error"]


def test_status_steps_and_the_fixed_phrase(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock, taken: tuple[int, object]
) -> None:
    case_id, sari = taken
    desk = escalations(agents, None, clock)
    report = desk.file(case_id, sari, area="POS", outlet="x", detail="struk dobel")  # type: ignore[arg-type]
    chat.bot_said()
    with pytest.raises(InvalidInput):
        desk.set_status(report, sari, "verified")  # type: ignore[arg-type]  # not fixed yet
    desk.set_status(report, sari, "fix_ready")  # type: ignore[arg-type]
    assert chat.bot_said() == []
    desk.set_status(report, sari, "verified")  # type: ignore[arg-type]
    assert chat.bot_said() == [keys.ESCALATION_FIXED]
    assert case_row(chat.engine, case_id)["state"] == "with_agent"
    desk.set_status(report, sari, "closed")  # type: ignore[arg-type]
    kinds = [e for e in events(chat.engine, case_id) if e[0] == "escalation_status"]
    assert [e[2] for e in kinds] == [
        f"#{report} fix_ready",
        f"#{report} verified",
        f"#{report} closed",
    ]
    agents.resolve(case_id, sari)  # type: ignore[arg-type]
    assert chat.bot_said() == [keys.CLOSING_NORMAL_HARD]


def test_only_the_owner_escalates_and_areas_come_from_the_profile(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock, taken: tuple[int, object]
) -> None:
    case_id, _ = taken
    budi = create_user(chat.engine, "budi")
    desk = escalations(agents, None, clock)
    with pytest.raises(NotAllowed):
        desk.file(case_id, budi, area="POS", outlet="", detail="x")
    with pytest.raises(InvalidInput, match="area must be one of"):
        desk.file(case_id, taken[1], area="Marketing", outlet="", detail="x")  # type: ignore[arg-type]


def test_compensation_is_recorded_by_supervisors_only(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock, taken: tuple[int, object]
) -> None:
    case_id, sari = taken
    lead = create_user(chat.engine, "lead", "supervisor")
    desk = escalations(agents, None, clock)
    with pytest.raises(NotAllowed):
        desk.record_compensation(
            case_id,
            sari,
            product_fault=True,
            loss="x",
            compensation="y",  # type: ignore[arg-type]
        )
    desk.record_compensation(
        case_id,
        lead,
        product_fault=True,
        loss="Buku tamu gagal 2 jam, tamu dicatat manual",
        compensation="Diskon 50% paket berikutnya (disetujui PIC, COO dan klien)",
    )
    with chat.engine.connect() as conn:
        [row] = aq.list_compensations(conn, case_id=case_id)
    assert row["product_fault"] is True
    assert row["recorded_by"] == "lead"
    assert ("compensation", "lead", "product fault") in events(chat.engine, case_id)


async def test_a_post_without_answer_in_time_is_recorded_not_waited_for(
    chat: ChatDriver,
    agents: AgentDesk,
    clock: FrozenClock,
    discord: FakeDiscord,
    taken: tuple[int, object],
) -> None:
    case_id, sari = taken
    desk = escalations(agents, discord, clock)
    report = desk.file(case_id, sari, area="POS", outlet="", detail="struk dobel")  # type: ignore[arg-type]
    discord.delay = 2.0
    result = await desk.post(report, within_seconds=0.2)
    assert not result.ok
    with chat.engine.connect() as conn:
        row = aq.get_escalation(conn, escalation_id=report)
    assert row is not None
    assert row["post_error"] == "no answer within 0.2s; post it again"
