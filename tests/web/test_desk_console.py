"""The /desk console over HTTP: login and roles, CSRF, escaping, the forms, the live stream."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.channels.telegram import TelegramChannel, close_bot, make_bot
from chatbot.domain import Attachment, Inbound
from chatbot.frontdesk.desk import Desk
from db import queries
from settings import Settings
from tests.clock import FrozenClock
from tests.desk.agent_helpers import case_row, events
from tests.fakes.bot_api import FakeBotApi
from tests.web.auth_helpers import add_user, login
from tests.web.helpers import SECRET, TOKEN

HOSTILE = "<script>alert('x')</script> laporan penjualan di BI kosong semua"


def say(app: FastAPI, chat_id: str, *lines: str, **extra: object) -> int:
    desk: Desk = app.state.desk
    receipt = None
    for n, line in enumerate(lines):
        receipt = desk.receive(
            Inbound(
                channel="telegram",
                chat_id=chat_id,
                message_id=f"{chat_id}:{n}:{line[:8]}",
                text=line,
                **extra,  # type: ignore[arg-type]
            )
        )
    assert receipt is not None
    assert receipt.case_id is not None
    return receipt.case_id


def queued_case(app: FastAPI, chat_id: str = "4242") -> int:
    case_id = say(app, chat_id, "halo kak", HOSTILE, "Wulan", "outlet Kedai Wulan")
    assert case_row(app.state.engine, case_id)["state"] == "queued"
    return case_id


def test_no_desk_page_without_login(app: FastAPI, client: TestClient) -> None:
    case_id = queued_case(app)
    for path in [
        "/desk",
        f"/desk/cases/{case_id}",
        "/desk/supervisor",
        "/desk/new",
        "/desk/events",
    ]:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=")
    answer = client.post(f"/desk/cases/{case_id}/take", follow_redirects=False)
    assert answer.status_code == 401
    assert case_row(app.state.engine, case_id)["assignee_id"] is None


def test_hostile_client_text_is_escaped_in_queue_and_case_pages(
    app: FastAPI, client: TestClient
) -> None:
    case_id = queued_case(app)
    say(app, "4242", "<script>alert('y')</script> kapan dibalas?")  # the queue shows it
    add_user(app, "sari", "agent")
    login(client, "sari")
    pages = [
        client.get("/desk"),
        client.get("/desk/fragments/queue"),
        client.get(f"/desk/cases/{case_id}"),
        client.get(f"/desk/cases/{case_id}/fragment"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert(" in page.text


def test_roles_agents_stay_out_of_supervisor_and_admin_pages(
    app: FastAPI, client: TestClient
) -> None:
    add_user(app, "sari", "agent")
    login(client, "sari")
    assert client.get("/desk/supervisor").status_code == 403
    assert client.get("/admin", follow_redirects=False).status_code == 403
    case_id = queued_case(app)
    answer = client.post(f"/desk/cases/{case_id}/reassign", data={"to_user": "1"})
    assert answer.status_code == 403


def test_csrf_is_required_on_every_form(app: FastAPI, client: TestClient) -> None:
    case_id = queued_case(app)
    add_user(app, "sari", "agent")
    token = login(client, "sari", csrf_header=False)
    answer = client.post(f"/desk/cases/{case_id}/take", follow_redirects=False)
    assert answer.status_code == 403
    answer = client.post(
        f"/desk/cases/{case_id}/take", data={"csrf_token": "forged"}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert case_row(app.state.engine, case_id)["assignee_id"] is None
    answer = client.post(
        f"/desk/cases/{case_id}/take", data={"csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 303
    page = client.get(f"/desk/cases/{case_id}")
    assert f'name="csrf_token" value="{token}"' in page.text


def test_take_reply_with_a_phrase_and_resolve_through_the_forms(
    app: FastAPI, client: TestClient
) -> None:
    case_id = queued_case(app)
    sari = add_user(app, "sari", "agent")
    login(client, "sari")
    assert client.post(f"/desk/cases/{case_id}/take").status_code == 200  # after the redirect
    page = client.get(f"/desk/cases/{case_id}")
    assert '<option value="agent.greeting"' in page.text  # the no-script phrase form
    assert '"key": "agent.greeting"' in page.text  # what `/` in the reply offers
    client.post(f"/desk/cases/{case_id}/reply", data={"phrase": "agent.greeting"})
    client.post(f"/desk/cases/{case_id}/reply", data={"text": "Saya cek dulu <b>ya</b> kak"})
    client.post(f"/desk/cases/{case_id}/notes", data={"text": "cek akun demo"})
    client.post(f"/desk/cases/{case_id}/category", data={"category": "normal"})
    with app.state.engine.connect() as conn:
        out = [
            m
            for m in queries.list_messages(conn, case_ids=[case_id])
            if m["author"] == "sari" and m["direction"] == "out"
        ]
    assert [(m["status"], m["channel"], m["chat_id"]) for m in out] == [
        ("pending", "telegram", "4242")
    ] * 2
    assert "Halo kak Wulan" in out[0]["text"]
    assert out[1]["text"] == "Saya cek dulu <b>ya</b> kak"
    row = case_row(app.state.engine, case_id)
    assert (row["first_response_by"], row["category"]) == (sari.id, "normal")
    answer = client.post(f"/desk/cases/{case_id}/resolve", follow_redirects=False)
    assert answer.status_code == 303
    assert case_row(app.state.engine, case_id)["state"] == "awaiting_confirmation"
    again = client.post(f"/desk/cases/{case_id}/resolve", follow_redirects=False)
    assert again.status_code == 409  # a step the case has moved past: a conflict, no refusal
    assert "is awaiting confirmation now" in again.text
    page = client.get(f"/desk/cases/{case_id}").text
    assert "Saya cek dulu &lt;b&gt;ya&lt;/b&gt; kak" in page
    assert "cek akun demo" in page


def test_the_second_agent_is_told_who_took_the_case(app: FastAPI, settings: Settings) -> None:
    case_id = queued_case(app)
    add_user(app, "sari", "agent")
    add_user(app, "budi", "agent")
    with TestClient(app) as first, TestClient(app) as second:
        login(first, "sari")
        login(second, "budi")
        assert first.post(f"/desk/cases/{case_id}/take", follow_redirects=False).status_code == 303
        answer = second.post(f"/desk/cases/{case_id}/take", follow_redirects=False)
        assert answer.status_code == 409
        assert "already taken by sari" in answer.text
        answer = second.post(f"/desk/cases/{case_id}/reply", data={"text": "halo"})
        assert answer.status_code == 403


def test_bad_input_gets_a_4xx_with_a_reason(app: FastAPI, client: TestClient) -> None:
    case_id = queued_case(app)
    add_user(app, "sari", "agent")
    login(client, "sari")
    client.post(f"/desk/cases/{case_id}/take")
    answer = client.post(f"/desk/cases/{case_id}/category", data={"category": "urgent"})
    assert answer.status_code == 422
    assert "unknown category" in answer.text
    assert client.get("/desk/cases/99999").status_code == 404
    assert client.post("/desk/cases/99999/take").status_code == 404
    assert client.post(f"/desk/cases/{case_id}/transfer", data={"to_user": "x"}).status_code == 422
    answer = client.post("/desk/new", data={"source": "fax", "complaint": "x"})
    assert answer.status_code == 422
    assert "source must be one of" in answer.text


def test_a_walk_in_case_from_the_form(app: FastAPI, client: TestClient) -> None:
    add_user(app, "sari", "agent")
    login(client, "sari")
    assert 'name="field_outlet"' in client.get("/desk/new").text
    answer = client.post(
        "/desk/new",
        data={
            "source": "walk_in",
            "client_name": "Bu Ani",
            "field_name": "Ani",
            "field_outlet": "RS Sehat",
            "complaint": "POS error tidak bisa login",
            "contact_channel": "whatsapp",
            "contact": "0812-3456-7890",
            "take": "1",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    case_id = int(answer.headers["location"].split("/")[-1].split("?")[0])
    row = case_row(app.state.engine, case_id)
    assert (row["source"], row["channel"], row["chat_id"]) == (
        "walk_in",
        "whatsapp",
        "+6281234567890",
    )
    assert "RS Sehat" in client.get(f"/desk/cases/{case_id}").text


def test_escalation_form_shows_a_post_that_failed(app: FastAPI, client: TestClient) -> None:
    case_id = queued_case(app)
    add_user(app, "sari", "agent")
    login(client, "sari")
    client.post(f"/desk/cases/{case_id}/take")
    answer = client.post(
        f"/desk/cases/{case_id}/escalations",
        data={"area": "BI", "outlet": "kedai.erzap.id", "detail": "BI kosong <img src=x>"},
    )
    assert answer.status_code == 200
    assert "Not posted: no Discord webhook" in answer.text
    assert "BI kosong &lt;img src=x&gt;" in answer.text
    assert case_row(app.state.engine, case_id)["state"] == "escalated"
    [report] = re.findall(r'data-report="(\d+)"', answer.text)
    client.post(f"/desk/escalations/{report}/status", data={"status": "fix_ready"})
    client.post(f"/desk/escalations/{report}/status", data={"status": "verified"})
    assert case_row(app.state.engine, case_id)["state"] == "with_agent"
    assert ("escalation_status", "sari", f"#{report} verified") in events(
        app.state.engine, case_id
    )


def test_supervisor_sees_everyone_reassigns_and_records_compensation(
    app: FastAPI, client: TestClient
) -> None:
    case_id = queued_case(app)
    sari = add_user(app, "sari", "agent")
    add_user(app, "lead", "supervisor")
    login(client, "lead")
    page = client.get("/desk/supervisor")
    assert page.status_code == 200
    assert "sari" in page.text
    assert 'lead</td><td>supervisor</td><td class="presence">online' in page.text
    client.post(f"/desk/cases/{case_id}/reassign", data={"to_user": str(sari.id)})
    assert case_row(app.state.engine, case_id)["assignee_id"] == sari.id
    client.post(
        f"/desk/cases/{case_id}/compensation",
        data={"product_fault": "1", "loss": "tamu dicatat manual", "agreed": "diskon 50%"},
    )
    assert "tamu dicatat manual → diskon 50%" in client.get(f"/desk/cases/{case_id}").text


def test_attachments_are_served_to_staff_only(
    app: FastAPI, client: TestClient, tmp_path: Path
) -> None:
    stored = tmp_path / "media" / "telegram" / "photo.jpg"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"\xff\xd8jpeg")
    outside = tmp_path / "secret.txt"
    outside.write_text("not media")
    case_id = say(
        app,
        "77",
        "ini ss nya",
        kind="photo",
        attachments=(
            Attachment(kind="photo", content_type="image/jpeg", stored_path=str(stored)),
            Attachment(kind="document", stored_path=str(outside)),
        ),
    )
    with app.state.engine.connect() as conn:
        first, second = (a["id"] for a in queries.list_attachments(conn, case_ids=[case_id]))
    url = f"/desk/cases/{case_id}/attachments/{first}"
    assert client.get(url, follow_redirects=False).status_code == 303  # login first
    add_user(app, "sari", "agent")
    login(client, "sari")
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer.content == b"\xff\xd8jpeg"
    assert client.get(f"/desk/cases/{case_id}/attachments/{second}").status_code == 404
    assert client.get(f"/desk/cases/{case_id + 1}/attachments/{first}").status_code == 404
    assert f'src="{url}"' in client.get(f"/desk/cases/{case_id}").text


def test_the_event_stream_tells_when_something_happened(app: FastAPI, client: TestClient) -> None:
    add_user(app, "sari", "agent")
    login(client, "sari")
    with client.stream("GET", "/desk/events") as stream:
        lines = stream.iter_lines()
        before = json.loads(next(line for line in lines if line.startswith("data:"))[5:])
        queued_case(app, chat_id="5151")
        after = before
        while after["event"] == before["event"]:  # its messages may come a notice earlier
            after = json.loads(next(line for line in lines if line.startswith("data:"))[5:])
    assert after["message"] > before["message"]
    assert after["event"] > before["event"]


def test_transfer_and_hand_back_through_the_forms(app: FastAPI, client: TestClient) -> None:
    case_id = queued_case(app)
    add_user(app, "sari", "agent")
    budi = add_user(app, "budi", "agent")
    login(client, "sari")
    client.post(f"/desk/cases/{case_id}/take")
    answer = client.post(
        f"/desk/cases/{case_id}/transfer", data={"to_user": str(budi.id)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert case_row(app.state.engine, case_id)["assignee_id"] == budi.id
    answer = client.post(f"/desk/cases/{case_id}/hand-back")  # no longer sari's case
    assert answer.status_code == 403
    assert "belongs to another agent" in answer.text
    with TestClient(app) as other:
        login(other, "budi")
        assert other.post(f"/desk/cases/{case_id}/hand-back").status_code == 200
    row = case_row(app.state.engine, case_id)
    assert (row["assignee_id"], row["state"]) == (None, "chronology")


def test_a_telegram_photo_is_fetched_through_the_bot(
    settings: Settings, clock: FrozenClock, tmp_path: Path, bot_api: FakeBotApi
) -> None:
    from chatbot.web.app import create_app

    channel = TelegramChannel(make_bot(TOKEN, f"{bot_api.url}/bot"), SECRET)
    app = create_app(
        settings.model_copy(update={"media_dir": tmp_path / "media"}),
        clock=clock,
        channels={"telegram": channel},
        run_outbox=False,
        run_timers=False,
    )
    bot_api.files["AgADphoto"] = b"\xff\xd8telegram-jpeg"
    case_id = say(
        app,
        "88",
        "ss errornya kak",
        kind="photo",
        attachments=(
            Attachment(kind="photo", file_id="AgADphoto", content_type="image/jpeg"),
            Attachment(kind="document", file_id="gone"),
        ),
    )
    with app.state.engine.connect() as conn:
        photo, gone = (a["id"] for a in queries.list_attachments(conn, case_ids=[case_id]))
    try:
        with TestClient(app) as client:
            add_user(app, "sari", "agent")
            login(client, "sari")
            answer = client.get(f"/desk/cases/{case_id}/attachments/{photo}")
            assert answer.status_code == 200
            assert answer.content == b"\xff\xd8telegram-jpeg"
            assert answer.headers["content-type"] == "image/jpeg"
            answer = client.get(f"/desk/cases/{case_id}/attachments/{gone}")
            assert answer.status_code == 502
            assert "Invalid file_id" in answer.text
            assert client.portal is not None
            client.portal.call(close_bot, channel.bot)  # in the loop that opened its connections
    finally:
        app.state.engine.dispose()


def test_a_reply_not_delivered_can_be_sent_again_from_the_case_page(
    settings: Settings, clock: FrozenClock, tmp_path: Path, bot_api: FakeBotApi
) -> None:
    from chatbot.web.app import create_app

    channel = TelegramChannel(make_bot(TOKEN, f"{bot_api.url}/bot"), SECRET)
    app = create_app(
        settings.model_copy(
            update={"media_dir": tmp_path / "media", "telegram_max_per_chat_per_second": 1000.0}
        ),
        clock=clock,
        channels={"telegram": channel},
        run_outbox=False,
        run_timers=False,
    )
    engine = app.state.engine
    case_id = say(app, "4243", "halo kak")  # two replies: salam, then welcome
    blocked = "Forbidden: bot was blocked by the user"
    bot_api.answer(
        "sendMessage", status=403, json={"ok": False, "error_code": 403, "description": blocked}
    )

    def replies() -> list[dict[str, object]]:
        with engine.connect() as conn:
            rows = queries.list_messages(conn, case_ids=[case_id])
        return [dict(r) for r in rows if r["direction"] == "out"]

    try:
        with TestClient(app) as client:
            assert client.portal is not None
            dispatch = app.state.dispatcher.dispatch_once
            while client.portal.call(dispatch):
                pass
            failed, welcome = replies()
            assert (failed["status"], welcome["status"]) == ("failed", "sent")
            resend = f"/desk/cases/{case_id}/messages/{failed['id']}/resend"
            assert client.post(resend, follow_redirects=False).status_code == 401

            add_user(app, "sari", "agent")
            token = login(client, "sari", csrf_header=False)
            page = client.get(f"/desk/cases/{case_id}").text
            assert "tidak terkirim: Telegram refused the message: " in page  # not delivered
            assert f'action="{resend}"' in page  # next to the failed reply, and only there
            assert page.count("/resend") == 1
            assert client.post(resend, follow_redirects=False).status_code == 403  # no CSRF
            assert replies()[0]["status"] == "failed"

            clock.advance(minutes=30)
            answer = client.post(resend, data={"csrf_token": token}, follow_redirects=False)
            assert answer.status_code == 303
            assert answer.headers["location"] == f"/desk/cases/{case_id}"
            assert "desk_done=resent" in answer.headers["set-cookie"]
            again = replies()[0]
            assert (again["status"], again["error"], again["attempts"]) == ("pending", None, 0)
            assert again["due_at"].replace(tzinfo=None) == clock.now().replace(tzinfo=None)
            assert events(engine, case_id)[-1] == (
                "resent",
                "sari",
                f"message {failed['id']}, which had failed: Telegram refused the message: "
                "Forbidden: bot was blocked by the user",
            )
            page = client.get(f"/desk/cases/{case_id}/fragment").text
            assert "/resend" not in page  # pending again: no button

            answer = client.post(resend, data={"csrf_token": token})  # twice: refused
            assert answer.status_code == 403
            assert "is not a failed reply" in answer.text

            assert client.portal.call(dispatch) == 1  # the client unblocked the bot
            assert [r["status"] for r in replies()] == ["sent", "sent"]
            assert bot_api.sent_texts("4243")[-1] == failed["text"]
            client.portal.call(close_bot, channel.bot)
    finally:
        engine.dispose()
