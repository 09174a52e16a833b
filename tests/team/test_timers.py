"""The clocks on a controllable clock: FRT, SLA, auto-close, surveys, backlog, hand-offs."""

from __future__ import annotations

from datetime import timedelta

from chatbot.agents.agent_desk import AgentDesk
from chatbot.agents.notify import Notifier
from chatbot.channels.telegram import close_bot, make_bot
from chatbot.frontdesk.timers import TimerRunner, due_work
from db.engine import as_utc
from flows import phrase_keys as keys
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.desk.agent_helpers import case_row, create_user, events, queue_hard_case
from tests.fakes.bot_api import FakeBotApi


def runner(agents: AgentDesk, clock: FrozenClock, **extra: object) -> TimerRunner:
    return TimerRunner(agents.desk_engine, agents, clock, **extra)  # type: ignore[arg-type]


def test_first_response_is_marked_missed_at_its_deadline_once(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    case_id = queue_hard_case(chat)
    handed = as_utc(case_row(chat.engine, case_id)["handed_off_at"])
    assert handed is not None
    timers = runner(agents, clock)
    clock.advance(seconds=119)
    assert timers.tick().frt_missed == []
    clock.advance(seconds=2)
    assert timers.tick().frt_missed == [case_id]
    assert as_utc(case_row(chat.engine, case_id)["frt_missed_at"]) == handed + timedelta(minutes=2)
    assert timers.tick().frt_missed == []
    assert [e for e in events(chat.engine, case_id) if e[0] == "frt_missed"] == [
        ("frt_missed", "timer", None)
    ]


def test_a_reply_in_time_is_never_marked(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    clock.advance(seconds=100)
    agents.reply(case_id, sari, text="Halo kak, saya bantu cek")
    clock.advance(minutes=10)
    assert runner(agents, clock).tick().frt_missed == []
    assert case_row(chat.engine, case_id)["frt_missed_at"] is None


def test_sla_breach_is_marked_after_the_category_deadline(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    case_id = queue_hard_case(chat)  # Hard: 720 minutes
    due = as_utc(case_row(chat.engine, case_id)["sla_due_at"])
    timers = runner(agents, clock)
    clock.advance(minutes=719)
    assert timers.tick().sla_breached == []
    clock.advance(minutes=2)
    assert timers.tick().sla_breached == [case_id]
    assert as_utc(case_row(chat.engine, case_id)["sla_breached_at"]) == due
    assert ("sla_breached", "timer", None) in events(chat.engine, case_id)


def test_a_resolved_case_is_not_breached(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    agents.resolve(case_id, sari)
    clock.advance(minutes=800)
    report = runner(agents, clock).tick()
    assert report.sla_breached == []


def test_silence_after_the_closing_phrase_closes_and_sends_the_survey(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    agents.resolve(case_id, sari)
    chat.bot_said()
    timers = runner(agents, clock)
    clock.advance(minutes=15)
    chat.client_says("hmm")  # the client said something: the 20 minutes start again
    assert chat.bot_said() == [keys.CLOSING_REASK_CONFIRM]
    clock.advance(minutes=19)
    assert timers.tick().auto_closed == []
    clock.advance(minutes=2)
    assert timers.tick().auto_closed == [case_id]
    assert chat.bot_said() == [keys.CLOSING_EASY, keys.SURVEY_ASK_RATING]
    assert case_row(chat.engine, case_id)["state"] == "survey_rating"
    chat.client_says("4")
    chat.client_says("lumayan")
    row = case_row(chat.engine, case_id)
    assert (row["closed_reason"], row["closed_by"]) == ("resolved_no_reply", "client")


def test_an_unanswered_survey_expires_and_closes_the_case(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    agents.resolve(case_id, sari)
    timers = runner(agents, clock)
    clock.advance(minutes=21)
    timers.tick()
    clock.advance(minutes=59)
    assert timers.tick().surveys_expired == []
    clock.advance(minutes=2)
    assert timers.tick().surveys_expired == [case_id]
    row = case_row(chat.engine, case_id)
    assert (row["state"], row["closed_reason"], row["closed_by"]) == (
        "closed",
        "resolved_no_reply",
        "timer",
    )
    assert ("closed", "timer", "resolved_no_reply") in events(chat.engine, case_id)


def test_timers_survive_a_restart(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock, desk_for: object
) -> None:
    case_id = queue_hard_case(chat)
    clock.advance(minutes=30)
    engine, desk = desk_for()  # type: ignore[operator]  # a new process: fresh engine, no memory
    fresh = TimerRunner(engine, AgentDesk(engine, desk, clock), clock)
    with engine.connect() as conn:
        work = due_work(conn, clock.now(), desk.profile())
    assert [c for c, _ in work.frt_missed] == [case_id]
    assert fresh.tick().frt_missed == [case_id]


def test_backlog_over_the_limit_is_reported(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    limit = chat.desk.profile().backlog_limit
    for n in range(limit):
        queue_hard_case(ChatDriver(chat.desk, chat.engine, chat_id=f"b{n}"))
    timers = runner(agents, clock)
    assert not timers.tick().backlog_over
    assert agents.backlog() == (limit, limit)
    queue_hard_case(ChatDriver(chat.desk, chat.engine, chat_id="one-more"))
    assert timers.tick().backlog_over


def test_auto_assign_runs_with_the_clocks_when_enabled(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    case_id = queue_hard_case(chat)
    create_user(chat.engine, "sari", seen=clock.now())
    assert runner(agents, clock).tick().assigned == []
    assert runner(agents, clock, auto_assign=True).tick().assigned == [(case_id, "sari")]


async def test_new_hand_offs_are_announced_in_the_agents_group(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock, bot_api: FakeBotApi
) -> None:
    bot = make_bot("123:ABC", f"{bot_api.url}/bot")
    try:
        notifier = Notifier(telegram_bot=bot, telegram_chat_id="-100777")
        timers = runner(agents, clock, notifier=notifier, public_url="https://loket.test/")
        await timers.run_once()  # starts counting from here
        case_id = queue_hard_case(chat)
        await timers.run_once()
        await timers.run_once()  # announced once
    finally:
        await close_bot(bot)
    assert bot_api.sent_texts("-100777") == [
        f"Kasus #{case_id} masuk antrean (classified). https://loket.test/desk/cases/{case_id}"
    ]


def test_hand_off_alerts_survive_a_restart_and_are_claimed_by_one_worker(
    chat: ChatDriver, agents: AgentDesk, clock: FrozenClock
) -> None:
    first = runner(agents, clock)
    assert first.new_handoffs() == []  # the first run starts counting from here
    before_restart = queue_hard_case(chat)
    restarted = runner(agents, clock)  # a new process: nothing kept in memory
    other_worker = runner(agents, clock)
    assert [e["case_id"] for e in restarted.new_handoffs()] == [before_restart]
    assert other_worker.new_handoffs() == []  # already announced by the first worker
    assert restarted.new_handoffs() == []
