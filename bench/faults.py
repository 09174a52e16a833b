"""Faults: kill -9 `loket serve`'s children under load; check nothing is lost or disordered.

Posts N Telegram updates over M chats (each chat's updates one after another; a share of
them delivered twice, half of those twice at once) to `loket serve --workers W`, whose
replies go to a fake Bot API that takes `--delay` seconds per sendMessage. At random moments
while the updates go in, it kills -9 `--kills` of serve's children (web workers, found by
`chatbot.runtime.web_worker` in their command line, or the background worker, `chatbot
worker`; the first two kills take one of each, the others either). Like Telegram, the client
posts again every update that did not get 200 until it does. Then it waits until the inbox is
fully stepped and the outbox empty, and checks:

- acknowledged updates lost: every update that got 200 has an inbox row and a transcript
  `message` row (direction 'in');
- stored twice: inbox rows or transcript rows with the same provider message id;
- chats stored out of order: a chat's transcript (by message id) differs from its send order;
- chats whose replies reached the fake out of the stored order (outbound message ids);
- replies sent twice, counted at the fake by (chat, text, position in the chat's stored
  replies), against the sends in flight at the kills of the background worker (the bound):
  the replies its outbox had claimed and not yet recorded, which is what a kill sends again
  (a send that returned but whose result was not committed yet is still in flight); and at
  most one per chat per such kill, since a chat's replies leave one at a time. The sends
  the fake itself was answering at each kill are printed for context. Each lease names
  its worker (`message.leased_by`), so with several background workers (`--workers N` on
  PostgreSQL) only the killed one's claims count.

It prints each check, asserts the five, and ends with one JSON line. tests/test_faults.py runs
it smaller.

Usage: python -m bench.faults [--db sqlite|postgresql://...] [--workers 1] [--updates 10000]
       [--chats 1000] [--duplicates 0.1] [--kills 3] [--delay 0.2] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import Engine, text

from bench.harness import (
    HEADERS,
    FakeBotApiProcess,
    fresh_database,
    is_postgres,
    loket_env,
    reader,
    scalar,
    serve,
    serve_workers,
    shown,
)
from bench.webhooks import LINES, telegram_update
from chatbot.frontdesk.outbox import worker_name


@dataclass
class Kill:
    """One kill -9: which child, when (time.monotonic), and what was in flight then."""

    kind: str
    pid: int
    at: float
    acknowledged: int
    claimed_unrecorded: int
    in_flight_at_fake: int = 0


@dataclass
class Client:
    """The Telegram side: what was sent, in which order, and what got 200."""

    url: str
    in_flight: int
    acknowledged: set[str] = field(default_factory=set)
    order: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    posts: int = 0
    not_200: Counter[str] = field(default_factory=Counter)

    async def deliver(
        self, session: aiohttp.ClientSession, gate: asyncio.Semaphore, update: dict[str, Any]
    ) -> None:
        """Post until 200, as Telegram does (it retries anything else)."""
        body = json.dumps(update).encode()
        while True:
            async with gate:
                self.posts += 1
                try:
                    async with session.post(self.url, data=body, headers=HEADERS) as response:
                        await response.read()
                        status = str(response.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
            if status == "200":
                self.acknowledged.add(external_id(update))
                return
            self.not_200[status] += 1
            await asyncio.sleep(0.1)


def external_id(update: dict[str, Any]) -> str:
    """The inbox's and the transcript's id for a Telegram message: chat:message."""
    message = update["message"]
    return f"{message['chat']['id']}:{message['message_id']}"


def traffic(
    total: int, chats: int, duplicates: float, rng: random.Random
) -> list[list[tuple[dict[str, Any], str]]]:
    """Each chat's updates in order, each marked "once", "twice" or "together" (at once)."""
    per_chat: list[list[tuple[dict[str, Any], str]]] = [[] for _ in range(chats)]
    for n in range(total):
        chat = n % chats
        seq = len(per_chat[chat])
        update = telegram_update(500_000 + n, 910_000_000 + chat, seq, LINES[seq % len(LINES)])
        mode = "once"
        if rng.random() < duplicates:
            mode = "together" if rng.random() < 0.5 else "twice"
        per_chat[chat].append((update, mode))
    return per_chat


# The fake answers in `delay` (0.2 s), but on a loaded CI machine a claimed reply can wait
# seconds for its turn to send and be recorded: 30 s keeps the lease above that, and the
# replies claimed at a kill go out again 30 s later instead of after the default minute.
LEASE_SECONDS = 30


