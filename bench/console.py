"""The agent console under load: 10,000 open cases, 50 agents on the live stream, 20 msg/s.

Usage:
    .venv/bin/python -m bench.console [--cases 10000] [--agents 50] [--rate 20] [--seconds 30]
        [--workers 1] [--think 5]

A fresh SQLite file gets the open cases (bulk inserts: 30% waiting, the rest shared among
the agents) and one login session per agent. `loket`'s real app is served by uvicorn in a
child process (`--workers N`: N worker processes, each with its own change poller), wrapped
in a timing middleware: the times printed for opening a case and sending a reply are
server-side (request in to response out). Meanwhile, in this process:

- every agent holds /desk/events open and does what the console's script (desk.js) does with
  its notices: a notice naming cases in the agent's list (or cases the agent owns) patches
  those rows and the tab counts (`rows=`), one naming the open case re-fetches its
  transcript, and one saying lists moved (`counts`/`all`) re-fetches the whole list; at most
  one request at a time and one per second;
- every agent opens one of its cases (the script's `X-Desk-Part: case` request; every fifth
  time the whole page, as a reload does), reads it for `--think` seconds (5: an agent who
  reads and types; 0.5 is a stress test no person keeps up), replies, waits as long, again; the
  reply's redirect is followed as the script's fetch does (the panes again, timed as an open),
  and its row is patched when the stream names it, like any other change;
- a writer thread feeds client messages through `Desk.receive` at `--rate` per second.

"Live" is the time from a client message's write to the end of its owner's request that put
it on the owner's screen (the row patch, or the list), and "noticed" the time until every
other agent's stream had named it. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
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

from bench.harness import free_port, stop, tree, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC)
REFRESH_GAP = 0.5  # seconds: the console's script (desk.js) refreshes at most this often

SERVER = """
import json, os, sys, time
import uvicorn
from settings import Settings
from chatbot.web.app import create_app

app = create_app(Settings(), background=False)
log = open(f"timings-{os.getpid()}.jsonl", "a", buffering=1)  # one file per worker process

def kind(method, path, headers, query):
    if path.startswith("/desk/cases/") and path.endswith("/reply") and method == "POST":
        return "reply"
    if path.startswith("/desk/cases/") and path.count("/") == 3 and method == "GET":
        return "open" if (b"x-desk-part", b"case") in headers else "page"
    if path.startswith("/desk/cases/") and path.endswith("/fragment"):
        return "transcript"
    if path == "/desk/fragments/queue":
        return "patch" if b"rows=" in query else "list"
    return None

async def timed(scope, receive, send):
    what = kind(scope.get("method"), scope.get("path", ""), scope.get("headers", []),
                scope.get("query_string", b"")) if scope["type"] == "http" else None
    start = time.perf_counter()
    try:
        await app(scope, receive, send)
    finally:
        if what:
            log.write(json.dumps([what, time.perf_counter() - start]) + "\\n")

if __name__ == "__main__":
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    uvicorn.run("benchserver:timed" if workers > 1 else timed, host="127.0.0.1", port=port,
                workers=workers, log_level="warning", access_log=False)
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
        self.sent: list[tuple[int, float, int]] = []  # (message id, write began, case id)
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
            chat = rng.choice(self.chats)
            desk.receive(
                Inbound(
                    channel="whatsapp",
                    chat_id=chat,
                    message_id=f"bench-{n}",
                    text="kak gimana, sudah dicek?",
                )
            )
            (last,) = reader.execute("SELECT max(id) FROM message").fetchone()
            self.sent.append((int(last), began, int(chat[5:])))
            self.lag.append(time.perf_counter() - began)
            n += 1


ROW = re.compile(rb'class="case-row[^"]*" data-case="(\d+)"')
MESSAGE_ID = re.compile(rb'<li class="[^"]*" data-id="(\d+)"')
OWNER: dict[int, int] = {}  # case id -> the agent who owns it


