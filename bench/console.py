"""The agent console under load: 10,000 open cases, 50 agents on the live stream, 20 msg/s.

Usage:
    .venv/bin/python -m bench.console [--cases 10000] [--agents 50] [--rate 20] [--seconds 30]

A fresh SQLite file gets the open cases (bulk inserts: 30% waiting, the rest shared among
the agents) and one login session per agent. `loket`'s real app is served by uvicorn in a
child process, wrapped in a timing middleware: the times printed for opening a case and
sending a reply are server-side (request in to response out). Meanwhile, in this process:

- every agent holds /desk/events open and, like the console's script, re-fetches its list
  (coalesced: one fetch at a time) when the stream says something changed;
- every agent opens one of its cases (the script's `X-Desk-Part: case` request; every fifth
  time the whole page, as a reload does) and replies to it, about once a second each;
- a writer thread feeds client messages through `Desk.receive` at `--rate` per second.

"Live" is the time from a client message's write to the end of the list fetch that the
stream's notice triggered, per agent. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.harness import free_port, stop, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC)
REFRESH_GAP = 1.0  # seconds: the console's script refreshes its list at most this often

SERVER = """
import json, sys, time
import uvicorn
from settings import Settings
from chatbot.web.app import create_app

app = create_app(Settings(), background=False)
timings = []

def kind(method, path, headers):
    if path.startswith("/desk/cases/") and path.endswith("/reply") and method == "POST":
        return "reply"
    if path.startswith("/desk/cases/") and path.count("/") == 3 and method == "GET":
        return "open" if (b"x-desk-part", b"case") in headers else "page"
    if path == "/desk/fragments/queue":
        return "list"
    return None

