"""Notifier against a fake Discord webhook and the fake Bot API: retries, refusals, files."""

from __future__ import annotations

from chatbot.agents.notify import Notifier
from chatbot.channels.telegram import close_bot, make_bot
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.discord_api import FakeDiscord
from tests.team.conftest import no_sleep

GROUP = "-1001234567890"


async def test_a_post_reaches_discord_and_the_telegram_group(
    discord: FakeDiscord, bot_api: FakeBotApi
) -> None:
    bot = make_bot("123:ABC", f"{bot_api.url}/bot")
    try:
        notifier = Notifier(
            discord_webhook_url=discord.webhook_url, telegram_bot=bot, telegram_chat_id=GROUP
        )
        result = await notifier.post("Kasus #7 masuk antrean")
    finally:
        await close_bot(bot)
    assert result.ok
    assert sorted(result.posted_to) == ["discord", "telegram"]
    assert [p.content for p in discord.posts] == ["Kasus #7 masuk antrean"]
    assert bot_api.sent_texts(GROUP) == ["Kasus #7 masuk antrean"]


async def test_discord_rate_limits_and_errors_are_retried(discord: FakeDiscord) -> None:
    discord.answer(429, {"retry_after": 0.01})
    discord.answer(502)
    notifier = Notifier(discord_webhook_url=discord.webhook_url, sleep=no_sleep)
    result = await notifier.post("laporan")
    assert result.ok
    assert len(discord.posts) == 1


async def test_a_refusal_is_reported_not_raised(discord: FakeDiscord) -> None:
    discord.answer(400, {"message": "Invalid Form Body"})
    notifier = Notifier(discord_webhook_url=discord.webhook_url, sleep=no_sleep)
    result = await notifier.post("laporan")
    assert not result.ok
    assert result.error_text() == "discord: Discord refused the post (400)"
    assert discord.posts == []


async def test_an_unreachable_destination_gives_up_after_the_attempts(
    bot_api: FakeBotApi,
) -> None:
    for _ in range(3):
        bot_api.answer(
            "sendMessage",
            status=500,
            json={"ok": False, "error_code": 500, "description": "Internal"},
        )
    bot = make_bot("123:ABC", f"{bot_api.url}/bot")
    try:
        notifier = Notifier(telegram_bot=bot, telegram_chat_id=GROUP, sleep=no_sleep)
        result = await notifier.post("halo tim")
    finally:
        await close_bot(bot)
    assert not result.ok
    assert "telegram" in (result.error_text() or "")
    assert len(bot_api.calls("sendMessage")) == 3


async def test_nothing_configured_is_a_visible_error() -> None:
    result = await Notifier().post("x")
    assert result.posted_to == []
    assert "no Discord webhook" in (result.error_text() or "")


async def test_files_go_to_both_destinations(discord: FakeDiscord, bot_api: FakeBotApi) -> None:
    bot = make_bot("123:ABC", f"{bot_api.url}/bot")
    try:
        notifier = Notifier(
            discord_webhook_url=discord.webhook_url, telegram_bot=bot, telegram_chat_id=GROUP
        )
        result = await notifier.post_file("daily.xlsx", b"PK\x03\x04data", "Laporan harian")
    finally:
        await close_bot(bot)
    assert result.ok
    [post] = discord.posts
    assert post.content == "Laporan harian"
    assert post.files == [("daily.xlsx", b"PK\x03\x04data")]
    [call] = bot_api.calls("sendDocument")
    assert (call.form["chat_id"], call.form["document"], call.form["caption"]) == (
        GROUP,
        "daily.xlsx",
        "Laporan harian",
    )
