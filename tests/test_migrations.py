"""Migrations at start-up: any number of processes may start together on one database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from db.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
START = "import sys; from db.engine import make_engine, migrate; migrate(make_engine(sys.argv[1]))"


def test_processes_starting_together_migrate_once_without_errors(database_url: str) -> None:
    starters = [
        subprocess.Popen(  # as a web host and workers starting at once on a fresh database
            [sys.executable, "-c", START, database_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [starter.communicate(timeout=180)[0] for starter in starters]
    assert [starter.returncode for starter in starters] == [0] * 4, outputs
    engine = make_engine(database_url)
    try:
        assert {"inboxmessage", "chat", "chatclaim", "case"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
