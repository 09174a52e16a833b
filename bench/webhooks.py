"""Webhook throughput: `loket serve` against a minimal endpoint, same updates, same database.

Starts a fake Bot API (bench/fake_bot_api.py), then, for each worker count, `loket serve
--workers N` on a fresh database aimed at it, and posts N Telegram updates over C chats (each
chat's updates in order, K requests in flight) to /webhooks/telegram. Then it posts the same
updates to a minimal endpoint on the same kind of database: FastAPI checking the secret and
inserting the update (bench/minimal_endpoint.py on SQLite, bench/minimal_endpoint_pg.py,
psycopg 3 with an AsyncConnectionPool, on PostgreSQL), one process.

For each it prints accepted msg/s (200s over the posting time), p50/p99 latency, processed
msg/s (updates over the time from the first request until every reply Loket wrote, counted
once the inbox is fully stepped, has reached the fake Bot API; for the minimal endpoint,
which does nothing more, processed = accepted) and resident memory summed over the process
tree (peak while it ran, and after it), with the targets next to them. It also prints the
CPU budget of each run: milliseconds of CPU per message for each process (web workers,
background workers, supervisor, fake Bot API, the load generator, and on PostgreSQL the
database server) and how many cores they kept busy, so a ratio can be read against the
machine it ran on. With several worker counts it prints a scaling table. The last line is
one JSON object.

`--db postgresql://user@host/postgres?...` is an admin URL: every run gets a database of
its own, created and dropped. The PostgreSQL server's own memory is not counted.

Usage: python -m bench.webhooks [--db sqlite|postgresql://...] [--workers 1|1,2,4]
       [--updates 6000] [--chats 200] [--in-flight 32]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import (
    HEADERS,
    ROOT,
    SECRET,
    CpuMeter,
    FakeBotApiProcess,
    RssSampler,
    free_port,
    fresh_database,
    is_postgres,
    libpq_url,
    loket_env,
    postgres_pids,
    reader,
    scalar,
    serve,
    serve_workers,
    shown,
    stop,
    wait_until_up,
)

LINES = [
    "halo kak",
    "stok di POS tidak sama dengan backoffice sejak kemarin sore",
    "Rina Wati",
    "outlet Mini Berkah",
    "belum kak, tolong dicek",
    "kapan dibalas kak?",
]
WARM_UP_CHAT = 899_999_999  # one update before the clock starts: imports, caches, connections
TARGETS = {"accepted": 0.7, "processed": 0.5, "p99": 3.0, "memory_mb": 250.0}


def server_stack() -> str:
    """What uvicorn runs on here: httptools and uvloop when installed, else h11 and asyncio.

    Both servers get the same, so the yardstick moves with the stack (the minimal endpoint
    runs 1,800 msg/s on h11 and 3,000-3,300 on httptools on the 2-core box).
    """
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn on {http} and {loop}"


def telegram_update(update_id: int, chat_id: int, seq: int, text: str) -> dict[str, Any]:
    """A private-chat text update as Telegram posts it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": seq + 1,
            "from": {"id": chat_id, "is_bot": False, "first_name": f"Klien {chat_id}"},
            "chat": {"id": chat_id, "first_name": f"Klien {chat_id}", "type": "private"},
            "date": 1_763_866_800 + update_id % 1_000_000,
            "text": text,
        },
    }


def updates(total: int, chats: int) -> list[list[dict[str, Any]]]:
    """`total` text updates spread over `chats` private chats, in each chat's order."""
    per_chat: list[list[dict[str, Any]]] = [[] for _ in range(chats)]
    for n in range(total):
        chat = n % chats
        seq = len(per_chat[chat])
        per_chat[chat].append(
            telegram_update(100_000 + n, 900_000_000 + chat, seq, LINES[seq % len(LINES)])
        )
    return per_chat


