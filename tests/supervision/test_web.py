"""The supervision pages over HTTP: roles, CSRF, drill-down, QA form, downloads, forms."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from db import queries
from db.queries import SURVEY
from tests.supervision.conftest import Desk
from tests.web.auth_helpers import login


@pytest.fixture
def client(supervision_app: Desk) -> Iterator[TestClient]:
    with TestClient(supervision_app.app, base_url="http://127.0.0.1") as c:
        yield c


DAY = "period=day&from=2026-11-23"


def test_pages_need_a_login_and_the_right_role(client: TestClient) -> None:
    answer = client.get("/desk/kpi", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")
    login(client, "ani")  # an agent
    assert client.get("/desk/kpi").status_code == 403
    assert client.get("/desk/qa").status_code == 403
    assert client.get("/desk/reports/daily.xlsx?date=2026-11-23").status_code == 403
    mine = client.get("/desk/qa/mine")
    assert mine.status_code == 200
    assert "95.0%" in mine.text  # her own review of case A
    assert "80.0%" not in mine.text  # budi's is not hers


def test_dashboard_shows_figures_against_targets_with_drill_down(
    client: TestClient, supervision_app: Desk
) -> None:
    ids = supervision_app.ids
    login(client, "sue")
    page = client.get(f"/desk/kpi?{DAY}")
    assert page.status_code == 200
    assert 'data-figure="sla_met"' in page.text
    assert ">66.7%</a>" in page.text  # the team's SLA met, rounded and labelled
    assert "(1 missed)" in page.text
    assert " miss)" not in page.text
    assert re.search(r">\d+\.\d min</a>", page.text)  # the median first response, in minutes
    assert page.text.count("<svg") == 4
    link = re.search(
        r'href="(/desk/kpi/cases\?[^"]*figure=sla_met[^"]*which=miss[^"]*)"', page.text
    )
    assert link, "the SLA figure links to the cases that miss it"
    cases = client.get(link.group(1).replace("&amp;", "&"))
    assert cases.status_code == 200
    assert f'href="/desk/cases/{ids["D"]}"' in cases.text
    assert f'href="/desk/cases/{ids["A"]}"' not in cases.text
    assert client.get(f"/desk/cases/{ids['D']}").status_code == 200  # the agent desk's page
    assert 'href="/desk/kpi"' in client.get("/desk").text  # the console links here
    agent = client.get(f"/desk/kpi/cases?figure=frt_within&agent={ids['ani']}&{DAY}")
    assert f'href="/desk/cases/{ids["B"]}"' in agent.text
    assert f'href="/desk/cases/{ids["D"]}"' not in agent.text  # budi's


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("period=year", 422),
        ("period=range&from=&to=", 400),
        ("period=range&from=2026-11-30&to=2026-11-01", 400),
        ("period=range&from=yesterday&to=2026-11-01", 400),
        ("period=range&from=2020-01-01&to=2026-11-01", 400),
    ],
)
def test_bad_periods_get_a_reason_not_a_500(client: TestClient, query: str, status: int) -> None:
    login(client, "sue")
    answer = client.get(f"/desk/kpi?{query}")
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")  # on the page, not JSON
    assert 'id="period-error"' in answer.text
    assert 'id="period"' in answer.text  # with the form to fix it
    assert client.get(f"/desk/kpi/cases?figure=nope&{DAY}").status_code == 400


def test_qa_review_prefills_checks_csrf_and_stores_the_score(
    client: TestClient, supervision_app: Desk
) -> None:
    ids = supervision_app.ids
    csrf = login(client, "sri", csrf_header=False)  # QC
    index = client.get("/desk/qa")
    assert f'href="/desk/qa/cases/{ids["B"]}"' in index.text
    form = client.get(f"/desk/qa/cases/{ids['B']}")
    assert 'name="item_frt" value="no" checked' in form.text  # 4 minutes: pre-filled "no"
    with supervision_app.app.state.engine.connect() as conn:
        first = queries.list_messages(conn, case_ids=[ids["B"]])[0]["created_at"]
    jakarta = first.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Jakarta"))
    assert f"<td>{jakarta:%H:%M}</td>" in form.text  # the desk's time zone, not UTC
    answers = {
        f"item_{key}": "yes"
        for key in ("greeting", "verification", "standard_phrases", "sla", "category", "closing")
    }
    answers |= {"item_frt": "no", "item_survey": "no", "comment": "<b>lambat</b>"}
    assert client.post(f"/desk/qa/cases/{ids['B']}", data=answers).status_code == 403  # no token
    incomplete = client.post(
        f"/desk/qa/cases/{ids['B']}", data={"csrf_token": csrf, "item_frt": "no"}
    )
    assert incomplete.status_code == 422
    assert "answer every item" in incomplete.text
    saved = client.post(
        f"/desk/qa/cases/{ids['B']}", data={**answers, "csrf_token": csrf}, follow_redirects=False
    )
    assert saved.status_code == 303
    again = client.get(f"/desk/qa/cases/{ids['B']}")
    assert "Saved score 75.0% by sri" in again.text
    assert "&lt;b&gt;lambat&lt;/b&gt;" in again.text
    assert (
        client.post(f"/desk/qa/cases/{ids['F']}", data={**answers, "csrf_token": csrf}).status_code
        == 422
    )  # still open


def test_report_downloads_and_printable_pages(client: TestClient, supervision_app: Desk) -> None:
    ids = supervision_app.ids
    with supervision_app.app.state.engine.begin() as conn:
        conn.execute(
            update(SURVEY)
            .where(SURVEY.c.case_id == ids["A"])
            .values(comment="<script>alert(1)</script>")
        )
    login(client, "sue")
    assert client.get("/desk/reports").status_code == 200
    daily = client.get("/desk/reports/daily.xlsx?date=2026-11-23")
    assert daily.status_code == 200
    sheet = load_workbook(io.BytesIO(daily.content)).active
    assert sheet is not None
    assert sheet.max_row == 9
    assert client.get("/desk/reports/daily.xlsx?date=23-11-2026").status_code == 400
    monthly = client.get("/desk/reports/monthly.xlsx?month=2026-11")
    assert load_workbook(io.BytesIO(monthly.content)).sheetnames[0] == "Team"
    assert client.get("/desk/reports/monthly.xlsx?month=2026-13").status_code == 400
    page = client.get("/desk/reports/monthly?month=2026-11")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text
    export = client.get("/desk/reports/export?from=2026-11-23&to=2026-11-23&format=jsonl")
    records = [json.loads(line) for line in export.text.splitlines()]
    assert next(r["id"] for r in records) == ids["A"]
    assert records[0]["messages"]
    director = client.get("/desk/reports/director?month=2026-11")
    assert "summary for the director" in director.text
    for form in ("complaint", "evaluation", "monitoring"):
        printed = client.get(f"/desk/cases/{ids['B']}/forms/{form}")
        assert printed.status_code == 200
        assert "window.print()" in printed.text
    assert "POS: stok minus" in client.get(f"/desk/cases/{ids['B']}/forms/evaluation").text
    assert client.get(f"/desk/cases/{ids['B']}/forms/nope").status_code == 404
    assert client.get("/desk/cases/9999/forms/complaint").status_code == 404


def test_downloads_survive_hostile_client_text_and_refuse_far_dates(
    client: TestClient, supervision_app: Desk
) -> None:
    ids = supervision_app.ids
    with supervision_app.app.state.engine.begin() as conn:
        conn.execute(
            update(SURVEY).where(SURVEY.c.case_id == ids["A"]).values(comment="=1+2 \x01\x0b kak")
        )
    login(client, "sue")
    daily = client.get("/desk/reports/daily.xlsx?date=2026-11-23")
    assert daily.status_code == 200
    sheet = load_workbook(io.BytesIO(daily.content)).active
    assert sheet is not None
    comment = sheet.cell(row=2, column=17)
    assert (comment.value, comment.data_type) == ("'=1+2  kak", "s")
    export = client.get("/desk/reports/export?from=2026-11-23&to=2026-11-23&format=csv")
    assert export.status_code == 200
    assert '"\'=1+2  kak"' in export.text
    for path in (
        "/desk/reports/daily.xlsx?date=9999-12-31",
        "/desk/reports/daily.xlsx?date=0001-01-01",
        "/desk/reports/monthly.xlsx?month=9999-12",
        "/desk/reports/export?from=0001-01-01&to=0001-01-02&format=csv",
    ):
        assert client.get(path).status_code == 400, path
