"""Realistic WhatsApp clients (realistic.json), played through the code of `loket chat`.

Each conversation runs in this process through chatbot.cli.main on a fresh database (see
acceptance.play, as test_samples.py plays the shared samples), so fifty of them take seconds.
Every expectation of the acceptance format is checked, and no client message the bot still
handles may go unanswered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conversations.acceptance import failures, play

REALISTIC = Path(__file__).with_name("realistic.json")
PROFILES = {"erzap", "intera", "ctera", "panasea"}


def _conversations() -> list[dict[str, Any]]:
    return list(json.loads(REALISTIC.read_text(encoding="utf-8")))


def test_the_set_is_varied_enough() -> None:
    conversations = _conversations()
    assert len(conversations) >= 150
    assert len({c["id"] for c in conversations}) == len(conversations)
    assert {c["profile"] for c in conversations} == PROFILES
    families = {c["expect"]["final_state_family"] for c in conversations}
    assert families == {"queued", "closed", "open"}


@pytest.mark.parametrize("conversation", _conversations(), ids=lambda c: c["id"])
def test_realistic_conversation_meets_its_expectations(
    tmp_path: Path, conversation: dict[str, Any]
) -> None:
    cases, out = play(
        conversation["profile"], conversation["lines"], tmp_path, at=conversation.get("at")
    )
    expect = conversation["expect"]
    assert failures(cases, out, expect) == []


def test_the_acceptance_check_can_fail(tmp_path: Path) -> None:
    """The check itself: a silent bot, a leaked secret and a wrong state are all reported."""
    cases, out = play("erzap", ["halo", "kode otp 123456 gk masuk"], tmp_path)
    wrong = failures(
        cases,
        out + " 999999",
        {
            "final_state_family": "closed",
            "category": "easy",
            "must_not_contain_anywhere": ["999999"],
            "min_bot_replies": 50,
            "survey_rating": 5,
        },
    )
    assert len(wrong) == 5
    cases[0]["messages"].append({"direction": "in", "text": "halo?"})
    assert failures(cases, out, {"final_state_family": "open"}) == ["case 1: no answer to 'halo?'"]


def test_the_optional_expectations_can_fail(tmp_path: Path) -> None:
    """language, must_reply_containing and field_values each report what is missing."""
    cases, out = play("erzap", ["halo kak", "stok minus terus", "sy rina kak"], tmp_path)
    assert cases[0]["fields"] == {"name": "Rina"}
    base = {"final_state_family": "open"}
    assert failures(cases, out, {**base, "field_values": ["Rina"]}) == []
    assert len(failures(cases, out, {**base, "field_values": ["rina", "Budi"]})) == 2
    assert len(failures(cases, out, {**base, "must_reply_containing": ["manual"]})) == 1
    assert failures(cases, out, {**base, "must_reply_containing": ["HALOERZAP"]}) == []
    assert failures(cases, out, {**base, "language": "en"}) != []


def _case(**extra: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "state": "queued",
        "category": None,
        "opened_at": "2026-12-06T14:32:36.258012+00:00",
        "fields": {},
        "survey": {"rating": None, "comment": None},
        "messages": [
            {"direction": "in", "text": "halo", "at": "2026-12-06T14:32:36.258012+00:00"},
            {"direction": "out", "text": "Halo kak", "provider_id": "terminal-2580"},
        ],
        "events": [],
        **extra,
    }


def test_the_secret_check_ignores_timestamps_and_provider_ids() -> None:
    """A PIN "2580" must not match the microseconds 14:32:36.258012 (a flake under load)."""
    assert failures([_case()], "bot> Halo kak\n", {"final_state_family": "queued"}) == []
    expect = {"final_state_family": "queued", "must_not_contain_anywhere": ["2580"]}
    assert failures([_case()], "bot> Halo kak\n", expect) == []


@pytest.mark.parametrize(
    "leaked",
    [
        {"fields": {"note": "pin 2580"}},
        {"survey": {"rating": 5, "comment": "pin 2580"}},
        {"events": [{"kind": "note", "detail": "pin 2580", "at": None}]},
        {"contact": {"name": "Adi 2580", "phone": None}},
    ],
)
def test_the_secret_check_finds_a_secret_in_any_written_text(leaked: dict[str, Any]) -> None:
    expect = {"final_state_family": "queued", "must_not_contain_anywhere": ["2580"]}
    assert failures([_case(**leaked)], "", expect) == ["secret '2580' appears in the output"]
    assert failures([_case()], "bot> pin 2580", expect) == ["secret '2580' appears in the output"]


def test_the_returning_client_and_reply_checks_can_fail(tmp_path: Path) -> None:
    lines = ["halo", "stok minus terus kak", "Rina", "outlet Mini Berkah", "batal"]
    cases, out = play("erzap", lines, tmp_path, at="2026-11-23T10:00")
    expect = {
        "final_state_family": "closed",
        "second_case_must_not_repeat_question_before": "Rina",
    }
    assert failures(cases, out, expect) == ["no second case was opened"]
    asked_again = [cases[0], cases[0]]  # a second case that asks the name again
    wrong = failures(asked_again, out, expect)
    assert len(wrong) == 1
    assert wrong[0].startswith("case 2 asks again: 'Untuk verifikasi, boleh kami tahu nama")
    missing = {
        "final_state_family": "closed",
        "must_reply_containing": ["di luar jam operasional"],
    }
    assert failures(cases[:1], out, missing) == ["no bot reply contains 'di luar jam operasional'"]
