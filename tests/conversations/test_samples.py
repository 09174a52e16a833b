"""The sample conversations in samples.json (format in README.md), played through `loket chat`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conversations.acceptance import failures, play

SAMPLES = Path(__file__).with_name("samples.json")


def _samples() -> list[dict[str, Any]]:
    return list(json.loads(SAMPLES.read_text(encoding="utf-8")))


@pytest.mark.parametrize("sample", _samples(), ids=lambda s: s["id"])
def test_sample_conversation_meets_its_expectations(
    tmp_path: Path, sample: dict[str, Any]
) -> None:
    cases, out = play(sample["profile"], sample["lines"], tmp_path)
    assert failures(cases, out, sample["expect"]) == []
