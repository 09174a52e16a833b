"""TelegramChannel: verify and parse on payload files; send through real PTB to a fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import telegram
from telegram.error import TimedOut

from chatbot.channels.base import RawRequest
from chatbot.channels.telegram import TelegramChannel, close_bot, file_url_for, make_bot
from chatbot.channels.telegram_http import AiohttpRequest
from chatbot.domain import OutboundMessage, OutButton
from chatbot.errors import InvalidSignature, MalformedPayload, RetryLater, SendFailed
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.payloads import telegram_update

SECRET = "s" * 32
TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"


def raw(body: object, secret: str | None = SECRET) -> RawRequest:
    headers = {"x-telegram-bot-api-secret-token": secret} if secret is not None else {}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return RawRequest(url="https://loket.example/webhooks/telegram", headers=headers, body=data)


@pytest.fixture
def channel() -> TelegramChannel:
    return TelegramChannel(telegram.Bot(TOKEN), SECRET)


@pytest.fixture
async def live(bot_api: FakeBotApi) -> AsyncIterator[TelegramChannel]:
    bot = make_bot(TOKEN, f"{bot_api.url}/bot")
    yield TelegramChannel(bot, SECRET)
    await close_bot(bot)


def test_verify_accepts_the_configured_secret(channel: TelegramChannel) -> None:
    channel.verify(raw({}))


@pytest.mark.parametrize("secret", [None, "", "s" * 31, "x" * 32])
def test_verify_refuses_when_the_secret_is_missing_or_wrong(
    channel: TelegramChannel, secret: str | None
) -> None:
    with pytest.raises(InvalidSignature):
        channel.verify(raw({}, secret))


def test_parse_text_keeps_chat_sender_and_a_per_chat_message_id(channel: TelegramChannel) -> None:
    [inbound] = channel.parse(raw(telegram_update("text")))
    assert inbound.channel == "telegram"
    assert inbound.chat_id == "123456789"
    assert inbound.message_id == "123456789:11"
    assert inbound.kind == "text"
    assert inbound.text.startswith("halo kak")
    assert inbound.sender_name == "Rina Wati"
    assert inbound.sent_at == datetime(2025, 11, 23, 3, 0, tzinfo=UTC)
    assert not inbound.edited


def test_parse_start_opens_the_chat_with_empty_text(channel: TelegramChannel) -> None:
    [inbound] = channel.parse(raw(telegram_update("start")))
    assert (inbound.kind, inbound.text) == ("text", "")


@pytest.mark.parametrize(
    ("typed", "text"),
    [
        ("/start@loket_bot", ""),  # the command as Telegram writes it with the bot's name
        ("/start promo_ramadan", "promo_ramadan"),  # a deep link's payload
        ("/startx", "/startx"),  # another word: the client's own text
    ],
)
def test_parse_start_with_the_bots_name_or_a_payload(
    channel: TelegramChannel, typed: str, text: str
) -> None:
    update = telegram_update("start")
    update["message"]["text"] = typed
    [inbound] = channel.parse(raw(update))
    assert inbound.text == text


def test_parse_photo_keeps_the_largest_size_and_the_caption(channel: TelegramChannel) -> None:
    [inbound] = channel.parse(raw(telegram_update("photo_caption")))
    assert inbound.kind == "photo"
    assert inbound.text == "ini screenshot laporan stoknya kak"
    [photo] = inbound.attachments
    assert (photo.kind, photo.file_id, photo.size) == ("photo", "AgACAgUAAxkBAAIBQ2Vlarge", 80431)
    assert photo.content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("name", "kind", "content_type", "filename"),
    [
        ("document", "document", "application/pdf", "laporan-stok.pdf"),
        ("video", "video", "video/mp4", "rekaman.mp4"),
        ("voice", "voice", "audio/ogg", None),
    ],
)
def test_parse_media_becomes_an_attachment(
    channel: TelegramChannel, name: str, kind: str, content_type: str, filename: str | None
) -> None:
    [inbound] = channel.parse(raw(telegram_update(name)))
    assert inbound.kind == kind
    [item] = inbound.attachments
    assert (item.kind, item.content_type, item.filename) == (kind, content_type, filename)
    assert item.file_id


def test_parse_location_and_contact(channel: TelegramChannel) -> None:
    [place] = channel.parse(raw(telegram_update("location")))
    assert place.kind == "location"
    assert place.location == (-6.200001, 106.816666)
    assert place.place is None
    venue = telegram_update("location")
    venue["message"]["venue"] = {
        "location": venue["message"]["location"],
        "title": "Toko Maju",
        "address": "Jl. Sudirman 1",
    }
    [named] = channel.parse(raw(venue))
    assert (named.location, named.place) == (place.location, "Toko Maju, Jl. Sudirman 1")
    [contact] = channel.parse(raw(telegram_update("contact")))
    assert contact.kind == "contact"
    assert contact.contact_phone == "6281234567890"
    assert contact.phone == "6281234567890"  # the client shared their own number


def test_parse_sticker_is_a_sticker_so_the_flow_asks_for_text(channel: TelegramChannel) -> None:
    [inbound] = channel.parse(raw(telegram_update("sticker")))
    assert (inbound.kind, inbound.text, inbound.attachments) == ("sticker", "", ())


def test_parse_edit_is_recorded_under_its_own_id(channel: TelegramChannel) -> None:
    [original] = channel.parse(raw(telegram_update("text")))
    [edit] = channel.parse(raw(telegram_update("edited_message")))
    assert edit.edited
    assert edit.message_id != original.message_id
    assert edit.message_id.startswith("123456789:11:")
    assert edit.text.endswith("sejak kemarin")


def test_parse_callback_query_carries_payload_and_label(channel: TelegramChannel) -> None:
    [press] = channel.parse(raw(telegram_update("callback_query")))
    assert press.kind == "button"
    assert press.button == "rating:5"
    assert press.text == "⭐⭐⭐⭐⭐"
    assert press.message_id == "4382bfdwdsb323b2d9"
    assert press.chat_id == "123456789"
    assert channel.webhook_answer([press]) == {
        "method": "answerCallbackQuery",
        "callback_query_id": "4382bfdwdsb323b2d9",
    }


def test_parse_ignores_groups_unless_allowed() -> None:
    update = telegram_update("group_text")
    assert TelegramChannel(telegram.Bot(TOKEN), SECRET).parse(raw(update)) == []
    allowed = TelegramChannel(telegram.Bot(TOKEN), SECRET, allow_groups=True)
    [inbound] = allowed.parse(raw(update))
    assert inbound.chat_id == "-1001234567890"


def test_parse_ignores_updates_that_are_no_client_message(channel: TelegramChannel) -> None:
    assert channel.parse(raw(telegram_update("my_chat_member"))) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        json.dumps({"message": {"text": "no update id"}}).encode(),
        json.dumps(
            {"update_id": 1, "message": {"message_id": 1, "text": "no chat, no date"}}
        ).encode(),
    ],
)
def test_parse_refuses_malformed_bodies(channel: TelegramChannel, body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        channel.parse(raw(body))


def test_file_url_is_derived_from_the_base_url() -> None:
    assert file_url_for("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url_for("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"


async def test_send_posts_text_and_inline_keyboard(
    live: TelegramChannel, bot_api: FakeBotApi
) -> None:
    buttons = tuple(OutButton(f"rating:{n}", "⭐" * n) for n in range(1, 6))
    provider_id = await live.send(
        OutboundMessage(channel="telegram", chat_id="42", text="Nilai kami?", buttons=buttons)
    )
    [call] = bot_api.calls("sendMessage")
    assert call.token == TOKEN
    assert call.form["chat_id"] == "42"  # PTB posts form fields
    assert call.form["text"] == "Nilai kami?"
    markup = call.reply_markup
    assert markup is not None
    assert [row[0]["callback_data"] for row in markup["inline_keyboard"]] == [
        f"rating:{n}" for n in range(1, 6)
    ]
    assert provider_id.isdigit()


async def test_send_yes_no_sits_on_one_row(live: TelegramChannel, bot_api: FakeBotApi) -> None:
    buttons = (OutButton("yes", "Ya"), OutButton("no", "Tidak"))
    await live.send(OutboundMessage(channel="telegram", chat_id="42", text="?", buttons=buttons))
    markup = bot_api.calls("sendMessage")[0].reply_markup
    assert markup == {
        "inline_keyboard": [
            [{"text": "Ya", "callback_data": "yes"}, {"text": "Tidak", "callback_data": "no"}]
        ]
    }


async def test_send_asks_to_retry_when_bot_api_says_429(
    live: TelegramChannel, bot_api: FakeBotApi
) -> None:
    bot_api.answer(
        "sendMessage",
        status=429,
        json={
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        },
    )
    with pytest.raises(RetryLater) as caught:
        await live.send(OutboundMessage(channel="telegram", chat_id="42", text="Halo kak"))
    assert caught.value.seconds == 3


@pytest.mark.parametrize(
    ("status", "description"),
    [(500, "Internal Server Error"), (502, "Bad Gateway"), (503, "Service Unavailable")],
)
async def test_send_asks_to_retry_on_a_server_error(
    live: TelegramChannel, bot_api: FakeBotApi, status: int, description: str
) -> None:
    bot_api.answer(
        "sendMessage",
        status=status,
        json={"ok": False, "error_code": status, "description": description},
    )
    with pytest.raises(RetryLater):
        await live.send(OutboundMessage(channel="telegram", chat_id="42", text="Halo kak"))


async def test_a_rejected_token_is_retried_not_failed(
    live: TelegramChannel, bot_api: FakeBotApi
) -> None:
    bot_api.answer(
        "sendMessage",
        status=401,
        json={"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    with pytest.raises(RetryLater, match="LOKET_TELEGRAM_TOKEN"):
        await live.send(OutboundMessage(channel="telegram", chat_id="42", text="Halo kak"))


async def test_a_migrated_group_fails_for_good_naming_the_new_chat(
    live: TelegramChannel, bot_api: FakeBotApi
) -> None:
    bot_api.answer(
        "sendMessage",
        status=400,
        json={
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1001234567890},
        },
    )
    with pytest.raises(SendFailed, match="-1001234567890"):
        await live.send(OutboundMessage(channel="telegram", chat_id="-42", text="Halo kak"))


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (403, "Forbidden: bot was blocked by the user"),
        (403, "Forbidden: user is deactivated"),
        (400, "Bad Request: chat not found"),
    ],
)
async def test_send_fails_for_good_when_telegram_refuses(
    live: TelegramChannel, bot_api: FakeBotApi, status: int, description: str
) -> None:
    bot_api.answer(
        "sendMessage",
        status=status,
        json={"ok": False, "error_code": status, "description": description},
    )
    with pytest.raises(SendFailed, match="(?i)" + description.split(": ")[1]):
        await live.send(OutboundMessage(channel="telegram", chat_id="42", text="Halo kak"))


async def test_send_retries_later_when_the_bot_api_is_down() -> None:
    bot = make_bot(TOKEN, "http://127.0.0.1:9/bot")  # nothing listens on the discard port
    try:
        with pytest.raises(RetryLater):
            await TelegramChannel(bot, SECRET).send(
                OutboundMessage(channel="telegram", chat_id="42", text="Halo")
            )
    finally:
        await close_bot(bot)


async def test_a_bot_api_that_never_answers_times_out_and_is_retried_later() -> None:
    """The first request is answered after 2 s: only a 0.3 s read timeout turns it into
    TimedOut (PTB's default is 5 s). Both timers run on this one event loop, so on a loaded
    machine they fire late but in order, and no duration needs asserting.
    """
    connections: list[asyncio.StreamWriter] = []
    hang_up = asyncio.Event()
    sent = json.dumps(
        {
            "ok": True,
            "result": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 42, "type": "private"},
                "text": "Halo",
            },
        }
    ).encode()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read(65536)  # take the request
        if len(connections) == 1:  # answer the first one late; never answer the others
            await asyncio.sleep(2)
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(sent)}"
            )
            with contextlib.suppress(ConnectionError):  # the client gave up long ago
                writer.write(head.encode() + b"\r\n\r\n" + sent)
                await writer.drain()
        await hang_up.wait()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bot = telegram.Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest())
    try:
        with pytest.raises(TimedOut):
            await bot.send_message(chat_id=42, text="Halo", read_timeout=0.3)
        with pytest.raises(RetryLater):  # what the outbox sees: try again later
            await TelegramChannel(bot, SECRET).send(
                OutboundMessage(channel="telegram", chat_id="42", text="Halo")
            )
    finally:
        await bot.request.shutdown()
        hang_up.set()
        server.close()
        await server.wait_closed()
    assert len(connections) == 2


async def test_polling_answers_pressed_buttons(live: TelegramChannel, bot_api: FakeBotApi) -> None:
    [press] = live.parse(raw(telegram_update("callback_query")))
    await live.answer_callbacks([press])
    [call] = bot_api.calls("answerCallbackQuery")
    assert call.form["callback_query_id"] == "4382bfdwdsb323b2d9"
