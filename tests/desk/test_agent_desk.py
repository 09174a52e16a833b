"""AgentDesk on a real SQLite file: one owner, replies through the outbox, clocks, manual cases."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chatbot.agents.agent_desk import AgentDesk
from chatbot.errors import CaseTaken, InvalidInput, NotAllowed
from db import agent_queries as aq
from db import queries
from db.engine import as_utc
from flows import phrase_keys as keys
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.desk.agent_helpers import (
    case_row,
    create_user,
    events,
    messages,
    outbox,
    queue_hard_case,
    set_seen,
)


def test_a_handed_off_case_waits_in_the_queue_with_its_clocks(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    opened = clock.now()
    chat.client_says("halo kak")
    clock.advance(minutes=1)
    case_id = queue_hard_case(chat)
    row = case_row(chat.engine, case_id)
    assert row["category"] == "hard"
    assert as_utc(row["sla_due_at"]) == opened + timedelta(minutes=720)
    assert as_utc(row["handed_off_at"]) == as_utc(row["queued_at"]) == clock.now()
    assert ("queued", "bot", "classified") in events(chat.engine, case_id)
    assert ("category_set", "bot", "hard") in events(chat.engine, case_id)

    clock.advance(minutes=3)
    [item] = agents.queue()
    assert item.id == case_id
    assert item.waited == timedelta(minutes=3)
    assert item.frt_missed  # the 2-minute first-response target is gone
    assert item.client_name == "Wulan"
    assert item.category == "hard"


def test_the_queue_is_longest_waiting_first(
    desk_for: object, clock: FrozenClock, chat: ChatDriver, agents: AgentDesk
) -> None:
    first = queue_hard_case(chat)
    clock.advance(minutes=1)
    other = ChatDriver(chat.desk, chat.engine, chat_id="client-2")
    second = queue_hard_case(other)
    assert [i.id for i in agents.queue()] == [first, second]


def test_taking_a_case_makes_one_owner_and_names_them_to_the_second(
    chat: ChatDriver, agents: AgentDesk
) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    budi = create_user(chat.engine, "budi")
    agents.take(case_id, sari)
    with pytest.raises(CaseTaken, match="already taken by sari"):
        agents.take(case_id, budi)
    row = case_row(chat.engine, case_id)
    assert (row["assignee_id"], row["state"]) == (sari.id, "with_agent")
    assert agents.queue() == []
    assert [i.id for i in agents.my_cases(sari)] == [case_id]
    assert ("taken", "sari", None) in events(chat.engine, case_id)


def test_two_agents_taking_at_once_exactly_one_wins(chat: ChatDriver, agents: AgentDesk) -> None:
    case_id = queue_hard_case(chat)
    people = [create_user(chat.engine, f"agent{n}") for n in range(4)]
    start = threading.Barrier(len(people))
    won: list[str] = []
    lost: list[str] = []

    def take(person: object) -> None:
        start.wait()
        try:
            agents.take(case_id, person)  # type: ignore[arg-type]
            won.append(person.name)  # type: ignore[attr-defined]
        except CaseTaken as exc:
            lost.append(str(exc))

    threads = [threading.Thread(target=take, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert len(lost) == 3
    assert all(f"already taken by {won[0]}" in message for message in lost)
    assert [e for e in events(chat.engine, case_id) if e[0] == "taken"] == [
        ("taken", won[0], None)
    ]


def test_a_reply_goes_to_the_outbox_and_stops_the_frt_clock_once(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    clock.advance(seconds=90)
    agents.reply(case_id, sari, text="Halo kak Wulan, saya cek dulu ya")
    replied_at = clock.now()
    clock.advance(minutes=5)
    agents.reply(case_id, sari, phrase=keys.AGENT_GREETING)
    out = [m for m in messages(chat.engine, case_id) if m["author"] == "sari"]
    assert [(m["direction"], m["status"], m["channel"]) for m in out] == [
        ("out", "pending", "terminal"),
        ("out", "pending", "terminal"),
    ]
    assert "Wulan" in out[1]["text"]
    assert "sari" in out[1]["text"]
    assert out[1]["phrase_key"] == keys.AGENT_GREETING
    row = case_row(chat.engine, case_id)
    assert as_utc(row["first_response_at"]) == replied_at
    assert row["first_response_by"] == sari.id
    assert [e for e in events(chat.engine, case_id) if e[0] == "replied"] == [
        ("replied", "sari", None)
    ]
    [item] = agents.my_cases(sari)
    assert not item.frt_missed  # answered in 90 s


def test_only_the_owner_or_a_supervisor_replies(chat: ChatDriver, agents: AgentDesk) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    budi = create_user(chat.engine, "budi")
    lead = create_user(chat.engine, "lead", "supervisor")
    with pytest.raises(InvalidInput):  # an empty reply takes nothing
        agents.reply(case_id, budi, text="  ")
    assert case_row(chat.engine, case_id)["assignee_id"] is None
    agents.reply(case_id, sari, text="halo")  # nobody owned it: replying took it
    assert case_row(chat.engine, case_id)["assignee_id"] == sari.id
    with pytest.raises(NotAllowed, match="another agent"):
        agents.reply(case_id, budi, text="halo")
    agents.reply(case_id, lead, text="halo dari supervisor")
    with pytest.raises(InvalidInput):
        agents.reply(case_id, sari, text="   ")
    with pytest.raises(InvalidInput):
        agents.reply(case_id, sari, phrase="closing.easy")


def test_category_moves_the_sla_deadline_and_notes_stay_internal(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    opened = clock.now()
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    agents.set_category(case_id, sari, "easy")
    row = case_row(chat.engine, case_id)
    assert (row["category"], row["sla_minutes"]) == ("easy", 30)
    assert as_utc(row["sla_due_at"]) == opened + timedelta(minutes=30)
    with pytest.raises(InvalidInput):
        agents.set_category(case_id, sari, "urgent")
    before = len(messages(chat.engine, case_id))
    agents.add_note(case_id, sari, "cek akun demo dulu <b>penting</b>")
    assert len(messages(chat.engine, case_id)) == before
    with chat.engine.connect() as conn:
        assert [n["text"] for n in aq.list_notes(conn, case_id=case_id)] == [
            "cek akun demo dulu <b>penting</b>"
        ]
    assert ("category_set", "sari", "easy") in events(chat.engine, case_id)


def test_resolve_runs_the_closing_flow_to_the_survey(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    chat.bot_said()
    clock.advance(minutes=10)
    agents.resolve(case_id, sari)
    assert chat.bot_said() == [keys.CLOSING_NORMAL_HARD]
    row = case_row(chat.engine, case_id)
    assert (row["state"], row["resolved_by"]) == ("awaiting_confirmation", "sari")
    assert as_utc(row["resolved_at"]) == clock.now()
    chat.client_says("sudah bisa kak makasih")
    assert chat.bot_said() == [keys.CLOSING_EASY, keys.SURVEY_ASK_RATING]
    chat.client_says("5")
    chat.client_says("cepat")
    assert chat.case["closed_reason"] == "resolved"
    with chat.engine.connect() as conn:
        [survey] = queries.list_surveys(conn, case_ids=[case_id])
    assert (survey["rating"], survey["comment"]) == (5, "cepat")
    kinds = [e[0] for e in events(chat.engine, case_id)]
    assert kinds[-2:] == ["resolved", "closed"] or kinds[-1] == "closed"
    assert kinds.count("resolved") == 1


def test_not_solved_after_resolve_reopens_into_the_queue(
    chat: ChatDriver, agents: AgentDesk
) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    agents.resolve(case_id, sari)
    resolved_at = case_row(chat.engine, case_id)["resolved_at"]
    chat.client_says("belum kak masih error")
    row = case_row(chat.engine, case_id)
    assert (row["state"], row["assignee_id"]) == ("queued", None)
    assert row["resolved_at"] == resolved_at  # the first resolution stays (SLA met or not)
    assert ("reopened", "client", None) in events(chat.engine, case_id)
    assert [i.id for i in agents.queue()] == [case_id]


def test_hand_back_lets_the_bot_continue(chat: ChatDriver, agents: AgentDesk) -> None:
    chat.client_says("halo")
    chat.client_says("mau bicara dengan cs")
    case_id = int(chat.case["id"])
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    chat.bot_said()
    agents.hand_back(case_id, sari)
    assert chat.bot_said() == [keys.AGENT_HANDED_BACK, keys.CHRONOLOGY_REASK]
    row = case_row(chat.engine, case_id)
    assert (row["state"], row["assignee_id"]) == ("chronology", None)
    assert ("returned_to_bot", "sari", None) in events(chat.engine, case_id)
    chat.client_says("stok di pos selisih dengan backoffice")
    assert chat.case["state"] == "verification"


def test_transfer_and_reassign(chat: ChatDriver, agents: AgentDesk) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    budi = create_user(chat.engine, "budi")
    lead = create_user(chat.engine, "lead", "supervisor")
    qc = create_user(chat.engine, "qc", "qc")
    with pytest.raises(NotAllowed):
        agents.reassign(case_id, sari, budi.id)
    agents.reassign(case_id, lead, sari.id)  # a waiting case, given by the supervisor
    assert case_row(chat.engine, case_id)["assignee_id"] == sari.id
    with pytest.raises(NotAllowed):
        agents.transfer(case_id, budi, budi.id)  # not budi's case
    with pytest.raises(NotAllowed):
        agents.transfer(case_id, sari, qc.id)  # QC reviewers own no cases
    agents.transfer(case_id, sari, budi.id)
    assert case_row(chat.engine, case_id)["assignee_id"] == budi.id
    assert ("transferred", "sari", "sari -> budi") in events(chat.engine, case_id)
    assert ("assigned", "lead", "sari") in events(chat.engine, case_id)


def test_auto_assign_gives_waiting_cases_to_online_agents_with_capacity(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    first = queue_hard_case(chat)
    second = queue_hard_case(ChatDriver(chat.desk, chat.engine, chat_id="client-2"))
    away = create_user(chat.engine, "away", seen=clock.now() - timedelta(minutes=30))
    assert agents.auto_assign() == []  # nobody online: the cases wait, visibly
    assert len(agents.queue()) == 2
    create_user(chat.engine, "sari", seen=clock.now())
    budi = create_user(chat.engine, "budi", seen=clock.now())
    assert agents.auto_assign() == [(first, "sari"), (second, "budi")]
    assert ("assigned", "auto", "sari") in events(chat.engine, first)
    assert away.id not in {case_row(chat.engine, c)["assignee_id"] for c in (first, second)}
    set_seen(chat.engine, budi, None)
    assert [s.name for s in agents.staff() if s.online] == ["sari"]


def test_auto_assign_respects_capacity(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    capacity = chat.desk.profile().agent_capacity
    create_user(chat.engine, "sari", seen=clock.now())
    ids = [
        queue_hard_case(ChatDriver(chat.desk, chat.engine, chat_id=f"c{n}"))
        for n in range(capacity + 1)
    ]
    assigned = agents.auto_assign()
    assert [case_id for case_id, _ in assigned] == ids[:capacity]
    assert [i.id for i in agents.queue()] == ids[capacity:]


def test_a_walk_in_case_without_contact_is_recorded_never_sent(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    sari = create_user(chat.engine, "sari")
    case_id = agents.open_case(
        sari,
        source="walk_in",
        complaint="Aplikasi POS error, tidak bisa login sejak kemarin",
        fields={"name": "Bu Ani", "outlet": "RS Sehat"},
    )
    row = case_row(chat.engine, case_id)
    assert (row["source"], row["channel"], row["state"]) == ("walk_in", "manual", "with_agent")
    assert row["assignee_id"] == sari.id
    assert row["category"] == "hard"
    assert as_utc(row["handed_off_at"]) == clock.now()
    agents.reply(case_id, sari, text="Baik bu, kami cek")
    agents.resolve(case_id, sari)
    assert [m["status"] for m in messages(chat.engine, case_id) if m["direction"] == "out"] == [
        "manual",
        "manual",
    ]
    assert outbox(chat.engine) == []
    with chat.engine.connect() as conn:
        assert queries.list_due_outbox(conn, now=clock.now() + timedelta(days=1), limit=10) == []
    assert ("queued", "sari", "walk_in") in events(chat.engine, case_id)


def test_a_phone_case_with_whatsapp_reaches_the_client_there(
    chat: ChatDriver, agents: AgentDesk
) -> None:
    sari = create_user(chat.engine, "sari")
    case_id = agents.open_case(
        sari,
        source="phone",
        complaint="stok selisih antara POS dan back office",
        fields={"name": "Rina"},
        contact_channel="whatsapp",
        contact="0812-3456-7890",
        take=False,
    )
    row = case_row(chat.engine, case_id)
    assert (row["channel"], row["chat_id"], row["state"]) == (
        "whatsapp",
        "+6281234567890",
        "queued",
    )
    [item] = agents.queue()
    assert item.client_name == "Rina"
    assert item.source == "phone"
    agents.take(case_id, sari)
    agents.reply(case_id, sari, phrase=keys.AGENT_GREETING)
    [pending] = outbox(chat.engine)
    assert (pending["channel"], pending["chat_id"]) == ("whatsapp", "+6281234567890")
    assert "Rina" in pending["text"]
    client = ChatDriver(chat.desk, chat.engine, channel="whatsapp", chat_id="+6281234567890")
    client.client_says("sudah saya kirim fotonya")
    assert client.case["id"] == case_id  # the client's WhatsApp joins the same case
    with pytest.raises(InvalidInput, match="already has an open case"):
        agents.open_case(
            sari,
            source="phone",
            complaint="lagi",
            fields={},
            contact_channel="whatsapp",
            contact="+6281234567890",
        )


def test_manual_case_input_is_checked(chat: ChatDriver, agents: AgentDesk) -> None:
    sari = create_user(chat.engine, "sari")
    for bad in [
        {"source": "fax", "complaint": "x", "fields": {}},
        {"source": "phone", "complaint": "  ", "fields": {}},
        {"source": "phone", "complaint": "x", "fields": {"shoe_size": "42"}},
        {"source": "phone", "complaint": "x", "fields": {}, "contact_channel": "sms"},
        {
            "source": "phone",
            "complaint": "x",
            "fields": {},
            "contact_channel": "telegram",
            "contact": "abc",
        },
    ]:
        with pytest.raises(InvalidInput):
            agents.open_case(sari, **bad)  # type: ignore[arg-type]


def test_the_bots_own_solution_counts_as_resolved_by_the_client(chat: ChatDriver) -> None:
    for line in ["halo", "cara tambah akun kasir baru gimana?", "Wulan", "outlet Kedai Wulan"]:
        chat.client_says(line)
    assert chat.case["state"] == "self_service"
    assert chat.case["handed_off_at"] is None
    chat.client_says("sudah bisa makasih")
    row = chat.case
    assert row["resolved_by"] == "client"
    assert row["resolved_at"] is not None
    assert ("resolved", "client", None) in events(chat.engine, row["id"])


def test_a_client_asking_for_a_person_while_with_an_agent_gets_no_bot_reply(
    chat: ChatDriver, agents: AgentDesk
) -> None:
    case_id = queue_hard_case(chat)
    agents.take(case_id, create_user(chat.engine, "sari"))
    chat.bot_said()
    chat.client_says("mau bicara dengan cs manusia")
    assert chat.bot_said() == []
    chat.client_says("batal aja")
    assert chat.case["closed_reason"] == "cancelled_by_client"
