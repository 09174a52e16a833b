"""Webhook throughput: `loket serve` against a minimal endpoint, same updates, same load.

Starts a fake Bot API, then `loket serve` aimed at it, and posts N Telegram updates over C
chats (each chat's updates in order, K requests in flight) to /webhooks/telegram. Then it
posts the same updates to a minimal FastAPI endpoint that only checks the secret and inserts
the update into SQLite. It prints accepted messages/s and p50/p99 latency for both, and the
ratio; the last line is one JSON object.

Usage: python -m bench.webhooks [--updates 6000] [--chats 200] [--in-flight 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

SECRET = "bench-telegram-secret-0123456789"
TOKEN = "123456:BENCH-token"
LINES = [
    "halo kak",
    "stok di POS tidak sama dengan backoffice sejak kemarin sore",
    "Rina Wati",
    "outlet Mini Berkah",
    "belum kak, tolong dicek",
    "kapan dibalas kak?",
]


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def updates(total: int, chats: int) -> list[list[dict[str, Any]]]:
    """`total` text updates spread over `chats` private chats, in each chat's order."""
    per_chat: list[list[dict[str, Any]]] = [[] for _ in range(chats)]
    for n in range(total):
        chat = n % chats
        seq = len(per_chat[chat])
        chat_id = 900_000_000 + chat
        per_chat[chat].append(
            {
                "update_id": 100_000 + n,
                "message": {
                    "message_id": seq + 1,
                    "from": {"id": chat_id, "is_bot": False, "first_name": f"Klien {chat}"},
                    "chat": {"id": chat_id, "first_name": f"Klien {chat}", "type": "private"},
                    "date": 1_763_866_800 + n,
                    "text": LINES[seq % len(LINES)],
                },
            }
        )
    return per_chat


async def post_all(
    url: str, per_chat: list[list[dict[str, Any]]], in_flight: int
) -> dict[str, Any]:
    """Post every chat's updates in order, at most `in_flight` at once; time each request."""
    gate = asyncio.Semaphore(in_flight)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    headers = {"x-telegram-bot-api-secret-token": SECRET, "content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one_chat(chat: list[dict[str, Any]]) -> None:
            for update in chat:
                body = json.dumps(update).encode()
                async with gate:
                    started = time.perf_counter()
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                    latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(one_chat(chat) for chat in per_chat))
        elapsed = time.perf_counter() - began
    accepted = statuses.get(200, 0)
    latencies.sort()
    return {
        "accepted": accepted,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(elapsed, 3),
        "msg_per_s": round(accepted / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Poll until the server answers (any status) or fail if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {process.returncode}")
        try:
            with socket.create_connection(
                ("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])), 0.2
            ):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url}: server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask the server to stop (SIGTERM: graceful) and wait for it."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def count(db: Path, sql: str) -> int:
    """One number from a SQLite file."""
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def main() -> int:
    """Run both servers under the same load and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=6000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=32)
    args = parser.parse_args()
    per_chat = updates(args.updates, args.chats)
    root = Path(__file__).resolve().parent.parent
    work = Path(tempfile.mkdtemp(prefix="loket-bench-"))
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": work}

    fake_port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_bot_api", str(fake_port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{fake_port}", fake)
        loket_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
        env.update(
            LOKET_DATABASE_URL=f"sqlite:///{work}/loket.db",
            LOKET_TELEGRAM_TOKEN=TOKEN,
            LOKET_TELEGRAM_SECRET=SECRET,
            LOKET_TELEGRAM_BASE_URL=f"http://127.0.0.1:{fake_port}/bot",
            # Measure the engine, not the limiter (the defaults are Telegram's published limits).
            LOKET_TELEGRAM_MAX_PER_SECOND="100000",
            LOKET_TELEGRAM_MAX_PER_CHAT_PER_SECOND="100000",
            PTB_TIMEDELTA="1",
        )
        loket = subprocess.Popen(
            [sys.executable, "-m", "chatbot", "serve", "--port", str(loket_port)], env=env, **quiet
        )
        try:
            wait_until_up(f"http://127.0.0.1:{loket_port}", loket)
            print(f"loket serve: posting {args.updates} updates over {args.chats} chats ...")
            loket_result = asyncio.run(
                post_all(
                    f"http://127.0.0.1:{loket_port}/webhooks/telegram", per_chat, args.in_flight
                )
            )
            time.sleep(1.0)  # let the outbox catch up before counting
        finally:
            stop(loket)
        loket_result["inbound_rows"] = count(
            work / "loket.db", "SELECT count(*) FROM message WHERE direction = 'in'"
        )
        loket_result["replies_sent"] = count(
            work / "loket.db",
            "SELECT count(*) FROM message WHERE direction = 'out' AND status = 'sent'",
        )
        loket_result["replies_waiting"] = count(
            work / "loket.db", "SELECT count(*) FROM message WHERE status = 'pending'"
        )
        print(f"  {loket_result}")

        minimal_port = free_port()
        minimal = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.minimal_endpoint",
                str(minimal_port),
                str(work / "minimal.db"),
                SECRET,
            ],
            env={**env, "PYTHONPATH": str(root)},
            **quiet,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{minimal_port}", minimal)
            print("minimal endpoint: posting the same updates ...")
            minimal_result = asyncio.run(
                post_all(
                    f"http://127.0.0.1:{minimal_port}/webhooks/telegram", per_chat, args.in_flight
                )
            )
        finally:
            stop(minimal)
        minimal_result["rows"] = count(work / "minimal.db", "SELECT count(*) FROM update_")
        print(f"  {minimal_result}")
    finally:
        stop(fake)

    ratio = loket_result["msg_per_s"] / minimal_result["msg_per_s"]
    print(
        f"Loket {loket_result['msg_per_s']} msg/s (p50 {loket_result['p50_ms']} ms, p99 "
        f"{loket_result['p99_ms']} ms) vs minimal {minimal_result['msg_per_s']} msg/s (p50 "
        f"{minimal_result['p50_ms']} ms, p99 {minimal_result['p99_ms']} ms): ratio {ratio:.2f} "
        f"(target >= 0.50)"
    )
    print(
        json.dumps(
            {
                "updates": args.updates,
                "chats": args.chats,
                "in_flight": args.in_flight,
                "loket": loket_result,
                "minimal": minimal_result,
                "ratio": round(ratio, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
