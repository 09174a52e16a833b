"""The slow-body attack: many unauthenticated posts that send most of a large body, then stall.

Starts one web worker (uvicorn, this checkout or `--source DIR`) on a SQLite file, opens
`--connections` connections to /webhooks/twilio, each sending the headers (with some
X-Twilio-Signature, which the server can check only after the body), a Content-Length just
under LOKET_MAX_WEBHOOK_BYTES and all but the last kilobyte of the body, and keeps them open.
Prints the worker's resident memory before and while the connections stall, and how the
requests were answered. Run it against an older checkout (`git archive REV | tar -x -C DIR`)
to compare.

Usage: python -m bench.slow_bodies [--connections 200] [--source DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BODY = 990_000  # under the default 1,000,000-byte limit
SERVE = (
    "import uvicorn, sys; from settings import Settings; from chatbot.web.app import create_app;"
    "app = create_app(Settings(), background=False);"
    "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')"
)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def stall(port: int, answers: Counter[str], hold: asyncio.Event) -> None:
    """Send all but the last kilobyte of a signed-looking Twilio post; wait; note the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /webhooks/twilio HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Twilio-Signature: not-checked-yet\r\nContent-Length: {BODY + 1000}\r\n\r\n"
    )
    try:
        writer.write(head.encode() + b"a" * BODY)
        await writer.drain()
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=0.5)
        except TimeoutError:
            line = b""
        answers[line.decode(errors="replace").strip() or "no answer yet (body held)"] += 1
        await hold.wait()
    except OSError as exc:
        answers[f"connection error: {type(exc).__name__}"] += 1
    finally:
        writer.close()


async def attack(port: int, connections: int, pid: int) -> tuple[float, Counter[str]]:
    """Stall `connections` bodies at once; the worker's peak memory and the answers."""
    answers: Counter[str] = Counter()
    hold = asyncio.Event()
    tasks = [asyncio.create_task(stall(port, answers, hold)) for _ in range(connections)]
    await asyncio.sleep(5)  # every body sent as far as it goes
    peak = rss_mb(pid)
    hold.set()
    await asyncio.gather(*tasks)
    return peak, answers


def main(argv: list[str]) -> int:
    """Run the attack once and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.slow_bodies")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
        env.update(LOKET_DATABASE_URL=f"sqlite:///{tmp}/loket.db", PYTHONPATH=str(args.source))
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(port)], env=env, cwd=args.source
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            before = rss_mb(server.pid)
            peak, answers = asyncio.run(attack(port, args.connections, server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"source: {args.source}")
    print(f"{args.connections} stalled bodies of {BODY:,} bytes")
    print(f"worker memory: {before:.0f} MB idle, {peak:.0f} MB while they stall")
    for answer, count in answers.most_common():
        print(f"  {count} x {answer}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
