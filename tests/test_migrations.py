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


def test_the_head_read_from_the_file_names_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from db.engine import MIGRATIONS, head_revision

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_database_at_the_head_is_started_without_alembic(database_url: str) -> None:
    """Every start after the first: the version is read, Alembic stays out of memory."""
    check = START + "; print('alembic' in sys.modules)"
    first, again = (
        subprocess.run(  # our own interpreter and code
            [sys.executable, "-c", check, database_url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=180,
        ).stdout.split()[-1]
        for _ in range(2)
    )
    assert (first, again) == ("True", "False")