def wait_dead(pid: int, timeout: float = 5.0) -> None:
    """Until the killed process is gone or a zombie (its parent reaps it later)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.005)


def claimed_unrecorded(engine: Engine, pid: int) -> set[int]:
    """Replies this worker's outbox leased (due_at pushed LEASE_SECONDS ahead), not recorded.

    A lease names its worker (`message.leased_by`), so the other background workers' claims
    do not count.
    """
    owner = worker_name(pid)
    half = LEASE_SECONDS // 2
    later = (
        f"now() + interval '{half} seconds'"
        if engine.dialect.name == "postgresql"
        else f"datetime('now', '+{half} seconds')"
    )
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT id FROM message WHERE direction = 'out' AND status = 'pending'"
                f" AND due_at > {later} AND leased_by = :owner"
            ),
            {"owner": owner},
        )
        return {int(r[0]) for r in found}


async def drive(
    client: Client,
    per_chat: list[list[tuple[dict[str, Any], str]]],
    *,
    serve_pid: int,
    kills: int,
    engine: Engine,
    rng: random.Random,
) -> list[Kill]:
    """Send every chat's updates in order while killing serve's children at random moments."""
    total = sum(len(chat) for chat in per_chat)
    moments = sorted(rng.uniform(0.1, 0.9) * total for _ in range(kills))
    kinds = ["web", "background", *(rng.choice(["web", "background"]) for _ in range(kills))]
    kinds = kinds[:kills]
    rng.shuffle(kinds)
    done: list[Kill] = []
    gate = asyncio.Semaphore(client.in_flight)
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=client.in_flight)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one_chat(chat: list[tuple[dict[str, Any], str]]) -> None:
            for update, mode in chat:
                client.order[str(update["message"]["chat"]["id"])].append(external_id(update))
                if mode == "together":
                    await asyncio.gather(
                        client.deliver(session, gate, update),
                        client.deliver(session, gate, update),
                    )
                    continue
                await client.deliver(session, gate, update)
                if mode == "twice":
                    await client.deliver(session, gate, update)

        async def killer() -> None:
            for moment, kind in zip(moments, kinds, strict=True):
                while len(client.acknowledged) < moment:  # noqa: ASYNC110  # a plain poll
                    await asyncio.sleep(0.02)
                while True:  # a child killed before may still be starting again
                    web, background = serve_workers(serve_pid)
                    pids = web if kind == "web" else background
                    if pids:
                        break
                    await asyncio.sleep(0.05)
                pid = rng.choice(pids)
                os.kill(pid, signal.SIGKILL)
                killed_at = time.monotonic()
                leased = 0
                if kind == "background":
                    # Counted once it is dead: its claims stay leased (LEASE_SECONDS) and
                    # nobody records them, so this is exactly what it had in flight. A count
                    # taken before the kill missed what it claimed in between.
                    await asyncio.to_thread(wait_dead, pid)
                    leased = len(await asyncio.to_thread(claimed_unrecorded, engine, pid))
                done.append(Kill(kind, pid, killed_at, len(client.acknowledged), leased))
                held = f" ({leased} replies claimed, not recorded)" if kind == "background" else ""
                print(
                    f"  kill -9 {kind} worker pid {pid} after {len(client.acknowledged)} "
                    f"acknowledged updates{held}",
                    flush=True,
                )

        await asyncio.gather(killer(), *(one_chat(chat) for chat in per_chat))
    return done


def wait_until_quiet(engine: Engine, timeout: float) -> float:
    """Wait until every inbox message is stepped and the outbox is empty; seconds waited."""
    started = time.monotonic()
    while True:
        unstepped = scalar(engine, "SELECT count(*) FROM inboxmessage WHERE stepped_at IS NULL")
        pending = scalar(engine, "SELECT count(*) FROM message WHERE status = 'pending'")
        if not unstepped and not pending:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise RuntimeError(
                f"not quiet after {timeout} s: {unstepped} unstepped, {pending} pending"
            )
        time.sleep(0.5)


def check_inbound(engine: Engine, client: Client) -> dict[str, Any]:
    """Lost, stored twice, and chats stored out of order (inbox and transcript)."""
    with engine.connect() as conn:
        inbox = Counter(r[0] for r in conn.execute(text("SELECT external_id FROM inboxmessage")))
        transcript_rows = list(
            conn.execute(
                text("SELECT chat_id, external_id FROM message WHERE direction = 'in' ORDER BY id")
            )
        )
    transcript = Counter(r[1] for r in transcript_rows)
    stored: dict[str, list[str]] = defaultdict(list)
    for chat_id, ext in transcript_rows:
        stored[chat_id].append(ext)
    lost = [e for e in client.acknowledged if not inbox[e] or not transcript[e]]
    twice = [e for e, n in inbox.items() if n > 1] + [e for e, n in transcript.items() if n > 1]
    disordered = [chat for chat, sent in client.order.items() if stored.get(chat, []) != sent]
    return {
        "acknowledged": len(client.acknowledged),
        "inbox_rows": sum(inbox.values()),
        "transcript_in_rows": sum(transcript.values()),
        "lost": len(lost),
        "stored_twice": len(twice),
        "chats_out_of_order": len(disordered),
        "examples": {"lost": lost[:5], "twice": twice[:5], "out_of_order": disordered[:5]},
    }


def check_replies(engine: Engine, log: list[dict[str, Any]]) -> dict[str, Any]:
    """Replies at the fake against the outbox's stored order, per chat: order, twice, missing.

    Each send is matched to the chat's stored replies (outbound ids ascending) in turn; a
    send equal to the reply just matched is that reply again (a duplicate at its position);
    anything else is out of order.
    """
    with engine.connect() as conn:
        rows = list(
            conn.execute(
                text(
                    "SELECT chat_id, text, status FROM message WHERE direction = 'out' ORDER BY id"
                )
            )
        )
    expected: dict[str, list[str]] = defaultdict(list)
    statuses: Counter[str] = Counter()
    for chat_id, said, status in rows:
        statuses[status] += 1
        if status == "sent":
            expected[chat_id].append(said)
    got: dict[str, list[str]] = defaultdict(list)
    for entry in sorted(log, key=lambda e: e["arrived"]):
        got[entry["chat_id"]].append(entry["text"])
    duplicates: Counter[tuple[str, str, int]] = Counter()
    disordered: list[str] = []
    missing = 0
    for chat in set(expected) | set(got):
        want, position = expected.get(chat, []), 0
        for said in got.get(chat, []):
            if position < len(want) and said == want[position]:
                position += 1
            elif position > 0 and said == want[position - 1]:
                duplicates[(chat, said, position - 1)] += 1
            else:
                disordered.append(chat)
                break
        else:
            missing += len(want) - position
    return {
        "outbound_rows": len(rows),
        "outbound_by_status": dict(statuses),
        "sends_at_fake": len(log),
        "replies_sent_twice": sum(duplicates.values()),
        "most_sent_twice_in_one_chat": max(
            Counter(chat for chat, _, _ in duplicates.elements()).values(), default=0
        ),
        "chats_replies_out_of_order": len(disordered),
        "replies_missing_at_fake": missing,
        "examples": {
            "twice": [list(k) for k in list(duplicates)[:5]],
            "out_of_order": disordered[:5],
        },
    }


def in_flight_at(log: list[dict[str, Any]], moment: float) -> int:
    """SendMessage calls the fake had received and not yet answered at `moment`."""
    return sum(
        1 for e in log if e["arrived"] <= moment and (e["done"] is None or e["done"] > moment)
    )


def run_faults(
    database_url: str,
    *,
    work: Path,
    updates: int = 10_000,
    chats: int = 1_000,
    workers: int = 1,
    duplicates: float = 0.1,
    kills: int = 3,
    delay: float = 0.2,
    in_flight: int = 32,
    seed: int | None = None,
    quiet_timeout: float = 1800,
) -> dict[str, Any]:
    """Run the fault scenario on an empty database (a SQLAlchemy URL); returns every count."""
    seed = random.randrange(1_000_000) if seed is None else seed
    rng = random.Random(seed)
    per_chat = traffic(updates, chats, duplicates, rng)
    engine = reader(database_url)
    began = time.monotonic()
    try:
        with FakeBotApiProcess(delay=delay) as fake:
            env = loket_env(
                database_url, fake, work, LOKET_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS)
            )
            with serve(env, workers, work / "serve", log=work / "serve.log") as (url, process):
                background_workers = len(serve_workers(process.pid)[1])
                client = Client(f"{url}/webhooks/telegram", in_flight)
                done = asyncio.run(
                    drive(
                        client,
                        per_chat,
                        serve_pid=process.pid,
                        kills=kills,
                        engine=engine,
                        rng=rng,
                    )
                )
                sent_s = time.monotonic() - began
                print(
                    f"  all {len(client.acknowledged)} updates acknowledged after {sent_s:.1f} s "
                    f"({client.posts} posts; not 200: {dict(client.not_200)}); waiting for "
                    "the inbox and the outbox ...",
                    flush=True,
                )
                quiet_s = wait_until_quiet(engine, quiet_timeout)
                restarts = (
                    (work / "serve.log").read_text(errors="replace").count("starting it again")
                )
            log = fake.log()
        for kill in done:
            kill.in_flight_at_fake = in_flight_at(log, kill.at)
        inbound = check_inbound(engine, client)
        replies = check_replies(engine, log)
    finally:
        engine.dispose()
    background_kills = [k for k in done if k.kind == "background"]
    bound = sum(k.claimed_unrecorded for k in background_kills)
    return {
        "db": "postgresql" if is_postgres(database_url) else "sqlite",
        "updates": updates,
        "chats": chats,
        "workers": workers,
        "background_workers": background_workers,
        "duplicates_share": duplicates,
        "delay_s": delay,
        "seed": seed,
        "posts": client.posts,
        "not_200": dict(client.not_200),
        "kills": [
            {
                "kind": k.kind,
                "pid": k.pid,
                "after_acknowledged": k.acknowledged,
                "in_flight_at_fake": k.in_flight_at_fake,
                "claimed_unrecorded": k.claimed_unrecorded,
            }
            for k in done
        ],
        "restarts_logged": restarts,
        "sending_s": round(sent_s, 1),
        "draining_s": round(quiet_s, 1),
        **{k: v for k, v in inbound.items() if k != "examples"},
        **{k: v for k, v in replies.items() if k != "examples"},
        "sends_in_flight_at_kills": bound,
        "background_kills": len(background_kills),
        "sends_at_fake_at_kills": sum(k.in_flight_at_fake for k in done),
        "examples": {"inbound": inbound["examples"], "replies": replies["examples"]},
    }


def verdict(result: dict[str, Any]) -> list[str]:
    """The checks that failed (empty when all five hold)."""
    failed = [
        name
        for name in ("lost", "stored_twice", "chats_out_of_order", "chats_replies_out_of_order")
        if result[name]
    ]
    if result["replies_sent_twice"] > result["sends_in_flight_at_kills"]:
        failed.append("replies_sent_twice")
    if result["most_sent_twice_in_one_chat"] > result["background_kills"]:
        failed.append("most_sent_twice_in_one_chat")
    return failed


def report(result: dict[str, Any]) -> None:
    """The checks, one a line."""
    print(
        f"  acknowledged {result['acknowledged']}, inbox rows {result['inbox_rows']}, "
        f"transcript rows in {result['transcript_in_rows']}, replies {result['outbound_rows']} "
        f"{result['outbound_by_status']}, sends at the fake {result['sends_at_fake']}"
    )
    print(f"  acknowledged updates lost: {result['lost']} (target 0)")
    print(f"  updates stored twice: {result['stored_twice']} (target 0)")
    print(f"  chats with messages stored out of order: {result['chats_out_of_order']} (target 0)")
    print(
        "  chats with replies delivered out of the stored order: "
        f"{result['chats_replies_out_of_order']} (target 0)"
    )
    print(
        f"  replies sent twice: {result['replies_sent_twice']} (target <= "
        f"{result['sends_in_flight_at_kills']}, the replies the outbox had claimed and not "
        f"recorded at its {result['background_kills']} kills; the fake was answering "
        f"{result['sends_at_fake_at_kills']} sends then)"
    )
    print(
        f"  most replies sent twice to one chat: {result['most_sent_twice_in_one_chat']} "
        f"(target <= {result['background_kills']}, one per chat per kill)"
    )
    missing = result["replies_missing_at_fake"]
    print(f"  replies stored as sent but never seen at the fake: {missing}")


def main() -> int:
    """Run the scenario on a fresh database, print and assert the checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL admin URL")
    parser.add_argument("--workers", type=int, default=1, help="web workers of loket serve")
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=1_000)
    parser.add_argument("--duplicates", type=float, default=0.1, help="share delivered twice")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per sendMessage")
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loket-faults-"))
    print(
        f"{'sqlite' if not is_postgres(args.db) else shown(args.db)}: {args.updates} updates "
        f"over {args.chats} chats, loket serve --workers {args.workers}, {args.kills} kills, "
        f"{args.delay} s per send; logs in {work}",
        flush=True,
    )
    with fresh_database(args.db, work, "faults") as url:
        result = run_faults(
            url,
            work=work,
            updates=args.updates,
            chats=args.chats,
            workers=args.workers,
            duplicates=args.duplicates,
            kills=args.kills,
            delay=args.delay,
            in_flight=args.in_flight,
            seed=args.seed,
        )
    report(result)
    failed = verdict(result)
    result["failed"] = failed
    print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
