"""WhatsApp and SMS: signatures and form fields on payload files; sends through the real
twilio.rest.Client to a fake Twilio API; media fetched with the account's credentials."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from chatbot.channels.base import RawRequest
from chatbot.channels.sms import SmsChannel
from chatbot.channels.twilio_common import (
    TwilioAccount,
    channel_for,
    e164,
    parse_status,
    rebase,
)
from chatbot.channels.whatsapp import WhatsAppChannel
from chatbot.domain import Attachment, OutboundMessage, OutButton
from chatbot.errors import (
    InvalidSignature,
    MalformedPayload,
    MediaUnavailable,
    RetryLater,
    SendFailed,
)
from tests.clock import FrozenClock
from tests.fakes.payloads import twilio_form, twilio_signed
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi

PUBLIC = "https://loket.example.co.id"
HOOK = f"{PUBLIC}/webhooks/twilio"
SENDER = "whatsapp:+14155238886"
CLIENT = "+6281234567890"


def signed(fields: dict[str, str], url: str = HOOK, token: str = AUTH_TOKEN) -> RawRequest:
    body, headers = twilio_signed(url, fields, token)
    return RawRequest(url=url, headers=headers, body=body, form=parse_qs(body.decode()))


@pytest.fixture
async def account(twilio_api: FakeTwilioApi) -> AsyncIterator[TwilioAccount]:
    opened = TwilioAccount.open(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        base_url=twilio_api.url,
        status_callback=f"{PUBLIC}/webhooks/twilio/status",
    )
    yield opened
    await opened.aclose()


@pytest.fixture
def whatsapp(account: TwilioAccount, clock: FrozenClock) -> WhatsAppChannel:
    return WhatsAppChannel(account, "+14155238886", clock)


def test_signature_over_public_url_and_fields_is_accepted(whatsapp: WhatsAppChannel) -> None:
    whatsapp.verify(signed(twilio_form("whatsapp_text")))


def test_signature_is_checked_against_the_query_too(whatsapp: WhatsAppChannel) -> None:
    whatsapp.verify(signed(twilio_form("whatsapp_text"), url=f"{HOOK}?desk=erzap"))


@pytest.mark.parametrize(
    "tamper",
    ["missing", "other token", "other url", "changed field", "http instead of https"],
)
def test_signature_is_refused_when_anything_differs(
    whatsapp: WhatsAppChannel, tamper: str
) -> None:
    fields = twilio_form("whatsapp_text")
    request = signed(fields)
    if tamper == "missing":
        request = RawRequest(url=HOOK, headers={}, body=request.body, form=request.form)
    elif tamper == "other token":
        request = signed(fields, token="another-accounts-auth-token-0000")
    elif tamper == "other url":
        request = RawRequest(
            url=f"{PUBLIC}/webhooks/twilio/", headers=request.headers, body=b"", form=request.form
        )
    elif tamper == "changed field":
        form = {**request.form, "Body": ["kirim ke nomor lain"]}
        request = RawRequest(url=HOOK, headers=request.headers, body=b"", form=form)
    else:
        request = RawRequest(
            url=HOOK.replace("https", "http"), headers=request.headers, body=b"", form=request.form
        )
    with pytest.raises(InvalidSignature):
        whatsapp.verify(request)


def test_whatsapp_text_gives_e164_chat_and_profile_name(whatsapp: WhatsAppChannel) -> None:
    request = signed(twilio_form("whatsapp_text"))
    assert channel_for(request.form) == "whatsapp"
    [inbound] = whatsapp.parse(request)
    assert inbound.channel == "whatsapp"
    assert inbound.chat_id == CLIENT
    assert inbound.phone == CLIENT
    assert inbound.message_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"
    assert inbound.sender_name == "Rina Wati"
    assert (inbound.kind, inbound.text) == (
        "text",
        "halo kak, stok di POS tidak sama dengan backoffice",
    )


def test_whatsapp_media_is_kept_as_attachments(whatsapp: WhatsAppChannel) -> None:
    [inbound] = whatsapp.parse(signed(twilio_form("whatsapp_media")))
    assert inbound.kind == "photo"
    assert inbound.text == "ini screenshot laporan stoknya kak"
    [photo] = inbound.attachments
    assert photo.kind == "photo"
    assert photo.content_type == "image/jpeg"
    assert photo.url is not None
    assert photo.url.endswith("/Media/ME0123456789abcdef0123456789abcdef")


def test_whatsapp_location_and_quick_reply_button(whatsapp: WhatsAppChannel) -> None:
    [place] = whatsapp.parse(signed(twilio_form("whatsapp_location")))
    assert (place.kind, place.location) == ("location", (-6.200001, 106.816666))
    assert place.place == "Kantor Toko Berkah, Jl. M.H. Thamrin No.1, Jakarta"
    [press] = whatsapp.parse(signed(twilio_form("whatsapp_button")))
    assert (press.kind, press.button, press.text) == ("button", "yes", "Ya")


def test_sms_is_its_own_channel(account: TwilioAccount) -> None:
    request = signed(twilio_form("sms_text"))
    assert channel_for(request.form) == "sms"
    [inbound] = SmsChannel(account, "+14155552671").parse(request)
    assert (inbound.channel, inbound.chat_id, inbound.kind) == ("sms", CLIENT, "text")


@pytest.mark.parametrize(
    "changes",
    [
        {"MessageSid": "", "SmsMessageSid": ""},
        {"From": ""},
        {"NumMedia": "lots"},
        {"NumMedia": "2"},  # MediaUrl0 and MediaUrl1 are missing
        {"Latitude": "north", "Longitude": "106.8"},
        {"From": "+6281234567890"},  # an SMS sender posted as WhatsApp
    ],
)
def test_malformed_forms_are_refused(whatsapp: WhatsAppChannel, changes: dict[str, str]) -> None:
    with pytest.raises(MalformedPayload):
        whatsapp.parse(signed(twilio_form("whatsapp_text", **changes)))


@pytest.mark.parametrize(
    "raw", ["0812-3456-7890", "+62 812 3456 7890", "whatsapp:+6281234567890", "812 3456 7890"]
)
def test_numbers_are_normalised_to_e164(raw: str) -> None:
    assert e164(raw) == CLIENT


@pytest.mark.parametrize("sender", ["TWILIO", "TELKOMSEL", "22395", "123456"])
def test_a_short_code_keeps_its_form(sender: str) -> None:
    assert e164(sender) == sender


def test_rebase_keeps_the_rest_path() -> None:
    assert (
        rebase(
            f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
            "http://127.0.0.1:5000",
        )
        == f"http://127.0.0.1:5000/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    )


def test_status_callbacks_map_to_transcript_statuses() -> None:
    delivered = parse_status(signed(twilio_form("status_delivered")))
    assert (delivered.provider_id, delivered.status, delivered.error) == (
        "SM00000000000000000000000000000001",
        "delivered",
        None,
    )
    failed = parse_status(signed(twilio_form("status_failed")))
    assert failed.status == "failed"
    assert failed.error is not None
    assert "63024" in failed.error
    # Twilio's own value for a long SMS of which some segments arrived
    partly = parse_status(
        signed(twilio_form("status_delivered", MessageStatus="partially_delivered"))
    )
    assert partly.status == "sent"
    with pytest.raises(MalformedPayload):
        parse_status(signed(twilio_form("status_delivered", MessageStatus="exploded")))


async def test_send_whatsapp_through_the_rest_api(
    whatsapp: WhatsAppChannel, twilio_api: FakeTwilioApi
) -> None:
    buttons = (OutButton("yes", "Ya"), OutButton("no", "Tidak"))
    sid = await whatsapp.send(
        OutboundMessage(
            channel="whatsapp", chat_id=CLIENT, text="Sudah teratasi?", buttons=buttons
        )
    )
    [call] = twilio_api.calls()
    assert call.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert call.auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert call.form["To"] == f"whatsapp:{CLIENT}"
    assert call.form["From"] == SENDER
    assert call.form["Body"] == "Sudah teratasi?\n[Ya] | [Tidak]"
    assert call.form["StatusCallback"] == f"{PUBLIC}/webhooks/twilio/status"
    assert sid.startswith("SM")


async def test_send_sms_as_plain_text(account: TwilioAccount, twilio_api: FakeTwilioApi) -> None:
    sms = SmsChannel(account, "+14155552671")
    await sms.send(OutboundMessage(channel="sms", chat_id=CLIENT, text="Halo"))
    [call] = twilio_api.calls()
    assert (call.form["To"], call.form["From"], call.form["Body"]) == (
        CLIENT,
        "+14155552671",
        "Halo",
    )


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (500, 20500), (503, 20503)])
async def test_send_retries_later_on_429_and_5xx(
    whatsapp: WhatsAppChannel, twilio_api: FakeTwilioApi, status: int, code: int
) -> None:
    twilio_api.fail_next(status, code, "Too Many Requests" if status == 429 else "Server error")
    with pytest.raises(RetryLater):
        await whatsapp.send(OutboundMessage(channel="whatsapp", chat_id=CLIENT, text="Halo"))


async def test_send_fails_for_good_on_a_bad_number(
    whatsapp: WhatsAppChannel, twilio_api: FakeTwilioApi
) -> None:
    twilio_api.fail_next(400, 21211, "The 'To' number +620 is not a valid phone number.")
    with pytest.raises(SendFailed, match="21211"):
        await whatsapp.send(OutboundMessage(channel="whatsapp", chat_id="+620", text="Halo"))


@pytest.mark.parametrize(
    ("code", "message", "reason"),
    [
        (21211, "The 'To' number +620 is not a valid phone number.", "not a valid phone number"),
        (21614, "'To' number is not a valid mobile number", "cannot receive SMS"),
        (21610, "Attempt to send to unsubscribed recipient", "unsubscribed"),
    ],
)
async def test_sms_refusals_fail_for_good_with_the_reason(
    account: TwilioAccount, twilio_api: FakeTwilioApi, code: int, message: str, reason: str
) -> None:
    twilio_api.fail_next(400, code, message)
    sms = SmsChannel(account, "+14155552671")
    with pytest.raises(SendFailed, match=reason) as caught:
        await sms.send(OutboundMessage(channel="sms", chat_id=CLIENT, text="Halo"))
    assert str(code) in str(caught.value)
    assert message in str(caught.value)  # Twilio's own words stay next to ours
    assert len(twilio_api.calls()) == 1


async def test_whatsapp_window_refusal_without_template_fails_with_the_reason(
    whatsapp: WhatsAppChannel, twilio_api: FakeTwilioApi
) -> None:
    twilio_api.fail_next(
        400, 63016, "Failed to send freeform message because you are outside the allowed window."
    )
    with pytest.raises(SendFailed, match="24-hour window"):
        await whatsapp.send(OutboundMessage(channel="whatsapp", chat_id=CLIENT, text="Halo"))
    assert len(twilio_api.calls()) == 1


async def test_rejected_credentials_are_retried_not_failed(
    whatsapp: WhatsAppChannel, twilio_api: FakeTwilioApi
) -> None:
    twilio_api.fail_next(401, 20003, "Authenticate")
    with pytest.raises(RetryLater, match="credentials"):
        await whatsapp.send(OutboundMessage(channel="whatsapp", chat_id=CLIENT, text="Halo"))


async def test_send_retries_later_when_twilio_is_unreachable(clock: FrozenClock) -> None:
    account = TwilioAccount.open(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        base_url="http://127.0.0.1:9",
        status_callback=None,
    )
    try:
        with pytest.raises(RetryLater):
            await WhatsAppChannel(account, SENDER, clock).send(
                OutboundMessage(channel="whatsapp", chat_id=CLIENT, text="Halo")
            )
    finally:
        await account.aclose()


async def test_outside_the_window_the_approved_template_is_sent(
    account: TwilioAccount, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    channel = WhatsAppChannel(account, SENDER, clock, template_sid="HX" + "b" * 32)
    wrote = clock.now() - timedelta(hours=25)
    await channel.send(
        OutboundMessage(
            channel="whatsapp", chat_id=CLIENT, text="Kasus ditutup", client_wrote_at=wrote
        )
    )
    [call] = twilio_api.calls()
    assert call.form["ContentSid"] == "HX" + "b" * 32
    assert json.loads(call.form["ContentVariables"]) == {"1": "Kasus ditutup"}
    assert "Body" not in call.form


async def test_outside_the_window_without_template_fails_with_the_reason(
    whatsapp: WhatsAppChannel, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    wrote = clock.now() - timedelta(hours=24, minutes=1)
    with pytest.raises(SendFailed, match="24-hour window"):
        await whatsapp.send(
            OutboundMessage(channel="whatsapp", chat_id=CLIENT, text="Halo", client_wrote_at=wrote)
        )
    assert twilio_api.calls() == []


async def test_inside_the_window_a_normal_message_is_sent(
    whatsapp: WhatsAppChannel, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    wrote = clock.now() - timedelta(hours=23, minutes=59)
    await whatsapp.send(
        OutboundMessage(channel="whatsapp", chat_id=CLIENT, text="Halo", client_wrote_at=wrote)
    )
    assert twilio_api.calls()[0].form["Body"] == "Halo"


async def test_twilio_window_error_falls_back_to_the_template(
    account: TwilioAccount, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    channel = WhatsAppChannel(account, SENDER, clock, template_sid="HX" + "c" * 32)
    twilio_api.fail_next(
        400, 63016, "Failed to send freeform message because you are outside the allowed window."
    )
    await channel.send(OutboundMessage(channel="whatsapp", chat_id=CLIENT, text="Halo"))
    first, second = twilio_api.calls()
    assert first.form["Body"] == "Halo"
    assert second.form["ContentSid"] == "HX" + "c" * 32


async def test_media_is_fetched_with_the_account_credentials(
    whatsapp: WhatsAppChannel, twilio_api: FakeTwilioApi
) -> None:
    twilio_api.media["ME0123456789abcdef0123456789abcdef"] = (b"\xff\xd8jpeg-bytes", "image/jpeg")
    [inbound] = whatsapp.parse(signed(twilio_form("whatsapp_media")))
    data = await whatsapp.fetch_media(inbound.attachments[0], limit=1000)
    assert data == b"\xff\xd8jpeg-bytes"
    assert twilio_api.media_fetches == [
        ("ME0123456789abcdef0123456789abcdef", (ACCOUNT_SID, AUTH_TOKEN))
    ]


async def test_media_over_the_limit_or_gone_is_unavailable(
    whatsapp: WhatsAppChannel, twilio_api: FakeTwilioApi
) -> None:
    twilio_api.media["ME0123456789abcdef0123456789abcdef"] = (b"x" * 5000, "image/jpeg")
    [inbound] = whatsapp.parse(signed(twilio_form("whatsapp_media")))
    with pytest.raises(MediaUnavailable, match="over"):
        await whatsapp.fetch_media(inbound.attachments[0], limit=1000)
    gone = Attachment(kind="photo", url=inbound.attachments[0].url.replace("ME01", "ME99"))  # type: ignore[union-attr]
    with pytest.raises(MediaUnavailable, match="404"):
        await whatsapp.fetch_media(gone, limit=1000)


async def test_credentials_are_never_sent_to_other_hosts(whatsapp: WhatsAppChannel) -> None:
    with pytest.raises(MediaUnavailable, match="not a Twilio"):
        await whatsapp.fetch_media(
            Attachment(kind="photo", url="https://evil.example/steal"), limit=1000
        )
