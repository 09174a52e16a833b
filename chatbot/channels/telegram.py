"""Telegram through python-telegram-bot: updates in (webhook or polling), Bot API calls out."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from chatbot.domain import Attachment, Inbound, OutboundMessage, OutButton, OutFile
from chatbot.errors import (
    InvalidSignature,
    MediaUnavailable,
    RetryLater,
    SendFailed,
)

from .base import RawRequest
from .fields import place_name
from .telegram_http import AiohttpRequest
from .telegram_update import (
    CallbackQueryIn,
    FileIn,
    KeyboardIn,
    MessageIn,
    UpdateIn,
    read_update,
)

# PTB 22 warns when RetryAfter.retry_after is read as an int, and reads it itself while
# building the exception; opting in to timedelta keeps a 429 from turning into a warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")

logger = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105  # a header name
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
NETWORK_RETRY_SECONDS = 2.0
# A rejected token is our configuration, not the reply: retried until someone fixes it.
BAD_TOKEN_RETRY_SECONDS = 60.0
MAX_PHOTO_BYTES = 10_000_000  # the Bot API's sendPhoto limit; larger pictures go as documents
_MEDIA_KINDS = ("photo", "video", "video_note", "voice", "audio", "document")
_DEFAULT_TYPES = {"photo": "image/jpeg", "video_note": "video/mp4"}  # Telegram omits these


def file_url_for(base_url: str) -> str:
    """The Bot API file URL that goes with `base_url`, derived the way PTB derives its default.

    `https://api.telegram.org/bot` gives `https://api.telegram.org/file/bot`, and a local
    `http://127.0.0.1:8081/bot` gives `http://127.0.0.1:8081/file/bot`.
    """
    head, _, last = base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{last}"


def make_bot(token: str, base_url: str, *, pool_size: int = 8) -> telegram.Bot:
    """A Bot aimed at `base_url` (PTB's meaning: the token is appended), not initialised.

    `send_message` works without `initialize()`, which would call getMe and tie start-up to
    Telegram being reachable. Close it with `close_bot`, since `shutdown()` skips a Bot that
    was never initialised. Requests travel over aiohttp (telegram_http.py: a fifth of httpx's
    CPU per send).
    """
    return telegram.Bot(
        token,
        base_url=base_url,
        base_file_url=file_url_for(base_url),
        request=AiohttpRequest(pool_size=pool_size),
        get_updates_request=AiohttpRequest(pool_size=1),
    )


async def close_bot(bot: telegram.Bot) -> None:
    """Close the Bot's HTTP connection pools, initialised or not."""
    await bot.shutdown()  # does nothing unless initialize() ran
    # AiohttpRequest.shutdown is idempotent. The getUpdates pool has no public handle, and
    # bot.shutdown() skips it when initialize() never ran (sending needs no getMe), so it is
    # reached through PTB 22's private `Bot._request` (getUpdates first, then the rest).
    # tests/channels/test_telegram_http.py fails if an upgrade moves it.
    await asyncio.gather(bot.request.shutdown(), bot._request[0].shutdown())


def as_seconds(value: int | float | timedelta) -> float:
    """`RetryAfter.retry_after` is an int or a timedelta depending on PTB_TIMEDELTA."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def inline_keyboard(buttons: tuple[OutButton, ...]) -> InlineKeyboardMarkup | None:
    """Inline buttons whose callback data is the flow's payload (`yes`, `rating:5`...).

    Two or three short choices sit on one row; longer lists (the 1-5 stars) get a row each,
    so every label stays readable on a phone.
    """
    if not buttons:
        return None
    keys = [InlineKeyboardButton(b.label, callback_data=b.payload[:64]) for b in buttons]
    rows = [keys] if len(keys) <= 3 else [[key] for key in keys]
    return InlineKeyboardMarkup(rows)


class TelegramChannel:
    """Telegram: the secret header proves the sender; telegram_update.py validates updates."""

    name: ClassVar[str] = "telegram"

    def __init__(
        self,
        bot: telegram.Bot,
        secret: str,
        *,
        allow_groups: bool = False,
    ) -> None:
        self._bot = bot  # base_url comes from settings, so tests aim it at a fake Bot API
        self._secret = secret.encode()
        self._allow_groups = allow_groups

    @property
    def bot(self) -> telegram.Bot:
        """The Bot this channel sends with (the CLI uses it for set-webhook and polling)."""
        return self._bot

    def verify(self, request: RawRequest) -> None:
        """Check the secret token Telegram sends with every webhook call.

        Raises:
            InvalidSignature: the X-Telegram-Bot-Api-Secret-Token header is missing or wrong.
        """
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):  # == would leak the matching prefix
            raise InvalidSignature("missing or wrong X-Telegram-Bot-Api-Secret-Token")

    def parse(self, request: RawRequest) -> list[Inbound]:
        """Read one webhook update.

        Raises:
            MalformedPayload: the body is not JSON or not a Telegram update.
        """
        return self.inbound_from(read_update(request.body))

    def parse_update(self, data: dict[str, Any]) -> list[Inbound]:
        """Turn one decoded update (polling: `Update.to_dict()`) into messages.

        Raises:
            MalformedPayload: the object is not a Telegram update.
        """
        return self.inbound_from(read_update(data))

    def inbound_from(self, update: UpdateIn) -> list[Inbound]:
        """Messages in one validated update; [] for kinds the desk ignores on purpose."""
        if update.callback_query is not None:
            return self._from_callback(update.callback_query)
        message = update.message or update.edited_message
        if message is None:
            return []  # channel posts, member updates, polls...: nothing a client wrote
        chat = message.chat
        if chat.type != "private" and not self._allow_groups:
            logger.info("Ignoring a Telegram update from a %s chat.", chat.type)
            return []
        user = message.sender
        edited = update.edited_message is not None
        message_id = f"{chat.id}:{message.message_id}"  # Telegram numbers messages per chat
        if edited:  # every edit is its own record, and a re-sent edit is still a duplicate
            message_id = f"{message_id}:edit:{message.edit_date or 0}"
        base: dict[str, Any] = {
            "channel": self.name,
            "chat_id": str(chat.id),
            "message_id": message_id,
            "sender_name": user.full_name if user else None,
            "edited": edited,
            "sent_at": message.sent_at,
        }
        return [Inbound(**base, **_content(message, user.id if user else None))]

    def _from_callback(self, query: CallbackQueryIn) -> list[Inbound]:
        message = query.message
        if message is None:
            # Buttons on messages sent inline have no chat; Loket never sends those.
            return []
        if message.chat.type != "private" and not self._allow_groups:
            return []
        # An old message comes back as InaccessibleMessage, without its keyboard.
        label = _button_label(message.reply_markup, query.data)
        return [
            Inbound(
                channel=self.name,
                chat_id=str(message.chat.id),
                message_id=query.id,  # unique per bot: pressing twice is two presses
                text=label or (query.data or ""),
                kind="button",
                sender_name=query.sender.full_name,
                button=query.data or "",
            )
        ]

    def webhook_answer(self, inbounds: list[Inbound]) -> dict[str, object] | None:
        """The Bot API call to make in the webhook's response body, if any.

        Telegram lets a webhook answer with one method call; answering the callback query
        there stops the button's spinner without an extra request.
        """
        for inbound in inbounds:
            if inbound.kind == "button":
                return {"method": "answerCallbackQuery", "callback_query_id": inbound.message_id}
        return None

    async def answer_callbacks(self, inbounds: list[Inbound]) -> None:
        """Answer pressed buttons with a Bot API call (polling mode has no webhook response)."""
        for inbound in inbounds:
            if inbound.kind != "button":
                continue
            try:
                await self._bot.answer_callback_query(inbound.message_id)
            except TelegramError as exc:  # the spinner stops by itself; the press is kept
                logger.warning("Could not answer a callback query: %s", exc)

    async def send(self, message: OutboundMessage) -> str:
        """Send one reply, with inline buttons when the flow offers choices.

        What Telegram says about this chat is final (the user blocked the bot, the chat does
        not exist, the group moved); what it says about itself or the network passes.

        Raises:
            RetryLater: Telegram said 429 (its retry_after is honoured), 5xx, was unreachable,
                or refused the bot token (a setting to fix; the reply must not be lost).
            SendFailed: the chat id is not a number, or Telegram refused this message for
                good (Forbidden: blocked bot or
                deactivated user; BadRequest: chat not found, text too long...; the chat
                migrated to a supergroup).
        """
        if not _is_chat_id(message.chat_id):  # int() would raise, and look retryable
            raise SendFailed(f"not a Telegram chat id: {message.chat_id[:32]!r}")
        try:
            if message.file is not None:
                sent = await self._send_file(message, message.file)
            else:
                sent = await self._bot.send_message(
                    chat_id=int(message.chat_id),
                    text=message.text,
                    reply_markup=inline_keyboard(message.buttons),
                )
        except RetryAfter as exc:
            raise RetryLater(as_seconds(exc.retry_after), f"Telegram 429: {exc}") from exc
        except ChatMigrated as exc:
            raise SendFailed(
                f"Telegram: the group moved to chat {exc.new_chat_id}; the client must write "
                "from there"
            ) from exc
        except InvalidToken as exc:  # 401, or 404 for a malformed token
            raise RetryLater(
                BAD_TOKEN_RETRY_SECONDS,
                f"Telegram refused the bot token (check LOKET_TELEGRAM_TOKEN): {exc.message}",
            ) from exc
        except (BadRequest, Forbidden) as exc:  # BadRequest is a NetworkError: before it
            raise SendFailed(f"Telegram refused the message: {exc.message}") from exc
        except NetworkError as exc:  # 5xx, timeouts, connection refused
            raise RetryLater(NETWORK_RETRY_SECONDS, f"Telegram unreachable: {exc}") from exc
        except TelegramError as exc:  # an unreadable answer, Conflict...: nothing final
            raise RetryLater(NETWORK_RETRY_SECONDS, f"Telegram error: {exc}") from exc
        return str(sent.message_id)

    async def _send_file(self, message: OutboundMessage, file: OutFile) -> telegram.Message:
        """An agent's file, uploaded; the reply's text is its caption.

        sendPhoto for a picture Telegram takes as one (up to 10 MB), sendDocument otherwise.

        Raises:
            SendFailed: our stored copy is gone.
        """
        try:
            data = await asyncio.to_thread(Path(file.path).read_bytes)
        except OSError as exc:
            raise SendFailed(f"the file to send is no longer kept: {exc.strerror}") from exc
        caption = message.text or None
        if file.kind == "photo" and len(data) <= MAX_PHOTO_BYTES:
            return await self._bot.send_photo(
                chat_id=int(message.chat_id), photo=data, caption=caption
            )
        return await self._bot.send_document(
            chat_id=int(message.chat_id), document=data, filename=file.filename, caption=caption
        )

    async def fetch_file(self, file_id: str, limit: int) -> bytes:
        """Download a file the client sent (Telegram keeps it; we keep only its file_id).

        Raises:
            MediaUnavailable: Telegram does not give the file, or it is over `limit` bytes.
        """
        try:
            found = await self._bot.get_file(file_id)
            if found.file_size is not None and found.file_size > limit:
                raise MediaUnavailable(f"the file is over {limit} bytes")
            data = bytes(await found.download_as_bytearray())
        except TelegramError as exc:
            raise MediaUnavailable(f"Telegram did not give the file: {exc.message}") from exc
        if len(data) > limit:
            raise MediaUnavailable(f"the file is over {limit} bytes")
        return data


def _is_chat_id(value: str) -> bool:
    digits = value.removeprefix("-")
    return digits.isascii() and digits.isdigit() and len(digits) <= 20


# "/start", "/start@loket_bot", "/start PAYLOAD"; not "/startx".
_START = re.compile(r"/start(?:@\w+)?(?=\s|$)")


def _content(message: MessageIn, sender_id: int | None) -> dict[str, Any]:
    """Kind, text and attachments of one message."""
    text = message.text or message.caption or ""
    if message.text is not None:
        start = _START.match(text)
        if start is not None:
            # A deep link's /start is how a client opens the chat; the greeting answers it.
            return {"text": text[start.end() :].strip(), "kind": "text"}
        return {"text": text, "kind": "text"}
    if message.location is not None:
        point = (message.location.latitude, message.location.longitude)
        venue = message.venue
        place = place_name(venue.title, venue.address) if venue is not None else None
        return {"text": text, "kind": "location", "location": point, "place": place}
    if message.contact is not None:
        contact = message.contact
        own = contact.user_id is not None and contact.user_id == sender_id
        return {
            "text": text,
            "kind": "contact",
            "contact_phone": contact.phone_number,
            "phone": contact.phone_number if own else None,
        }
    if message.sticker is not None:
        return {"text": "", "kind": "sticker"}
    for kind in _MEDIA_KINDS:
        found: FileIn | list[FileIn] | None = getattr(message, kind)
        if not found:
            continue
        item = found[-1] if isinstance(found, list) else found  # photo sizes: smallest first
        attachment = Attachment(
            kind={"video_note": "video"}.get(kind, kind),
            file_id=item.file_id,
            content_type=item.mime_type or _DEFAULT_TYPES.get(kind),
            filename=item.file_name,
            size=item.file_size,
        )
        flow_kind = {"video_note": "video", "audio": "voice"}.get(kind, kind)
        return {"text": text, "kind": flow_kind, "attachments": (attachment,)}
    return {"text": text, "kind": "other"}  # animations, polls, dice, games...


def _button_label(markup: KeyboardIn | None, data: str | None) -> str | None:
    """The label of the pressed button, read back from the message it sat on."""
    if markup is None or data is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
