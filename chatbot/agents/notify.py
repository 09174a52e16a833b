"""Posts to the team: a Discord channel (webhook) and the agents' Telegram group.

Used for escalation reports, hand-off alerts and the supervisors' daily report. A post
never raises: each destination is tried a few times and what failed is returned, so the
caller can record it (escalation.post_error) and the console can show it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import telegram
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

from chatbot.channels.telegram import as_seconds

logger = logging.getLogger(__name__)

DISCORD_MAX = 2000  # Discord's message limit
TELEGRAM_MAX = 4096
CAPTION_MAX = 1024


@dataclass(slots=True)
class PostResult:
    """Where a post went, and what failed (one line per destination)."""

    posted_to: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """At least one destination took it and none failed."""
        return bool(self.posted_to) and not self.errors

    def error_text(self) -> str | None:
        """The failures as one line, or None."""
        return "; ".join(self.errors) or None


class _GiveUp(Exception):
    """A refusal that retrying will not change."""


class Notifier:
    """Posts text and files to the configured team destinations, with retries."""

    def __init__(
        self,
        *,
        discord_webhook_url: str | None = None,
        telegram_bot: telegram.Bot | None = None,
        telegram_chat_id: str | None = None,
        http: httpx.AsyncClient | None = None,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._discord = discord_webhook_url or None
        self._bot = telegram_bot if telegram_chat_id else None
        self._any_bot = telegram_bot  # #17: technicians' chats and group (post_telegram)
        self._chat_id = telegram_chat_id
        self._http = http
        self._attempts = max(1, attempts)
        self._backoff = backoff_seconds
        self._sleep = sleep

    @property
    def destinations(self) -> list[str]:
        """The configured destinations by name ("discord", "telegram")."""
        return [
            name
            for name, on in (("discord", self._discord), ("telegram", self._bot))
            if on is not None
        ]

    async def post(self, text: str) -> PostResult:
        """Post a text everywhere configured; never raises."""
        return await self._everywhere(
            lambda: self._discord_post({"content": text[:DISCORD_MAX]}, None),
            lambda: self._telegram_text(text[:TELEGRAM_MAX]),
        )

    async def post_telegram(self, chat_id: str, text: str) -> PostResult:
        """Post a text to one Telegram chat (a technician, their group); never raises."""
        result = PostResult()
        bot = self._any_bot
        if bot is None:
            result.errors.append("telegram: no bot is configured (LOKET_TELEGRAM_TOKEN)")
            return result

        async def send() -> None:
            await bot.send_message(chat_id, text[:TELEGRAM_MAX])

        error = await self._with_retries("telegram", send)
        if error is None:
            result.posted_to.append("telegram")
        else:
            result.errors.append(f"telegram: {error}")
        return result

    async def post_file(self, name: str, data: bytes, caption: str) -> PostResult:
        """Post a file with a caption everywhere configured (the daily report); never raises."""
        return await self._everywhere(
            lambda: self._discord_post({"content": caption[:DISCORD_MAX]}, (name, data)),
            lambda: self._telegram_file(name, data, caption[:CAPTION_MAX]),
        )

    async def _everywhere(
        self,
        discord: Callable[[], Awaitable[None]],
        telegram_send: Callable[[], Awaitable[None]],
    ) -> PostResult:
        result = PostResult()
        if not self.destinations:
            result.errors.append("no Discord webhook or agents' Telegram group is configured")
            return result
        jobs: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        if self._discord is not None:
            jobs.append(("discord", discord))
        if self._bot is not None:
            jobs.append(("telegram", telegram_send))
        outcomes = await asyncio.gather(*(self._with_retries(name, job) for name, job in jobs))
        for (name, _), error in zip(jobs, outcomes, strict=True):
            if error is None:
                result.posted_to.append(name)
            else:
                result.errors.append(f"{name}: {error}")
        return result

    async def _with_retries(self, name: str, job: Callable[[], Awaitable[None]]) -> str | None:
        error = "not tried"
        for attempt in range(1, self._attempts + 1):
            wait = self._backoff * 2 ** (attempt - 1)
            try:
                await job()
                return None
            except _GiveUp as exc:
                error = str(exc)
                break
            except RetryAfter as exc:
                error = f"rate limited (retry after {as_seconds(exc.retry_after):g}s)"
                wait = max(wait, as_seconds(exc.retry_after))
            except (BadRequest, Forbidden, InvalidToken) as exc:
                error = f"refused: {exc.message}"
                break
            except TelegramError as exc:
                error = f"unreachable: {exc.message}"
            except httpx.HTTPError as exc:
                error = f"unreachable: {exc.__class__.__name__}"
            except _Retry as exc:
                error = str(exc)
                wait = max(wait, exc.seconds)
            if attempt < self._attempts:
                await self._sleep(min(wait, 30.0))
        logger.warning("Posting to %s failed: %s", name, error)
        return error

    async def _discord_post(
        self, payload: dict[str, object], file: tuple[str, bytes] | None
    ) -> None:
        assert self._discord is not None
        client = self._http or httpx.AsyncClient(timeout=10.0)
        try:
            if file is None:
                response = await client.post(self._discord, json=payload)
            else:
                response = await client.post(
                    self._discord,
                    data={"payload_json": json.dumps(payload)},
                    files={"files[0]": (file[0], file[1])},
                )
        finally:
            if self._http is None:
                await client.aclose()
        if response.status_code == 429:
            try:
                seconds = float(response.json().get("retry_after", 1.0))
            except (ValueError, AttributeError):
                seconds = 1.0
            raise _Retry(seconds, "rate limited by Discord")
        if response.status_code >= 500:
            raise _Retry(0.0, f"Discord answered {response.status_code}")
        if response.status_code >= 400:
            raise _GiveUp(f"Discord refused the post ({response.status_code})")

    async def _telegram_text(self, text: str) -> None:
        assert self._bot is not None
        assert self._chat_id is not None
        await self._bot.send_message(self._chat_id, text)

    async def _telegram_file(self, name: str, data: bytes, caption: str) -> None:
        assert self._bot is not None
        assert self._chat_id is not None
        await self._bot.send_document(
            self._chat_id, document=telegram.InputFile(data, filename=name), caption=caption
        )


class _Retry(Exception):
    """A temporary failure: try again after `seconds` (at least the backoff)."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
