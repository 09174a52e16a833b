"""The report files, opened with openpyxl and checked cell by cell against the cases."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from chatbot import cli
from chatbot.supervision.kpi import FIGURE_KEYS, compute, month_period
from chatbot.supervision.reports import (
    DAILY_COLUMNS,
    EXPORT_COLUMNS,
    monthly_html,
    write_daily,
    write_monthly,
)
from tests.supervision.builder import NOW, CaseBuilder, standard_day

JAKARTA = ZoneInfo("Asia/Jakarta")


def _cases_json(
    settings: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> dict[int, dict[str, Any]]:
    monkeypatch.setenv("LOKET_DATABASE_URL", settings.database_url)
    assert cli.main(["cases", "--json"]) == 0
    return {c["id"]: c for c in json.loads(capsys.readouterr().out)}


def _local(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(JAKARTA).replace(tzinfo=None)


def test_daily_log_has_one_row_per_case_of_the_day_cell_by_cell(
    builder: CaseBuilder,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = standard_day(builder)
    out = tmp_path / "daily.xlsx"
    with builder.engine.connect() as conn:
        rows = write_daily(conn, builder.desk.profile(), date(2026, 11, 23), out, now=NOW)
    cases = _cases_json(settings, monkeypatch, capsys)
    sheet = load_workbook(out).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(DAILY_COLUMNS)
    body = [dict(zip(DAILY_COLUMNS, row, strict=True)) for row in values[1:]]
    assert rows == len(body) == 8  # A-H; Z was opened the day before
    assert [r["Case"] for r in body] == [ids[k] for k in "ABCDEFGH"]
    sla = {
        "A": "yes",
        "B": "yes",
        "C": "",
        "D": "no",
        "E": "pending",
        "F": "pending",
        "G": "",
        "H": "",
    }
    for key, row in zip("ABCDEFGH", body, strict=True):
        case = cases[row["Case"]]
        assert row["Date"] == datetime(2026, 11, 23)  # noqa: DTZ001  # Excel has no zones
        assert row["Client"] == (case["fields"].get("name") or case["contact"]["name"] or None)
        assert row["Channel"] == case["channel"]
        assert row["Outlet group / domain"] == (case["fields"].get("outlet") or None)
        assert row["Category"] == case["category"]
        assert row["Time in"] == _local(case["opened_at"])
        assert row["First response"] == _local(case["first_response_at"])
        assert row["Time resolved"] == _local(case["resolved_at"])
        assert row["SLA met"] == (sla[key] or None)
        assert row["Agent"] == case["assignee"]
        assert row["Escalated"] == ("yes" if case["escalations"] else "no")
        assert row["Escalation area"] == (
            ", ".join(e["area"] for e in case["escalations"]) or None
        )
        assert row["Status"] == (case["closed_reason"] or case["state"])
        assert row["CSAT"] == case["survey"]["rating"]
        assert row["Comment"] == case["survey"]["comment"]
    assert body[0]["Client"] == "Ani Client"
    assert body[1]["Escalation area"] == "POS"
    assert sheet["H2"].number_format == "yyyy-mm-dd hh:mm"


def test_monthly_workbook_holds_the_kpis_per_agent_and_charts(
    builder: CaseBuilder, tmp_path: Path
) -> None:
    standard_day(builder)
    out = tmp_path / "monthly.xlsx"
    profile = builder.desk.profile()
    with builder.engine.connect() as conn:
        write_monthly(conn, profile, 2026, 11, out, now=NOW)
        expected = compute(conn, profile, month_period(2026, 11, JAKARTA), now=NOW)
    book = load_workbook(out)
    assert book.sheetnames == ["Team", "Agents", "Daily", "CSAT", "QA"]
    team_rows = list(
        book["Team"].iter_rows(min_row=5, max_row=4 + len(FIGURE_KEYS), values_only=True)
    )
    for key, row in zip(FIGURE_KEYS, team_rows, strict=True):
        figure = expected.team[key]
        assert row[0] == figure.label
        assert row[1] == (figure.value if figure.value is not None else "–")
        assert row[4] == len(figure.case_ids)
    agents = list(book["Agents"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in agents] == ["ani", "budi", "Team"]
    for card, row in zip([*expected.agents, expected.team], agents, strict=True):
        assert list(row[1 : 1 + len(FIGURE_KEYS)]) == [
            card[k].value if card[k].value is not None else "–" for k in FIGURE_KEYS
        ]
    daily = list(book["Daily"].iter_rows(min_row=2, values_only=True))
    assert len(daily) == 30
    nov23 = next(r for r in daily if r[0] == "2026-11-23")
    assert nov23[1:5] == (1, 3, 2, 1)  # easy D; normal A C E; hard B F; H without category
    assert len(book["Daily"]._charts) == 2
    assert len(book["CSAT"]._charts) == 1
    assert [
        r for r in book["CSAT"].iter_rows(min_row=2, max_row=6, max_col=2, values_only=True)
    ] == [
        (1, 0),
        (2, 0),
        (3, 1),
        (4, 0),
        (5, 1),
    ]


def test_monthly_page_is_printable_and_escapes_client_text(builder: CaseBuilder) -> None:
    ids = standard_day(builder)
    builder.set(ids["A"], state="closed")
    from sqlalchemy import update

    from db.queries import SURVEY

    with builder.engine.begin() as conn:
        conn.execute(
            update(SURVEY).where(SURVEY.c.case_id == ids["A"]).values(comment="<script>x</script>")
        )
    with builder.engine.connect() as conn:
        page = monthly_html(conn, builder.desk.profile(), 2026, 11, now=NOW)
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x" not in page
    assert page.count("<svg") == 3
    assert "window.print()" in page


def test_cli_writes_daily_and_monthly_files(
    builder: CaseBuilder,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    standard_day(builder)
    monkeypatch.setenv("LOKET_DATABASE_URL", settings.database_url)
    daily = tmp_path / "d.xlsx"
    assert cli.main(["report", "daily", "--date", "2026-11-23", "--out", str(daily)]) == 0
    assert load_workbook(daily).active.max_row == 9  # type: ignore[union-attr]
    monthly = tmp_path / "m.xlsx"
    assert cli.main(["report", "monthly", "--month", "2026-11", "--out", str(monthly)]) == 0
    assert load_workbook(monthly)["Team"]["A1"].value.endswith("2026-11")
    page = tmp_path / "m.html"
    assert cli.main(["report", "monthly", "--month", "2026-11", "--out", str(page)]) == 0
    assert "monthly performance report 2026-11" in page.read_text()
    assert cli.main(["report", "monthly", "--month", "2026-13", "--out", str(monthly)]) == 2
    assert "is not a month" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["report", "daily", "--date", "23-11-2026", "--out", str(daily)])


def test_export_csv_and_jsonl_with_transcripts(
    builder: CaseBuilder,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = standard_day(builder)
    monkeypatch.setenv("LOKET_DATABASE_URL", settings.database_url)
    out = tmp_path / "cases.csv"
    assert (
        cli.main(
            [
                "cases",
                "export",
                "--from",
                "2026-11-22",
                "--to",
                "2026-11-23",
                "--format",
                "csv",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert [int(r["Case"]) for r in rows] == [ids[k] for k in "ZABCDEFGH"]
    assert rows[1]["FRT (s)"] == "60.0"
    capsys.readouterr()
    assert (
        cli.main(
            ["cases", "export", "--from", "2026-11-23", "--to", "2026-11-23", "--format", "jsonl"]
        )
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in lines] == [ids[k] for k in "ABCDEFGH"]
    first = lines[0]
    assert [m["text"] for m in first["messages"] if m["direction"] == "in"][:2] == [
        "halo kak",
        "mau bicara dengan cs",
    ]
    assert first["survey"] == {"rating": 5, "comment": "mantap kak"}
    assert (
        cli.main(
            ["cases", "export", "--from", "2026-11-23", "--to", "2026-11-01", "--format", "csv"]
        )
        == 2
    )