async def post_all(
    url: str, per_chat: list[list[dict[str, Any]]], in_flight: int
) -> dict[str, Any]:
    """Post every chat's updates in order, at most `in_flight` at once; time each request."""
    gate = asyncio.Semaphore(in_flight)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one_chat(chat: list[dict[str, Any]]) -> None:
            for update in chat:
                body = json.dumps(update).encode()
                async with gate:
                    started = time.perf_counter()
                    async with session.post(url, data=body, headers=HEADERS) as response:
                        await response.read()
                    latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(one_chat(chat) for chat in per_chat))
        elapsed = time.perf_counter() - began
    accepted = statuses.get(200, 0)
    latencies.sort()
    return {
        "began": began,
        "accepted": accepted,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(elapsed, 3),
        "msg_per_s": round(accepted / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 2),
    }


def wait_for(check: Any, timeout: float, what: str, every: float = 0.02) -> None:
    """Poll `check()` until true, or raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every)


def run_loket(
    per_chat: list[list[dict[str, Any]]],
    *,
    db: str,
    workers: int,
    in_flight: int,
    fake: FakeBotApiProcess,
    work: Path,
) -> dict[str, Any]:
    """One `loket serve --workers N` run on a fresh database: accepted, processed, memory."""
    with fresh_database(db, work, f"loket_w{workers}") as url:
        engine = reader(url)
        env = loket_env(url, fake, work)
        try:
            with serve(env, workers, work / f"w{workers}", log=work / f"serve-w{workers}.log") as (
                base,
                process,
            ):
                hook = f"{base}/webhooks/telegram"
                # Warm up (imports, caches, connections, the first send), then start the clock.
                before = fake.count()
                warm = [[telegram_update(1, WARM_UP_CHAT, 0, LINES[0])]]
                asyncio.run(post_all(hook, warm, 1))
                wait_for(lambda: fake.count() > before, 60, "the warm-up reply")
                wait_for(lambda: _unstepped(engine) == 0, 60, "the warm-up step")
                out_before = scalar(engine, "SELECT count(*) FROM message WHERE direction='out'")
                wait_for(lambda: fake.count() >= before + out_before, 60, "warm-up replies")
                sent_before = fake.count()
                web, background = serve_workers(process.pid)
                cpu = cpu_meter(
                    db,
                    {
                        "web": lambda: web,
                        "background": lambda: background,
                        "supervisor": lambda: [process.pid],
                        "fake_bot_api": lambda: [fake.pid],
                    },
                )
                cpu.start()
                with RssSampler(process.pid) as memory:
                    result = asyncio.run(post_all(hook, per_chat, in_flight))
                    wait_for(lambda: _unstepped(engine) == 0, 600, "the inbox to be stepped")
                    expected = (
                        scalar(engine, "SELECT count(*) FROM message WHERE direction='out'")
                        - out_before
                    )
                    wait_for(lambda: fake.count() - sent_before >= expected, 600, "every reply")
                    processed_s = time.perf_counter() - result.pop("began")
                    cpu.stop()
                    after = memory.now()
                result.update(
                    workers=workers,
                    replies=expected,
                    replies_at_fake=fake.count() - sent_before,
                    processed_seconds=round(processed_s, 3),
                    processed_per_s=round(result["accepted"] / processed_s, 1),
                    rss_peak_mb=round(memory.peak, 1),
                    rss_after_mb=round(after, 1),
                    cpu_ms_per_msg=cpu.ms_per(result["accepted"]),
                    cores_busy=cpu.cores_busy(processed_s),
                )
            result["inbound_rows"] = (
                scalar(engine, "SELECT count(*) FROM message WHERE direction='in'") - 1
            )  # the warm-up
            result["replies_waiting"] = scalar(
                engine, "SELECT count(*) FROM message WHERE status='pending'"
            )
        finally:
            engine.dispose()
    return result


def cpu_meter(db: str, servers: dict[str, Any]) -> CpuMeter:
    """A CPU meter for a run's servers, this process and, on PostgreSQL, the database server.

    This process is the load generator; it also polls the database while it waits.
    """
    groups = {**servers, "load_generator": lambda: [os.getpid()]}
    if is_postgres(db):
        groups["postgresql"] = postgres_pids
    return CpuMeter(groups)


def _unstepped(engine: Any) -> int:
    return scalar(engine, "SELECT count(*) FROM inboxmessage WHERE stepped_at IS NULL")


def run_minimal(
    per_chat: list[list[dict[str, Any]]], *, db: str, in_flight: int, work: Path
) -> dict[str, Any]:
    """The minimal endpoint on a fresh database of the same kind, under the same load."""
    with fresh_database(db, work, "minimal") as url:
        port = free_port()
        if is_postgres(db):
            argv = ["bench.minimal_endpoint_pg", str(port), libpq_url(url), SECRET]
        else:
            argv = ["bench.minimal_endpoint", str(port), url.removeprefix("sqlite:///"), SECRET]
        minimal = subprocess.Popen(  # our own module
            [sys.executable, "-m", *argv],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(work / "minimal.log").open("ab"),
        )
        engine = reader(url)
        try:
            wait_until_up(f"http://127.0.0.1:{port}", minimal)
            hook = f"http://127.0.0.1:{port}/webhooks/telegram"
            asyncio.run(post_all(hook, [[telegram_update(1, WARM_UP_CHAT, 0, LINES[0])]], 1))
            cpu = cpu_meter(db, {"endpoint": lambda: [minimal.pid]})
            cpu.start()
            with RssSampler(minimal.pid) as memory:
                result = asyncio.run(post_all(hook, per_chat, in_flight))
                cpu.stop()
                after = memory.now()
            result.pop("began")
            result.update(
                processed_per_s=result["msg_per_s"],  # it does nothing more
                rss_peak_mb=round(memory.peak, 1),
                rss_after_mb=round(after, 1),
                cpu_ms_per_msg=cpu.ms_per(result["accepted"]),
                cores_busy=cpu.cores_busy(result["seconds"]),
            )
            stop(minimal)
            result["rows"] = scalar(engine, "SELECT count(*) FROM update_") - 1
        finally:
            stop(minimal)
            engine.dispose()
    return result


def verdicts(loket: dict[str, Any], minimal: dict[str, Any], sqlite: bool) -> dict[str, Any]:
    """Each target: the measured ratio (or MB) and whether it is met."""
    checks: dict[str, Any] = {
        "accepted_ratio": round(loket["msg_per_s"] / minimal["msg_per_s"], 3),
        "processed_ratio": round(loket["processed_per_s"] / minimal["msg_per_s"], 3),
        "p99_ratio": round(loket["p99_ms"] / minimal["p99_ms"], 2),
    }
    checks["accepted_met"] = checks["accepted_ratio"] >= TARGETS["accepted"]
    checks["processed_met"] = checks["processed_ratio"] >= TARGETS["processed"]
    checks["p99_met"] = checks["p99_ratio"] <= TARGETS["p99"]
    if sqlite:
        checks["memory_met"] = loket["rss_peak_mb"] <= TARGETS["memory_mb"]
    return checks


def _met(flag: bool) -> str:
    return "met" if flag else "MISSED"


def report(
    loket: dict[str, Any], minimal: dict[str, Any], checks: dict[str, Any], sqlite: bool
) -> None:
    """The side-by-side lines for one worker count, targets next to the numbers."""
    print(
        f"  workers={loket['workers']}: accepted {loket['msg_per_s']} msg/s vs minimal "
        f"{minimal['msg_per_s']} = {checks['accepted_ratio']:.2f}x (target >= "
        f"{TARGETS['accepted']}x: {_met(checks['accepted_met'])})"
    )
    print(
        f"    processed {loket['processed_per_s']} msg/s ({loket['replies']} replies, "
        f"{loket['processed_seconds']} s) = {checks['processed_ratio']:.2f}x minimal accepted "
        f"(target >= {TARGETS['processed']}x: {_met(checks['processed_met'])})"
    )
    print(
        f"    p50/p99 {loket['p50_ms']}/{loket['p99_ms']} ms vs minimal {minimal['p50_ms']}/"
        f"{minimal['p99_ms']} ms: p99 {checks['p99_ratio']:.2f}x (target <= "
        f"{TARGETS['p99']}x: {_met(checks['p99_met'])})"
    )
    memory = (
        f" (target <= {TARGETS['memory_mb']:.0f} MB: {_met(checks['memory_met'])})"
        if sqlite
        else ""
    )
    print(
        f"    RSS (whole tree) peak {loket['rss_peak_mb']} MB, after {loket['rss_after_mb']} MB"
        f"{memory}; minimal peak {minimal['rss_peak_mb']} MB, after {minimal['rss_after_mb']} MB"
    )
    print(f"    CPU ms per message: Loket run {_budget(loket)}; minimal run {_budget(minimal)}")


def _budget(run: dict[str, Any]) -> str:
    """`web 0.44, background 0.81, ..., total 1.9 (1.8 cores busy)`."""
    per = run["cpu_ms_per_msg"]
    parts = ", ".join(f"{name} {ms}" for name, ms in per.items() if name != "total")
    return f"{parts}, total {per['total']} ({run['cores_busy']} cores busy)"


def main() -> int:
    """Run Loket (each worker count) and the minimal endpoint; print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL admin URL")
    parser.add_argument("--workers", default="1", help="web workers: 1, or a list: 1,2,4")
    parser.add_argument("--updates", type=int, default=6000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=32)
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    sqlite = not is_postgres(args.db)
    kind = "sqlite" if sqlite else "postgresql"
    per_chat = updates(args.updates, args.chats)
    work = Path(tempfile.mkdtemp(prefix="loket-bench-"))
    print(
        f"{kind}{'' if sqlite else ' ' + shown(args.db)}: {args.updates} updates over "
        f"{args.chats} chats, {args.in_flight} in flight; logs in {work}"
    )
    stack = server_stack()
    print(f"both servers: {stack}")

    runs: list[dict[str, Any]] = []
    with FakeBotApiProcess() as fake:
        for workers in worker_counts:
            print(f"loket serve --workers {workers}: posting ...", flush=True)
            run = run_loket(
                per_chat,
                db=args.db,
                workers=workers,
                in_flight=args.in_flight,
                fake=fake,
                work=work,
            )
            print(f"  {run}", flush=True)
            runs.append(run)
    print("minimal endpoint (one process): posting the same updates ...", flush=True)
    minimal = run_minimal(per_chat, db=args.db, in_flight=args.in_flight, work=work)
    print(f"  {minimal}")

    print(f"Loket vs minimal endpoint, {kind}:")
    for run in runs:
        run["targets"] = verdicts(run, minimal, sqlite)
        report(run, minimal, run["targets"], sqlite)
    scaling: list[dict[str, Any]] = []
    if len(runs) > 1:
        base = runs[0]
        print(f"Scaling ({kind}; ratio to {base['workers']} worker(s)):")
        print("  workers | accepted msg/s | processed msg/s | p99 ms | accepted x | processed x")
        for run in runs:
            row = {
                "workers": run["workers"],
                "accepted_per_s": run["msg_per_s"],
                "processed_per_s": run["processed_per_s"],
                "p99_ms": run["p99_ms"],
                "accepted_x": round(run["msg_per_s"] / base["msg_per_s"], 2),
                "processed_x": round(run["processed_per_s"] / base["processed_per_s"], 2),
            }
            scaling.append(row)
            print(
                f"  {row['workers']:>7} | {row['accepted_per_s']:>14} | "
                f"{row['processed_per_s']:>15} | {row['p99_ms']:>6} | "
                f"{row['accepted_x']:>10} | {row['processed_x']:>11}"
            )
    print(
        json.dumps(
            {
                "db": kind,
                "updates": args.updates,
                "chats": args.chats,
                "in_flight": args.in_flight,
                "server": stack,
                "loket": runs,
                "minimal": minimal,
                "scaling": scaling,
                "targets": TARGETS,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
