"""Every route, driven with random requests with and without valid auth, answers below 500.

A fixed-seed run of bench/fuzz.py (derandomised hypothesis); `python -m bench.fuzz` explores
further with a new seed each time.
"""

from __future__ import annotations

from pathlib import Path

from bench.fuzz import fuzz_settings, operations, run
from chatbot.web.app import create_app
from settings import Settings


def test_no_route_answers_5xx_to_any_request(settings: Settings, tmp_path: Path) -> None:
    app = create_app(fuzz_settings(settings, tmp_path / "media"), background=False)
    try:
        assert len(operations(app)) > 40  # the description lists every route
        report = run(app, examples=300, seed=None)
    finally:
        app.state.engine.dispose()
    assert report.tried >= 200
    assert report.server_errors == 0, "\n".join(report.findings)
    assert {200, 303, 400, 401, 403, 422} <= set(report.by_status)  # it went past the doors
