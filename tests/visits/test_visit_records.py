"""`loket cases --json` gains route and visit; the monthly workbook's Visits sheet."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from chatbot.agents.visits import VisitDesk
from chatbot.supervision.reports import write_monthly
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.desk.agent_helpers import create_user
from tests.loket_cli import loket
from tests.visits.helpers import SOFT_STORY, order, reach_operations, visit_desk

VISIT_KEYS = {"status", "technician", "window_start", "window_end", "address"}


@pytest.fixture
def three_cases(
    desk_for,  # type: ignore[no-untyped-def]
    clock: FrozenClock,
    tmp_path: Path,
) -> tuple[VisitDesk, dict[str, int], str]:
    """A case routed to a visit (fixed, then a second one overdue), one remote, one waiting."""
    engine, desk = desk_for("intera")
    visited = reach_operations(ChatDriver(desk, engine, chat_id="a"))
    remote = reach_operations(ChatDriver(desk, engine, chat_id="b"), SOFT_STORY)
    waiting = reach_operations(ChatDriver(desk, engine, chat_id="c"))
    visits = visit_desk(ChatDriver(desk, engine, chat_id="a"), clock, tmp_path)
    ops = create_user(engine, "oki", "ops")
    budi = visits.add_technician(
        create_user(engine, "sup", "supervisor"), "Budi", telegram_chat_id="-1001"
    )
    made = visits.decide(visited, ops, "visit", order(clock, budi))
    assert made is not None
    visits.technician_update(made[1], "arrived")
    visits.technician_update(made[1], "not_fixed", note="perlu suku cadang", product_fault=True)
    visits.schedule(visited, ops, order(clock, budi))
    visits.decide(remote, ops, "remote")
    return visits, {"visit": visited, "remote": remote, "waiting": waiting}, str(engine.url)


def test_cases_json_has_route_and_the_latest_visit(
    three_cases: tuple[VisitDesk, dict[str, int], str],
    database_url: str,
    tmp_path: Path,
) -> None:
    _visits, ids, _url = three_cases
    listed = loket(tmp_path, "cases", "--json", database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    by_id = {c["id"]: c for c in json.loads(listed.stdout)}
    visited = by_id[ids["visit"]]
    assert visited["route"] == "visit"
    assert set(visited["visit"]) == VISIT_KEYS
    assert visited["visit"]["status"] == "scheduled"  # the second visit is the latest
    assert visited["visit"]["technician"] == "Budi"
    assert visited["visit"]["address"] == "Jl. Melati 5, Depok"
    start = datetime.fromisoformat(visited["visit"]["window_start"])
    end = datetime.fromisoformat(visited["visit"]["window_end"])
    assert start.utcoffset() is not None
    assert (end - start).total_seconds() == 3 * 3600
    assert (by_id[ids["remote"]]["route"], by_id[ids["remote"]]["visit"]) == ("remote", None)
    assert (by_id[ids["waiting"]]["route"], by_id[ids["waiting"]]["visit"]) == (None, None)


def test_the_monthly_workbook_has_a_visits_sheet_for_routing_desks(
    three_cases: tuple[VisitDesk, dict[str, int], str],
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    visits, ids, _url = three_cases
    clock.advance(hours=5)  # the second visit's window (1h..4h) is over: overdue
    out = tmp_path / "monthly.xlsx"
    profile = visits.agents.profile("intera")
    with visits.agents.desk_engine.connect() as conn:
        write_monthly(conn, profile, 2026, 11, out, now=clock.now())
    book = load_workbook(out)
    assert book.sheetnames[-1] == "Visits"
    rows = list(book["Visits"].iter_rows(values_only=True))
    summary = {r[0]: r[1] for r in rows[1:8]}
    assert summary["Visits scheduled"] == 2
    assert summary["Not fixed"] == 1
    assert summary["Open"] == 1
    assert summary["Overdue (open, window over)"] == 1
    assert summary["First-time-fix rate (%)"] == 0
    budi = next(r for r in rows if r[0] == "Budi")
    assert budi[1:7] == (2, 0, 1, 0, 1, 1)
    header = rows.index(next(r for r in rows if r[0] == "Visit"))
    listed = rows[header + 1 :]
    assert [(r[1], r[3], r[7]) for r in listed] == [
        (ids["visit"], "not_fixed", "yes"),
        (ids["visit"], "scheduled", None),
    ]
    assert listed[0][4] == datetime(2026, 11, 23, 11, 0)  # noqa: DTZ001 (Jakarta time, as written)


def test_other_desks_keep_their_workbook(chat: ChatDriver, tmp_path: Path) -> None:
    out = tmp_path / "monthly.xlsx"
    with chat.engine.connect() as conn:
        write_monthly(conn, chat.desk.profile(), 2026, 11, out, now=FrozenClock().now())
    assert "Visits" not in load_workbook(out).sheetnames
