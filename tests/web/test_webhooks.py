"""The webhook routes on the real app: Telegram and WhatsApp cases end to end, through the
real client libraries to fake provider APIs; 403, 400, 413, replays, retries, restarts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chatbot.web.app import create_app
from settings import Settings
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.payloads import (
    telegram_press,
    telegram_text,
    telegram_update,
    twilio_form,
    twilio_signed,
)
from tests.fakes.twilio_api import AUTH_TOKEN, FakeTwilioApi
from tests.polling import wait_for
from tests.web.helpers import (
    PUBLIC,
    SECRET,
    cases,
    channel_settings,
    last_buttons,
    outbound,
    stepped,
)

CHAT = 555000111
CLIENT = "+6281234567890"


@pytest.fixture
def live_settings(
    settings: Settings, tmp_path: Path, bot_api: FakeBotApi, twilio_api: FakeTwilioApi
) -> Settings:
    return channel_settings(settings, tmp_path, bot_api, twilio_api)


@pytest.fixture
def client(live_settings: Settings) -> Iterator[TestClient]:
    """The app with its background work (stepper, outbox, clocks) in the same process."""
    app = create_app(live_settings)
    with TestClient(app) as test_client:
        yield test_client


def post_update(client: TestClient, update: dict[str, Any], secret: str = SECRET) -> Any:
    """Post as Telegram does; once accepted, wait until the stepper has taken it."""
    response = client.post(
        "/webhooks/telegram",
        content=json.dumps(update),
        headers={"x-telegram-bot-api-secret-token": secret, "content-type": "application/json"},
    )
    wait_for(lambda: stepped(engine_of(client)), what="the stepper")
    return response


def post_twilio(client: TestClient, fields: dict[str, str], path: str = "/webhooks/twilio") -> Any:
    """Post as Twilio does; once accepted, wait until the stepper has taken it."""
    body, headers = twilio_signed(f"{PUBLIC}{path}", fields, AUTH_TOKEN)
    response = client.post(path, content=body, headers=headers)
    wait_for(lambda: stepped(engine_of(client)), what="the stepper")
    return response


def engine_of(client: TestClient) -> Any:
    return client.app.state.engine  # type: ignore[attr-defined]


def delivered(client: TestClient, channel: str, chat_id: str) -> bool:
    """Every accepted message stepped, and every reply it caused sent."""
    if not stepped(engine_of(client)):
        return False
    rows = outbound(engine_of(client), channel, chat_id)
    return bool(rows) and all(r["status"] != "pending" for r in rows)


class TelegramClient:
    """One Telegram user writing to the bot through the webhook."""

    def __init__(self, client: TestClient, chat_id: int) -> None:
        self.client = client
        self.chat_id = chat_id
        self.update_id = chat_id * 1000
        self.message_id = 0

    def says(self, text: str) -> Any:
        self.update_id += 1
        self.message_id += 1
        update = telegram_text(self.update_id, self.chat_id, self.message_id, text)
        return self._post(update)

    def presses(self, payload: str) -> Any:
        self.update_id += 1
        return self._post(
            telegram_press(self.update_id, self.chat_id, f"cb{self.update_id}", payload)
        )

    def _post(self, update: dict[str, Any]) -> Any:
        response = post_update(self.client, update)
        assert response.status_code == 200, response.text
        wait_for(lambda: delivered(self.client, "telegram", str(self.chat_id)), what="replies")
        return response


def test_whole_case_over_telegram_with_inline_survey(
    client: TestClient, bot_api: FakeBotApi
) -> None:
    rina = TelegramClient(client, CHAT)
    rina.says("/start")
    rina.says("cara tambah akun kasir baru gimana ya kak?")
    rina.says("Wulan")
    rina.says("outlet Kedai Wulan")
    engine = engine_of(client)
    assert last_buttons(engine, "telegram", str(CHAT)) == ["yes", "no"]
    pressed = rina.presses("yes")
    assert pressed.json() == {
        "method": "answerCallbackQuery",
        "callback_query_id": f"cb{rina.update_id}",
    }
    assert last_buttons(engine, "telegram", str(CHAT)) == [f"rating:{n}" for n in range(1, 6)]
    rina.presses("rating:5")
    rina.says("cepat responnya")

    [case] = cases(engine, "telegram")
    assert (case["chat_id"], case["state"], case["category"]) == (str(CHAT), "closed", "easy")
    assert case["survey"]["rating"] == 5
    assert case["survey"]["comment"] == "cepat responnya"
    sent = [m for m in case["messages"] if m["direction"] == "out"]
    assert all(m["status"] == "sent" and m["provider_id"] for m in sent)
    # What Telegram received is exactly the transcript, in order, once.
    assert bot_api.sent_texts(CHAT) == [m["text"] for m in sent]
    rating_call = next(
        c
        for c in bot_api.calls("sendMessage")
        if c.reply_markup and "rating:5" in json.dumps(c.reply_markup)
    )
    assert rating_call.form["chat_id"] == str(CHAT)


def test_telegram_media_and_sticker_are_recorded(client: TestClient) -> None:
    rina = TelegramClient(client, CHAT)
    rina.says("/start")
    for name in ("photo_caption", "sticker"):
        update = telegram_update(name)
        update["message"]["chat"]["id"] = CHAT
        assert post_update(client, update).status_code == 200
    wait_for(lambda: delivered(client, "telegram", str(CHAT)))
    [case] = cases(engine_of(client), "telegram")
    [photo] = case["attachments"]
    assert (photo["kind"], photo["file_id"]) == ("photo", "AgACAgUAAxkBAAIBQ2Vlarge")
    assert [m["kind"] for m in case["messages"] if m["direction"] == "in"][-2:] == [
        "photo",
        "sticker",
    ]
    assert outbound(engine_of(client), "telegram")[-1]["phrase_key"] == "verification.text_only"


def test_replayed_telegram_updates_change_nothing_and_send_nothing_twice(
    client: TestClient, bot_api: FakeBotApi
) -> None:
    update = telegram_text(1, CHAT, 1, "halo kak")
    for _ in range(3):
        assert post_update(client, update).status_code == 200
    wait_for(lambda: delivered(client, "telegram", str(CHAT)))
    [case] = cases(engine_of(client), "telegram")
    assert [m["direction"] for m in case["messages"]].count("in") == 1
    assert len(bot_api.sent_texts(CHAT)) == len(outbound(engine_of(client), "telegram"))


def test_edited_message_is_recorded_but_not_answered(client: TestClient) -> None:
    rina = TelegramClient(client, CHAT)
    rina.says("halo kak")
    before = len(outbound(engine_of(client), "telegram"))
    edit = telegram_update("edited_message")
    edit["edited_message"]["chat"]["id"] = CHAT
    assert post_update(client, edit).status_code == 200
    [case] = cases(engine_of(client), "telegram")
    inbound = [m for m in case["messages"] if m["direction"] == "in"]
    assert len(inbound) == 2
    assert inbound[1]["text"].endswith("sejak kemarin")
    assert len(outbound(engine_of(client), "telegram")) == before


def test_group_chats_are_acknowledged_and_ignored(client: TestClient) -> None:
    assert post_update(client, telegram_update("group_text")).status_code == 200
    assert cases(engine_of(client), "telegram") == []


@pytest.mark.parametrize("secret", ["", "wrong-secret-wrong-secret-wrong!!"])
def test_telegram_without_the_secret_is_403(client: TestClient, secret: str) -> None:
    response = post_update(client, telegram_text(1, CHAT, 1, "halo"), secret=secret)
    assert response.status_code == 403
    assert "Secret-Token" in response.json()["error"]
    assert cases(engine_of(client), "telegram") == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{oops", "Invalid JSON"),
        (b'{"update_id": "one"}', "update_id"),
        (
            json.dumps({"update_id": 5, "message": {"message_id": 1, "text": "x"}}).encode(),
            "message.date: Field required",
        ),
    ],
)
def test_malformed_telegram_body_is_400_with_a_reason(
    client: TestClient, body: bytes, reason: str
) -> None:
    response = client.post(
        "/webhooks/telegram", content=body, headers={"x-telegram-bot-api-secret-token": SECRET}
    )
    assert response.status_code == 400
    assert reason in response.json()["error"]


def test_oversize_bodies_are_413(client: TestClient, live_settings: Settings) -> None:
    huge = b"x" * (live_settings.max_webhook_bytes + 1)
    response = client.post(
        "/webhooks/telegram", content=huge, headers={"x-telegram-bot-api-secret-token": SECRET}
    )
    assert response.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        for _ in range(live_settings.max_webhook_bytes // 65536 + 2):
            yield b"x" * 65536

    response = client.post(
        "/webhooks/twilio", content=chunks(), headers={"x-twilio-signature": "checked-later"}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/webhooks/telegram", {}),
        ("/webhooks/telegram", {"x-telegram-bot-api-secret-token": "wrong-wrong-wrong"}),
        ("/webhooks/twilio", {}),
        ("/webhooks/twilio/status", {}),
    ],
)
def test_a_request_without_its_secret_is_refused_before_its_body_is_read(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        for index in range(1000):  # 64 MB, if anyone read it
            sent.append(index)
            yield b"x" * 65536

    response = client.post(path, content=body(), headers=headers)
    assert response.status_code == 403
    assert len(sent) <= 1  # the transport may hand over the first chunk; nothing more is read


def test_unconfigured_channel_is_404(settings: Settings) -> None:
    with TestClient(create_app(settings)) as bare:
        response = post_update(bare, telegram_text(1, CHAT, 1, "halo"))
    assert response.status_code == 404


def test_whole_case_over_whatsapp_with_media_and_status_callbacks(
    client: TestClient, twilio_api: FakeTwilioApi, live_settings: Settings
) -> None:
    twilio_api.media["ME0123456789abcdef0123456789abcdef"] = (b"\xff\xd8\xff jpeg", "image/jpeg")
    script = [
        twilio_form("whatsapp_text", Body="halo kak", MessageSid="SM" + "1" * 32),
        twilio_form("whatsapp_media"),
        twilio_form("whatsapp_text", Body="Wulan", MessageSid="SM" + "2" * 32),
        twilio_form("whatsapp_text", Body="outlet Kedai Wulan", MessageSid="SM" + "3" * 32),
    ]
    for fields in script:
        response = post_twilio(client, fields)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        assert "<Response></Response>" in response.text
        wait_for(lambda: delivered(client, "whatsapp", CLIENT))
    response = post_twilio(client, twilio_form("whatsapp_button", MessageSid="SM" + "4" * 32))
    assert response.status_code == 200
    wait_for(lambda: delivered(client, "whatsapp", CLIENT))

    engine = engine_of(client)
    # The background worker keeps a copy of the photo; the webhook only stored the message.
    wait_for(lambda: cases(engine, "whatsapp")[0]["attachments"][0]["stored_path"])
    [case] = cases(engine, "whatsapp")
    assert case["chat_id"] == CLIENT
    [photo] = case["attachments"]
    assert photo["url"].startswith("https://api.twilio.com/")
    assert Path(photo["stored_path"]).read_bytes() == b"\xff\xd8\xff jpeg"
    assert Path(photo["stored_path"]).is_relative_to(live_settings.media_dir)
    sent = [m for m in case["messages"] if m["direction"] == "out"]
    assert all(m["status"] == "sent" and m["provider_id"].startswith("SM") for m in sent)
    assert twilio_api.sent_bodies(f"whatsapp:{CLIENT}")[0] == sent[0]["text"]
    assert len(twilio_api.calls()) == len(sent)

    first = sent[0]["provider_id"]
    for status in ("delivered", "sent", "read"):  # a late "sent" never hides "delivered"
        fields = twilio_form(
            "status_delivered", MessageSid=first, SmsSid=first, MessageStatus=status
        )
        assert post_twilio(client, fields, "/webhooks/twilio/status").status_code == 204
    failed = twilio_form("status_failed", MessageSid=sent[1]["provider_id"])
    assert post_twilio(client, failed, "/webhooks/twilio/status").status_code == 204
    statuses = {m["provider_id"]: (m["status"], m["error"]) for m in outbound(engine, "whatsapp")}
    assert statuses[first] == ("read", None)
    status, error = statuses[sent[1]["provider_id"]]
    assert status == "failed"
    assert "63024" in error


def test_media_fetch_failure_keeps_the_url_and_answers(
    client: TestClient, twilio_api: FakeTwilioApi
) -> None:
    response = post_twilio(client, twilio_form("whatsapp_media"))  # the fake has no such media
    assert response.status_code == 200
    wait_for(lambda: twilio_api.media_fetches, what="the background worker's try")
    [case] = cases(engine_of(client), "whatsapp")
    [photo] = case["attachments"]
    assert photo["stored_path"] is None
    assert photo["url"].startswith("https://api.twilio.com/")


def test_the_webhook_answers_without_fetching_the_media(
    live_settings: Settings, twilio_api: FakeTwilioApi
) -> None:
    """Nothing but storing the message runs on the request path: the file comes later."""
    twilio_api.media["ME0123456789abcdef0123456789abcdef"] = (b"\xff\xd8\xff jpeg", "image/jpeg")
    app = create_app(live_settings, run_outbox=False)  # the stepper runs, the keeper does not
    with TestClient(app) as bare:
        assert post_twilio(bare, twilio_form("whatsapp_media")).status_code == 200
        [case] = cases(engine_of(bare), "whatsapp")
    [photo] = case["attachments"]
    assert photo["url"].startswith("https://api.twilio.com/")
    assert photo["stored_path"] is None
    assert twilio_api.media_fetches == []


def test_sms_case_opens_on_the_sms_channel(client: TestClient, twilio_api: FakeTwilioApi) -> None:
    assert post_twilio(client, twilio_form("sms_text")).status_code == 200
    wait_for(lambda: delivered(client, "sms", CLIENT))
    [case] = cases(engine_of(client), "sms")
    assert case["chat_id"] == CLIENT
    assert twilio_api.calls()[0].form["From"] == "+14155552671"


def test_retried_twilio_webhook_creates_nothing_new(
    client: TestClient, twilio_api: FakeTwilioApi
) -> None:
    fields = twilio_form("whatsapp_text")
    for _ in range(3):
        assert post_twilio(client, fields).status_code == 200
    wait_for(lambda: delivered(client, "whatsapp", CLIENT))
    [case] = cases(engine_of(client), "whatsapp")
    assert [m["direction"] for m in case["messages"]].count("in") == 1
    assert len(twilio_api.calls()) == len(outbound(engine_of(client), "whatsapp"))


@pytest.mark.parametrize("path", ["/webhooks/twilio", "/webhooks/twilio/status"])
def test_twilio_with_a_bad_or_missing_signature_is_403(client: TestClient, path: str) -> None:
    fields = twilio_form("whatsapp_text" if path.endswith("twilio") else "status_delivered")
    body, headers = twilio_signed(f"http://testserver{path}", fields, AUTH_TOKEN)  # wrong URL
    assert client.post(path, content=body, headers=headers).status_code == 403
    del headers["x-twilio-signature"]
    assert client.post(path, content=body, headers=headers).status_code == 403
    assert cases(engine_of(client), "whatsapp") == []


def test_malformed_twilio_form_is_400_with_a_reason(client: TestClient) -> None:
    response = post_twilio(client, twilio_form("whatsapp_text", NumMedia="many"))
    assert response.status_code == 400
    assert "NumMedia" in response.json()["error"]
    response = post_twilio(
        client, twilio_form("status_delivered", MessageStatus="x"), "/webhooks/twilio/status"
    )
    assert response.status_code == 400


def test_twilio_signature_uses_the_public_url_with_query(client: TestClient) -> None:
    path = "/webhooks/twilio?desk=erzap"
    body, headers = twilio_signed(f"{PUBLIC}{path}", twilio_form("whatsapp_text"), AUTH_TOKEN)
    assert client.post(path, content=body, headers=headers).status_code == 200


def test_form_body_that_is_not_utf8_is_400(client: TestClient) -> None:
    response = client.post(
        "/webhooks/twilio",
        content=b"Body=\xff\xfe&From=whatsapp%3A%2B62",
        headers={"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "x"},
    )
    assert response.status_code == 400
