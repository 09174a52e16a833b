"""The caring reports: written on schedule as xlsx, read back, removed after two years."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook

from chatbot.campaigns.reports import CaringReports
from chatbot.campaigns.service import Campaigns
from chatbot.supervision.retention import prune_reports
from db import campaign_queries as cq
from settings import Settings
from tests.clock import FrozenClock


def test_daily_and_monthly_caring_reports_are_written_once_and_kept_two_years(
    desk_for, clock: FrozenClock, tmp_path: Path, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    engine, desk = desk_for("telkom")
    reports = CaringReports(engine, desk.profile, clock, reports_dir=tmp_path / "reports")
    clock.advance(hours=8)  # 18:00 in Jakarta, the Telkom profile's report hour
    assert reports.tick() == []  # no campaign, no report
    clock.advance(hours=-1)
    service = Campaigns(engine)
    campaign_id = service.create(
        name="Caring =CT-0",
        channel="whatsapp",
        template="HX" + "a" * 32,
        variables={"1": "name"},
        audience_csv="phone,name\n081234567890,Wulan\n081298765432,Andi\nxx,Bad\n",
        profile="telkom",
        now=clock.now(),
    ).campaign_id
    service.start(campaign_id, now=clock.now())
    with engine.begin() as conn:
        [first, second] = cq.claim_recipients(
            conn, campaign_id=campaign_id, now=clock.now(), until=clock.now(), limit=5
        )
        cq.mark_sent(conn, recipient_id=first["id"], provider_id="SM1", now=clock.now())
        cq.mark_failed(conn, recipient_id=second["id"], code=131049, error="x", now=clock.now())
    assert reports.tick() == []  # 17:00: not yet
    clock.advance(hours=1)
    written = reports.tick()
    assert [p.name for p in written] == [
        "caring-daily-2026-11-23.xlsx",
        "caring-monthly-2026-10.xlsx",
    ]
    assert reports.tick() == []  # once
    book = load_workbook(written[0])
    rows = list(book["Campaigns"].iter_rows(values_only=True))
    assert rows[1][:5] == ("Campaign", "Name", "Channel", "State", "Recipients")
    assert rows[2][:5] == (campaign_id, "Caring =CT-0", "whatsapp", "running", 2)
    assert (rows[2][4], rows[2][5], rows[2][8], rows[2][11]) == (2, 1, 1, 1)
    failures = list(book["Failures"].iter_rows(values_only=True))
    assert failures[1][1:3] == (131049, 1)
    assert "pemasaran" in failures[1][3]
    monthly = list(load_workbook(written[1])["Campaigns"].iter_rows(values_only=True))
    assert len(monthly) == 2  # October had no campaign: the header only

    now = datetime.now(UTC)
    assert prune_reports(tmp_path / "reports", 730, now + timedelta(days=729)) == 0
    assert prune_reports(tmp_path / "reports", 730, now + timedelta(days=731)) == 2
