"""Run the real `loket` command as a subprocess on a test's own database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_env(**settings: str) -> dict[str, str]:
    """The environment for a `python -m chatbot` child: no LOKET_* from the shell, these settings.

    PYTHONPATH puts this checkout first, so the child runs the code under test even when the
    interpreter's environment has Loket installed from another checkout (an editable install
    shared between git worktrees would otherwise win, since the child's cwd is tmp_path).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(settings)
    return env


def loket(
    tmp_path: Path, *args: str, stdin: str = "", database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m chatbot ARGS` in tmp_path, with no LOKET_* setting but its database.

    The database is a SQLite file in tmp_path unless `database_url` names another.
    """
    env = child_env(LOKET_DATABASE_URL=database_url or f"sqlite:///{tmp_path}/loket.db")
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
