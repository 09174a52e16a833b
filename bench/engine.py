"""The step alone: scripted conversations accepted into the inbox, then stepped by the stepper.

Phase one accepts every message, one transaction each, as webhooks do (`Desk.accept`).
Phase two runs `Desk.step_pending` until the inbox is empty, as a background worker does:
each call claims up to 32 chats and steps their messages in order in one transaction.

Usage:
    python bench/engine.py [--messages 10000] [--db sqlite|postgresql://...]

`--db postgresql://user@host/postgres?...` is an admin URL: the run gets a database of its
own, created and dropped (bench/harness.py).

Prints progress lines, then as its last line one JSON object with `messages`,
`messages_per_s` (steps), `p50_ms` and `p99_ms` (per step, averaged within each stepper
transaction), `accept_per_s` with its own p50/p99, and `peak_rss_mb` (plus RSS at each
quarter of the steps, to show memory does not grow with the number of closed cases), and
`cpu_ms_per_step`: the process's user and system CPU over the steps, per step (on PostgreSQL
the wall time also holds the round trips' waits).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import fresh_database  # noqa: E402
from chatbot.clock import SystemClock  # noqa: E402
from chatbot.domain import Inbound  # noqa: E402
from chatbot.runtime.bootstrap import open_desk_for  # noqa: E402
from settings import Settings  # noqa: E402

# Whole cases as clients type them: an Easy one closed by the survey, a Normal one queued,
# an OTP pasted into a Hard one, and a cancelled one.
SCRIPTS = [
    [
        "halo kak",
        "cara tambah akun kasir baru gimana ya kak?",
        "Wulan",
        "outlet Kedai Wulan",
        "oke bisa kak makasih",
        "sangat puas",
        "5",
        "cepat responnya",
    ],
    [
        "P",
        "kak",
        "mau lapor stok ga sama antara pos sm backoffice",
        "udh 2 hari",
        "Rina",
        "outlet Mini Berkah",
        "ss nanti nyusul ya",
    ],
    [
        "halo min",
        "sy gk bisa masuk aplikasi, udh dikirim kode otp 771204 tp tetep gagal",
        "Dimas",
        "domain tokodimas.erzap.id",
        "mau ngobrol sama cs aja",
    ],
    ["selamat siang", "laporan penjualan di BI kosong semua hari ini", ".", "🙏", "batal aja"],
]


def rss_mb() -> float:
    """Current resident memory of this process, from /proc (peak comes from getrusage)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _conversations(count: int, first_chat: int) -> list[Inbound]:
    """`count` client messages: whole scripted cases, one chat each, cut at `count`."""
    messages: list[Inbound] = []
    chat = first_chat
    while len(messages) < count:
        script = SCRIPTS[chat % len(SCRIPTS)]
        messages.extend(
            Inbound(
                channel="telegram", chat_id=str(100000 + chat), message_id=f"{chat}:{i}", text=text
            )
            for i, text in enumerate(script)
        )
        chat += 1
    return messages[:count]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--profile", default="erzap")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL admin URL")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(args.db, Path(tmp), "engine") as url,
    ):
        settings = Settings(database_url=url, profile=args.profile, _env_file=None)  # type: ignore[call-arg]
        engine, desk = open_desk_for(settings, SystemClock())
        warm_up, inbound = _conversations(50, first_chat=0), _conversations(args.messages, 1000)
        for message in warm_up:  # imports, caches and the first pages of SQLite
            desk.receive(message)

        accepts: list[float] = []
        started = time.perf_counter()
        for message in inbound:
            t0 = time.perf_counter()
            desk.accept([message])
            accepts.append((time.perf_counter() - t0) * 1000)
        accept_seconds = time.perf_counter() - started

        latencies: list[float] = []
        quarters: list[float] = []
        stepped = 0
        cpu = os.times()
        started = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            done = desk.step_pending()
            if not done:
                break
            per_step = (time.perf_counter() - t0) * 1000 / done
            latencies.extend([per_step] * done)
            stepped += done
            if len(quarters) < 4 and stepped >= (len(quarters) + 1) * len(inbound) // 4:
                quarters.append(round(rss_mb(), 1))
                print(f"{stepped} messages stepped, rss {quarters[-1]} MB", file=sys.stderr)
        elapsed = time.perf_counter() - started
        cpu_seconds = sum(os.times()[:2]) - sum(cpu[:2])
        engine.dispose()

    accepts.sort()
    latencies.sort()
    result = {
        "messages": len(latencies),
        "messages_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 3),
        "accept_per_s": round(len(accepts) / accept_seconds, 1),
        "accept_p50_ms": round(statistics.median(accepts), 3),
        "accept_p99_ms": round(accepts[int(len(accepts) * 0.99) - 1], 3),
        "cpu_ms_per_step": round(cpu_seconds * 1000 / max(1, len(latencies)), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_mb_by_quarter": quarters,
        "conversations": len({m.chat_id for m in inbound}),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