async def timed(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/bench/timings":
        body = json.dumps(timings).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
        return
    what = kind(scope.get("method"), scope.get("path", ""), scope.get("headers", [])) \\
        if scope["type"] == "http" else None
    start = time.perf_counter()
    try:
        await app(scope, receive, send)
    finally:
        if what:
            timings.append((what, time.perf_counter() - start))

uvicorn.run(timed, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False)
"""


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(path: Path, cases: int, agents: int, seed: int = 14) -> dict[int, list[int]]:
    """Open cases and agents in a migrated SQLite file; returns each agent's case ids."""
    from db.engine import make_engine, migrate

    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    created = _ts(NOW - timedelta(days=30))
    db.executemany(
        "INSERT INTO desk_user (id, name, role, password_hash, active, created_at)"
        " VALUES (?, ?, 'agent', 'x', 1, ?)",
        [(i, f"agent{i:02d}", created) for i in range(1, agents + 1)],
    )
    owned: dict[int, list[int]] = defaultdict(list)
    contacts, rows, messages = [], [], []
    message_id = 0
    for case_id in range(1, cases + 1):
        opened = NOW - timedelta(minutes=rng.uniform(1, 600))
        chat = f"62813{case_id:07d}"
        waiting = rng.random() < 0.3
        agent = None if waiting else rng.randint(1, agents)
        if agent is not None:
            owned[agent].append(case_id)
        contacts.append((case_id, "whatsapp", chat, f"Klien {case_id}", f"+{chat}", _ts(opened)))
        rows.append(
            (case_id, case_id, "whatsapp", chat, "erzap", "id",
             "queued" if waiting else "with_agent", "normal", 120,
             json.dumps({"name": f"Klien {case_id}", "outlet": f"toko{case_id % 500}.erzap.id"}),
             json.dumps({"story": "stok di POS tidak sama dengan back office"}),
             _ts(opened), _ts(opened), _ts(opened), "chat", _ts(opened), agent,
             None if waiting else _ts(opened), _ts(opened + timedelta(minutes=120)))
        )  # fmt: skip
        for direction, author in (("in", "client"), ("out", "bot"), ("in", "client")):
            message_id += 1
            messages.append(
                (message_id, case_id, "whatsapp", chat, direction,
                 f"w{message_id}" if direction == "in" else None, "stok minus di gudang kak",
                 author, "sent" if direction == "out" else None, _ts(opened))
            )  # fmt: skip
    db.executemany(
        "INSERT INTO contact (id, channel, chat_id, display_name, phone, created_at)"
        " VALUES (?,?,?,?,?,?)",
        contacts,
    )
    db.executemany(
        'INSERT INTO "case" (id, contact_id, channel, chat_id, profile, locale, state, category,'
        " sla_minutes, fields_json, context_json, opened_at, updated_at, queued_at, source,"
        " handed_off_at, assignee_id, assigned_at, sla_due_at)"
        " VALUES (" + ",".join("?" * 19) + ")",
        rows,
    )
    db.executemany(
        "INSERT INTO message (id, case_id, channel, chat_id, direction, external_id, text,"
        " author, status, created_at, kind, attempts)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,'text',0)",
        messages,
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return owned


def sessions(url: str, agents: int) -> dict[int, tuple[str, str]]:
    """One login session per agent: (cookie token, CSRF token)."""
    from chatbot.admin.accounts import Accounts
    from chatbot.clock import SystemClock
    from db.engine import make_engine

    engine = make_engine(url)
    accounts = Accounts(engine, SystemClock())
    found = {agent: accounts.start_session(agent) for agent in range(1, agents + 1)}
    engine.dispose()
    return found


class Writer(threading.Thread):
    """Client messages through the real ingress at `rate` per second; notes when each landed."""

    def __init__(self, url: str, chats: list[str], rate: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self.url, self.chats, self.rate, self.seconds = url, chats, rate, seconds
        self.sent: list[tuple[int, float]] = []  # (message id, when its write began)
        self.lag: list[float] = []

    def run(self) -> None:
        """Write the messages at the rate, until the time is up."""
        from chatbot.domain import Inbound
        from settings import Settings

        os.environ["LOKET_DATABASE_URL"] = self.url
        from chatbot.web.app import create_app

        desk = create_app(Settings(), background=False).state.desk
        reader = sqlite3.connect(self.url.removeprefix("sqlite:///"))
        rng = random.Random(5)
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < self.seconds:
            due = start + n / self.rate
            if due > time.perf_counter():
                time.sleep(due - time.perf_counter())
            began = time.perf_counter()
            desk.receive(
                Inbound(
                    channel="whatsapp",
                    chat_id=rng.choice(self.chats),
                    message_id=f"bench-{n}",
                    text="kak gimana, sudah dicek?",
                )
            )
            (last,) = reader.execute("SELECT max(id) FROM message").fetchone()
            self.sent.append((int(last), began))
            self.lag.append(time.perf_counter() - began)
            n += 1


async def agent_stream(
    client: httpx.AsyncClient, writer: Writer, live: list[float], stop_at: float
) -> None:
    """The console's script: on each notice, fetch the list once (coalesced) and note lag."""
    seen = 0  # index into writer.sent of the first message this agent has not seen yet
    busy = False
    last = [0.0]  # when this agent's last list fetch began

    async def refresh(upto: int) -> None:
        nonlocal busy, seen
        try:
            await asyncio.sleep(max(0.0, last[0] + REFRESH_GAP - time.perf_counter()))
            last[0] = time.perf_counter()
            await client.get("/desk/fragments/queue?view=mine")
            done = time.perf_counter()
            while seen < len(writer.sent) and writer.sent[seen][0] <= upto:
                live.append(done - writer.sent[seen][1])
                seen += 1
        finally:
            busy = False

    with_timeout = httpx.Timeout(None, connect=10)
    async with client.stream("GET", "/desk/events", timeout=with_timeout) as answer:
        first = True
        async for line in answer.aiter_lines():
            if time.perf_counter() > stop_at:
                break
            if not line.startswith("data:"):
                continue
            mark = json.loads(line[5:])
            if first:  # the stream's opening line: what was there before
                first = False
                while seen < len(writer.sent) and writer.sent[seen][0] <= mark["message"]:
                    seen += 1
                continue
            if not busy:  # as the script: one at a time, at most one per REFRESH_GAP
                busy = True
                asyncio.get_running_loop().create_task(refresh(mark["message"]))


async def agent_work(
    client: httpx.AsyncClient, csrf: str, cases: list[int], stop_at: float, seed: int
) -> int:
    """Open one of my cases, reply, about once a second; every fifth open is a reload."""
    rng = random.Random(seed)
    n = 0
    await asyncio.sleep(rng.uniform(0, 1))
    while time.perf_counter() < stop_at and cases:
        case_id = rng.choice(cases)
        if n % 5 == 4:
            await client.get(f"/desk/cases/{case_id}")
        else:
            await client.get(f"/desk/cases/{case_id}", headers={"X-Desk-Part": "case"})
        await asyncio.sleep(0.5)
        answer = await client.post(
            f"/desk/cases/{case_id}/reply",
            data={"text": f"Baik kak, kami cek dulu ya ({n})"},
            headers={"X-CSRF-Token": csrf},
        )
        assert answer.status_code == 303, answer.text[:300]
        n += 1
        await asyncio.sleep(0.5)
    return n


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(
    base: str, url: str, owned: dict[int, list[int]], agents: int, rate: float, seconds: float
) -> dict[str, Any]:
    """The agents' streams and work, and the writer, for `seconds`."""
    from chatbot.web.auth import COOKIE

    keys = sessions(url, agents)
    chats = [f"62813{c:07d}" for cases in owned.values() for c in cases]
    writer = Writer(url, chats, rate, seconds)
    live: list[float] = []
    stop_at = time.perf_counter() + seconds + 2
    clients = [
        httpx.AsyncClient(base_url=base, cookies={COOKIE: keys[a][0]}, timeout=30)
        for a in range(1, agents + 1)
    ]
    streams = [
        asyncio.create_task(agent_stream(clients[a - 1], writer, live, stop_at))
        for a in range(1, agents + 1)
    ]
    await asyncio.sleep(1)  # the streams are open before the first message
    writer.start()
    done = await asyncio.gather(
        *(
            agent_work(clients[a - 1], keys[a][1], owned.get(a, []), stop_at - 2, a)
            for a in range(1, agents + 1)
        )
    )
    writer.join()
    await asyncio.sleep(1.5)
    for task in streams:
        task.cancel()
    await asyncio.gather(*streams, return_exceptions=True)
    for client in clients:
        await client.aclose()
    return {"replies": sum(done), "live": live, "writer": writer}


def main(argv: list[str] | None = None) -> int:
    """Generate, serve, load, print; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="client messages per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="loket-console-"))
    path = work / "console.db"
    url = f"sqlite:///{path}"
    started = time.perf_counter()
    owned = generate(path, args.cases, args.agents)
    print(f"generated {args.cases} open cases in {time.perf_counter() - started:.1f} s")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env.update(LOKET_DATABASE_URL=url, PYTHONPATH=str(ROOT))
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=work, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server, path="/healthz")
        result = asyncio.run(load(base, url, owned, args.agents, args.rate, args.seconds))
        timings = httpx.get(f"{base}/bench/timings").json()
    finally:
        stop(server)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, seconds in timings:
        by_kind[kind].append(seconds * 1000)
    live_ms = [s * 1000 for s in result["live"]]
    writer: Writer = result["writer"]
    figures: dict[str, Any] = {
        "cases": args.cases,
        "agents": args.agents,
        "client_msgs": len(writer.sent),
        "client_msg_per_s": round(len(writer.sent) / args.seconds, 1),
        "replies": result["replies"],
    }
    for kind in ("open", "page", "reply", "list"):
        values = by_kind.get(kind, [])
        figures[f"{kind}_n"] = len(values)
        figures[f"{kind}_p50_ms"] = round(_pct(values, 0.5), 1)
        figures[f"{kind}_p95_ms"] = round(_pct(values, 0.95), 1)
    figures["live_n"] = len(live_ms)
    figures["live_p50_ms"] = round(_pct(live_ms, 0.5), 1)
    figures["live_p95_ms"] = round(_pct(live_ms, 0.95), 1)
    figures["live_within_1s_pct"] = round(
        100 * sum(1 for v in live_ms if v <= 1000) / max(len(live_ms), 1), 1
    )
    figures["ingress_p95_ms"] = round(_pct([s * 1000 for s in writer.lag], 0.95), 1)
    print(
        f"open a case (script)  p50 {figures['open_p50_ms']} ms  p95 {figures['open_p95_ms']} ms"
        f"  (n={figures['open_n']}; whole page p95 {figures['page_p95_ms']} ms)"
    )
    print(
        f"send a reply          p50 {figures['reply_p50_ms']} ms  p95 {figures['reply_p95_ms']}"
        f" ms  (n={figures['reply_n']})"
    )
    print(
        f"live update           p50 {figures['live_p50_ms']} ms  p95 {figures['live_p95_ms']} ms"
        f"  ({figures['live_within_1s_pct']}% within 1 s, n={figures['live_n']})"
    )
    print(f"list fragment         p95 {figures['list_p95_ms']} ms (n={figures['list_n']})")
    print(
        f"client messages       {figures['client_msg_per_s']}/s, write p95 "
        f"{figures['ingress_p95_ms']} ms"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
