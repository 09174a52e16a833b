"""What Loket relies on inside python-telegram-bot beyond its public API, pinned.

Each test here fails on the PTB upgrade that would break a workaround in
chatbot/channels/telegram.py or telegram_http.py, instead of the workaround failing
quietly in production (an unclosed connection pool, a timeout ignored).
"""

from __future__ import annotations

from telegram.request import BaseRequest

from chatbot.channels.telegram import close_bot, make_bot
from chatbot.channels.telegram_http import AiohttpRequest, _seconds
from tests.fakes.bot_api import FakeBotApi


async def test_close_bot_closes_the_get_updates_pool_of_a_bot_never_initialised(
    bot_api: FakeBotApi,
) -> None:
    bot = make_bot("123:ABC", f"{bot_api.url}/bot")
    await bot.get_updates(timeout=0)  # opens the getUpdates pool; no initialize(), as in poll
    # PTB 22 keeps (getUpdates request, other requests) in the private Bot._request, and
    # exposes only the second as bot.request; close_bot reaches the first through it.
    updates_pool = bot._request[0]
    assert isinstance(updates_pool, AiohttpRequest)
    assert updates_pool is not bot.request
    await close_bot(bot)
    assert updates_pool._session is not None
    assert updates_pool._session.closed


def test_ptbs_not_given_timeout_is_neither_a_number_nor_none() -> None:
    # telegram_http._seconds tells PTB's "not given" sentinel (a private class) from a real
    # timeout by what it is not; a PTB that passed defaults as numbers or None would be
    # read as an explicit timeout.
    assert _seconds(BaseRequest.DEFAULT_NONE, 5.0) == 5.0
    assert _seconds(None, 5.0) is None
    assert _seconds(2, 5.0) == 2
