"""The background stepper: wakes on new messages, and outlives a dropped LISTEN connection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from chatbot.domain import Inbound
from chatbot.frontdesk.stepper import Stepper
from db import inbox_queries as iq
from tests.own_loop import run_in_own_loop


def unstepped(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return iq.count_unstepped(conn)


async def eventually(check: object, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def test_the_stepper_goes_on_when_the_server_drops_its_listen_connection(
    desk_for: object, settings: object
) -> None:
    engine, desk = desk_for("erzap")  # type: ignore[operator]
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite's stepper watches data_version")
    run_in_own_loop(dropped_listen_connection(engine, desk, settings))


async def dropped_listen_connection(engine: Any, desk: Any, settings: Any) -> None:
    """Step one message, drop the stepper's LISTEN connection, step another."""
    stepper = Stepper(desk, settings.database_url)
    stop = asyncio.Event()
    running = asyncio.create_task(stepper.run(stop))
    try:
        desk.accept([Inbound(channel="telegram", chat_id="31", message_id="31:1", text="halo")])
        await eventually(lambda: unstepped(engine) == 0)
        with engine.begin() as conn:  # what a server restart or a network cut does to it
            dropped = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE query LIKE 'LISTEN%' AND datname = current_database()"
                )
            ).all()
        assert dropped
        desk.accept([Inbound(channel="telegram", chat_id="31", message_id="31:2", text="stok")])
        await eventually(lambda: unstepped(engine) == 0)
        assert not running.done()  # the worker did not exit
    finally:
        stop.set()
        await running
