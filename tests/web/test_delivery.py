"""Delivery that loses nothing: 429 and 5xx retried until sent, order kept per chat, rate
limits, failures marked, and a restart in the middle of delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chatbot.outbox import OutboxDispatcher, RateLimit, RateLimiter
from chatbot.web.app import create_app
from settings import Settings
from tests.clock import FrozenClock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.payloads import telegram_text, twilio_form, twilio_signed
from tests.fakes.twilio_api import AUTH_TOKEN, FakeTwilioApi
from tests.web.helpers import (
    PUBLIC,
    SECRET,
    channel_settings,
    outbound,
    outbox_size,
    stepped,
    wait_for,
)

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
    assert dispatch(manual) == 1
    assert dispatch(manual) == 1
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


def test_a_reply_that_keeps_failing_is_marked_failed_not_lost(
    live_settings: Settings, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    limited = live_settings.model_copy(update={"outbox_max_attempts": 2})
    with TestClient(create_app(limited, clock=clock, run_outbox=False)) as client:
        say(client, CHAT, 1, "halo kak")
        for _ in range(2):
            bot_api.answer(
                "sendMessage",
                status=502,
                json={"ok": False, "error_code": 502, "description": "Bad Gateway"},
            )
        dispatch(client)
        clock.advance(seconds=60)
        dispatch(client)
        first = outbound(engine_of(client), "telegram")[0]
        assert first["status"] == "failed"
        assert "gave up after 2 attempts" in first["error"]
        assert "Bad Gateway" in first["error"]


def test_blocked_bot_fails_at_once_with_telegrams_reason(
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
    dispatch(manual)
    first = outbound(engine_of(manual), "telegram")[0]
    assert first["status"] == "failed"
    assert "blocked" in first["error"]


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
