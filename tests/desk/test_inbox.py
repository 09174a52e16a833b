"""The inbox and the steppers: accepted once, stepped once, in order, nothing lost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, update

from chatbot.domain import Attachment, Inbound
from chatbot.frontdesk import desk as desk_module
from chatbot.frontdesk.desk import MAX_STEP_ATTEMPTS, Desk, next_claim_size
from chatbot.supervision.retention import Retention
from db import inbox_queries as iq
from db import queries
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock


def inbound(chat_id: str, n: int, text: str) -> Inbound:
    return Inbound(channel="telegram", chat_id=chat_id, message_id=f"{chat_id}:{n}", text=text)


def transcript(engine: Engine, chat_id: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(queries.MESSAGE.c.text)
            .where(queries.MESSAGE.c.chat_id == chat_id, queries.MESSAGE.c.direction == "in")
            .order_by(queries.MESSAGE.c.id)
        )
        return [r[0] for r in rows]


def queries_replies(engine: Engine, message_id: str) -> list[str]:
    with engine.connect() as conn:
        chat_id = message_id.split(":")[0]
        return queries.list_replies_to(
            conn, channel="telegram", chat_id=chat_id, external_id=message_id
        )


def unstepped(engine: Engine) -> int:
    with engine.connect() as conn:
        return iq.count_unstepped(conn)


def test_accepted_messages_wait_in_the_inbox_until_a_stepper_takes_them(chat: ChatDriver) -> None:
    desk, engine = chat.desk, chat.engine
    assert desk.accept([inbound("7", 1, "halo kak"), inbound("7", 2, "stok beda kak")]) == [
        True,
        True,
    ]
    assert transcript(engine, "7") == []  # nothing stepped on the request path
    assert unstepped(engine) == 2
    assert desk.step_pending(whole=True) == 2
    assert transcript(engine, "7") == ["halo kak", "stok beda kak"]
    assert unstepped(engine) == 0
    assert desk.step_pending(whole=True) == 0


def test_a_batch_whose_time_is_up_leaves_the_rest_for_the_next_in_order(
    chat: ChatDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk, engine = chat.desk, chat.engine
    for chat_id in ("11", "12"):
        desk.accept([inbound(chat_id, n, f"pesan {n}") for n in range(1, 4)])
    monkeypatch.setattr(desk_module, "STEP_BATCH_SECONDS", 0.0)  # SQLite's limit
    monkeypatch.setattr(desk_module, "STEP_BATCH_SECONDS_POSTGRES", 0.0)
    rounds = []
    while stepped := desk.step_pending():
        rounds.append(stepped)
    assert rounds == [1] * 6  # each batch stopped after its first message
    for chat_id in ("11", "12"):
        assert transcript(engine, chat_id) == ["pesan 1", "pesan 2", "pesan 3"]
    assert unstepped(engine) == 0


@pytest.mark.parametrize(
    ("claimed", "reached", "cut_short", "expected"),
    [
        (32, 3, True, 4),  # three chats fitted in the time: claim one more, not 32 again
        (32, 0, True, 1),  # not even one: still claim one
        (4, 4, False, 8),  # all claimed were stepped in time: grow
        (20, 20, False, 32),  # ...up to the most a batch steps
        (32, 32, True, 32),  # cut short at the last chat: no more than the most
    ],
)
def test_a_batch_claims_about_as_many_chats_as_the_last_reached_in_its_time(
    claimed: int, reached: int, cut_short: bool, expected: int
) -> None:
    assert next_claim_size(claimed, reached, cut_short, most=32) == expected


def test_a_redelivered_message_is_accepted_once_and_stepped_once(chat: ChatDriver) -> None:
    desk, engine = chat.desk, chat.engine
    assert desk.accept([inbound("8", 1, "halo kak")]) == [True]
    assert desk.accept([inbound("8", 1, "halo kak")]) == [False]
    desk.step_pending(whole=True)
    assert desk.accept([inbound("8", 1, "halo kak")]) == [False]  # also after its step
    assert desk.step_pending(whole=True) == 0
    assert transcript(engine, "8") == ["halo kak"]
    assert chat.desk.receive(inbound("8", 1, "halo kak")).status == "duplicate"


def test_a_message_whose_step_keeps_failing_is_set_aside_and_holds_its_chat_until_then(
    chat: ChatDriver,
) -> None:
    desk, engine = chat.desk, chat.engine
    desk.accept([inbound("9", 1, "halo kak"), inbound("9", 2, "stok beda kak")])
    desk.accept([inbound("10", 1, "halo kak")])
    with engine.begin() as conn:  # a payload no stepper can read (a bug, a bad upgrade)
        conn.execute(
            update(iq.INBOX).where(iq.INBOX.c.external_id == "9:1").values(payload="{not json")
        )
    # chat 10 goes on; chat 9 waits behind its first message
    assert desk.step_pending(whole=True) == 1
    assert transcript(engine, "9") == []
    for _ in range(MAX_STEP_ATTEMPTS - 1):
        desk.step_pending(whole=True)
    assert transcript(engine, "9") == ["stok beda kak"]  # set aside after the last attempt
    with engine.connect() as conn:
        kept = conn.execute(
            select(iq.INBOX.c.attempts, iq.INBOX.c.error, iq.INBOX.c.stepped_at).where(
                iq.INBOX.c.external_id == "9:1"
            )
        ).one()
    assert kept.attempts == MAX_STEP_ATTEMPTS - 1
    assert "JSONDecodeError" in kept.error  # kept with the reason, not deleted
    assert kept.stepped_at is not None


def test_a_failing_message_undoes_none_of_the_messages_stepped_before_it(
    chat: ChatDriver,
) -> None:
    """A chat's batch is undone together when one fails; the ones before it are redone."""
    desk, engine = chat.desk, chat.engine
    desk.accept([inbound("11", n, text) for n, text in enumerate(["halo", "stok", "kak"])])
    with engine.begin() as conn:
        conn.execute(
            update(iq.INBOX).where(iq.INBOX.c.external_id == "11:1").values(payload="{bad")
        )
    assert desk.step_pending(whole=True) == 1
    assert transcript(engine, "11") == ["halo"]  # stepped once, not lost with the batch
    assert len(queries_replies(engine, "11:0")) >= 1
    assert unstepped(engine) == 2  # the failing one and the one behind it wait


