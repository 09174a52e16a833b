"""Migrations at start-up: any number of processes may start together on one database."""

from __future__ import annotations

import threading

from sqlalchemy import inspect

from db.engine import make_engine, migrate


def test_processes_starting_together_migrate_once_without_errors(database_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        engine = make_engine(database_url)
        try:
            migrate(engine)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    starters = [threading.Thread(target=start) for _ in range(4)]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in starters), "a migration hung"
    assert errors == []
    engine = make_engine(database_url)
    try:
        assert {"inboxmessage", "chat", "chatclaim", "case"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
