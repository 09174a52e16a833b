"""Run the real `loket` command as a subprocess on a test's own SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def loket(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m chatbot ARGS` in tmp_path, with no LOKET_* setting but its database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env["LOKET_DATABASE_URL"] = f"sqlite:///{tmp_path}/loket.db"
    # The checkout under test, not whichever one the venv's editable install points at
    # (a shared venv serves several worktrees; the child runs from tmp_path).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
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
