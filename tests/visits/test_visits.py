"""Operations routing, remote steps and technician visits through the real step service."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.agents.notify import Notifier
from chatbot.agents.visits import Photo, UnknownVisit, VisitDesk
from chatbot.channels.telegram import close_bot, make_bot
from chatbot.errors import CaseTaken, InvalidInput, NotAllowed
from db import agent_queries as aq
from db import visit_queries as vq
from flows import phrase_keys as keys
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.desk.agent_helpers import case_row, create_user, events, outbox
from tests.fakes.bot_api import FakeBotApi
from tests.team.conftest import no_sleep
from tests.visits.helpers import SOFT_STORY, order, ordered_visit, reach_operations, visit_desk

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 200


@pytest.fixture
def intera(desk_for) -> ChatDriver:  # type: ignore[no-untyped-def]
    engine, desk = desk_for("intera")
    return ChatDriver(desk, engine, channel="web", chat_id="web-wulan")


@pytest.fixture
def visits(intera: ChatDriver, clock: FrozenClock, tmp_path: Path) -> VisitDesk:
    return visit_desk(intera, clock, tmp_path)


def test_a_verified_intera_case_waits_for_operations_with_the_bots_suggestion(
    intera: ChatDriver, visits: VisitDesk
) -> None:
    case_id = reach_operations(intera)
    [waiting] = visits.ops_queue()
    assert waiting["case_id"] == case_id
    assert waiting["suggested"] == "visit"
    assert "mati total" in waiting["reasons"]
    assert ("routing", "bot", "suggested visit") in events(intera.engine, case_id)


def test_a_soft_problem_is_suggested_remote(
    desk_for,  # type: ignore[no-untyped-def]
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    engine, desk = desk_for("intera")
    chat = ChatDriver(desk, engine, chat_id="soft")
    reach_operations(chat, SOFT_STORY)
    [waiting] = visit_desk(chat, clock, tmp_path).ops_queue()
    assert waiting["suggested"] == "remote"


def test_a_profile_without_routing_never_reaches_operations(
    chat: ChatDriver, clock: FrozenClock, tmp_path: Path
) -> None:
    for line in ["halo kak", "laporan penjualan di BI kosong semua hari ini", "Wulan"]:
        chat.client_says(line)
    chat.client_says("outlet Kedai Wulan")
    assert chat.case["state"] == "queued"
    assert visit_desk(chat, clock, tmp_path).ops_queue() == []


def test_only_operations_decide_and_only_once(intera: ChatDriver, visits: VisitDesk) -> None:
    case_id = reach_operations(intera)
    agent = create_user(intera.engine, "sari", "agent")
    ops = create_user(intera.engine, "oki", "ops")
    with pytest.raises(NotAllowed):
        visits.decide(case_id, agent, "remote")
    with pytest.raises(InvalidInput):
        visits.decide(case_id, ops, "teleport")
    with pytest.raises(InvalidInput):
        visits.decide(case_id, ops, "visit")  # no work order
    visits.decide(case_id, ops, "remote")
    with pytest.raises(CaseTaken, match="oki"):
        visits.decide(case_id, ops, "remote")
    assert visits.ops_queue() == []


def test_remote_steps_are_phrases_and_all_failing_escalates_to_the_technical_team(
    intera: ChatDriver, visits: VisitDesk, clock: FrozenClock
) -> None:
    case_id = reach_operations(intera, SOFT_STORY)
    ops = create_user(intera.engine, "oki", "ops")
    agent = create_user(intera.engine, "sari", "agent")
    visits.decide(case_id, ops, "remote")
    assert case_row(intera.engine, case_id)["state"] == "queued"  # an agent guides the client
    visits.agents.take(case_id, agent)
    intera.bot_said()
    panel = visits.case_panel(case_id)
    assert panel is not None
    assert panel["defaults"]["contact"] == ""  # a terminal (or web) chat's id is no phone
    keys_in_order = [s.key for s in panel["remote_steps"]]
    for key in keys_in_order:
        step_id = visits.send_remote_step(case_id, agent, key)
        said = intera.bot_said()
        assert said[-1] == key
        report = visits.record_remote_result(case_id, agent, step_id, "failed")
    assert said == [key]  # the intro came with the first step only
    assert report is not None
    row = case_row(intera.engine, case_id)
    assert row["state"] == "escalated"
    with intera.engine.connect() as conn:
        [filed] = aq.list_escalations(conn, case_id=case_id)
    assert filed["area"] == "Tim Teknis IT"
    assert "visit.remote_restart: failed" in filed["detail"]
    with pytest.raises(InvalidInput):
        visits.send_remote_step(case_id, agent, "agent.greeting")
    # the technical team goes to the site after all (Intera's step g): a visit is scheduled
    budi = visits.add_technician(
        create_user(intera.engine, "sup", "supervisor"), "Budi", telegram_chat_id="-1001"
    )
    visits.schedule(case_id, ops, order(clock, budi))
    assert intera.bot_said()[-1] == keys.VISIT_SCHEDULED
    assert case_row(intera.engine, case_id)["assignee_id"] == agent.id  # still the agent's


def test_a_visit_from_schedule_to_fixed_tells_the_client_each_step_and_resolves(
    intera: ChatDriver, visits: VisitDesk, clock: FrozenClock
) -> None:
    case_id = reach_operations(intera)
    ops = create_user(intera.engine, "oki", "ops")
    budi = visits.add_technician(
        create_user(intera.engine, "sup", "supervisor"), "Budi", telegram_chat_id="-1001"
    )
    made = visits.decide(case_id, ops, "visit", order(clock, budi))
    assert made is not None
    visit_id, token = made
    assert intera.bot_said() == [keys.VISIT_SCHEDULED]
    assert "Budi" in intera.last_texts()[0]
    assert "Senin, 23 Nov 2026 11:00-14:00" in intera.last_texts()[0]  # Jakarta time
    assert case_row(intera.engine, case_id)["assignee_id"] == ops.id

    page = visits.visit_for_token(token)
    assert page["id"] == visit_id
    assert page["next"] == ("on_the_way", "arrived")
    with pytest.raises(NotAllowed):
        visits.technician_update(token, "fixed", note="x")
    visits.technician_update(token, "on_the_way")
    assert intera.bot_said() == ["visit.on_the_way"]
    visits.technician_update(token, "arrived")
    assert intera.bot_said() == ["visit.arrived"]
    with pytest.raises(InvalidInput):
        visits.technician_update(token, "fixed")  # a note is required
    with pytest.raises(InvalidInput):
        visits.technician_update(token, "fixed", note="ok", photo=Photo(b"GIF89a", "image/jpeg"))
    visits.technician_update(
        token,
        "fixed",
        note="Adaptor terbakar, diganti baru",
        photo=Photo(JPEG, "image/jpeg"),
        product_fault=True,
    )
    assert intera.bot_said() == ["visit.done", keys.CLOSING_NORMAL_HARD]
    row = case_row(intera.engine, case_id)
    assert row["state"] == "awaiting_confirmation"
    assert row["resolved_by"] == "Budi"
    path = visits.photo_path(visit_id)
    assert path is not None
    assert path.read_bytes() == JPEG
    with intera.engine.connect() as conn:
        [note] = aq.list_notes(conn, case_id=case_id)
        visit = vq.get_visit(conn, visit_id=visit_id)
    assert "Product fault: yes" in note["text"]
    assert visit is not None
    assert visit["product_fault"] is True
    panel = visits.case_panel(case_id)
    assert panel is not None
    assert panel["product_fault"] is True
    with pytest.raises(NotAllowed):
        visits.technician_update(token, "arrived")
    # the survey follows the client's confirmation, as for every case
    intera.client_says("sudah kak, terima kasih")
    assert keys.SURVEY_ASK_RATING in intera.bot_said()


def test_not_fixed_keeps_the_case_open_for_another_visit(
    intera: ChatDriver, visits: VisitDesk, clock: FrozenClock
) -> None:
    case_id = reach_operations(intera)
    ops = create_user(intera.engine, "oki", "ops")
    sup = create_user(intera.engine, "sup", "supervisor")
    budi = visits.add_technician(sup, "Budi", whatsapp="0812-1111-2222")
    made = visits.decide(case_id, ops, "visit", order(clock, budi))
    assert made is not None
    visits.technician_update(made[1], "arrived")
    visits.technician_update(made[1], "not_fixed", note="Board rusak, perlu suku cadang")
    intera.bot_said()
    assert case_row(intera.engine, case_id)["state"] == "with_agent"
    again, _token = visits.schedule(case_id, ops, order(clock, budi))
    assert intera.bot_said() == [keys.VISIT_SCHEDULED]
    visits.cancel(again, ops)
    assert intera.bot_said() == ["visit.cancelled"]
    assert visits.overview().first_time_fix_rate == 0.0


def test_a_technician_link_is_unforgeable_and_expires(
    intera: ChatDriver, visits: VisitDesk, clock: FrozenClock
) -> None:
    _, _, made = ordered_visit(intera, visits, clock)
    for wrong in ["", "1", made[1][:-1] + ("A" if made[1][-1] != "A" else "B"), "x" * 500]:
        with pytest.raises(UnknownVisit):
            visits.visit_for_token(wrong)
    clock.advance(hours=4 + 48 + 1)  # window end + the link's 48 hours
    with pytest.raises(UnknownVisit, match="expired"):
        visits.visit_for_token(made[1])
    with pytest.raises(UnknownVisit):
        visits.technician_update(made[1], "arrived")


def test_overdue_visits_by_the_frozen_clock(
    intera: ChatDriver, visits: VisitDesk, clock: FrozenClock
) -> None:
    _, _, made = ordered_visit(intera, visits, clock, hours=2)
    clock.advance(hours=2, minutes=59)  # window 1h..3h from now: still inside
    view = visits.overview()
    assert view.overdue == []
    assert [v["id"] for v in view.open_by_technician["Budi"]] == [made[0]]
    clock.advance(minutes=2)
    view = visits.overview()
    assert [v["id"] for v in view.overdue] == [made[0]]
    assert view.open_by_technician["Budi"][0]["overdue"] is True
    visits.technician_update(made[1], "arrived")
    visits.technician_update(made[1], "fixed", note="beres")
    view = visits.overview()
    assert view.overdue == []
    assert view.open_by_technician == {}
    assert view.first_time_fix_rate == 100.0


def test_technicians_list_is_for_supervisors_and_checks_contacts(
    intera: ChatDriver, visits: VisitDesk
) -> None:
    sup = create_user(intera.engine, "sup", "supervisor")
    with pytest.raises(NotAllowed):
        visits.add_technician(create_user(intera.engine, "oki", "ops"), "Budi")
    with pytest.raises(InvalidInput):
        visits.add_technician(sup, "Budi", telegram_chat_id="@budi")
    with pytest.raises(InvalidInput):
        visits.add_technician(sup, "Budi", whatsapp="12")
    budi = visits.add_technician(sup, "Budi", whatsapp="0812-1111-2222")
    with pytest.raises(InvalidInput):
        visits.add_technician(sup, "Budi")
    visits.update_technician(sup, budi, telegram_chat_id="-100200", active=False)
    [row] = visits.technicians()
    assert (row["whatsapp"], row["telegram_chat_id"], row["active"]) == (None, "-100200", False)


def test_retention_forgets_a_visits_address_note_and_photo(
    intera: ChatDriver, visits: VisitDesk, clock: FrozenClock, tmp_path: Path
) -> None:
    from chatbot.supervision.retention import Retention

    _, _, made = ordered_visit(intera, visits, clock)
    visits.technician_update(made[1], "arrived", note="di depan warung")
    visits.technician_update(made[1], "fixed", note="beres", photo=Photo(JPEG, "image/jpeg"))
    photo = visits.photo_path(made[0])
    assert photo is not None
    intera.client_says("sudah kak")
    intera.client_says("5")
    intera.client_says("mantap")
    assert intera.case is None or intera.case["state"] == "closed"
    profile = visits.agents.profile("intera")
    assert profile.retention_days is not None
    clock.advance(days=profile.retention_days + 1)
    Retention(intera.engine, clock, media_dir=tmp_path / "media").run(profile)
    assert not photo.exists()
    with intera.engine.connect() as conn:
        visit = vq.get_visit(conn, visit_id=made[0])
        history = vq.list_visit_events(conn, visit_id=made[0])
    assert visit is not None
    assert (visit["address"], visit["contact"], visit["note"], visit["photo_path"]) == (
        "",
        "",
        None,
        None,
    )
    assert {e["note"] for e in history} == {None}
    assert visit["status"] == "fixed"  # the figures stay


def test_the_agents_queue_gets_the_case_once_operations_routed_it_remote(
    intera: ChatDriver, visits: VisitDesk, clock: FrozenClock
) -> None:
    case_id = reach_operations(intera, SOFT_STORY)
    agents = visits.agents
    create_user(intera.engine, "sari", "agent", seen=clock.now())
    assert [i.id for i in agents.queue()] == []
    assert agents.auto_assign() == []  # nobody is given a case Operations has not routed
    assert [i.id for i in agents.all_cases()] == [case_id]  # supervisors see it
    visits.decide(case_id, create_user(intera.engine, "oki", "ops"), "remote")
    assert [i.id for i in agents.queue()] == [case_id]
    assert agents.auto_assign() == [(case_id, "sari")]


async def test_the_technician_is_told_on_whatsapp_through_the_outbox_or_in_the_group(
    intera: ChatDriver, clock: FrozenClock, tmp_path: Path, bot_api: FakeBotApi
) -> None:
    bot = make_bot("123:ABC", f"{bot_api.url}/bot")
    try:
        notifier = Notifier(telegram_bot=bot, sleep=no_sleep)  # no agents' group: direct only
        visits = visit_desk(intera, clock, tmp_path, notifier)
        visits.technicians_chat_id = "-100555"  # LOKET_TECHNICIAN_TELEGRAM_CHAT_ID
        case_id = reach_operations(intera)
        ops = create_user(intera.engine, "oki", "ops")
        sup = create_user(intera.engine, "sup", "supervisor")
        budi = visits.add_technician(sup, "Budi", whatsapp="0812-1111-2222")
        eko = visits.add_technician(sup, "Eko")
        made = visits.decide(case_id, ops, "visit", order(clock, budi))
        assert made is not None
        result = await visits.notify(*made)
        assert result.posted_to == ["whatsapp"]
        sent = [m for m in outbox(intera.engine) if m["chat_id"] == "+6281211112222"]
        assert [(m["channel"], m["author"]) for m in sent] == [("whatsapp", "operations")]
        assert f"/visit/{made[1]}" in sent[0]["text"]
        history = intera.desk.chat_history(intera.channel, intera.chat_id)
        assert history[-1]["text"].startswith("Baik kak Wulan Sari, teknisi kami (Budi)")
        assert not any(made[1] in line["text"] for line in history)  # never the client's

        again = visits.schedule(case_id, ops, order(clock, eko))
        result = await visits.notify(*again)
        assert result.posted_to == ["telegram"]
        [text] = bot_api.sent_texts("-100555")
        assert "Eko" in text
        assert visits.link(again[1]) in text
    finally:
        await close_bot(bot)


def test_a_fixed_visit_on_a_case_an_agent_resolved_already_is_still_recorded(
    intera: ChatDriver, visits: VisitDesk, clock: FrozenClock
) -> None:
    case_id, ops, made = ordered_visit(intera, visits, clock)
    visits.agents.resolve(case_id, ops)  # the client said it works again meanwhile
    intera.bot_said()
    visits.technician_update(made[1], "arrived")
    visits.technician_update(made[1], "fixed", note="dicek, normal")
    assert intera.bot_said() == ["visit.arrived", "visit.done"]  # no second closing
    row = case_row(intera.engine, case_id)
    assert (row["state"], row["resolved_by"]) == ("awaiting_confirmation", "oki")
