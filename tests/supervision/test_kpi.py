"""The KPI formulas on a hand-built day, and recomputed from `loket cases --json`."""

from __future__ import annotations

import json
import statistics
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chatbot import cli
from chatbot.supervision.kpi import KpiReport, compute, day_period, month_period, named_period
from tests.supervision.builder import NOW, CaseBuilder, standard_day, utc

JAKARTA = ZoneInfo("Asia/Jakarta")


def report(builder: CaseBuilder, when: datetime = NOW) -> KpiReport:
    profile = builder.desk.profile("erzap")
    with builder.engine.connect() as conn:
        return compute(conn, profile, day_period(date(2026, 11, 23), JAKARTA), now=when)


def test_team_figures_follow_the_documented_formulas(builder: CaseBuilder) -> None:
    ids = standard_day(builder)
    team = report(builder).team
    # FRT: A 60 s, B 240 s, D 120 s (exactly the target: within), F 60 s answered;
    # E never answered and waited past 2 min (a miss); C cancelled after 1 min (not judged).
    assert team["frt_within"].value == 60.0
    assert set(team["frt_within"].case_ids) == {ids[k] for k in "ABDEF"}
    assert set(team["frt_within"].miss_ids) == {ids["B"], ids["E"]}
    assert team["frt_median"].value == 1.5  # median(60, 60, 120, 240) s
    # SLA: A met, B met (resolved before its 12 h), D missed (resolved again after reopening,
    # too late), C cancelled (out), E and F not yet due (pending), G spam, H no category.
    assert set(team["sla_met"].case_ids) == {ids["A"], ids["B"], ids["D"]}
    assert team["sla_met"].miss_ids == (ids["D"],)
    assert team["sla_met"].value == 66.67
    assert team["sla_met"].met is False
    # CSAT: A rated 5, D rated 3.
    assert team["csat_average"].value == 4.0
    assert team["csat_average"].met is True
    assert team["csat_good"].value == 50.0
    # Escalations: B of A, B, D, E, F, H (cancelled and spam out).
    assert team["escalation_rate"].value == 16.67
    assert team["escalation_rate"].miss_ids == (ids["B"],)
    # Backlog now: E queued, F and yesterday's Z with an agent.
    assert set(team["backlog"].case_ids) == {ids["E"], ids["F"], ids["Z"]}
    assert team["backlog"].value == 3.0
    assert team["backlog"].met is True
    assert team["qa_score"].value == 87.5
    assert team["qa_score"].met is False
    assert team.counts["cases"] == 7  # A-F and H; G is spam, Z is the day before
    assert team.counts["spam"] == 1
    assert team.counts["cancelled"] == 1
    assert team.counts["reopened"] == 1
    assert team.counts["escalated"] == 1


def test_agent_figures_count_the_cases_each_agent_owns(builder: CaseBuilder) -> None:
    ids = standard_day(builder)
    result = report(builder)
    ani = result.scorecard(ids["ani"])
    budi = result.scorecard(ids["budi"])
    assert ani["frt_within"].value == 50.0
    assert budi["frt_within"].value == 100.0
    assert ani["sla_met"].value == 100.0
    assert budi["sla_met"].value == 0.0
    assert ani["qa_score"].value == 95.0
    assert budi["qa_score"].value == 80.0
    assert ani["escalation_rate"].value == 50.0
    assert ani["backlog"].case_ids == (ids["Z"],)
    assert budi["backlog"].case_ids == (ids["F"],)
    assert [c.name for c in result.agents] == ["ani", "budi"]  # sri is QC, not an agent


def test_pending_sla_becomes_a_miss_once_due(builder: CaseBuilder) -> None:
    ids = standard_day(builder)
    later = report(builder, utc(7, 30)).team  # E (normal, due 07:00) is now overdue
    assert ids["E"] in later["sla_met"].miss_ids
    assert ids["F"] not in later["sla_met"].case_ids  # hard: due 15:10


def test_comments_and_distribution(builder: CaseBuilder) -> None:
    ids = standard_day(builder)
    result = report(builder)
    assert result.comments == [(ids["A"], 5, "mantap kak"), (ids["D"], 3, "lama sekali")]
    assert result.csat_distribution == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1}
    assert sum(result.daily[0][k] for k in ("easy", "normal", "hard", "uncategorised")) == 7


