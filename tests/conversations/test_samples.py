"""The sample conversations of ../shared/examples, played through `loket chat`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conversations.acceptance import failures
from tests.loket_cli import loket

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "examples" / "conversations.json"
LOCAL_SAMPLES = Path(__file__).with_name("samples.json")


def _samples() -> list[dict[str, Any]]:
    source = SAMPLES if SAMPLES.is_file() else LOCAL_SAMPLES
    return list(json.loads(source.read_text(encoding="utf-8")))


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
