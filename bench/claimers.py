r"""Loket's own inbox claimer against procrastinate's `lock=` jobs, on one PostgreSQL.

Usage:
    python bench/claimers.py --url postgresql+psycopg://postgres@/loketbench?host=/tmp/pg \\
        --claimer loket --workers 2 [--messages 20000 --chats 1000 --producers 4]
    python bench/claimers.py --url ... --claimer procrastinate --workers 1 [--concurrency 1]
    python bench/claimers.py --url ... --claimer loket --workers 2 --kill-after 3

The same workload for both: `--messages` client messages spread over `--chats` chats,
committed one message per transaction by `--producers` processes (each owns a share of
the chats, so a chat's order is the order its producer committed them), while `--workers`
processes step them. A step is trivial: append (chat, number in chat, message id) to
`bench_step` in the step's transaction, so only the queueing is compared.

- loket: ingress is `db.inbox_queries.record_inbound`; each worker runs Loket's own
  `chatbot.frontdesk.stepper.Stepper` (LISTEN/NOTIFY wake-ups) over a desk whose `step_pending`
  is Desk's with the flow replaced by the append: `claim` (FOR UPDATE SKIP LOCKED, with
  the chats' waiting messages), the append and `mark_stepped_many` in one transaction.
- procrastinate: ingress defers one job per message with `lock=<chat>` on the producer's
  own transaction (`configure(connection=...)`); each worker process runs
  `app.run_worker_async(concurrency=...)` and the task appends on a pooled connection.

`--kill-after S` sends SIGKILL to worker 0 S seconds into the run and starts another in its
place. For procrastinate a recovery loop (the documented get_stalled_jobs + retry_job)
runs in the parent every second, with heartbeats every second and a job counted stalled
after 5 s without one.

Prints progress lines, then as its last line one JSON object: enqueue `enqueue_msg_per_s`,
`enqueue_p50_ms`, `enqueue_p99_ms`; `processed_msg_per_s` (messages / first enqueue to
last step), `lag_p50_ms`/`lag_p99_ms` (enqueue to step), `order_violations`,
`duplicates`, `missing`. The database is dropped and created again at each run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import signal
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Connection, Engine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from db import inbox_queries as iq  # noqa: E402
from db.engine import make_engine  # noqa: E402

STEP_TABLE = """
CREATE TABLE bench_step (
    id bigserial PRIMARY KEY,
    chat text NOT NULL,
    k integer NOT NULL,
    msg text NOT NULL,
    enq_at double precision NOT NULL,
    done_at double precision NOT NULL DEFAULT extract(epoch FROM clock_timestamp())
)
"""
INSERT_STEP = "INSERT INTO bench_step (chat, k, msg, enq_at) VALUES (%s, %s, %s, %s)"
STALLED_AFTER_S = 5  # procrastinate: a worker without a heartbeat this long is dead


def workload(messages: int, chats: int, producers: int, seed: int) -> list[list[tuple]]:
    """Each producer's messages, in the order it sends them: (chat, k, message id)."""
    rng = random.Random(seed)
    counts = [0] * chats
    shares: list[list[tuple]] = [[] for _ in range(producers)]
    for i in range(messages):
        chat = rng.randrange(chats)
        counts[chat] += 1
        shares[chat % producers].append((f"c{chat}", counts[chat], f"m{i}"))
    return shares


def psycopg_conninfo(url: str) -> str:
    """The SQLAlchemy URL as psycopg's conninfo."""
    plain = make_url(url).set(drivername="postgresql")
    return plain.render_as_string(hide_password=False)


def recreate_database(url: str) -> None:
    """Drop and create the bench database (from the server's `postgres` database)."""
    import psycopg

    name = make_url(url).database
    admin = psycopg_conninfo(str(make_url(url).set(database="postgres")))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- Loket -------------------------------------------------------------------------


class TrivialDesk:
    """Desk.step_pending with the flow replaced by one append: only the claimer runs."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def warm_up(self) -> None:
        """Nothing to load before the first step: the Stepper asks every desk."""

    def step_pending(self, *, chats: int = 32) -> int:  # as STEP_BATCH_CHATS
        """Step up to `chats` waiting chats in one transaction; returns messages stepped."""
        with self._engine.connect() as conn:
            if not iq.has_unstepped(conn):
                return 0
        stepped = 0
        with self._engine.begin() as conn:
            for _key, rows in iq.claim(conn, limit=chats):
                stepped += self._step_chat(conn, rows)
        return stepped

    def _step_chat(self, conn: Connection, rows: list[iq.Waiting]) -> int:
        for inbox_id, payload, _attempts in rows:
            with conn.begin_nested():  # as Desk._step_chat: a failing step undoes itself
                p = json.loads(payload)
                conn.exec_driver_sql(INSERT_STEP, (p["chat"], p["k"], p["msg"], p["t"]))
                iq.mark_stepped_many(conn, inbox_ids=[inbox_id], now=datetime.now(UTC))
        return len(rows)


def loket_setup(url: str) -> None:
    """The inbox's three tables, as the migrations make them, and the step table."""
    engine = make_engine(url)
    iq.CHAT.metadata.create_all(engine, tables=[iq.CHAT, iq.CHAT_CLAIM, iq.INBOX])
    with engine.begin() as conn:
        conn.exec_driver_sql(STEP_TABLE)
    engine.dispose()


