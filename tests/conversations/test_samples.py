"""The sample conversations in samples.json (format in README.md), played through `loket chat`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conversations.acceptance import failures
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
    assert failures(cases, out, sample["expect"]) == []
