"""The KPI dashboard and a QA review in headless Chromium."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from chatbot.supervision.qa import QualityReview
from tests.supervision.conftest import Desk, builder, supervision_server
from tests.web.auth_helpers import login

__all__ = ["builder", "supervision_server"]  # fixtures of tests/supervision, used here


def test_supervisor_reads_the_dashboard_and_drills_down(
    page: Page, supervision_server: Desk, tmp_path: Path
) -> None:
    ids = supervision_server.ids
    login(page, "sue", base_url=supervision_server.url)
    page.goto(f"{supervision_server.url}/desk/kpi")
    page.select_option("select[name=period]", "range")
    page.fill("input[name=from]", "2026-11-23")
    page.fill("input[name=to]", "2026-11-23")
    with page.expect_navigation():
        page.click("#period button")
    assert page.inner_text("#team td[data-figure=sla_met]").startswith("66.7%")
    assert page.locator(".charts svg").count() == 4
    budi = page.inner_text("#agents tr[data-agent=budi] td[data-figure=sla_met]")
    assert budi.startswith("0.0%")
    page.screenshot(path=str(tmp_path / "kpi.png"), full_page=True)
    with page.expect_navigation():
        page.click("#team td[data-figure=sla_met] a.muted")  # "(1 miss)"
    assert page.locator("#cases tr td a", has_text=str(ids["D"])).count() == 1
    assert page.locator(f'#cases a[href="/desk/cases/{ids["D"]}"]').count() == 1


def test_qc_reviews_a_case_in_the_browser(page: Page, supervision_server: Desk) -> None:
    ids = supervision_server.ids
    login(page, "sri", base_url=supervision_server.url)
    page.goto(f"{supervision_server.url}/desk/qa")
    with page.expect_navigation():
        page.click(f'a[data-case="{ids["B"]}"]')
    assert page.is_checked("input[name=item_frt][value=no]")  # the record says: 4 minutes
    assert page.is_checked("input[name=item_sla][value=yes]")
    for key in ("greeting", "verification", "category", "standard_phrases", "closing"):
        page.check(f"input[name=item_{key}][value=yes]")
    page.check("input[name=item_survey][value=no]")
    page.fill("#comment", "Sopan, tapi respon pertama lambat.")
    with page.expect_navigation():
        page.click("#rubric button[type=submit]")
    assert f"Review of case {ids['B']} saved." in page.inner_text("#saved")
    review = QualityReview(
        supervision_server.app.state.engine, supervision_server.app.state.clock
    ).review_of(ids["B"])
    assert review is not None
    assert review.score == 75.0
    assert review.reviewer == "sri"
    assert review.items["frt"] == {
        "label": "First response within target",
        "weight": 15.0,
        "ok": False,
        "prefilled": False,
    }
