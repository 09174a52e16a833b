"""Group commit: several messages in one transaction, each still its own step and receipt."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from sqlalchemy import func, select

from chatbot.desk import Receipt
from chatbot.domain import Inbound
from chatbot.group_commit import Delivery, GroupCommit, Outcome, Recorded, in_thread
from db import queries
from tests.chat_driver import ChatDriver


def count(chat: ChatDriver, table: object) -> int:
    with chat.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_batch_answers_each_message_as_receive_would(chat: ChatDriver) -> None:
    other = replace(chat.inbound("halo kak"), chat_id="other-chat")
    outcomes = chat.desk.receive_many([chat.inbound("halo"), other, chat.inbound("stok beda")])
    assert [o.status for o in outcomes if isinstance(o, Receipt)] == ["answered"] * 3
    assert count(chat, queries.CASE) == 2
    assert chat.case["state"] != "new"  # the second message of the chat saw the first's step


def test_a_replay_in_a_batch_is_a_duplicate_and_the_rest_is_kept(chat: ChatDriver) -> None:
    first = chat.inbound("halo kak", message_id="tg.1")
    assert chat.desk.receive(first).status == "answered"
    before = count(chat, queries.MESSAGE)
    fresh = chat.inbound("stok di pos beda", message_id="tg.2")
    outcomes = chat.desk.receive_many([fresh, first, first])
    statuses = [o.status for o in outcomes if isinstance(o, Receipt)]
    assert statuses == ["answered", "duplicate", "duplicate"]
    with chat.engine.connect() as conn:
        texts = [r.text for r in conn.execute(select(queries.MESSAGE.c.text))]
    assert texts.count("stok di pos beda") == 1  # the rolled-back batch left nothing behind
    assert count(chat, queries.MESSAGE) > before


def test_a_failing_message_fails_alone(chat: ChatDriver) -> None:
    broken = replace(chat.inbound("halo"), chat_id=None)  # type: ignore[arg-type]
    good = chat.inbound("halo kak")
    outcomes = chat.desk.receive_many([broken, good])
    assert isinstance(outcomes[0], Exception)
    assert isinstance(outcomes[1], Receipt)
    assert outcomes[1].status == "answered"


async def test_requests_waiting_together_share_a_commit(chat: ChatDriver) -> None:
    calls: list[int] = []
    real = chat.desk.receive_many

    def counting(inbounds):  # type: ignore[no-untyped-def]
        calls.append(len(inbounds))
        return real(inbounds)

    chat.desk.receive_many = counting  # type: ignore[method-assign]
    with ThreadPoolExecutor(max_workers=1) as writer:
        batcher = GroupCommit(in_thread(chat.desk, {}, writer))
        inbounds = [replace(chat.inbound("halo"), chat_id=f"chat-{n}") for n in range(10)]
        receipts = await asyncio.gather(*(batcher.receive(i) for i in inbounds))
    assert [r.status for recorded in receipts for r in recorded.receipts] == ["answered"] * 10
    assert sum(calls) == 10
    assert len(calls) < 10
    assert count(chat, queries.CASE) == 10


async def test_two_batches_in_flight_reach_the_writer_in_arrival_order() -> None:
    seen: list[str] = []
    in_flight = 0
    most = 0

    async def write(batch: list[Delivery]) -> list[Outcome]:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.01)  # the writer is busy; more deliveries arrive meanwhile
        seen.extend(d.message_id for d in batch if isinstance(d, Inbound))
        in_flight -= 1
        return [Recorded([]) for _ in batch]

    batcher = GroupCommit(write, max_batch=4)
    ids = [f"m{n}" for n in range(40)]

    async def one(message_id: str, delay: float) -> Recorded:
        await asyncio.sleep(delay)
        return await batcher.receive(
            Inbound(channel="telegram", chat_id="1", message_id=message_id, text="P")
        )

    await asyncio.gather(*(one(m, n * 0.001) for n, m in enumerate(ids)))
    assert seen == ids
    assert most == 2
