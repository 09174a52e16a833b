"""Send results that return while one write runs are written together in the next."""

from __future__ import annotations

import asyncio

import pytest

from chatbot.frontdesk.outbox import GroupCommit
from tests.own_loop import run_in_own_loop


def test_results_returning_during_a_write_share_the_next_one() -> None:
    run_in_own_loop(results_returning_during_a_write_share_the_next_one())


async def results_returning_during_a_write_share_the_next_one() -> None:
    writes: list[list[int]] = []
    first_write_may_end = asyncio.Event()

    async def write(batch: list[int]) -> None:
        writes.append(batch)
        if len(writes) == 1:
            await first_write_may_end.wait()

    group = GroupCommit[int](write)
    first = asyncio.create_task(group.put(1))
    await asyncio.sleep(0)  # the first write starts and waits
    later = [asyncio.create_task(group.put(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    assert not any(task.done() for task in [first, *later])  # nobody hears before commit
    first_write_may_end.set()
    await asyncio.gather(first, *later)
    assert writes == [[1], [2, 3, 4]]


def test_a_failed_write_fails_only_its_own_batch() -> None:
    run_in_own_loop(a_failed_write_fails_only_its_own_batch())


async def a_failed_write_fails_only_its_own_batch() -> None:
    failing = asyncio.Event()
    failing.set()
    written: list[list[str]] = []

    async def write(batch: list[str]) -> None:
        if failing.is_set():
            failing.clear()
            raise RuntimeError("database is locked")
        written.append(batch)

    group = GroupCommit[str](write)
    with pytest.raises(RuntimeError, match="locked"):
        await group.put("lost lease")
    await group.put("next")
    assert written == [["next"]]