def test_a_write_the_database_refuses_holds_the_message_that_made_it_not_its_batch(
    chat: ChatDriver,
) -> None:
    """On PostgreSQL the step's writes reach the server together, after the flow ran.

    The transcript already holds 13:2 (as an import or a bug could leave it): its insert
    breaks the unique key. It is held with the reason and the one behind it waits, as when
    a step raises in Python.
    """
    desk, engine = chat.desk, chat.engine
    desk.accept([inbound("13", 1, "halo")])
    desk.step_pending(whole=True)
    with engine.begin() as conn:
        case = queries.get_open_case(conn, channel="telegram", chat_id="13")
        assert case is not None
        case_id = case.id
        queries.record_message(
            conn,
            case_id=case_id,
            channel="telegram",
            chat_id="13",
            direction="in",
            text="imported",
            now=datetime.now(UTC),
            external_id="13:2",
        )
    desk.accept([inbound("13", 2, "stok"), inbound("13", 3, "kak")])
    assert desk.step_pending(whole=True) == 0
    assert transcript(engine, "13") == ["halo", "imported"]
    with engine.connect() as conn:
        held = conn.execute(
            select(iq.INBOX.c.external_id, iq.INBOX.c.attempts, iq.INBOX.c.error)
            .where(iq.INBOX.c.stepped_at.is_(None))
            .order_by(iq.INBOX.c.id)
        ).all()
    assert [row.external_id for row in held] == ["13:2", "13:3"]
    assert held[0].attempts == 1
    assert "IntegrityError" in held[0].error


def test_messages_of_one_chat_are_stepped_in_the_order_they_were_accepted_by_many_senders(
    desk_for: object,
) -> None:
    engine, desk = desk_for("erzap")  # type: ignore[operator]
    chats = [str(100 + c) for c in range(8)]

    def send(sender: int) -> None:
        for n in range(10):
            for chat_id in chats:
                desk.accept([inbound(chat_id, sender * 100 + n, f"pesan {sender} {n}")])

    def step(stop: threading.Event) -> None:
        while not stop.is_set():
            if not desk.step_pending(chats=2):
                stop.wait(0.005)  # idle, as a real stepper

    stop = threading.Event()
    steppers = [threading.Thread(target=step, args=(stop,)) for _ in range(2)]
    senders = [threading.Thread(target=send, args=(s,)) for s in range(3)]
    for thread in [*steppers, *senders]:
        thread.start()
    for thread in senders:
        thread.join()
    while unstepped(engine):
        desk.step_pending(whole=True)
    stop.set()
    for thread in steppers:
        thread.join()
    for chat_id in chats:
        with engine.connect() as conn:
            accepted = [
                r[0]
                for r in conn.execute(
                    select(iq.INBOX.c.payload)
                    .join(iq.CHAT, iq.CHAT.c.id == iq.INBOX.c.chat_key)
                    .where(iq.CHAT.c.chat_id == chat_id)
                    .order_by(iq.INBOX.c.seq)
                )
            ]
        order = [Inbound.from_json(p).text for p in accepted]
        assert transcript(engine, chat_id) == order  # stepped exactly once each, in order
        assert len(order) == 30
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(iq.INBOX)).scalar_one()
    assert total == 240


def test_a_claim_locks_only_the_chats_it_steps_so_a_second_stepper_takes_the_next(
    chat: ChatDriver,
) -> None:
    """Two steppers at once, each asking for one chat: they get the two oldest, in order."""
    engine = chat.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    for chat_id in ("41", "42", "43"):
        chat.desk.accept([inbound(chat_id, 1, "halo kak"), inbound(chat_id, 2, "stok beda")])
    with engine.begin() as first, engine.begin() as second:
        taken = iq.claim(first, limit=1)
        beside = iq.claim(second, limit=1)
    assert [len(waiting) for _key, waiting in taken + beside] == [2, 2]
    with engine.connect() as conn:
        keys = [iq.chat_key_of(conn, channel="telegram", chat_id=c) for c in ("41", "42")]
    assert [key for key, _waiting in taken + beside] == keys  # oldest first, none skipped
    ids = [inbox_id for _key, waiting in taken for inbox_id, _payload, _attempts in waiting]
    assert ids == sorted(ids)  # a chat's messages in the order they were accepted