def test_periods_are_local_days_stored_in_utc() -> None:
    day = day_period(date(2026, 11, 23), JAKARTA)
    assert day.start == utc(17, day=22)
    assert day.end == utc(17)
    month = month_period(2026, 12, JAKARTA)
    assert month.start == utc(17, day=30)
    assert month.label == "2026-12"
    assert named_period("week", NOW, JAKARTA).label == "week of 2026-11-23"
    with pytest.raises(ValueError, match="unknown period"):
        named_period("year", NOW, JAKARTA)


# --- the same figures, recomputed from `loket cases --json` with docs/kpi.md in hand ---


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _recompute(
    cases: list[dict[str, Any]], *, now: datetime, frt_min: int, agent: int | None = None
) -> dict[str, Any]:
    start, end = utc(17, day=22), utc(17)
    period = [c for c in cases if start <= _t(c["opened_at"]) < end]  # type: ignore[operator]
    mine = [c for c in period if agent is None or c["assignee_id"] == agent]
    counted = [c for c in mine if c["closed_reason"] != "spam"]
    cancelled = {c["id"] for c in counted if (c["closed_reason"] or "").startswith("cancelled")}
    frt_decided, frt_values, frt_ok = [], [], []
    for c in counted:
        handed = _t(c["handed_off_at"])
        if handed is None:
            continue
        first = _t(c["first_response_at"])
        if first is not None:
            seconds = (first - handed).total_seconds()
            frt_decided.append(c["id"])
            frt_values.append(seconds)
            if seconds <= frt_min * 60:
                frt_ok.append(c["id"])
        elif ((_t(c["closed_at"]) or now) - handed).total_seconds() > frt_min * 60:
            frt_decided.append(c["id"])
    sla_met, sla_all = [], []
    for c in counted:
        due = _t(c["sla_due_at"])
        if c["id"] in cancelled or due is None:
            continue
        stop = _t(c["resolved_at"])
        if stop is None and c["closed_reason"] in ("resolved", "resolved_no_reply"):
            stop = _t(c["closed_at"])
        kinds = [(e["kind"], _t(e["at"])) for e in c["events"]]
        reopened = [at for k, at in kinds if k == "reopened"]
        if reopened:
            later = [at for k, at in kinds if k == "resolved" and at > max(reopened)]
            stop = max(later) if later else None
        if stop is None and due > now:
            continue
        sla_all.append(c["id"])
        if stop is not None and stop <= due:
            sla_met.append(c["id"])
    ratings = [c["survey"]["rating"] for c in counted if c["survey"]["rating"] is not None]
    base = [c for c in counted if c["id"] not in cancelled]
    escalated = [c for c in base if c["escalations"]]
    qa = [
        c["qa_review"]["score"]
        for c in period
        if c["qa_review"] and (agent is None or c["qa_review"]["agent_id"] == agent)
    ]
    backlog = [
        c["id"]
        for c in cases
        if c["closed_at"] is None
        and c["state"] in ("queued", "with_agent", "escalated")
        and (agent is None or c["assignee_id"] == agent)
    ]

    def pct(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 2) if whole else None

    return {
        "frt_median": round(statistics.median(frt_values) / 60, 4) if frt_values else None,
        "frt_within": pct(len(frt_ok), len(frt_decided)),
        "sla_met": pct(len(sla_met), len(sla_all)),
        "csat_average": round(sum(ratings) / len(ratings), 4) if ratings else None,
        "csat_good": pct(sum(1 for r in ratings if r >= 4), len(ratings)),
        "backlog": float(len(backlog)),
        "escalation_rate": pct(len(escalated), len(base)),
        "qa_score": round(sum(qa) / len(qa), 2) if qa else None,
    }


@pytest.mark.parametrize("when", [NOW, utc(7, 30), utc(23)])
def test_every_figure_recomputes_from_cases_json(
    builder: CaseBuilder,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    when: datetime,
) -> None:
    standard_day(builder)
    monkeypatch.setenv("LOKET_DATABASE_URL", settings.database_url)
    assert cli.main(["cases", "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)
    assert {
        "handed_off_at",
        "first_response_at",
        "resolved_at",
        "sla_due_at",
        "assignee",
        "source",
        "escalations",
        "events",
        "messages",
        "survey",
    } <= set(cases[0])
    team = report(builder, when).team
    expected = _recompute(cases, now=when, frt_min=2)
    assert {k: team[k].value for k in expected} == expected
    assert expected["sla_met"] is not None
    assert expected["frt_median"] is not None
