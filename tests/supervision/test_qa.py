"""Quality review: a deterministic sample, items pre-filled from the record, a weighted score."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chatbot.supervision.kpi import compute, day_period
from chatbot.supervision.qa import QualityReview, ReviewRefused, score
from tests.supervision.builder import CaseBuilder, standard_day, utc


def _answers(prefilled: dict[str, bool | None], **override: bool) -> dict[str, bool]:
    answers = {key: bool(value) for key, value in prefilled.items()}
    answers.update(override)
    return answers


def test_items_the_record_decides_are_prefilled(builder: CaseBuilder) -> None:
    ids = standard_day(builder)
    qa = QualityReview(builder.engine, builder.clock)
    profile = builder.desk.profile()
    a = {x.item.key: x.prefilled for x in qa.prefill(profile, ids["A"])}
    # A: greeted with the phrase (the bot's salam and ani's), answered in 1 min, resolved in
    # time, closing phrase and survey sent; verification and category are the reviewer's.
    assert a == {
        "greeting": True,
        "verification": None,
        "standard_phrases": True,
        "frt": True,
        "sla": True,
        "category": None,
        "closing": True,
        "survey": True,
    }
    b = {x.item.key: x.prefilled for x in qa.prefill(profile, ids["B"])}
    assert b["frt"] is False  # 4 minutes
    assert b["greeting"] is False  # ani greeted in her own words
    assert b["survey"] is False  # closed by silence before any survey
    assert b["standard_phrases"] is False  # ani typed her reply by hand
    d = {x.item.key: x.prefilled for x in qa.prefill(profile, ids["D"])}
    assert d["sla"] is False  # reopened, resolved again too late
    assert d["frt"] is True  # exactly 2 minutes


def test_review_is_weighted_stored_and_feeds_the_qa_score(builder: CaseBuilder) -> None:
    ids = standard_day(builder)
    qa = QualityReview(builder.engine, builder.clock)
    profile = builder.desk.profile()
    prefilled = {x.item.key: x.prefilled for x in qa.prefill(profile, ids["B"])}
    answers = _answers(prefilled, verification=True, category=True, standard_phrases=True)
    review = qa.save(profile, ids["B"], "sri", answers, comment="  sopan, tapi lambat  ")
    # Missed: greeting (10), FRT (15), closing phrase (10) and survey (10) of 100.
    assert review.score == 55.0 == score(profile.qa_rubric, answers)
    assert review.comment == "sopan, tapi lambat"
    assert review.items["standard_phrases"] == {
        "label": "Standard phrases used",
        "weight": 10.0,
        "ok": True,
        "prefilled": False,
    }
    assert review.agent_id == ids["ani"]
    again = qa.save(
        profile,
        ids["B"],
        "sri",
        _answers(
            prefilled,
            verification=True,
            category=True,
            frt=True,
            survey=True,
            closing=True,
            greeting=True,
            standard_phrases=True,
        ),
    )
    assert again.score == 100.0
    assert [r.case_id for r in qa.reviews(agent_id=ids["ani"])] == [ids["B"], ids["A"]]
    assert json.loads(json.dumps(qa.review_of(ids["B"]).items))["frt"]["ok"] is True  # type: ignore[union-attr]
    with builder.engine.connect() as conn:
        team = compute(
            conn,
            profile,
            day_period(utc(6).date(), __import__("zoneinfo").ZoneInfo("Asia/Jakarta")),
            now=utc(6),
        ).team
    assert team["qa_score"].value == round((95 + 80 + 100) / 3, 2)


def test_review_refuses_open_unknown_or_incomplete(builder: CaseBuilder) -> None:
    ids = standard_day(builder)
    qa = QualityReview(builder.engine, builder.clock)
    profile = builder.desk.profile()
    full = {item.key: True for item in profile.qa_rubric}
    with pytest.raises(ReviewRefused, match="still open"):
        qa.save(profile, ids["F"], "sri", full)
    with pytest.raises(ReviewRefused, match="no case"):
        qa.save(profile, 9999, "sri", full)
    with pytest.raises(ReviewRefused, match="answer every item: survey"):
        qa.save(profile, ids["A"], "sri", {k: v for k, v in full.items() if k != "survey"})


def test_sample_is_deterministic_and_sized_by_the_profile(builder: CaseBuilder) -> None:
    ids = standard_day(builder)
    profile = builder.desk.profile().model_copy(update={"qa_sample_size": 1})
    qa = QualityReview(builder.engine, builder.clock)
    first = qa.sample(profile, ids["ani"])
    assert len(first) == 1
    assert first[0] in (ids["A"], ids["B"])
    assert qa.sample(profile, ids["ani"]) == first
    wide = builder.desk.profile()
    assert qa.sample(wide, ids["ani"]) == sorted([ids["A"], ids["B"]])
    assert qa.sample(wide, ids["budi"]) == [ids["D"]]  # F is open, G is spam
    builder.at(utc(6) + timedelta(days=31))
    assert qa.sample(wide, ids["ani"]) == []  # out of the 30-day window