def loket_produce(url: str, share: list[tuple], start: Any, out: Any) -> None:
    """Accept each message in its own transaction, as Desk.accept does for a webhook."""
    engine = make_engine(url)
    with engine.connect() as conn:  # warm the pool before the clock starts
        conn.exec_driver_sql("SELECT 1")
    start.wait()
    latencies = []
    for chat, k, msg in share:
        t = time.time()
        payload = json.dumps({"chat": chat, "k": k, "msg": msg, "t": t})
        with engine.begin() as conn:
            row = iq.InboxRow("whatsapp", chat, msg, payload)
            iq.record_inbound(conn, rows=[row], now=datetime.now(UTC))
        latencies.append(time.time() - t)
    out.put((latencies, time.time()))


def loket_work(url: str, ready: Any) -> None:
    """One worker: Loket's Stepper over the trivial desk, until SIGTERM."""
    from chatbot.frontdesk.stepper import Stepper

    engine = make_engine(url)
    stepper = Stepper(TrivialDesk(engine), url)  # type: ignore[arg-type]

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        ready.put(os.getpid())
        await stepper.run(stop)

    asyncio.run(run())


# --- procrastinate -------------------------------------------------------------------


def procrastinate_app(url: str, *, sync: bool, pool_size: int = 4) -> Any:
    """The app and its one task, `step`, which appends on a pooled connection."""
    import procrastinate

    conninfo = psycopg_conninfo(url)
    if sync:
        connector: Any = procrastinate.SyncPsycopgConnector(conninfo=conninfo)
    else:
        connector = procrastinate.PsycopgConnector(
            conninfo=conninfo, min_size=1, max_size=pool_size
        )
    app = procrastinate.App(connector=connector)

    @app.task(name="step")
    async def step(chat: str, k: int, msg: str, t: float) -> None:
        async with connector.pool.connection() as conn:  # commits on leaving
            await conn.execute(INSERT_STEP, (chat, k, msg, t))

    return app


def procrastinate_setup(url: str) -> None:
    """The procrastinate schema and the step table."""
    import psycopg

    app = procrastinate_app(url, sync=True)
    with app.open():
        app.schema_manager.apply_schema()
    with psycopg.connect(psycopg_conninfo(url)) as conn:
        conn.execute(STEP_TABLE)


def procrastinate_produce(url: str, share: list[tuple], start: Any, out: Any) -> None:
    """Defer one job per message on the producer's own transaction (lock = the chat)."""
    app = procrastinate_app(url, sync=True)
    step = app.tasks["step"]
    engine = make_engine(url)  # the same engine and transaction as Loket's ingress
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    start.wait()
    latencies = []
    for chat, k, msg in share:
        t = time.time()
        with engine.begin() as conn:
            raw = conn.connection.driver_connection  # the psycopg.Connection in the tx
            step.configure(lock=chat, connection=raw).defer(chat=chat, k=k, msg=msg, t=t)
        latencies.append(time.time() - t)
    out.put((latencies, time.time()))


def procrastinate_work(url: str, ready: Any, concurrency: int) -> None:
    """One worker process: run_worker_async until SIGTERM (its own handler)."""
    app = procrastinate_app(url, sync=False, pool_size=concurrency + 3)

    async def run() -> None:
        async with app.open_async():
            ready.put(os.getpid())
            await app.run_worker_async(
                concurrency=concurrency,
                delete_jobs="successful",
                update_heartbeat_interval=1.0,
                stalled_worker_timeout=STALLED_AFTER_S,
            )

    asyncio.run(run())


async def retry_stalled(url: str, stop: asyncio.Event) -> int:
    """The documented recovery: retry `doing` jobs of workers whose heartbeat stopped."""
    app = procrastinate_app(url, sync=False, pool_size=1)
    retried = 0
    async with app.open_async():
        while not stop.is_set():
            stalled = await app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=STALLED_AFTER_S
            )
            for job in stalled:
                await app.job_manager.retry_job(job)
                retried += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    return retried


# --- the run -------------------------------------------------------------------------


def count_steps(conn: Any) -> int:
    """Messages stepped so far (with duplicates), on an autocommit psycopg connection."""
    row = conn.execute("SELECT count(*) FROM bench_step").fetchone()
    assert row is not None
    return int(row[0])