def test_the_stored_form_gives_back_every_field() -> None:
    inbound = Inbound(
        channel="whatsapp",
        chat_id="+6281234567890",
        message_id="SM1",
        text="kode 771204",
        kind="photo",
        sender_name="Rina",
        attachments=(Attachment("photo", url="https://x/1", content_type="image/jpeg", size=9),),
        location=(-6.2, 106.8),
        sent_at=datetime(2026, 12, 7, 3, 0, tzinfo=UTC),
    )
    assert Inbound.from_json(inbound.to_json()) == inbound
    masked = Inbound.from_json(inbound.to_json(text="kode ******"))
    assert masked.text == "kode ******"
    assert masked.attachments == inbound.attachments


def test_receive_answers_at_once_through_the_same_inbox(chat: ChatDriver) -> None:
    receipt = chat.client_says("halo kak")
    assert receipt.status == "answered"
    assert chat.bot_said()  # the greeting, stepped right away for `loket chat`
    assert unstepped(chat.engine) == 0


def test_a_second_desk_sees_the_first_ones_inbox(chat: ChatDriver, desk_for: object) -> None:
    """Another worker (its own desk and engine on the same database) steps what one accepted."""
    chat.desk.accept([inbound("11", 1, "halo kak")])
    _engine, other = desk_for("erzap")  # type: ignore[operator]
    assert isinstance(other, Desk)
    assert other.step_pending(whole=True) == 1
    assert transcript(chat.engine, "11") == ["halo kak"]


def test_receive_beside_a_running_stepper_steps_each_message_once(desk_for: object) -> None:
    """`loket chat` or a test stepping a chat while a background stepper runs: they take turns."""
    engine, desk = desk_for("erzap")  # type: ignore[operator]
    stop = threading.Event()

    def step() -> None:
        while not stop.is_set():
            if not desk.step_pending(whole=True):
                stop.wait(0.001)

    stepper = threading.Thread(target=step)
    stepper.start()
    try:
        texts = [f"pesan {n}" for n in range(15)]
        receipts = [desk.receive(inbound("77", n, text)) for n, text in enumerate(texts)]
    finally:
        stop.set()
        stepper.join()
    assert all(r.status == "answered" and r.case_id is not None for r in receipts)
    # whoever stepped a message, its receipt carries the replies it got
    assert [r.replies for r in receipts] == [
        queries_replies(engine, f"77:{n}") for n in range(len(texts))
    ]
    assert receipts[0].replies  # the greeting
    assert transcript(engine, "77") == texts
    with engine.connect() as conn:
        errors = conn.execute(select(iq.INBOX.c.error).where(iq.INBOX.c.error.is_not(None)))
        assert errors.all() == []


def test_a_pasted_otp_is_masked_before_the_inbox_stores_it(chat: ChatDriver) -> None:
    chat.client_says("halo kak")
    chat.client_says("kode otp nya 482913 kak")
    with chat.engine.connect() as conn:
        payloads = " ".join(conn.execute(select(iq.INBOX.c.payload)).scalars())
    assert "halo kak" in payloads
    assert "482913" not in payloads


def test_retention_forgets_stepped_inbox_messages_after_a_week(
    chat: ChatDriver, clock: FrozenClock
) -> None:
    desk, engine = chat.desk, chat.engine
    retention = Retention(engine, clock)
    chat.client_says("halo kak")
    desk.accept([inbound("9", 1, "halo kak")])  # never stepped: kept, whatever its age
    with engine.connect() as conn:
        stepped_id = conn.execute(
            select(iq.INBOX.c.id).where(iq.INBOX.c.channel == chat.channel)
        ).scalar_one()
    desk.accept([inbound("10", 1, "error kak")])  # one set aside after failing: kept a month
    with engine.begin() as conn:
        failed_id = conn.execute(
            select(iq.INBOX.c.id).where(iq.INBOX.c.external_id == "10:1")
        ).scalar_one()
        iq.set_aside(conn, inbox_id=failed_id, now=clock.now(), error="boom")

    clock.advance(days=6)
    assert retention.purge_inbox() == 0
    clock.advance(days=2)
    assert retention.purge_inbox() == 1
    with engine.connect() as conn:
        left = set(conn.execute(select(iq.INBOX.c.id)).scalars())
    assert stepped_id not in left
    assert failed_id in left
    assert len(left) == 2
    clock.advance(days=30)
    assert retention.purge_inbox() == 1
    assert desk.accept([inbound("10", 1, "error kak")]) == [True]  # long gone: a new message
    assert unstepped(engine) == 2
