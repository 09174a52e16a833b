"""Campaign sends through the outbox and the real twilio library to the fake Twilio API;
status callbacks signed as Twilio signs them; replies opening campaign cases; opt-out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chatbot.campaigns.service import Campaigns
from chatbot.supervision.case_records import cases_json
from chatbot.web.app import create_app
from db import campaign_queries as cq
from db import queries
from db.engine import read
from settings import Settings
from tests.clock import FrozenClock
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.payloads import twilio_form, twilio_signed
from tests.fakes.twilio_api import AUTH_TOKEN, FakeTwilioApi
from tests.polling import wait_for
from tests.web.helpers import PUBLIC, channel_settings, stepped

TEMPLATE = "HX" + "0123456789abcdef" * 2
WULAN, ANDI, SARI = "+6281234567890", "+6281298765432", "+6285711112222"
AUDIENCE = (
    "phone,name,paket\n"
    "0812-3456-7890,Wulan,IndiHome 30 Mbps\n"
    "0812 9876 5432,Andi,IndiHome 50 Mbps\n"
    "+62 857 1111 2222,Sari,IndiHome 20 Mbps\n"
    "+6281234567890,Wulan lagi,dup\n"
    "12345,Rusak,x\n"
)


@pytest.fixture
def manual(
    settings: Settings,
    tmp_path: Path,
    bot_api: FakeBotApi,
    twilio_api: FakeTwilioApi,
    clock: FrozenClock,
) -> Iterator[TestClient]:
    """The app with a frozen clock (a Monday, 10:00 in Jakarta) and the outbox by hand."""
    live = channel_settings(settings, tmp_path, bot_api, twilio_api)
    with TestClient(create_app(live, clock=clock, run_outbox=False)) as client:
        yield client


def engine_of(client: TestClient) -> Any:
    return client.app.state.engine  # type: ignore[attr-defined]


def dispatch(client: TestClient) -> int:
    sent: int = client.portal.call(client.app.state.dispatcher.dispatch_once)  # type: ignore[union-attr, attr-defined]
    return sent


def post_twilio(client: TestClient, fields: dict[str, str], path: str) -> Any:
    body, headers = twilio_signed(f"{PUBLIC}{path}", fields, AUTH_TOKEN)
    response = client.post(path, content=body, headers=headers)
    wait_for(lambda: stepped(engine_of(client)), what="the stepper")
    return response


def status_callback(client: TestClient, sid: str, status: str, code: str = "") -> Any:
    fields = twilio_form("status_delivered", MessageSid=sid, SmsSid=sid, MessageStatus=status)
    fields["SmsStatus"] = status
    if code:
        fields["ErrorCode"] = code
    return post_twilio(client, fields, "/webhooks/twilio/status")


def client_says(client: TestClient, number: str, text: str, n: int) -> None:
    fields = twilio_form(
        "whatsapp_text",
        Body=text,
        From=f"whatsapp:{number}",
        WaId=number.lstrip("+"),
        MessageSid=f"SM{n:032d}",
    )
    assert post_twilio(client, fields, "/webhooks/twilio").status_code == 200


def create(client: TestClient, clock: FrozenClock, **options: Any) -> int:
    created = Campaigns(engine_of(client)).create(
        name="Caring CT-0 November",
        channel="whatsapp",
        template=TEMPLATE,
        variables={"1": "name", "2": "paket"},
        audience_csv=options.pop("audience", AUDIENCE),
        profile="telkom",
        now=clock.now(),
        **options,
    )
    return created.campaign_id


def recipients(client: TestClient, campaign_id: int) -> dict[str, Any]:
    with read(engine_of(client)) as conn:
        return {r["chat_id"]: r for r in cq.recipients_for(conn, campaign_id=campaign_id)}


def drain(client: TestClient) -> None:
    while dispatch(client):
        pass


def test_a_campaign_sends_each_valid_recipient_its_template_once(
    manual: TestClient, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    campaign_id = create(manual, clock)
    service = Campaigns(engine_of(manual))
    assert dispatch(manual) == 0  # a draft sends nothing
    assert service.start(campaign_id, now=clock.now()) == "running"
    drain(manual)
    assert twilio_api.templates_to(f"whatsapp:{WULAN}") == [
        (TEMPLATE, {"1": "Wulan", "2": "IndiHome 30 Mbps"})
    ]
    calls = twilio_api.calls()
    assert len(calls) == 3  # the duplicate and the invalid row were never sent
    assert {c.form["To"] for c in calls} == {f"whatsapp:{n}" for n in (WULAN, ANDI, SARI)}
    assert all(c.form["From"] == "whatsapp:+14155238886" for c in calls)
    assert all(c.form["StatusCallback"] == f"{PUBLIC}/webhooks/twilio/status" for c in calls)
    assert all("Body" not in c.form for c in calls)
    dispatch(manual)  # nothing left: the campaign is done
    status = service.status(campaign_id)
    assert {k: status[k] for k in ("state", "recipients", "invalid", "duplicates", "sent")} == {
        "state": "done",
        "recipients": 3,
        "invalid": 1,
        "duplicates": 1,
        "sent": 3,
    }


def test_status_callbacks_count_delivered_and_read_and_handle_meta_codes(
    manual: TestClient, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    campaign_id = create(manual, clock)
    service = Campaigns(engine_of(manual))
    service.start(campaign_id, now=clock.now())
    drain(manual)
    sids = {n: r["provider_id"] for n, r in recipients(manual, campaign_id).items()}
    assert status_callback(manual, sids[WULAN], "delivered").status_code == 204
    assert status_callback(manual, sids[WULAN], "read").status_code == 204
    assert status_callback(manual, sids[WULAN], "delivered").status_code == 204  # late: no harm
    assert status_callback(manual, sids[ANDI], "failed", "131049").status_code == 204
    assert status_callback(manual, sids[SARI], "undelivered", "131050").status_code == 204
    rows = recipients(manual, campaign_id)
    assert rows[WULAN]["state"] == "read"
    assert (rows[ANDI]["state"], rows[ANDI]["error_code"]) == ("failed", 131049)
    assert (rows[SARI]["state"], rows[SARI]["error_code"]) == ("opted_out", 131050)
    with read(engine_of(manual)) as conn:
        assert cq.is_opted_out(conn, address=SARI)
        assert not cq.is_opted_out(conn, address=ANDI)
    status = service.status(campaign_id)
    assert (status["delivered"], status["read"], status["failed"], status["opted_out"]) == (
        1,
        1,
        1,
        1,
    )
    [failure] = status["failures"]
    assert failure["code"] == 131049
    assert "Jangan kirim ulang" in failure["meaning"]
    calls = len(twilio_api.calls())
    clock.advance(hours=1)
    drain(manual)
    assert len(twilio_api.calls()) == calls  # nothing failed is retried blindly
    # A later campaign never reaches the number that stopped marketing messages.
    second = create(manual, clock)
    service.start(second, now=clock.now())
    drain(manual)
    assert recipients(manual, second)[SARI]["state"] == "opted_out"
    assert len(twilio_api.templates_to(f"whatsapp:{SARI}")) == 1


def test_a_status_callback_with_a_wrong_signature_is_refused(manual: TestClient) -> None:
    fields = twilio_form("status_delivered")
    body, headers = twilio_signed(f"{PUBLIC}/webhooks/twilio/status", fields, "wrong-token")
    assert manual.post("/webhooks/twilio/status", content=body, headers=headers).status_code == 403


def test_refusals_at_send_time_are_not_retried_and_131050_opts_out(
    manual: TestClient, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    campaign_id = create(manual, clock)
    Campaigns(engine_of(manual)).start(campaign_id, now=clock.now())
    twilio_api.fail_next(400, 63016, "Failed to send freeform message outside the window")
    twilio_api.fail_next(400, 131050, "User stopped marketing messages")
    twilio_api.fail_next(429, 20429, "Too Many Requests")
    dispatch(manual)
    rows = recipients(manual, campaign_id)
    assert (rows[WULAN]["state"], rows[WULAN]["error_code"]) == ("failed", 63016)
    assert (rows[ANDI]["state"], rows[ANDI]["error_code"]) == ("opted_out", 131050)
    assert rows[SARI]["state"] == "pending"  # a 429 waits and is tried again
    clock.advance(seconds=10)
    drain(manual)
    rows = recipients(manual, campaign_id)
    assert rows[SARI]["state"] == "sent"
    assert [len(twilio_api.templates_to(f"whatsapp:{n}")) for n in (WULAN, ANDI, SARI)] == [
        1,
        1,
        2,
    ]


def test_outside_the_window_or_on_a_holiday_nothing_is_sent(
    manual: TestClient, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    campaign_id = create(manual, clock, window=("13:00", "15:00"))  # it is 10:00 in Jakarta
    service = Campaigns(engine_of(manual))
    service.start(campaign_id, now=clock.now())
    assert dispatch(manual) == 0
    clock.advance(hours=3)  # 13:00 local
    assert dispatch(manual) == 3
    holiday = create(manual, clock, audience="phone,name,paket\n081377778888,Rina,x\n")
    clock.advance(days=32)  # Friday 25 December, Christmas, 13:00 local
    service.start(holiday, now=clock.now())
    assert dispatch(manual) == 0
    assert len(twilio_api.calls()) == 3


def test_a_start_time_ahead_schedules_and_pause_resume_cancel_steer(
    manual: TestClient, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    service = Campaigns(engine_of(manual))
    start = datetime.fromisoformat("2026-11-23T04:00:00+00:00")  # in an hour
    campaign_id = create(manual, clock, start_at=start)
    assert service.start(campaign_id, now=clock.now()) == "scheduled"
    assert dispatch(manual) == 0
    clock.advance(hours=1)
    assert service.pause(campaign_id, now=clock.now()) == "paused"
    assert dispatch(manual) == 0
    assert service.resume(campaign_id, now=clock.now()) == "running"
    assert dispatch(manual) == 3
    other = create(manual, clock)
    service.start(other, now=clock.now())
    assert service.cancel(other, now=clock.now()) == "cancelled"
    assert dispatch(manual) == 0
    assert service.status(other)["skipped"] == 3
    assert len(twilio_api.calls()) == 3


def test_the_rate_and_the_daily_tier_cap_hold_back_sends(
    manual: TestClient, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    feed = manual.app.state.dispatcher._campaigns  # type: ignore[attr-defined]
    feed._daily_cap = 2
    campaign_id = create(manual, clock)
    Campaigns(engine_of(manual)).start(campaign_id, now=clock.now())
    assert dispatch(manual) == 2
    clock.advance(hours=1)
    assert dispatch(manual) == 0  # 2 unique recipients in 24 h: the tier is full
    feed._daily_cap = 1000
    assert dispatch(manual) == 1
    slow = create(manual, clock, audience=AUDIENCE.replace("08", "0813", 1), rate=1.0)
    Campaigns(engine_of(manual)).start(slow, now=clock.now())
    assert dispatch(manual) == 1  # one a second: the next waits for the bucket to refill


def test_a_reply_opens_a_caring_case_tied_to_the_campaign_in_the_queue_path(
    manual: TestClient, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    campaign_id = create(manual, clock)
    Campaigns(engine_of(manual)).start(campaign_id, now=clock.now())
    drain(manual)
    clock.advance(minutes=30)
    client_says(manual, WULAN, "Halo kak, internet saya masih sering putus", 1)
    client_says(manual, "+6289900001111", "halo kak", 2)  # not in the campaign
    with read(engine_of(manual)) as conn:
        rows = queries.list_cases(conn)
        cases = {c["chat_id"]: c for c in cases_json(conn, rows)}
    assert cases[WULAN]["campaign"] == campaign_id
    assert cases[WULAN]["profile"] == "telkom"
    assert cases["+6289900001111"]["campaign"] is None
    drain(manual)
    replies = twilio_api.sent_bodies(f"whatsapp:{WULAN}")
    assert "puas dengan layanan IndiHome" in replies[-1]  # the service state was told: satisfied?
    client_says(manual, WULAN, "kurang puas kak", 3)
    client_says(manual, WULAN, "Wulan Sari", 4)
    drain(manual)
    with read(engine_of(manual)) as conn:
        case = queries.get_open_case(conn, channel="whatsapp", chat_id=WULAN)
    assert case is not None
    assert case.state == "queued"
    assert case.fields["satisfaction"] == "kurang puas"  # the filler "kak" is not the answer
    assert recipients(manual, campaign_id)[WULAN]["state"] == "replied"
    assert Campaigns(engine_of(manual)).status(campaign_id)["replied"] == 1


@pytest.mark.parametrize("word", ["BERHENTI", "stop ya kak", "JANGAN KIRIM LAGI"])
def test_an_opt_out_is_confirmed_recorded_and_honoured_and_mulai_undoes_it(
    manual: TestClient, twilio_api: FakeTwilioApi, clock: FrozenClock, word: str
) -> None:
    client_says(manual, WULAN, word, 1)
    drain(manual)
    [confirmation] = twilio_api.sent_bodies(f"whatsapp:{WULAN}")
    assert "MULAI" in confirmation
    campaign_id = create(manual, clock)
    Campaigns(engine_of(manual)).start(campaign_id, now=clock.now())
    drain(manual)
    assert recipients(manual, campaign_id)[WULAN]["state"] == "opted_out"
    assert twilio_api.templates_to(f"whatsapp:{WULAN}") == []
    assert Campaigns(engine_of(manual)).status(campaign_id)["opted_out"] == 1
    client_says(manual, WULAN, "MULAI", 2)
    drain(manual)
    assert "BERHENTI" in twilio_api.sent_bodies(f"whatsapp:{WULAN}")[-1]
    with read(engine_of(manual)) as conn:
        assert not cq.is_opted_out(conn, address=WULAN)
    again = create(manual, clock)
    Campaigns(engine_of(manual)).start(again, now=clock.now())
    drain(manual)
    assert len(twilio_api.templates_to(f"whatsapp:{WULAN}")) == 1


def test_mulai_from_a_number_not_opted_out_is_an_ordinary_message(
    manual: TestClient, twilio_api: FakeTwilioApi
) -> None:
    client_says(manual, WULAN, "MULAI", 1)
    drain(manual)
    with read(engine_of(manual)) as conn:
        [case] = queries.list_cases(conn)
    assert case["closed_at"] is None  # the desk greeted them as usual
    assert json.dumps(twilio_api.sent_bodies(f"whatsapp:{WULAN}"))


def test_a_telegram_campaign_reaches_only_chats_that_started_the_bot(
    manual: TestClient, bot_api: FakeBotApi, clock: FrozenClock
) -> None:
    with engine_of(manual).begin() as conn:  # Wulan started the bot and shared her number
        queries.ensure_contact(
            conn, channel="telegram", chat_id="777000", name="Wulan", phone=WULAN, now=clock.now()
        )
    service = Campaigns(engine_of(manual))
    campaign_id = service.create(
        name="Caring Telegram",
        channel="telegram",
        template="Halo kak {{1}}, bagaimana layanan {{2}} kakak?",
        variables={"1": "name", "2": "paket"},
        audience_csv=AUDIENCE,
        profile="telkom",
        now=clock.now(),
    ).campaign_id
    service.start(campaign_id, now=clock.now())
    drain(manual)
    assert bot_api.sent_texts(777000) == [
        "Halo kak Wulan, bagaimana layanan IndiHome 30 Mbps kakak?"
    ]
    status = service.status(campaign_id)
    assert (status["sent"], status["skipped"]) == (1, 2)
