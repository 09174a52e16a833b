"""Office hours at the desk: after-hours hand-offs, and FRT/SLA/KPI clocks on working time.

Frozen clocks across a weekend and the Christmas holidays (cuti bersama on the 24th).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from chatbot.agents.agent_desk import AgentDesk
from chatbot.frontdesk.timers import TimerRunner
from chatbot.supervision import kpi, reports
from db.engine import as_utc, read
from flows import phrase_keys as keys
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.desk.agent_helpers import case_row, create_user

WIB = ZoneInfo("Asia/Jakarta")
PANASEA_HARD = [
    "selamat sore",
    "tensimeter rusak tidak bisa nyala",
    "Hana, RS Sehat",
    "0812-9988-7766",
]


def at_wib(clock: FrozenClock, *parts: int) -> None:
    clock._now = datetime(*parts, tzinfo=WIB).astimezone(UTC)  # type: ignore[misc]


def test_a_hand_off_at_night_says_when_the_team_is_back(
    chat: ChatDriver, clock: FrozenClock
) -> None:
    at_wib(clock, 2026, 11, 28, 21, 0)  # Saturday night: ERZAP opens Monday 08:00
    for line in ["halo kak", "stok di pos minus terus padahal udh opname", "Rina"]:
        chat.client_says(line)
    # greeting, chronology and verification run as by day
    assert chat.bot_said() == [
        keys.GREETING_SALAM,
        keys.GREETING_WELCOME,
        keys.CHRONOLOGY_RECEIVED,
        keys.ask_field("name"),
        keys.ask_field("outlet"),
    ]
    chat.client_says("outlet Mini Berkah")
    assert chat.bot_said() == [keys.QUEUE_AFTER_HOURS, keys.QUEUE_POSITION]
    text = chat.last_texts(2)[0]
    assert "Senin" in text
    assert "08.00 WIB" in text
    assert "besok" not in text
    assert chat.case["state"] == "queued"  # it waits in the queue for the morning
    chat.client_says("halo kak? masih lama?")  # not "an agent replies soon"
    assert chat.bot_said() == [keys.QUEUE_AFTER_HOURS, keys.QUEUE_POSITION]


def test_the_after_hours_phrase_follows_the_client_language(
    chat: ChatDriver, clock: FrozenClock
) -> None:
    at_wib(clock, 2026, 11, 23, 19, 0)  # Monday evening
    for line in ["Hello, my sales report is empty since this morning", "Wulan", "outlet Kedai"]:
        chat.client_says(line)
    text = chat.last_texts(2)[0]
    assert chat.bot_said()[-2:] == [keys.QUEUE_AFTER_HOURS, keys.QUEUE_POSITION]
    assert "tomorrow, Tuesday" in text
    assert "08.00 WIB" in text


def test_faq_answers_do_not_wait_for_office_hours(chat: ChatDriver, clock: FrozenClock) -> None:
    at_wib(clock, 2026, 12, 25, 10, 0)  # Christmas Day
    for line in ["halo", "cara tambah akun kasir baru gimana ya kak?", "Wulan", "outlet Kedai"]:
        chat.client_says(line)
    assert chat.bot_said()[-2:] == [keys.SELF_SERVICE_FAQ_ANSWER, keys.SELF_SERVICE_ASK_SOLVED]
    chat.client_says("belum kak")
    assert chat.bot_said() == [keys.QUEUE_AFTER_HOURS, keys.QUEUE_POSITION]
    # Friday is Christmas; ERZAP works Saturday mornings
    assert "besok, hari Sabtu mulai pukul 08.00 WIB" in chat.last_texts(2)[0]


def test_in_office_hours_the_usual_phrase_stays(chat: ChatDriver, clock: FrozenClock) -> None:
    at_wib(clock, 2026, 11, 23, 10, 0)
    chat.client_says("mau bicara dengan cs")
    assert chat.bot_said()[-2:] == [keys.QUEUE_HUMAN_REQUESTED, keys.QUEUE_POSITION]


def queue_panasea(desk_for, clock: FrozenClock) -> tuple[ChatDriver, AgentDesk, int]:  # type: ignore[no-untyped-def]
    engine, desk = desk_for("panasea")
    chat = ChatDriver(desk, engine, chat_id="panasea-1")
    for line in PANASEA_HARD:
        chat.client_says(line)
    assert chat.case["state"] == "queued"
    return chat, AgentDesk(engine, desk, clock), int(chat.case["id"])


def test_frt_and_sla_count_working_time_across_a_weekend(desk_for, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    at_wib(clock, 2026, 11, 27, 16, 59)  # Friday, a minute before closing
    chat, agents, case_id = queue_panasea(desk_for, clock)
    row = case_row(chat.engine, case_id)
    # Hard: 1440 working minutes = 1 on Friday, 480 on Monday and on Tuesday, 479 on Wednesday
    assert as_utc(row["sla_due_at"]) == datetime(2026, 12, 2, 16, 59, tzinfo=WIB)
    timers = TimerRunner(chat.engine, agents, clock)
    clock.advance(hours=60)  # Monday 04:59: the weekend did not count
    assert timers.tick().frt_missed == []
    at_wib(clock, 2026, 11, 30, 8, 0)
    assert timers.tick().frt_missed == []
    at_wib(clock, 2026, 11, 30, 8, 1)
    assert timers.tick().frt_missed == [case_id]
    assert as_utc(case_row(chat.engine, case_id)["frt_missed_at"]) == datetime(
        2026, 11, 30, 8, 1, tzinfo=WIB
    )
    # the queue shows the same working-time deadline
    item = next(i for i in agents.queue() if i.id == case_id)
    assert item.frt_due_at == datetime(2026, 11, 30, 8, 1, tzinfo=WIB)


def test_kpis_and_the_daily_log_use_the_working_clock_over_a_holiday(
    desk_for, clock: FrozenClock
) -> None:  # type: ignore[no-untyped-def]
    at_wib(clock, 2026, 12, 23, 16, 59)  # Wednesday before cuti bersama and Christmas
    chat, agents, case_id = queue_panasea(desk_for, clock)
    sari = create_user(chat.engine, "sari")
    at_wib(clock, 2026, 12, 28, 8, 0)  # Monday, at the opening
    agents.take(case_id, sari)
    agents.reply(case_id, sari, text="Selamat pagi kak, kami bantu cek")
    profile = agents.profile("panasea")
    period = kpi.day_period(date(2026, 12, 23), WIB)
    with read(chat.engine) as conn:
        report = kpi.compute(conn, profile, period, now=clock.now(), charts=False)
        lines = reports.case_lines(conn, period, profile, now=clock.now())
    # one working minute on Wednesday; Thursday to Sunday were days off
    assert report.team["frt_median"].value == 1.0
    assert report.team["frt_within"].value == 100.0
    assert lines[0].values["FRT (s)"] == 60.0
    # on calendar time the same reply took four and a half days
    calendar = profile.model_copy(
        update={
            "office_hours": profile.office_hours.model_copy(  # type: ignore[union-attr]
                update={"working_time_clocks": False}
            )
        }
    )
    with read(chat.engine) as conn:
        plain = kpi.compute(conn, calendar, period, now=clock.now(), charts=False)
    took = timedelta(days=4, hours=15, minutes=1)
    assert plain.team["frt_median"].value == took.total_seconds() / 60


def test_a_question_about_the_hours_is_answered_from_the_profiles_week(
    chat: ChatDriver,
) -> None:
    """ "jam buka kapan ya?" is no problem report: the week is read out, the story follows."""
    chat.client_says("jam buka kapan ya kak?")
    assert chat.bot_said() == [keys.GREETING_SALAM, keys.OFFICE_HOURS_WEEK]
    assert chat.last_texts(1)[0].startswith(
        "Jam operasional tim kami: Senin-Kamis pukul 08.00-12.00 dan 13.00-17.00;"
        " Jumat pukul 08.00-11.30 dan 13.00-17.00; Sabtu pukul 08.00-12.00 WIB,"
        " kecuali hari libur nasional."
    )
    chat.client_says("sabtu buka gak kak")  # asked again: answered again, nothing counted
    assert chat.bot_said() == [keys.OFFICE_HOURS_WEEK]
    chat.client_says("stok di pos minus terus padahal udh opname")
    assert chat.bot_said() == [keys.CHRONOLOGY_RECEIVED, keys.ask_field("name")]


def test_an_english_client_gets_the_week_in_english(chat: ChatDriver) -> None:
    chat.client_says("hello, what are your opening hours?")
    assert chat.bot_said()[-1] == keys.OFFICE_HOURS_WEEK
    assert chat.last_texts(1)[0].startswith(
        "Our team works Monday-Thursday 08.00-12.00 and 13.00-17.00;"
    )
