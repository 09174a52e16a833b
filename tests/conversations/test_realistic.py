"""Realistic WhatsApp clients (realistic.json), played through the code of `loket chat`.

Each conversation runs in this process through chatbot.cli.main on a fresh database (see
acceptance.play), so fifty of them take seconds; the shared samples keep the subprocess path
covered (test_samples.py). Every expectation of the acceptance format is checked, and no client
message the bot still handles may go unanswered.
"""

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
    assert len(conversations) >= 40
    assert len({c["id"] for c in conversations}) == len(conversations)
    assert {c["profile"] for c in conversations} == PROFILES
    families = {c["expect"]["final_state_family"] for c in conversations}
    assert families == {"queued", "closed", "open"}


@pytest.mark.parametrize("conversation", _conversations(), ids=lambda c: c["id"])
def test_realistic_conversation_meets_its_expectations(
    tmp_path: Path, conversation: dict[str, Any]
) -> None:
    cases, out = play(conversation["profile"], conversation["lines"], tmp_path)
    assert failures(cases, out, conversation["expect"]) == []


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
