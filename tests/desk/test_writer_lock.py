"""SQLite writers queue on a lock file: the next starts right after a commit, not after a sleep."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from db.engine import make_engine


def test_a_waiting_writer_starts_within_milliseconds_of_the_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/w.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    committed_at: list[float] = []
    started_at: list[float] = []
    holding = threading.Event()

    def hold() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            time.sleep(0.2)
        committed_at.append(time.perf_counter())

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    with engine.begin() as conn:
        started_at.append(time.perf_counter())
        conn.execute(text("INSERT INTO t VALUES (2)"))
    holder.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 2
    # SQLite's own busy handler would have slept 1, 2, 5, 10, 15, 20, 25... ms between tries.
    assert started_at[0] - committed_at[0] < 0.01
    engine.dispose()


def test_no_write_turn_within_the_wait_is_a_database_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    holder = make_engine(url)
    waiter = make_engine(url, lock_wait=0.2)
    with holder.begin() as held:
        held.execute(text("CREATE TABLE t (n INTEGER)"))
        began = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"), waiter.begin():
            pass
        assert 0.2 <= time.monotonic() - began < 2
    with waiter.begin() as conn:  # the holder committed: the waiter's next turn comes at once
        conn.execute(text("INSERT INTO t VALUES (1)"))
    holder.dispose()
    waiter.dispose()


def test_a_killed_process_holding_the_lock_frees_it(tmp_path: Path) -> None:
    database = tmp_path / "w.db"
    script = (
        "import sys, time\n"
        "from sqlalchemy import text\n"
        "from db.engine import make_engine\n"
        f"engine = make_engine('sqlite:///{database}')\n"
        "with engine.begin() as conn:\n"
        "    conn.execute(text('CREATE TABLE IF NOT EXISTS t (n INTEGER)'))\n"
        "    print('holding', flush=True)\n"
        "    time.sleep(60)\n"
    )
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "holding"
        child.kill()
        child.wait(10)
        engine = make_engine(f"sqlite:///{database}", lock_wait=2)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        engine.dispose()
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