def verify(url: str) -> dict[str, Any]:
    """Order violations, duplicates, missing messages, and timings from `bench_step`."""
    import psycopg

    with psycopg.connect(psycopg_conninfo(url)) as conn:
        violations = conn.execute(
            """
            SELECT count(*) FROM (
                SELECT k, lag(k) OVER (PARTITION BY chat ORDER BY id) AS prev
                FROM bench_step
            ) s WHERE prev IS NOT NULL AND k <> prev + 1
            """
        ).fetchone()
        dupes = conn.execute(
            "SELECT coalesce(sum(n - 1), 0) FROM"
            " (SELECT count(*) AS n FROM bench_step GROUP BY msg) s"
        ).fetchone()
        distinct = conn.execute("SELECT count(DISTINCT msg) FROM bench_step").fetchone()
        timing = conn.execute("SELECT min(enq_at), max(done_at) FROM bench_step").fetchone()
        lags = [r[0] for r in conn.execute("SELECT done_at - enq_at FROM bench_step")]
    assert violations is not None
    assert dupes is not None
    assert distinct is not None
    assert timing is not None
    return {
        "order_violations": int(violations[0]),
        "duplicates": int(dupes[0]),
        "distinct": int(distinct[0]),
        "first_enqueue": timing[0],
        "last_step": timing[1],
        "lags": lags,
    }


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def main() -> None:
    """Run one claimer on the workload and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="postgresql+psycopg://... (recreated)")
    parser.add_argument("--claimer", choices=["loket", "procrastinate"], required=True)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=1_000)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1, help="procrastinate only")
    parser.add_argument("--kill-after", type=float, default=None)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    recreate_database(args.url)
    loket = args.claimer == "loket"
    (loket_setup if loket else procrastinate_setup)(args.url)
    shares = workload(args.messages, args.chats, args.producers, args.seed)

    ctx = mp.get_context("spawn")
    ready, out, start = ctx.Queue(), ctx.Queue(), ctx.Event()

    def spawn_worker() -> Any:
        if loket:
            proc = ctx.Process(target=loket_work, args=(args.url, ready))
        else:
            proc = ctx.Process(target=procrastinate_work, args=(args.url, ready, args.concurrency))
        proc.start()
        ready.get(timeout=60)
        return proc

    workers = [spawn_worker() for _ in range(args.workers)]
    produce = loket_produce if loket else procrastinate_produce
    producers = [
        ctx.Process(target=produce, args=(args.url, share, start, out)) for share in shares
    ]
    for proc in producers:
        proc.start()
    time.sleep(2.0)  # producers import and connect
    print(f"{args.claimer}: {args.workers} worker(s), {len(producers)} producers", flush=True)

    stop_recovery = asyncio.Event()
    recovery: dict[str, int] = {}

    def recover() -> None:
        recovery["retried"] = asyncio.run(retry_stalled(args.url, stop_recovery))

    recovery_thread = None
    if args.kill_after is not None and not loket:
        recovery_thread = threading.Thread(target=recover)
        recovery_thread.start()

    import psycopg

    watch = psycopg.connect(psycopg_conninfo(args.url), autocommit=True)
    started = time.time()
    start.set()
    killed_at = None
    latencies: list[float] = []
    finished: list[float] = []
    deadline = started + args.timeout
    collected = 0
    while time.time() < deadline:
        while collected < len(producers) and not out.empty():
            share_latencies, share_end = out.get()
            latencies += share_latencies
            finished.append(share_end)
            collected += 1
        kill_due = args.kill_after is not None and time.time() - started >= args.kill_after
        if kill_due and killed_at is None:
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].join()
            killed_at = time.time() - started
            print(f"killed worker 0 (SIGKILL) at {killed_at:.1f} s", flush=True)
            workers[0] = spawn_worker()
        done = count_steps(watch)
        if collected == len(producers) and done >= args.messages:
            break
        time.sleep(0.05)
    watch.close()
    for proc in producers:
        proc.join()
    for proc in workers:
        proc.terminate()  # SIGTERM: both kinds finish the job in hand and stop
    for proc in workers:
        proc.join(timeout=30)
    if recovery_thread is not None:
        stop_recovery.set()  # read by the thread's loop within a second
        recovery_thread.join()

    result = verify(args.url)
    enqueue_s = (max(finished) - started) if finished else float("nan")
    missing = args.messages - result["distinct"]
    span = (result["last_step"] or started) - (result["first_enqueue"] or started)
    summary = {
        "claimer": args.claimer,
        "messages": args.messages,
        "chats": args.chats,
        "producers": args.producers,
        "workers": args.workers,
        "concurrency": args.concurrency if not loket else 1,
        "enqueue_msg_per_s": round(len(latencies) / enqueue_s, 1),
        "enqueue_p50_ms": round(1000 * statistics.median(latencies), 2),
        "enqueue_p99_ms": round(1000 * percentile(latencies, 99), 2),
        "processed_msg_per_s": round(result["distinct"] / span, 1) if span > 0 else 0,
        "lag_p50_ms": round(1000 * statistics.median(result["lags"]), 1),
        "lag_p99_ms": round(1000 * percentile(result["lags"], 99), 1),
        "order_violations": result["order_violations"],
        "duplicates": result["duplicates"],
        "missing": missing,
        "killed_at_s": killed_at,
        "stalled_retried": recovery.get("retried"),
    }
    for key, value in summary.items():
        print(f"{key:>20}: {value}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
