"""Any Telegram update, Twilio form or web chat form gives storable messages or a typed refusal.

Property-based (hypothesis, fixed seed): arbitrary JSON, arbitrary bytes, and valid payloads
with one field replaced by anything. The examples that once made 500s are pinned as cases.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import telegram
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.channels.base import RawRequest
from chatbot.channels.telegram import TelegramChannel
from chatbot.channels.twilio_common import channel_for, parse_message, parse_status
from chatbot.channels.web import WebChannel
from chatbot.domain import Inbound, OutboundMessage
from chatbot.errors import MalformedPayload, SendFailed
from tests.fakes.payloads import telegram_update, twilio_form

PAYLOADS = Path(__file__).parents[1] / "payloads"
TELEGRAM_KINDS = sorted(p.stem for p in (PAYLOADS / "telegram").glob("*.json"))
TWILIO_KINDS = sorted(
    p.stem for p in (PAYLOADS / "twilio").glob("*.form") if not p.stem.startswith("status")
)
FUZZ = settings(
    max_examples=300,
    derandomize=True,  # the suite's run is the same every time; bench/fuzz.py explores
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def telegram_channel() -> TelegramChannel:
    return TelegramChannel(telegram.Bot("123:ABC"), "s" * 32)


def assert_storable(inbounds: list[Inbound]) -> None:
    """What the inbox and the transcript store: no NUL, no lone surrogate, a chat id."""
    for inbound in inbounds:
        assert inbound.chat_id
        for field in dataclasses.fields(inbound):
            value = getattr(inbound, field.name)
            if isinstance(value, str):
                assert "\x00" not in value
                value.encode("utf-8")
        inbound.to_json().encode("utf-8")


def parse_or_refuse(channel: Any, request: RawRequest) -> None:
    try:
        inbounds = channel.parse(request)
    except MalformedPayload as exc:
        assert str(exc)  # noqa: PT017  # a reason for the 400
    else:
        assert_storable(inbounds)


def telegram_raw(body: bytes) -> RawRequest:
    return RawRequest(url="https://loket.example/webhooks/telegram", headers={}, body=body)


def replace_at(data: Any, path: list[str | int], value: Any) -> Any:
    """`data` with the value at `path` replaced (or the key deleted when value is ...)."""
    data = copy.deepcopy(data)
    target = data
    for step in path[:-1]:
        target = target[step]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def paths(data: Any, prefix: list[str | int] | None = None) -> list[list[str | int]]:
    prefix = prefix or []
    found: list[list[str | int]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        found.append([*prefix, key])
        if isinstance(value, dict | list) and value:
            found.extend(paths(value, [*prefix, key]))
    return found


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda u: replace_at(u, ["message", "chat"], ...), "message.chat"),
        (lambda u: replace_at(u, ["message", "text"], 5), "message.text"),
        (lambda u: replace_at(u, ["message", "text"], ["a"]), "message.text"),
        (lambda u: replace_at(u, ["message", "chat", "id"], "abc"), "message.chat.id"),
        (lambda u: replace_at(u, ["message", "date"], 10**20), "message.date"),
        (lambda u: replace_at(u, ["message", "text"], "a\x00b"), "NUL"),
    ],
)
def test_telegram_refuses_a_malformed_update_with_a_reason(
    telegram_channel: TelegramChannel, change: Any, reason: str
) -> None:
    body = json.dumps(change(telegram_update("text"))).encode()
    with pytest.raises(MalformedPayload, match=reason):
        telegram_channel.parse(telegram_raw(body))


def test_telegram_refuses_a_lone_surrogate(telegram_channel: TelegramChannel) -> None:
    body = json.dumps(telegram_update("text")).replace('"text": "', '"text": "\\ud800')
    with pytest.raises(MalformedPayload, match="Invalid JSON"):
        telegram_channel.parse(telegram_raw(body.encode()))


def test_telegram_refuses_a_body_nested_100k_deep(telegram_channel: TelegramChannel) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(MalformedPayload, match="recursion limit"):
        telegram_channel.parse(telegram_raw(body))


@pytest.mark.parametrize("kind", TELEGRAM_KINDS)
def test_every_sample_telegram_update_still_parses(
    telegram_channel: TelegramChannel, kind: str
) -> None:
    assert_storable(
        telegram_channel.parse(telegram_raw(json.dumps(telegram_update(kind)).encode()))
    )


@FUZZ
@given(body=st.binary(max_size=300))
def test_telegram_any_bytes_parse_or_refuse(
    telegram_channel: TelegramChannel, body: bytes
) -> None:
    parse_or_refuse(telegram_channel, telegram_raw(body))


@FUZZ
@given(data=json_values)
def test_telegram_any_json_parses_or_is_refused(
    telegram_channel: TelegramChannel, data: Any
) -> None:
    parse_or_refuse(telegram_channel, telegram_raw(json.dumps(data).encode()))


@FUZZ
@given(data=st.data(), value=json_values | st.just(...))
def test_telegram_a_sample_with_one_field_replaced_parses_or_is_refused(
    telegram_channel: TelegramChannel, data: st.DataObject, value: Any
) -> None:
    update = telegram_update(data.draw(st.sampled_from(TELEGRAM_KINDS)))
    path = data.draw(st.sampled_from(paths(update)))
    body = json.dumps(replace_at(update, path, value)).encode()
    parse_or_refuse(telegram_channel, telegram_raw(body))


form_text = st.text(st.characters(codec=None), max_size=40) | st.sampled_from(
    ["", "0", "-1", "nan", "inf", "1e999", "99999999999999999999999", "whatsapp:", "+"]
)


def form_of(fields: dict[str, list[str]]) -> RawRequest:
    return RawRequest(
        url="https://loket.example/webhooks/twilio", headers={}, body=b"", form=fields
    )


def test_twilio_refuses_a_nul_in_the_body() -> None:
    fields = {k: [v] for k, v in twilio_form("sms_text", Body="a\x00b").items()}
    with pytest.raises(MalformedPayload, match="NUL"):
        parse_message(form_of(fields), "sms")


@FUZZ
@given(data=st.data(), value=form_text, drop=st.booleans())
def test_twilio_a_sample_with_one_field_replaced_parses_or_is_refused(
    data: st.DataObject, value: str, drop: bool
) -> None:
    fields = {k: [v] for k, v in twilio_form(data.draw(st.sampled_from(TWILIO_KINDS))).items()}
    name = data.draw(st.sampled_from([*fields, "NumMedia", "Latitude", "MediaUrl0", "WaId"]))
    if drop:
        fields.pop(name, None)
    else:
        fields[name] = [value]
    try:
        inbounds = parse_message(form_of(fields), channel_for(fields))
    except MalformedPayload:
        return
    assert_storable(inbounds)


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "MessageSid",
                "From",
                "Body",
                "NumMedia",
                "MediaUrl0",
                "Latitude",
                "Longitude",
                "WaId",
                "ButtonPayload",
                "x",
            ]
        ),
        st.lists(form_text, max_size=2),
    )
)
def test_twilio_any_form_parses_or_is_refused(fields: dict[str, list[str]]) -> None:
    try:
        inbounds = parse_message(form_of(fields), channel_for(fields))
    except MalformedPayload as exc:
        assert str(exc)  # noqa: PT017  # a reason for the 400
    else:
        assert_storable(inbounds)


def test_web_refuses_an_over_long_button_and_message_id() -> None:
    base = {"chat_id": ["a" * 24], "message_id": ["1"], "text": ["halo"]}
    with pytest.raises(MalformedPayload, match="button"):
        WebChannel().parse(form_of({**base, "button": ["b" * 65]}))
    with pytest.raises(MalformedPayload, match="message_id"):
        WebChannel().parse(form_of({**base, "message_id": ["m" * 65]}))


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["chat_id", "message_id", "text", "button", "x"]),
        st.lists(form_text, max_size=2),
    )
)
def test_web_any_form_parses_or_is_refused(fields: dict[str, list[str]]) -> None:
    parse_or_refuse(WebChannel(), form_of(fields))


def test_telegram_send_fails_for_good_on_a_chat_id_that_is_no_number(
    telegram_channel: TelegramChannel,
) -> None:
    message = OutboundMessage(channel="telegram", chat_id="abc", text="halo")
    with pytest.raises(SendFailed, match="not a Telegram chat id"):  # not RetryLater 8 times
        asyncio.run(telegram_channel.send(message))


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["MessageSid", "MessageStatus", "ErrorCode", "ErrorMessage", "x"]),
        st.lists(form_text | st.sampled_from(["delivered", "failed"]), max_size=2),
    )
)
def test_twilio_any_status_form_parses_or_is_refused(fields: dict[str, list[str]]) -> None:
    try:
        report = parse_status(form_of(fields))
    except MalformedPayload as exc:
        assert str(exc)  # noqa: PT017  # a reason for the 400
    else:
        for value in (report.provider_id, report.status, report.error or ""):
            assert "\x00" not in value
            value.encode("utf-8")
