"""Run the real `loket` command as a subprocess on a test's own database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def loket(
    tmp_path: Path, *args: str, stdin: str = "", database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m chatbot ARGS` in tmp_path, with no LOKET_* setting but its database.

    The database is a SQLite file in tmp_path unless `database_url` names another.
    PYTHONPATH makes the child run this checkout's code, whichever Loket the virtualenv has
    installed (a shared virtualenv may point at another checkout).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env["LOKET_DATABASE_URL"] = database_url or f"sqlite:///{tmp_path}/loket.db"
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
