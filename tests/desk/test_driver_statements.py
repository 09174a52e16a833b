"""Driver-level statements (db/driver.py) behave as Core would: same rows, same errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from db import inbox_queries as iq
from db import queries
from db.driver import Statement, read_datetime, sqlite_datetime
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock

MOMENT = datetime(2026, 11, 23, 8, 30, 0, tzinfo=UTC)  # no microseconds: the tricky case


def test_rows_written_by_the_driver_read_back_through_core_with_the_same_values(
    chat: ChatDriver,
) -> None:
    chat.client_says("halo")
    case_id = int(chat.case["id"])
    with chat.engine.begin() as conn:
        message_id = queries.record_message(
            conn,
            case_id=case_id,
            channel="telegram",
            chat_id="42",
            direction="in",
            text="stok beda 100% kak",  # a percent sign survives the PostgreSQL translation
            now=MOMENT,
            external_id="tg:1",
        )
        row = conn.execute(
            select(queries.MESSAGE.c.text, queries.MESSAGE.c.created_at).where(
                queries.MESSAGE.c.id == message_id
            )
        ).one()
    assert row.text == "stok beda 100% kak"
    assert row.created_at.replace(tzinfo=UTC) == MOMENT


def test_driver_datetimes_compare_with_core_datetimes_in_where_clauses(
    chat: ChatDriver, clock: FrozenClock
) -> None:
    chat.client_says("halo")  # written by the driver at the clock's time, to the microsecond
    created = queries.MESSAGE.c.created_at
    with chat.engine.begin() as conn:
        before = conn.execute(
            select(queries.MESSAGE.c.id).where(created <= clock.now() - timedelta(microseconds=1))
        ).all()
        at = conn.execute(select(queries.MESSAGE.c.id).where(created <= clock.now())).all()
    assert before == []
    assert len(at) >= 2  # the client's message and the greeting


def test_a_duplicate_key_raises_sqlalchemys_integrity_error(chat: ChatDriver) -> None:
    chat.client_says("halo")
    case_id = int(chat.case["id"])
    values = {
        "case_id": case_id,
        "channel": "telegram",
        "chat_id": "42",
        "direction": "in",
        "text": "P",
        "now": MOMENT,
        "external_id": "tg:7",
    }
    with chat.engine.begin() as conn:
        queries.record_message(conn, **values)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError), chat.engine.begin() as conn:
        queries.record_message(conn, **values)  # type: ignore[arg-type]


def _add(conn: Connection, case_id: int, external_id: str) -> None:
    queries.add_client_message(
        conn,
        case_id=case_id,
        channel="telegram",
        chat_id="42",
        text="stok beda kak",
        now=MOMENT,
        external_id=external_id,
        kind="text",
    )


def _exists(conn: Connection, external_id: str) -> bool:
    return queries.message_exists(conn, channel="telegram", external_id=external_id)


def test_a_deferred_write_is_in_place_for_the_next_statement_and_for_the_commit(
    chat: ChatDriver,
) -> None:
    chat.client_says("halo")
    case_id = int(chat.case["id"])
    with chat.engine.begin() as conn:
        _add(conn, case_id, "tg:20")
        assert _exists(conn, "tg:20")  # a driver read
        _add(conn, case_id, "tg:21")
        external = queries.MESSAGE.c.external_id
        core = select(func.count()).where(external.in_(["tg:20", "tg:21"]))
        assert conn.execute(core).scalar_one() == 2  # a Core read
        _add(conn, case_id, "tg:22")  # nothing after it but the commit
    with chat.engine.connect() as conn:
        assert _exists(conn, "tg:22")


def test_a_rolled_back_transaction_takes_its_deferred_writes_with_it(chat: ChatDriver) -> None:
    chat.client_says("halo")
    case_id = int(chat.case["id"])

    def failing_step() -> None:
        with chat.engine.begin() as conn:
            _add(conn, case_id, "tg:30")
            raise RuntimeError("the step failed in Python")

    with pytest.raises(RuntimeError):
        failing_step()
    with chat.engine.begin() as conn:  # the same pooled connection: nothing left to send
        assert not _exists(conn, "tg:30")
    with chat.engine.connect() as conn:
        assert not _exists(conn, "tg:30")


@pytest.mark.parametrize("then_read", [True, False], ids=["next statement", "commit"])
def test_a_deferred_write_the_database_refuses_fails_its_transaction(
    chat: ChatDriver, then_read: bool
) -> None:
    chat.client_says("halo")
    case_id = int(chat.case["id"])
    with chat.engine.begin() as conn:
        _add(conn, case_id, "tg:40")

    def writes() -> None:
        with chat.engine.begin() as conn:
            _add(conn, case_id, "tg:41")
            _add(conn, case_id, "tg:40")  # a duplicate key
            if then_read:
                _exists(conn, "tg:41")

    with pytest.raises(IntegrityError):
        writes()
    with chat.engine.connect() as conn:
        assert not _exists(conn, "tg:41")  # undone with the transaction


@pytest.mark.parametrize("sent_between", [False, True], ids=["still unsent", "sent"])
def test_a_step_undone_before_its_savepoint_reached_the_server_leaves_the_rest_in_place(
    chat: ChatDriver, sent_between: bool
) -> None:
    """The step savepoint rides with the step's first statement (Desk._step_chat)."""
    chat.client_says("halo")
    case_id = int(chat.case["id"])
    with chat.engine.begin() as conn:
        _add(conn, case_id, "tg:50")  # a write of the step before (not undone)
        savepoint = iq.open_savepoint(conn)
        _add(conn, case_id, "tg:51")
        if sent_between:
            assert not _exists(conn, "tg:52")  # the savepoint and tg:51 go to the server
        iq.undo_savepoint(conn, savepoint)
        assert _exists(conn, "tg:50")
        assert not _exists(conn, "tg:51")
    with chat.engine.connect() as conn:
        assert _exists(conn, "tg:50")
        assert not _exists(conn, "tg:51")


def test_named_parameters_become_pyformat_while_casts_times_and_percents_survive() -> None:
    statement = Statement("SELECT :a, '10:30', x::text, 5 % 2 FROM t WHERE b = :b_2")
    assert statement.sql.startswith("SELECT :a")
    assert statement.pyformat_sql == (
        "SELECT %(a)s, '10:30', x::text, 5 %% 2 FROM t WHERE b = %(b_2)s"
    )


def test_a_name_inside_a_string_literal_is_translated_too() -> None:
    # The translation does not parse SQL: driver statements pass values as parameters and
    # never write ":word" inside a literal (db/driver.py says so).
    assert Statement("SELECT 'a :b'").pyformat_sql == "SELECT 'a %(b)s'"


def test_read_datetime_accepts_what_each_driver_returns() -> None:
    assert read_datetime("2026-11-23 08:30:00.000000") == MOMENT.replace(tzinfo=None)
    assert read_datetime(MOMENT) is MOMENT
    assert read_datetime(None) is None


@pytest.mark.parametrize(
    "moment",
    [
        MOMENT,
        MOMENT.replace(microsecond=7),
        datetime(2026, 12, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=7))),
        datetime(2026, 12, 2, 3, 4, 5),  # noqa: DTZ001  # naive, as SQLite gives them back
    ],
)
def test_sqlite_datetime_writes_what_sqlalchemy_writes(moment: datetime) -> None:
    assert sqlite_datetime(moment) == moment.strftime("%Y-%m-%d %H:%M:%S.%f")
