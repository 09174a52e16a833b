"""Run the real `loket` command on a test's own database: in this process, or as a child.

`loket()` calls `chatbot.cli.main` in this process, with the environment, working directory
and standard streams a child would have: the same code path without starting an interpreter
and importing Loket again (several seconds a call on the 2-core CI machine, and the CLI tests
make dozens). `loket_process()` runs `python -m chatbot` for real; the package and serve tests
use it, so the entry point itself stays covered.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from chatbot.cli import main

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


def _database(tmp_path: Path, database_url: str | None) -> str:
    return database_url or f"sqlite:///{tmp_path}/loket.db"


def loket(
    tmp_path: Path, *args: str, stdin: str = "", database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`loket ARGS` in tmp_path, in this process, with no LOKET_* setting but its database.

    The database is a SQLite file in tmp_path unless `database_url` names another. Standard
    input is `stdin` (not a terminal); what the command writes to stdout and stderr, its log
    lines included, comes back as a child's would.
    """
    out, err = io.StringIO(), io.StringIO()
    settings = {"LOKET_DATABASE_URL": _database(tmp_path, database_url)}
    with (
        _environment(settings),
        contextlib.chdir(tmp_path),
        _standard_streams(io.StringIO(stdin), out, err),
    ):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help, --version, a usage error
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return subprocess.CompletedProcess(["loket", *args], code, out.getvalue(), err.getvalue())


def loket_process(
    tmp_path: Path, *args: str, stdin: str = "", database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m chatbot ARGS` as a child in tmp_path: no LOKET_* setting but its database."""
    return subprocess.run(
        [sys.executable, "-m", "chatbot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=child_env(LOKET_DATABASE_URL=_database(tmp_path, database_url)),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


@contextlib.contextmanager
def _environment(settings: dict[str, str]) -> Iterator[None]:
    """os.environ without any LOKET_* but `settings`, restored afterwards."""
    saved = dict(os.environ)
    for name in [name for name in os.environ if name.startswith("LOKET_")]:
        del os.environ[name]
    os.environ.update(settings)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _standard_streams(stdin: io.StringIO, out: io.StringIO, err: io.StringIO) -> Iterator[None]:
    """sys.stdin/stdout/stderr replaced, and the root logger writing to `err` as a child's does.

    `main` configures logging with basicConfig, which does nothing once the root logger has
    handlers (pytest adds its own), so the child's handler on stderr is put in place here.
    """
    root = logging.getLogger()
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    saved_stdin = sys.stdin
    sys.stdin = stdin
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield
    finally:
        sys.stdin = saved_stdin
        root.removeHandler(handler)
        root.setLevel(saved_level)
