"""Reads never wait for a writer; writers queue, promptly, across threads and processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from db.engine import BUSY_TIMEOUT_MS, begin_immediate, make_engine, read

ROOT = Path(__file__).resolve().parents[2]


def counter_engine(url: str) -> Engine:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    return engine


def test_a_read_answers_while_another_connection_holds_a_write(database_url: str) -> None:
    engine = counter_engine(database_url)
    with engine.begin() as writing:
        writing.execute(text("UPDATE counter SET n = 1"))
        with read(engine) as conn:  # the same engine, so the pool gives another connection
            # The snapshot from before the writer's uncommitted change. A read that waited for
            # the writer could not get it (the writer commits only after this block, in this
            # thread): it would fail with "database is locked" once the busy timeout passed.
            # So no clock is needed, and a loaded machine cannot make this fail.
            assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 0
    with read(engine) as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 1
    engine.dispose()


def test_reads_under_a_stream_of_writes_never_find_the_database_locked(tmp_path: Path) -> None:
    engine = counter_engine(f"sqlite:///{tmp_path}/t.db")
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            with engine.begin() as conn:
                conn.execute(text("UPDATE counter SET n = n + 1"))
                time.sleep(0.005)  # a long-ish write lock, taken again at once

    writer = threading.Thread(target=write)
    writer.start()
    try:
        seen = []
        for _ in range(200):
            with read(engine) as conn:
                seen.append(conn.execute(text("SELECT n FROM counter")).scalar_one())
    finally:
        stop.set()
        writer.join()
    assert seen == sorted(seen)  # each read a committed state, never an error
    engine.dispose()


def test_a_read_block_does_not_turn_later_transactions_into_reads(tmp_path: Path) -> None:
    engine = counter_engine(f"sqlite:///{tmp_path}/t.db")
    with read(engine) as conn:
        conn.execute(text("SELECT n FROM counter")).scalar_one()
    with engine.connect() as conn:  # most likely the same pooled connection
        conn.execute(text("SELECT n FROM counter")).scalar_one()
        # BEGIN IMMEDIATE took the write lock, so another writer cannot have it
        other = sqlite3.connect(tmp_path / "t.db", isolation_level=None, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    engine.dispose()


def test_two_writers_reading_then_writing_lose_no_update(tmp_path: Path) -> None:
    engine = counter_engine(f"sqlite:///{tmp_path}/t.db")
    both_started = threading.Barrier(2)

    def increment() -> None:
        both_started.wait(5)
        with engine.begin() as conn:
            n = conn.execute(text("SELECT n FROM counter")).scalar_one()
            time.sleep(0.05)  # the other writer tries meanwhile
            conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    threads = [threading.Thread(target=increment) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with read(engine) as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 2
    engine.dispose()


HOLD_THEN_COMMIT = """
import sys, time
from sqlalchemy import text
from db.engine import make_engine
engine = make_engine(sys.argv[1])
with engine.begin() as conn:
    conn.execute(text("UPDATE counter SET n = n + 1"))
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
print("committed", flush=True)
"""


def hold_in_another_process(url: str, seconds: float) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_THEN_COMMIT, url, str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "holding"
    return child


def test_a_waiting_writer_retries_at_most_1_ms_apart_behind_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's busy handler alone sleeps 1, 2, 5, 10, 15, 20, 25... ms between tries; ours
    at most 1 ms, so the next writer starts within about a millisecond of the commit.

    The pauses are recorded rather than the delay measured between two processes' clocks:
    on a loaded machine either process may be descheduled for longer than any such bound
    (bench/sqlite_writers.py measures the delay on a quiet one).
    """
    url = f"sqlite:///{tmp_path}/t.db"
    engine = counter_engine(url)
    pauses: list[float] = []
    sleep = time.sleep

    def recorded(seconds: float) -> None:
        pauses.append(seconds)
        sleep(seconds)

    child = hold_in_another_process(url, 0.3)
    try:
        monkeypatch.setattr(time, "sleep", recorded)
        with engine.begin() as conn:
            conn.execute(text("UPDATE counter SET n = n + 1"))
        monkeypatch.undo()
    finally:
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert pauses  # it did wait for the other process
    assert max(pauses) <= 0.001
    with read(engine) as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 2
    engine.dispose()


def test_no_write_turn_within_the_wait_is_database_is_locked(tmp_path: Path) -> None:
    engine = counter_engine(f"sqlite:///{tmp_path}/t.db")
    waiter = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    with engine.begin() as conn:
        conn.execute(text("UPDATE counter SET n = 1"))
        began = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            begin_immediate(waiter, 0.2)
        # At least the wait, and well under SQLite's own busy timeout (what a BEGIN without
        # our retries would wait), so load on the machine cannot break it.
        assert 0.2 <= time.monotonic() - began < BUSY_TIMEOUT_MS / 1000 / 2
    begin_immediate(waiter, 0.2)  # the holder committed: the next try succeeds
    waiter.execute("ROLLBACK")
    waiter.close()
    engine.dispose()


def test_a_killed_process_holding_the_write_lock_frees_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    engine = counter_engine(url)
    child = hold_in_another_process(url, 60)
    try:
        child.kill()
        child.wait(10)
        with engine.begin() as conn:
            conn.execute(text("UPDATE counter SET n = n + 1"))
        with read(engine) as conn:  # the killed writer's change was never committed
            assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 1
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    engine.dispose()


def test_an_engine_error_for_a_missing_turn_is_core_operational_error(tmp_path: Path) -> None:
    engine = counter_engine(f"sqlite:///{tmp_path}/t.db")
    holder = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("db.engine.WRITE_WAIT_SECONDS", 0.05)
            with pytest.raises(OperationalError, match="database is locked"), engine.begin():
                pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    engine.dispose()
