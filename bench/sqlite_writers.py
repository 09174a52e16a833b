"""Measure how late a SQLite writer starts after another process's commit.

Usage:
    .venv/bin/python -m bench.sqlite_writers [--turns 500] [--hold-ms 1] [--think-ms 1]
        [--busy-handler]

Two processes each run `--turns` write transactions (engine.begin(): read a counter, hold
the write lock `--hold-ms`, write it back), pausing `--think-ms` between them, so each
often queues behind the other. For every transaction that waited, the delay is the time
from the other process's commit to this writer's BEGIN IMMEDIATE succeeding; `queued_*` is
the whole time from asking to starting, which shows a writer left waiting turn after turn. With
`--busy-handler` the write lock is taken the old way, by SQLite's own busy handler, for
comparison. The last line printed is one JSON object (milliseconds).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

import db.engine
from db.engine import make_engine

# one transaction: asked for, got the write lock, committed (time.perf_counter, which on
# Linux is CLOCK_MONOTONIC and so comparable between processes)
Turn = tuple[float, float, float]


def _busy_handler_begin(dbapi_connection: Any, wait: float) -> None:
    """The old way: BEGIN IMMEDIATE under SQLite's busy timeout (sleeps 1, 2, 5, 10... ms)."""
    dbapi_connection.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
    dbapi_connection.execute("BEGIN IMMEDIATE")


def _writer(
    url: str, turns: int, hold: float, think: float, busy_handler: bool, longest: float
) -> list[Turn]:
    """Take `turns` write turns; each holds the lock for `hold` seconds."""
    if busy_handler:
        db.engine.begin_immediate = _busy_handler_begin
    db.engine._LONGEST_PAUSE = longest
    engine = make_engine(url)
    done: list[Turn] = []
    for _ in range(turns):
        asked = time.perf_counter()
        with engine.begin() as conn:
            got = time.perf_counter()
            n = conn.execute(text("SELECT n FROM counter")).scalar_one()
            time.sleep(hold)  # sleeping, not spinning: two spinning writers skew a 2-core box
            conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        done.append((asked, got, time.perf_counter()))
        time.sleep(think)
    engine.dispose()
    return done


def _delays(mine: list[Turn], theirs: list[Turn]) -> list[float]:
    """For each of my turns that waited for one of theirs: its start minus their commit."""
    commits = sorted(c for _, _, c in theirs)
    delays = []
    j = 0
    for asked, got, _ in mine:
        while j < len(commits) and commits[j] <= got:
            j += 1
        if j and asked < commits[j - 1]:  # their last commit before my start came after I asked
            delays.append(got - commits[j - 1])
    return delays


def _pick(ordered: list[float], share: float) -> float:
    """The value below which `share` of the sorted values fall."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    """Run the two writer processes and print the delays."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--hold-ms", type=float, default=1.0)
    parser.add_argument("--think-ms", type=float, default=1.0)
    parser.add_argument("--busy-handler", action="store_true")
    parser.add_argument("--longest-pause-ms", type=float, default=db.engine._LONGEST_PAUSE * 1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'writers.db'}"
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            conn.execute(text("INSERT INTO counter VALUES (0)"))
        job = (
            url,
            args.turns,
            args.hold_ms / 1000,
            args.think_ms / 1000,
            args.busy_handler,
            args.longest_pause_ms / 1000,
        )
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            first, second = pool.starmap(_writer, [job, job])
        turns = first + second
        elapsed = max(c for _, _, c in turns) - min(a for a, _, _ in turns)
        with engine.connect() as conn:
            total = conn.execute(text("SELECT n FROM counter")).scalar_one()
        engine.dispose()
    delays = sorted(_delays(first, second) + _delays(second, first))
    if not delays:
        sys.exit("no writer ever waited for the other: raise --hold-ms")
    ms = [d * 1000 for d in delays]
    queued = sorted((got - asked) * 1000 for asked, got, _ in first + second)
    print(
        json.dumps(
            {
                "mode": "busy_handler" if args.busy_handler else "loket",
                "hold_ms": args.hold_ms,
                "turns": 2 * args.turns,
                "counter": total,
                "waited": len(ms),
                "p50_ms": round(statistics.median(ms), 3),
                "p99_ms": round(_pick(ms, 0.99), 3),
                "max_ms": round(ms[-1], 3),
                # from asking to starting, every turn: what a starved writer feels
                "queued_p99_ms": round(_pick(queued, 0.99), 3),
                "queued_max_ms": round(queued[-1], 3),
                "turns_per_s": round(2 * args.turns / elapsed),
            }
        )
    )


if __name__ == "__main__":
    main()