class Console:
    """One agent's console script (desk.js): what it re-fetches, and when."""

    def __init__(self, client: httpx.AsyncClient, me: int, writer: Writer) -> None:
        self.client, self.me, self.writer = client, me, writer
        self.shown: set[int] = set()  # the case ids of the rows in the agent's list
        self.open_case = 0
        self.shown_message = 0  # the newest message id of the open case's transcript
        self.want_list = self.want_counts = self.want_transcript = False
        self.want_rows: set[int] = set()
        self.busy = False
        self.last = 0.0  # when the last refresh began
        self.seen = 0  # index into writer.sent of the first message not yet noticed
        self.pending: list[float] = []  # my clients' messages noticed, not yet on my screen
        self.live: list[float] = []
        self.noticed: list[float] = []

    async def load_list(self) -> None:
        """The page's list (the agent's Mine tab), as the first page load shows it."""
        answer = await self.client.get("/desk/fragments/queue?view=mine")
        self.shown = {int(i) for i in ROW.findall(answer.content)}

    def notice(self, mark: dict[str, Any]) -> None:
        """A line of /desk/events, handled as the script does."""
        now = time.perf_counter()
        sent = self.writer.sent
        while self.seen < len(sent) and sent[self.seen][0] <= mark["message"]:
            _, began, case_id = sent[self.seen]
            if OWNER.get(case_id) == self.me:
                self.pending.append(began)
            else:
                self.noticed.append(now - began)
            self.seen += 1
        if "cases" not in mark:  # the opening line: what was there before
            self.pending.clear()
            return
        if mark["all"] or mark["counts"]:
            self.want_list = self.want_transcript = True
        else:
            self.want_rows |= {c for c in mark["cases"] if c in self.shown}
            self.want_counts |= self.me in mark["owners"]
            self.want_transcript |= self.open_case in mark["cases"] and not self.shows(mark)
        self.schedule()

    def shows(self, mark: dict[str, Any]) -> bool:
        """The script's alreadyShown: the open case's news is only the agent's own reply."""
        newest = mark["newest"].get(str(self.open_case))
        return (
            newest is not None
            and self.open_case not in mark["events"]
            and (newest <= self.shown_message)
        )

    def schedule(self) -> None:
        """One refresh at a time, at most one per REFRESH_GAP."""
        wanted = self.want_list or self.want_rows or self.want_counts or self.want_transcript
        if wanted and not self.busy:
            self.busy = True
            asyncio.get_running_loop().create_task(self.refresh())

    async def refresh(self) -> None:
        """The script's refreshLive: list or rows, then the transcript."""
        try:
            await asyncio.sleep(max(0.0, self.last + REFRESH_GAP - time.perf_counter()))
            self.last = time.perf_counter()
            covered, self.pending = self.pending, []
            rows, counts, whole = sorted(self.want_rows), self.want_counts, self.want_list
            transcript = self.want_transcript
            self.want_rows, self.want_counts = set(), False
            self.want_list = self.want_transcript = False
            if whole:
                await self.load_list()
            elif rows or counts:
                await self.client.get(
                    "/desk/fragments/queue?view=mine&rows=" + ",".join(map(str, rows))
                )
            done = time.perf_counter()
            self.live.extend(done - began for began in covered)
            if transcript and self.open_case:
                await self.client.get(f"/desk/cases/{self.open_case}/fragment")
        finally:
            self.busy = False
            self.schedule()


async def agent_stream(console: Console, stop_at: float) -> None:
    """The console's event stream: every notice goes to the script's handler."""
    with_timeout = httpx.Timeout(None, connect=10)
    async with console.client.stream("GET", "/desk/events", timeout=with_timeout) as answer:
        async for line in answer.aiter_lines():
            if time.perf_counter() > stop_at:
                break
            if line.startswith("data:"):
                console.notice(json.loads(line[5:]))


