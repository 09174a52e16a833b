"""Agents' files leaving through each channel: real PTB uploads and twilio's MediaUrl against the
fakes, and the refusals that must be final rather than retried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from chatbot.channels.files import MediaLinks
from chatbot.channels.sms import SmsChannel
from chatbot.channels.telegram import MAX_PHOTO_BYTES, TelegramChannel, close_bot, make_bot
from chatbot.channels.twilio_common import TwilioAccount
from chatbot.channels.whatsapp import WhatsAppChannel
from chatbot.domain import OutboundMessage, OutFile
from chatbot.errors import SendFailed
from tests.clock import FrozenClock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
PUBLIC = "https://loket.example.co.id"
CLIENT = "+6281234567890"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60


def picture(tmp_path: Path, data: bytes = JPEG, name: str = "foto.jpg") -> OutFile:
    path = tmp_path / name
    path.write_bytes(data)
    return OutFile(7, "photo", str(path), "image/jpeg", name)


@pytest.fixture
async def telegram_channel(bot_api: FakeBotApi) -> AsyncIterator[TelegramChannel]:
    bot = make_bot(TOKEN, f"{bot_api.url}/bot")
    yield TelegramChannel(bot, "s" * 32)
    await close_bot(bot)


@pytest.fixture
async def account(twilio_api: FakeTwilioApi) -> AsyncIterator[TwilioAccount]:
    opened = TwilioAccount.open(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        base_url=twilio_api.url,
        status_callback=None,
    )
    yield opened
    await opened.aclose()


async def test_a_picture_over_telegrams_photo_limit_goes_as_a_document(
    telegram_channel: TelegramChannel, bot_api: FakeBotApi, tmp_path: Path
) -> None:
    big = JPEG + b"\x00" * MAX_PHOTO_BYTES
    await telegram_channel.send(
        OutboundMessage("telegram", "42", "", file=picture(tmp_path, big, "besar.jpg"))
    )
    assert bot_api.calls("sendPhoto") == []
    (call,) = bot_api.calls("sendDocument")
    assert (call.uploads["document"].filename, len(call.uploads["document"].data)) == (
        "besar.jpg",
        len(big),
    )


async def test_a_file_no_longer_kept_fails_for_good_on_telegram(
    telegram_channel: TelegramChannel, bot_api: FakeBotApi, tmp_path: Path
) -> None:
    gone = OutFile(7, "document", str(tmp_path / "gone.pdf"), "application/pdf", "gone.pdf")
    with pytest.raises(SendFailed, match="no longer kept"):
        await telegram_channel.send(OutboundMessage("telegram", "42", "x", file=gone))
    assert bot_api.calls() == []


async def test_whatsapp_sends_a_file_as_a_signed_link_inside_the_window_only(
    account: TwilioAccount, twilio_api: FakeTwilioApi, clock: FrozenClock, tmp_path: Path
) -> None:
    links = MediaLinks(PUBLIC, AUTH_TOKEN, clock)
    whatsapp = WhatsAppChannel(account, "+14155238886", clock, links=links)
    file = picture(tmp_path)
    await whatsapp.send(
        OutboundMessage("whatsapp", CLIENT, "foto kak", client_wrote_at=clock.now(), file=file)
    )
    (call,) = twilio_api.calls()
    assert call.form["Body"] == "foto kak"
    assert len(call.media_urls) == 1
    assert links.verify(call.media_urls[0].removeprefix(f"{PUBLIC}/media/")) == 7
    late = clock.now() - timedelta(hours=25)
    with pytest.raises(SendFailed, match="24-hour window"):
        await whatsapp.send(
            OutboundMessage("whatsapp", CLIENT, "", client_wrote_at=late, file=file)
        )
    assert len(twilio_api.calls()) == 1  # not sent as a template without its file


async def test_twilio_refusing_the_media_url_and_missing_links_fail_for_good(
    account: TwilioAccount, clock: FrozenClock, tmp_path: Path
) -> None:
    file = picture(tmp_path)
    bad_links = MediaLinks("ftp://nowhere", AUTH_TOKEN, clock)  # not a URL Twilio fetches
    with pytest.raises(SendFailed, match="21620"):
        await SmsChannel(account, "+14155552671", links=bad_links).send(
            OutboundMessage("sms", CLIENT, "", file=file)
        )
    with pytest.raises(SendFailed, match="LOKET_PUBLIC_URL"):
        await SmsChannel(account, "+14155552671").send(
            OutboundMessage("sms", CLIENT, "", file=file)
        )
