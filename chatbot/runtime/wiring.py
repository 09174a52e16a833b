"""Channels, sending limits and the team's notifier, built from the settings.

Shared by every process that talks to providers: the web app, the `loket outbox` dispatcher
and the desk process (which only parses). No web framework here, so the dispatcher and the
desk process start without loading FastAPI and the pages.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import timedelta

from sqlalchemy import Engine

from chatbot.agents.notify import Notifier
from chatbot.campaigns.sending import CampaignFeed
from chatbot.channels.base import Channel
from chatbot.channels.files import MediaLinks
from chatbot.channels.sms import SmsChannel
from chatbot.channels.telegram import TelegramChannel, close_bot, make_bot
from chatbot.channels.twilio_common import TwilioAccount
from chatbot.channels.whatsapp import WhatsAppChannel
from chatbot.clock import Clock
from chatbot.frontdesk.files import FileShelf
from chatbot.frontdesk.outbox import OutboxDispatcher, RateLimit
from flows.profiles.schema import Profile
from settings import Settings


def telegram_channel(settings: Settings) -> TelegramChannel | None:
    """The Telegram channel, when a token and a secret are set; close its bot with close_bot."""
    if not (settings.telegram_token and settings.telegram_secret):
        return None
    bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_base_url)
    return TelegramChannel(
        bot,
        settings.telegram_secret.get_secret_value(),
        allow_groups=settings.telegram_allow_groups,
    )


def outbox_dispatcher(
    engine: Engine,
    channels: Mapping[str, Channel],
    clock: Clock,
    settings: Settings,
    profile: Callable[[str], Profile] | None = None,
) -> OutboxDispatcher:
    """The dispatcher with the configured retry deadlines and sending limits.

    Given the desk's profiles (`profile(name)`), it sends campaigns too: each campaign's
    window and working days are in its profile's time zone.
    """
    campaigns = None
    if profile is not None:
        campaigns = CampaignFeed(
            engine,
            profile,
            clock,
            daily_cap=settings.campaign_daily_cap,
            lease=timedelta(seconds=settings.campaign_lease_seconds),
        )
    return OutboxDispatcher(
        engine,
        channels,
        clock,
        deadlines=outbox_deadlines(settings),
        limits=rate_limits(settings),
        campaigns=campaigns,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        files=FileShelf(engine, settings.media_dir),
    )


def media_links(settings: Settings, clock: Clock) -> MediaLinks | None:
    """Signed links to agents' files for Twilio to fetch, when Twilio is configured.

    Keyed from the Twilio auth token: every process of the installation has it, so a link
    one process signs, any web worker accepts.
    """
    if not settings.twilio_auth_token:
        return None
    return MediaLinks(settings.public_base, settings.twilio_auth_token.get_secret_value(), clock)


def outbox_deadlines(settings: Settings) -> dict[str, timedelta]:
    """How long each channel's replies are retried, counted from when they were written."""
    minutes = {
        "telegram": settings.outbox_deadline_minutes_telegram,
        "whatsapp": settings.outbox_deadline_minutes_whatsapp,
        "sms": settings.outbox_deadline_minutes_sms,
        "web": settings.outbox_deadline_minutes_web,
    }
    return {channel: timedelta(minutes=value) for channel, value in minutes.items()}


def rate_limits(settings: Settings) -> dict[str, RateLimit]:
    """The providers' sending limits, as configured."""
    return {
        "telegram": RateLimit(
            settings.telegram_max_per_second, settings.telegram_max_per_chat_per_second
        ),
        "whatsapp": RateLimit(settings.whatsapp_max_per_second),
        "sms": RateLimit(settings.sms_max_per_second),
    }


@contextlib.asynccontextmanager
async def open_channels(settings: Settings, clock: Clock) -> AsyncIterator[dict[str, Channel]]:
    """The Telegram, WhatsApp and SMS channels the settings configure, open for the app's life.

    Built inside the running loop (Twilio's async HTTP client needs one). Nothing here calls
    the providers, so start-up never waits for, or fails on, Telegram or Twilio.
    """
    built: dict[str, Channel] = {}
    async with contextlib.AsyncExitStack() as stack:
        telegram = telegram_channel(settings)
        if telegram is not None:
            stack.push_async_callback(close_bot, telegram.bot)
            built["telegram"] = telegram
        if settings.twilio_account_sid and settings.twilio_auth_token:
            account = TwilioAccount.open(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token.get_secret_value(),
                base_url=settings.twilio_base_url,
                status_callback=f"{settings.public_base}/webhooks/twilio/status",
            )
            stack.push_async_callback(account.aclose)
            links = media_links(settings, clock)
            built["whatsapp"] = WhatsAppChannel(
                account,
                settings.twilio_whatsapp_from,
                clock,
                template_sid=settings.twilio_whatsapp_template_sid,
                links=links,
            )
            built["sms"] = SmsChannel(account, settings.twilio_sms_from, links=links)
        yield built


@contextlib.asynccontextmanager
async def open_notifier(settings: Settings) -> AsyncIterator[Notifier]:
    """The team's Discord webhook and Telegram group, as configured, for the app's life."""
    bot = None
    if settings.telegram_token:  # the agents' group, and technicians' chats
        bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_base_url)
    webhook = settings.discord_webhook_url
    try:
        yield Notifier(
            discord_webhook_url=webhook.get_secret_value() if webhook else None,
            telegram_bot=bot,
            telegram_chat_id=settings.agent_telegram_chat_id,
        )
    finally:
        if bot is not None:
            await close_bot(bot)
