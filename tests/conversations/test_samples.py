"""The sample conversations in samples.json (format in README.md), played through `loket chat`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.loket_cli import loket

SAMPLES = Path(__file__).with_name("samples.json")


def _samples() -> list[dict[str, Any]]:
    return list(json.loads(SAMPLES.read_text(encoding="utf-8")))


def loket_ok(tmp_path: Path, *args: str, stdin: str = "") -> str:
    """What `loket ARGS` printed; it must succeed."""
    done = loket(tmp_path, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("sample", _samples(), ids=lambda s: s["id"])
def test_sample_conversation_meets_its_expectations(
    tmp_path: Path, sample: dict[str, Any]
) -> None:
    out = loket_ok(
        tmp_path, "chat", "--profile", sample["profile"], stdin="\n".join(sample["lines"]) + "\n"
    )
    cases = json.loads(loket_ok(tmp_path, "cases", "--json"))
    first, expect = cases[0], sample["expect"]
    family = expect["final_state_family"]
    if family == "queued":
        assert "queue" in first["state"]
    elif family == "closed":
        assert first["state"] == "closed"
    else:
        assert "queue" not in first["state"]
        assert first["state"] != "closed"
    if expect["category"] is not None:
        assert first["category"] == expect["category"]
    dumped = json.dumps(cases, ensure_ascii=False) + out
    for secret in expect["must_not_contain_anywhere"]:
        assert secret not in dumped
    outbound = [m for m in first["messages"] if m["direction"] == "out"]
    assert len(outbound) >= expect["min_bot_replies"]
    if expect["survey_rating"] is not None:
        assert first["survey"]["rating"] == expect["survey_rating"]
    # No silence: every client message gets an answer unless the case waits for an agent.
    for case in cases:
        transcript = case["messages"]
        for i, message in enumerate(transcript):
            if message["direction"] != "in":
                continue
            answered = i + 1 < len(transcript) and transcript[i + 1]["direction"] == "out"
            waiting = "queue" in case["state"] and all(
                m["direction"] == "in" for m in transcript[i:]
            )
            assert answered or waiting, f"case {case['id']}: no answer to {message['text']!r}"
