"""`loket telegram set-webhook` and the polling loop, against the fake Bot API."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.channels.telegram import TelegramChannel, close_bot, make_bot
from chatbot.cli import main, poll_updates
from db import queries
from settings import Settings
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.payloads import telegram_text, telegram_update

SECRET = "telegram-webhook-secret-0123456789"
TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"


def test_set_webhook_registers_public_url_with_the_secret(
    bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOKET_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("LOKET_TELEGRAM_SECRET", SECRET)
    monkeypatch.setenv("LOKET_TELEGRAM_BASE_URL", f"{bot_api.url}/bot")
    monkeypatch.setenv("LOKET_PUBLIC_URL", "https://loket.example.co.id/")
    assert main(["telegram", "set-webhook"]) == 0
    [call] = bot_api.calls("setWebhook")
    assert call.token == TOKEN
    assert call.form["url"] == "https://loket.example.co.id/webhooks/telegram"
    assert call.form["secret_token"] == SECRET
    assert "callback_query" in call.form["allowed_updates"]


def test_set_webhook_without_a_token_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["telegram", "set-webhook"]) == 2
    assert "LOKET_TELEGRAM_TOKEN" in capsys.readouterr().err


async def test_polling_feeds_the_inbox_like_the_webhook(
    bot_api: FakeBotApi, desk_for: object, settings: Settings
) -> None:
    engine, desk = desk_for("erzap")  # type: ignore[operator]
    bot_api.updates.extend(
        [
            telegram_text(1, 42, 1, "halo kak"),
            telegram_text(1, 42, 1, "halo kak"),  # Telegram hands an unconfirmed update again
            telegram_update("callback_query"),
        ]
    )
    bot = make_bot(TOKEN, f"{bot_api.url}/bot")
    try:
        await poll_updates(TelegramChannel(bot, SECRET), desk, long_poll_seconds=0, rounds=2)
    finally:
        await close_bot(bot)
    assert len(bot_api.calls("deleteWebhook")) == 1
    # what the background worker does next: the text, the press
    assert desk.step_pending(whole=True) == 2
    first, second = bot_api.calls("getUpdates")
    assert "offset" not in first.form
    assert second.form["offset"] == str(912345010 + 1)  # past the last update handled
    assert (
        bot_api.calls("answerCallbackQuery")[0].form["callback_query_id"] == "4382bfdwdsb323b2d9"
    )
    with engine.connect() as conn:
        [case] = [c for c in queries.list_cases(conn) if c["chat_id"] == "42"]
        messages = queries.list_messages(conn, case_ids=[case["id"]])
    assert [m["text"] for m in messages if m["direction"] == "in"] == ["halo kak"]
    assert any(m["direction"] == "out" and m["status"] == "pending" for m in messages)
