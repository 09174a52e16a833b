from __future__ import annotations

import pytest

from tests.supervision.builder import CaseBuilder


@pytest.fixture
def builder(desk_for, clock) -> CaseBuilder:  # type: ignore[no-untyped-def]
    engine, desk = desk_for("erzap")
    return CaseBuilder(desk, engine, clock)
