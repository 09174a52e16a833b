"""The KPIs and the QA pre-fill read the clocks the real agent desk writes."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chatbot import cli
from chatbot.agents.agent_desk import AgentDesk, Staff
from chatbot.supervision.kpi import compute, day_period
from chatbot.supervision.qa import QualityReview
from flows import phrase_keys as keys
from tests.supervision.builder import CaseBuilder, utc
from tests.supervision.test_kpi import _recompute

JAKARTA = ZoneInfo("Asia/Jakarta")


def test_a_case_worked_in_the_console_counts_as_the_formulas_say(
    builder: CaseBuilder,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    agents = AgentDesk(builder.engine, builder.desk, builder.clock)
    ani = Staff(builder.user("ani"), "ani", "agent")
    case_id, chat = builder.client_case(utc(3))  # queued (handed off) by the bot at 03:00
    builder.at(utc(3, 1, 30))
    agents.take(case_id, ani)
    agents.reply(case_id, ani, phrase=keys.AGENT_GREETING)  # first response: 90 s
    builder.at(utc(3, 5))
    agents.set_category(case_id, ani, "normal")
    agents.reply(case_id, ani, text="Sudah saya perbaiki ya kak.")
    builder.at(utc(3, 40))
    agents.resolve(case_id, ani)
    builder.at(utc(3, 41))
    chat.client_says("ya")
    chat.client_says("4")
    chat.client_says("cepat")
    builder.at(utc(6))

    profile = builder.desk.profile()
    with builder.engine.connect() as conn:
        result = compute(conn, profile, day_period(date(2026, 11, 23), JAKARTA), now=utc(6))
    team = result.team
    assert team["frt_median"].value == 1.5
    assert team["frt_within"].value == 100.0
    assert team["sla_met"].value == 100.0  # resolved 40 min after opening, normal = 120
    assert team["csat_average"].value == 4.0
    assert result.scorecard(ani.id)["frt_within"].case_ids == (case_id,)

    monkeypatch.setenv("LOKET_DATABASE_URL", settings.database_url)
    assert cli.main(["cases", "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)
    assert cases[0]["assignee"] == "ani"
    assert [e["kind"] for e in cases[0]["events"]][:1] == ["queued"]
    assert {k: team[k].value for k in _recompute(cases, now=utc(6), frt_min=2)} == _recompute(
        cases, now=utc(6), frt_min=2
    )

    prefilled = {
        a.item.key: a.prefilled
        for a in QualityReview(builder.engine, builder.clock).prefill(profile, case_id)
    }
    assert prefilled["frt"] is True
    assert prefilled["sla"] is True
    assert prefilled["survey"] is True
    assert prefilled["closing"] is True
    assert prefilled["standard_phrases"] is False  # the second reply was typed by hand
