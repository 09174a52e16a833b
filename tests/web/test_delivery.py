"""Delivery that loses nothing: 429 and 5xx retried until sent or the channel's deadline,
order kept per chat, rate limits, refusals marked at once, each send recorded as it returns,
and a restart (or a kill) in the middle of delivery."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import RowMapping, func, select

from chatbot.frontdesk.outbox import (
    LEASE,
    OutboxDispatcher,
    RateLimit,
    RateLimiter,
    backoff_seconds,
    send_again,
    worker_name,
)
from chatbot.web.app import create_app
from db import queries
from db.engine import as_utc
from settings import Settings
from tests.clock import FrozenClock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.payloads import telegram_text, twilio_form, twilio_signed
from tests.fakes.twilio_api import AUTH_TOKEN, FakeTwilioApi
from tests.polling import wait_for
from tests.web.helpers import PUBLIC, SECRET, channel_settings, outbound, outbox_size, stepped

CHAT = 777000222
CLIENT = "+6281234567890"


@pytest.fixture
def live_settings(
    settings: Settings, tmp_path: Path, bot_api: FakeBotApi, twilio_api: FakeTwilioApi
) -> Settings:
    return channel_settings(settings, tmp_path, bot_api, twilio_api)


@pytest.fixture
def manual(live_settings: Settings, clock: FrozenClock) -> Iterator[TestClient]:
    """The app with a frozen clock and the outbox driven by hand, one round at a time."""
    with TestClient(create_app(live_settings, clock=clock, run_outbox=False)) as client:
        yield client


def dispatch(client: TestClient) -> int:
    sent: int = client.portal.call(client.app.state.dispatcher.dispatch_once)  # type: ignore[union-attr, attr-defined]
    return sent


def engine_of(client: TestClient) -> Any:
    return client.app.state.engine  # type: ignore[attr-defined]


def leased_by(engine: Any, message_id: int) -> str | None:
    with engine.connect() as conn:
        found = conn.execute(
            select(queries.MESSAGE.c.leased_by).where(queries.MESSAGE.c.id == message_id)
        )
        return found.scalar_one()  # type: ignore[no-any-return]


def say(client: TestClient, chat_id: int, n: int, text: str) -> None:
    update = telegram_text(chat_id * 100 + n, chat_id, n, text)
    response = client.post(
        "/webhooks/telegram",
        content=json.dumps(update),
        headers={"x-telegram-bot-api-secret-token": SECRET},
    )
    assert response.status_code == 200
    wait_for(lambda: stepped(engine_of(client)), what="the stepper")


def too_many(retry_after: int) -> dict[str, Any]:
    return {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


def test_telegram_429_is_honoured_and_order_kept(
    manual: TestClient, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    say(manual, CHAT, 1, "halo kak")  # two replies: salam, then welcome
    bot_api.answer("sendMessage", status=429, json=too_many(5))
    assert dispatch(manual) == 1
    assert bot_api.sent_texts(CHAT) == [bot_api.calls("sendMessage")[0].form["text"]]
    clock.advance(seconds=4)
    assert dispatch(manual) == 0  # retry_after not over; the welcome waits behind the salam
    clock.advance(seconds=1.5)
    assert dispatch(manual) == 2  # the salam; its write leases the welcome, sent right after
    rows = outbound(engine_of(manual), "telegram")
    assert [r["status"] for r in rows] == ["sent", "sent"]
    texts = bot_api.sent_texts(CHAT)
    assert texts[1:] == [r["text"] for r in rows]  # the refused first try, then both in order
    assert outbox_size(engine_of(manual)) == 0


def test_telegram_5xx_is_retried_with_backoff_until_sent(
    manual: TestClient, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    say(manual, CHAT, 1, "halo kak")
    for status in (500, 502, 503):
        bot_api.answer(
            "sendMessage",
            status=status,
            json={"ok": False, "error_code": status, "description": "down"},
        )
    for _ in range(3):
        assert dispatch(manual) == 1
        [first, _second] = outbound(engine_of(manual), "telegram")
        assert first["status"] == "pending"
        assert first["error"]
        clock.advance(seconds=10)
    while dispatch(manual):
        pass
    rows = outbound(engine_of(manual), "telegram")
    assert [r["status"] for r in rows] == ["sent", "sent"]
    assert all(r["error"] is None for r in rows)
    assert [c.form["text"] for c in bot_api.calls("sendMessage")][-2:] == [r["text"] for r in rows]


def test_twilio_429_and_5xx_end_in_delivery(
    manual: TestClient, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    body, headers = twilio_signed(
        f"{PUBLIC}/webhooks/twilio", twilio_form("whatsapp_text"), AUTH_TOKEN
    )
    assert manual.post("/webhooks/twilio", content=body, headers=headers).status_code == 200
    wait_for(lambda: stepped(engine_of(manual)), what="the stepper")
    twilio_api.fail_next(429, 20429, "Too Many Requests")
    twilio_api.fail_next(500, 20500, "Internal Server Error")
    for _ in range(2):
        dispatch(manual)
        clock.advance(seconds=10)
    while dispatch(manual):
        clock.advance(seconds=1)
    rows = outbound(engine_of(manual), "whatsapp")
    assert rows
    assert all(r["status"] == "sent" for r in rows)
    bodies = twilio_api.sent_bodies(f"whatsapp:{CLIENT}")
    assert bodies[2:] == [r["text"] for r in rows]  # two refused tries, then each reply once


def due_in(row: dict[str, Any], clock: FrozenClock) -> float:
    """Seconds until a pending reply is tried again."""
    due_at = as_utc(row["due_at"])
    assert due_at is not None
    return (due_at - clock.now()).total_seconds()


def test_backoff_doubles_from_a_second_up_to_five_minutes() -> None:
    expected = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert [backoff_seconds(n) for n in range(1, 12)] == expected
    assert backoff_seconds(100_000) == 300  # a day of retries: no overflow, still capped


def test_an_outage_longer_than_eight_attempts_only_delays_the_replies(
    manual: TestClient, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    say(manual, CHAT, 1, "halo kak")
    engine = engine_of(manual)
    bot_api.outage = 502
    waits = []
    for _ in range(12):  # about 15 minutes of Bad Gateway; the old limit was 8 attempts
        assert dispatch(manual) == 1
        head, second = outbound(engine, "telegram")
        assert (head["status"], second["status"]) == ("pending", "pending")
        assert "Bad Gateway" in head["error"]
        waits.append(due_in(head, clock))
        clock.advance(seconds=waits[-1] - 1)
        assert dispatch(manual) == 0  # not before its back-off, and the second waits behind
        clock.advance(seconds=1)
    # the channel asks for 2 s on a network error, which beats the first 1 s of back-off
    assert waits == [2, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    bot_api.outage = None
    while dispatch(manual):
        pass
    rows = outbound(engine, "telegram")
    assert [(r["status"], r["error"]) for r in rows] == [("sent", None), ("sent", None)]
    assert bot_api.sent_texts(CHAT)[-2:] == [r["text"] for r in rows]  # in order, once each


def test_retries_stop_at_the_channels_deadline_not_an_attempt_count(
    live_settings: Settings, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    hour = live_settings.model_copy(update={"outbox_deadline_minutes_telegram": 60})
    with TestClient(create_app(hour, clock=clock, run_outbox=False)) as client:
        say(client, CHAT, 1, "halo kak")
        engine = engine_of(client)
        written = as_utc(outbound(engine, "telegram")[0]["created_at"])
        assert written is not None
        bot_api.outage = 503
        tried_at = []
        while outbound(engine, "telegram")[0]["status"] == "pending":
            tried_at.append(clock.now())
            tried = dispatch(client)
            head = outbound(engine, "telegram")[0]
            if head["status"] == "pending":
                assert tried == 1
                clock.advance(seconds=due_in(head, clock))
        assert tried == 2  # once the head gave up, the chat's next reply was tried at once
        first, second = outbound(engine, "telegram")
        assert first["status"] == "failed"
        assert len(tried_at) == 20  # 1 + 9 doubling waits (2, 2, 4 ... 256 s) + 10 of 5 min
        assert tried_at[-1] - written <= timedelta(minutes=60)
        assert tried_at[-1] + timedelta(minutes=5) - written > timedelta(minutes=60)
        assert first["error"].startswith("gave up after 20 attempts in 58m: ")
        assert "Service Unavailable" in first["error"]
        assert (second["status"], second["attempts"]) == ("pending", 1)
        bot_api.outage = None
        clock.advance(seconds=due_in(second, clock))
        assert dispatch(client) == 1  # the chat's next reply goes on
        assert [r["status"] for r in outbound(engine, "telegram")] == ["failed", "sent"]
        clock.advance(hours=2)  # an agent sends it again, long past its first deadline
        send_again(
            engine, case_id=first["case_id"], message_id=first["id"], actor="sari", now=clock.now()
        )
        bot_api.outage = 502
        assert dispatch(client) == 1
        again = outbound(engine, "telegram")[0]
        assert (again["status"], again["attempts"]) == ("pending", 1)  # a fresh deadline


def test_blocked_bot_fails_at_once_with_telegrams_reason_and_the_chat_goes_on(
    manual: TestClient, bot_api: FakeBotApi
) -> None:
    say(manual, CHAT, 1, "halo kak")
    bot_api.answer(
        "sendMessage",
        status=403,
        json={
            "ok": False,
            "error_code": 403,
            "description": "Forbidden: bot was blocked by the user",
        },
    )
    assert dispatch(manual) == 2  # no retry of the refused one: the next reply goes at once
    first, second = outbound(engine_of(manual), "telegram")
    assert first["status"] == "failed"
    assert "blocked" in first["error"]
    assert second["status"] == "sent"
    with engine_of(manual).connect() as conn:  # an event, so open consoles hear of it live
        events = conn.execute(
            select(queries.CASE_EVENT.c.kind, queries.CASE_EVENT.c.detail).where(
                queries.CASE_EVENT.c.case_id == first["case_id"]
            )
        ).all()
    assert [d for k, d in events if k == "send_failed"] == [first["error"][:200]]
    assert dispatch(manual) == 0
    assert len(bot_api.calls("sendMessage")) == 2


def test_an_unsubscribed_sms_client_fails_at_once_with_the_reason(
    manual: TestClient, twilio_api: FakeTwilioApi
) -> None:
    body, headers = twilio_signed(f"{PUBLIC}/webhooks/twilio", twilio_form("sms_text"), AUTH_TOKEN)
    assert manual.post("/webhooks/twilio", content=body, headers=headers).status_code == 200
    wait_for(lambda: stepped(engine_of(manual)), what="the stepper")
    twilio_api.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    rows = outbound(engine_of(manual), "sms")
    assert dispatch(manual) == len(rows)  # each reply once, in order, none retried
    first = outbound(engine_of(manual), "sms")[0]
    assert first["status"] == "failed"
    assert "21610" in first["error"]
    assert "unsubscribed" in first["error"]
    assert len(twilio_api.calls()) == len(rows)


def test_a_chats_later_replies_wait_while_its_head_is_leased_or_backing_off(
    manual: TestClient, clock: FrozenClock
) -> None:
    say(manual, CHAT, 1, "halo kak")  # salam, then welcome
    say(manual, CHAT + 1, 1, "halo kak")
    engine = engine_of(manual)

    def due() -> list[RowMapping]:
        with engine.connect() as conn:
            return queries.list_due_outbox(conn, now=clock.now(), limit=100)

    head, other = due()
    second = outbound(engine, "telegram", str(CHAT))[1]
    assert other["chat_id"] == str(CHAT + 1)
    with engine.begin() as conn:  # being sent: leased
        until = clock.now() + LEASE
        assert queries.claim_outbox(
            conn, item_id=head["id"], due_at=head["due_at"], until=until, owner="other-host:7"
        )
    assert [r["id"] for r in due()] == [other["id"]]
    assert leased_by(engine, head["id"]) == "other-host:7"  # whose lease it is
    with engine.begin() as conn:  # the send failed: backing off
        later = clock.now() + timedelta(minutes=5)
        queries.mark_retry(conn, item_id=head["id"], attempts=1, due_at=later, error="down")
    clock.advance(minutes=4)
    assert [r["id"] for r in due()] == [other["id"]]
    clock.advance(minutes=1)
    assert [r["id"] for r in due()] == [head["id"], other["id"]]  # the head, never the second
    with engine.begin() as conn:  # failed for good: the chat goes on
        queries.mark_failed(conn, item_id=head["id"], error="refused", now=clock.now())
    assert [r["id"] for r in due()] == [second["id"], other["id"]]


def test_each_send_is_recorded_when_it_returns_not_after_the_round(
    manual: TestClient, bot_api: FakeBotApi
) -> None:
    chats = [CHAT, CHAT + 1, CHAT + 2]
    for chat in chats:
        say(manual, chat, 1, "halo kak")
    engine = engine_of(manual)
    bot_api.hold(CHAT)  # Telegram sits on this chat's send while it answers the others
    round_ = manual.portal.start_task_soon(manual.app.state.dispatcher.dispatch_once)  # type: ignore[union-attr, attr-defined]
    wait_for(lambda: bot_api.holding(CHAT) == 1, what="the held send")

    def heads() -> list[str]:
        return [outbound(engine, "telegram", str(chat))[0]["status"] for chat in chats]

    wait_for(lambda: heads() == ["pending", "sent", "sent"], what="the answered sends recorded")
    assert not round_.done()
    bot_api.release(CHAT)
    assert round_.result(timeout=15) == 6  # each chat's two replies, one after the other
    assert heads() == ["sent", "sent", "sent"]


def test_a_kill_mid_round_sends_again_only_the_reply_in_flight(
    manual: TestClient, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    chats = [CHAT, CHAT + 1, CHAT + 2]
    for chat in chats:
        say(manual, chat, 1, "halo kak")
    engine = engine_of(manual)
    bot_api.hold(CHAT)
    round_ = manual.portal.start_task_soon(manual.app.state.dispatcher.dispatch_once)  # type: ignore[union-attr, attr-defined]
    wait_for(lambda: bot_api.holding(CHAT) == 1, what="the held send")
    wait_for(  # each other chat's whole line: its second reply follows its first
        lambda: all(
            r["status"] == "sent" for c in chats[1:] for r in outbound(engine, "telegram", str(c))
        ),
        what="the answered sends recorded",
    )
    round_.cancel()  # the dispatcher dies with one send in flight, as under SIGKILL
    wait_for(lambda: bot_api.holding(CHAT) == 0, what="the send in flight to be dropped")
    bot_api.release(CHAT)
    held = outbound(engine, "telegram", str(CHAT))[0]
    assert held["status"] == "pending"  # leased, by this process's dispatcher
    assert leased_by(engine, held["id"]) == worker_name()
    assert dispatch(manual) == 0  # the others' replies all left; the leased one waits its lease
    clock.advance(seconds=LEASE.total_seconds())
    while dispatch(manual):
        pass
    for chat in chats:
        rows = outbound(engine, "telegram", str(chat))
        assert [r["status"] for r in rows] == ["sent", "sent"]
        texts = bot_api.sent_texts(chat)
        if chat == CHAT:  # the one in flight may have reached Telegram: at most twice
            assert texts[-2:] == [r["text"] for r in rows]
            assert texts[0] == rows[0]["text"]
        else:
            assert texts == [r["text"] for r in rows]  # nothing recorded was sent again


def test_per_chat_limit_spaces_replies_to_one_chat(
    live_settings: Settings, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    now = [100.0]
    with TestClient(create_app(live_settings, clock=clock, run_outbox=False)) as client:
        state = client.app.state  # type: ignore[attr-defined]
        paced = OutboxDispatcher(
            state.engine,
            state.channels,
            clock,
            limits={"telegram": RateLimit(per_second=30, per_chat_per_second=1)},
            monotonic=lambda: now[0],
        )
        say(client, CHAT, 1, "halo kak")
        say(client, CHAT + 1, 1, "halo kak")
        assert client.portal.call(paced.dispatch_once) == 2  # type: ignore[union-attr]  # one per chat
        now[0] += 0.5
        assert client.portal.call(paced.dispatch_once) == 0  # type: ignore[union-attr]
        now[0] += 0.6
        assert client.portal.call(paced.dispatch_once) == 2  # type: ignore[union-attr]
    assert len(bot_api.calls("sendMessage")) == 4


def test_rate_limiter_holds_the_bot_wide_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(
        {"telegram": RateLimit(per_second=30, per_chat_per_second=1)}, lambda: now[0]
    )
    allowed = sum(limiter.allow("telegram", str(chat)) for chat in range(100))
    assert allowed == 30  # one second's burst
    now[0] += 0.1
    assert sum(limiter.allow("telegram", str(chat)) for chat in range(100, 200)) == 3
    assert not limiter.allow("telegram", "0")  # that chat had its message this second
    assert all(limiter.allow("web", str(chat)) for chat in range(100))  # no limit configured


def test_restart_during_delivery_loses_nothing_and_sends_nothing_twice(
    live_settings: Settings, bot_api: FakeBotApi
) -> None:
    bot_api.delay = 0.25  # Telegram takes its time, so the restart lands mid-delivery
    chats = [CHAT + n for n in range(6)]
    with TestClient(create_app(live_settings)) as first:
        for chat in chats:
            say(first, chat, 1, "halo kak")
            say(first, chat, 2, "stok di POS tidak sama dengan backoffice sejak kemarin")
        engine = engine_of(first)
        wait_for(lambda: len(bot_api.calls("sendMessage")) >= 3, what="first sends")
    # The first app has stopped: the round in flight finished and was recorded.
    waiting = outbox_size(engine)
    assert waiting > 0, "the restart came too late to test anything"
    bot_api.delay = 0.0
    with TestClient(create_app(live_settings)) as second:
        engine = engine_of(second)
        wait_for(lambda: outbox_size(engine) == 0, what="the outbox to drain")
        rows = outbound(engine, "telegram")
    assert rows
    assert all(r["status"] == "sent" for r in rows)
    for chat in chats:
        expected = [r["text"] for r in outbound(engine, "telegram", str(chat))]
        assert bot_api.sent_texts(chat) == expected  # each reply once, in order
    assert len(bot_api.calls("sendMessage")) == len(rows)


def test_the_running_dispatcher_leases_no_more_replies_than_it_can_send_at_once(
    manual: TestClient, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    """A reply leased while it waits for a free place would wait out the lease after a kill
    (and could outlive it behind a slow provider): only sends under way are leased."""
    assert manual.portal is not None
    dispatcher = manual.app.state.dispatcher  # type: ignore[attr-defined]
    places = dispatcher.concurrency
    chats = [CHAT + n for n in range(places + 3)]
    for chat in chats:
        bot_api.hold(chat)
        say(manual, chat, 1, "halo kak")
    engine = engine_of(manual)

    def leased() -> int:
        with engine.connect() as conn:
            found = conn.execute(
                select(func.count())
                .select_from(queries.MESSAGE)
                .where(
                    queries.MESSAGE.c.status == "pending", queries.MESSAGE.c.due_at > clock.now()
                )
            )
            return int(found.scalar_one())

    stop = asyncio.Event()
    running = manual.portal.start_task_soon(dispatcher.run, 0.05, stop)
    try:
        wait_for(lambda: sum(bot_api.holding(c) for c in chats) == places, what="full places")
        time.sleep(0.3)  # a few more turns of the dispatcher's loop
        assert leased() == places  # the three other chats' heads wait unleased
        for chat in chats:
            bot_api.release(chat)
        wait_for(lambda: outbox_size(engine) == 0, what="every reply sent")
    finally:
        for chat in chats:
            bot_api.release(chat)
        manual.portal.call(stop.set)
        running.result(timeout=15)
    for chat in chats:
        expected = [r["text"] for r in outbound(engine, "telegram", str(chat))]
        assert bot_api.sent_texts(chat) == expected  # each once, in order


def test_a_send_the_provider_sits_on_delays_only_its_own_chat(
    manual: TestClient, bot_api: FakeBotApi
) -> None:
    """The running dispatcher claims again as each send returns: no round waits for the slowest."""
    assert manual.portal is not None
    slow, quick = CHAT, CHAT + 1
    say(manual, slow, 1, "halo kak")  # each chat gets two replies: the salam, then the welcome
    say(manual, quick, 1, "halo kak")
    engine = engine_of(manual)
    bot_api.hold(slow)
    stop = asyncio.Event()
    running = manual.portal.start_task_soon(manual.app.state.dispatcher.run, 0.05, stop)  # type: ignore[attr-defined]
    try:
        wait_for(lambda: bot_api.holding(slow) == 1, what="the held send")
        wait_for(
            lambda: (
                [r["status"] for r in outbound(engine, "telegram", str(quick))] == ["sent", "sent"]
            ),
            what="the quick chat's two replies",
        )
        assert [r["status"] for r in outbound(engine, "telegram", str(slow))] == [
            "pending",
            "pending",
        ]
        bot_api.release(slow)
        wait_for(
            lambda: (
                [r["status"] for r in outbound(engine, "telegram", str(slow))] == ["sent", "sent"]
            ),
            what="the slow chat's replies, in order",
        )
    finally:
        bot_api.release(slow)
        manual.portal.call(stop.set)
        running.result(timeout=15)
    assert bot_api.sent_texts(slow) == [r["text"] for r in outbound(engine, "telegram", str(slow))]