async def agent_work(
    console: Console, csrf: str, cases: list[int], stop_at: float, seed: int, think: float
) -> int:
    """Open one of my cases, read it for `think` seconds, reply, wait `think` seconds, again.

    Every fifth open is a reload.
    """
    client = console.client
    rng = random.Random(seed)
    n = 0
    await asyncio.sleep(rng.uniform(0, 2 * think))
    while time.perf_counter() < stop_at and cases:
        case_id = rng.choice(cases)
        if (n + seed) % 5 == 4:
            await client.get(f"/desk/cases/{case_id}")
        else:
            await client.get(f"/desk/cases/{case_id}", headers={"X-Desk-Part": "case"})
        console.open_case = case_id
        await asyncio.sleep(think)
        answer = await client.post(
            f"/desk/cases/{case_id}/reply",
            data={"text": f"Baik kak, kami cek dulu ya ({n})"},
            headers={"X-CSRF-Token": csrf},
        )
        assert answer.status_code == 303, answer.text[:300]
        # the script's fetch follows the redirect: the panes with the reply in the transcript
        panes = await client.get(answer.headers["location"], headers={"X-Desk-Part": "case"})
        console.shown_message = max(map(int, MESSAGE_ID.findall(panes.content)), default=0)
        n += 1
        await asyncio.sleep(think)
    return n


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server and its worker processes."""
    total = 0
    for each in tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(
    base: str,
    url: str,
    owned: dict[int, list[int]],
    agents: int,
    rate: float,
    seconds: float,
    think: float,
) -> dict[str, Any]:
    """The agents' streams and work, and the writer, for `seconds`."""
    from chatbot.web.auth import COOKIE

    keys = sessions(url, agents)
    chats = [f"62813{c:07d}" for cases in owned.values() for c in cases]
    OWNER.update({c: agent for agent, cases in owned.items() for c in cases})
    writer = Writer(url, chats, rate, seconds)
    stop_at = time.perf_counter() + seconds + 2
    clients = [
        httpx.AsyncClient(base_url=base, cookies={COOKIE: keys[a][0]}, timeout=30)
        for a in range(1, agents + 1)
    ]
    consoles = [Console(clients[a - 1], a, writer) for a in range(1, agents + 1)]
    await asyncio.gather(*(c.load_list() for c in consoles))
    streams = [asyncio.create_task(agent_stream(c, stop_at)) for c in consoles]
    await asyncio.sleep(1)  # the streams are open before the first message
    writer.start()
    done = await asyncio.gather(
        *(
            agent_work(consoles[a - 1], keys[a][1], owned.get(a, []), stop_at - 2, a, think)
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
    live = [v for c in consoles for v in c.live]
    noticed = [v for c in consoles for v in c.noticed]
    return {"replies": sum(done), "live": live, "noticed": noticed, "writer": writer}


def main(argv: list[str] | None = None) -> int:
    """Generate, serve, load, print; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="client messages per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--think",
        type=float,
        default=5.0,
        help="seconds an agent reads a case before replying, and waits after (0.5: stress)",
    )
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
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{work}"  # the workers import benchserver
    (work / "benchserver.py").write_text(SERVER)
    command = [sys.executable, str(work / "benchserver.py"), str(port), str(args.workers)]
    server = subprocess.Popen(command, cwd=work, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server, path="/healthz")
        for _ in range(args.workers * 4):  # every worker has started its app
            httpx.get(f"{base}/healthz")
        cpu_before = _tree_cpu(server.pid)
        began = time.perf_counter()
        result = asyncio.run(
            load(base, url, owned, args.agents, args.rate, args.seconds, args.think)
        )
        wall = time.perf_counter() - began
        server_cpu = _tree_cpu(server.pid) - cpu_before
    finally:
        stop(server)
    timings = [
        json.loads(line)
        for log in work.glob("timings-*.jsonl")
        for line in log.read_text().splitlines()
    ]
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, seconds in timings:
        by_kind[kind].append(seconds * 1000)
    live_ms = [s * 1000 for s in result["live"]]
    writer: Writer = result["writer"]
    figures: dict[str, Any] = {
        "cases": args.cases,
        "agents": args.agents,
        "workers": args.workers,
        "think_s": args.think,
        "client_msgs": len(writer.sent),
        "client_msg_per_s": round(len(writer.sent) / args.seconds, 1),
        "replies": result["replies"],
    }
    for kind in ("open", "page", "reply", "list", "patch", "transcript"):
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
    noticed_ms = [s * 1000 for s in result["noticed"]]
    figures["noticed_n"] = len(noticed_ms)
    figures["noticed_p95_ms"] = round(_pct(noticed_ms, 0.95), 1)
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
    print(f"other agents noticed  p95 {figures['noticed_p95_ms']} ms (n={figures['noticed_n']})")
    print(
        f"list fragment         p95 {figures['list_p95_ms']} ms (n={figures['list_n']}); row"
        f" patch p95 {figures['patch_p95_ms']} ms (n={figures['patch_n']}); transcript p95"
        f" {figures['transcript_p95_ms']} ms (n={figures['transcript_n']})"
    )
    print(
        f"client messages       {figures['client_msg_per_s']}/s, write p95 "
        f"{figures['ingress_p95_ms']} ms"
    )
    figures["load_average"] = round(os.getloadavg()[0], 1)  # the machine's, while it ran
    figures["server_cpu_s"] = round(server_cpu, 1)
    figures["server_cores_used"] = round(server_cpu / wall, 2)
    figures["server_cpu_ms_per_request"] = round(1000 * server_cpu / max(len(timings), 1), 1)
    print(
        f"server processes      {figures['server_cores_used']} cores busy on average"
        f" ({figures['server_cpu_s']} CPU s in {wall:.0f} s;"
        f" {figures['server_cpu_ms_per_request']}"
        f" CPU ms per timed request, streams included); load average {figures['load_average']}"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
