"""Attachments both ways: agents' files through the outbox to Telegram (uploaded), WhatsApp and
SMS (a signed link Twilio fetches) and the web chat; web chat clients' uploads through the
inbox; bad files refused with a reason, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.channels.telegram import close_bot
from chatbot.domain import Attachment, Inbound
from chatbot.frontdesk.desk import Desk
from db import queries
from settings import Settings
from tests.clock import FrozenClock
from tests.desk.agent_helpers import case_row
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.twilio_api import FakeTwilioApi
from tests.polling import wait_for
from tests.web.auth_helpers import add_user, login
from tests.web.helpers import PUBLIC, channel_settings, stepped

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64  # a Windows program named .pdf
WA_CLIENT = "+6281234567890"
SMS_CLIENT = "+6281298765432"
LIMIT = 4096  # LOKET_MAX_MEDIA_BYTES in these tests
HTTPS = "https://testserver"  # LOKET_PUBLIC_URL is https: session cookies are Secure


@pytest.fixture
def app(
    settings: Settings,
    clock: FrozenClock,
    tmp_path: Path,
    bot_api: FakeBotApi,
    twilio_api: FakeTwilioApi,
) -> Iterator[FastAPI]:
    from chatbot.web.app import create_app

    live = channel_settings(settings, tmp_path, bot_api, twilio_api, max_media_bytes=LIMIT)
    application = create_app(live, clock=clock, run_outbox=False, run_timers=False)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=HTTPS) as c:
        yield c
        telegram = app.state.channels.get("telegram")
        if telegram is not None:
            assert c.portal is not None
            c.portal.call(close_bot, telegram.bot)


def queued(app: FastAPI, channel: str, chat_id: str) -> int:
    desk: Desk = app.state.desk
    receipt = None
    for n, line in enumerate(["halo kak", "laporan penjualan kosong", "Wulan", "outlet Wulan"]):
        receipt = desk.receive(
            Inbound(channel=channel, chat_id=chat_id, message_id=f"{chat_id}:{n}", text=line)
        )
    assert receipt is not None
    assert receipt.case_id is not None
    assert case_row(app.state.engine, receipt.case_id)["state"] == "queued"
    return receipt.case_id


def dispatch_all(client: TestClient) -> None:
    assert client.portal is not None
    while client.portal.call(client.app.state.dispatcher.dispatch_once):  # type: ignore[attr-defined]
        pass


def agent_rows(app: FastAPI, case_id: int) -> list[dict[str, Any]]:
    with app.state.engine.connect() as conn:
        rows = queries.list_messages(conn, case_ids=[case_id])
    return [dict(m) for m in rows if m["direction"] == "out" and m["author"] == "sari"]


def send_file(
    client: TestClient, case_id: int, name: str, data: bytes, kind: str, text: str = ""
) -> Any:
    return client.post(
        f"/desk/cases/{case_id}/reply",
        data={"text": text},
        files={"file": (name, data, kind)},
        follow_redirects=False,
    )


def test_an_agent_sends_a_photo_and_a_pdf_to_telegram_as_uploads(
    app: FastAPI, client: TestClient, bot_api: FakeBotApi
) -> None:
    case_id = queued(app, "telegram", "5151")
    add_user(app, "sari", "agent")
    login(client, "sari")
    answer = send_file(client, case_id, "layar.png", PNG, "image/png", "Ini caranya kak")
    assert answer.status_code == 303  # the reply took the unowned case and was written
    assert send_file(client, case_id, "panduan.pdf", PDF, "application/pdf").status_code == 303
    assert [(r["kind"], r["status"]) for r in agent_rows(app, case_id)] == [
        ("photo", "pending"),
        ("document", "pending"),
    ]
    dispatch_all(client)
    assert [r["status"] for r in agent_rows(app, case_id)] == ["sent", "sent"]
    (photo,) = bot_api.calls("sendPhoto")
    assert (photo.form["chat_id"], photo.form["caption"]) == ("5151", "Ini caranya kak")
    assert photo.uploads["photo"].data == PNG
    (document,) = bot_api.calls("sendDocument")
    assert document.uploads["document"].data == PDF
    assert document.uploads["document"].filename == "panduan.pdf"
    assert "caption" not in document.form  # no text: no caption
    page = client.get(f"/desk/cases/{case_id}").text
    assert "panduan.pdf" in page  # the transcript shows what was sent, like clients' media


def test_whatsapp_and_sms_get_a_signed_link_twilio_can_fetch_without_a_login(
    app: FastAPI, client: TestClient, twilio_api: FakeTwilioApi, clock: FrozenClock
) -> None:
    wa_case = queued(app, "whatsapp", WA_CLIENT)
    sms_case = queued(app, "sms", SMS_CLIENT)
    add_user(app, "sari", "agent")
    login(client, "sari")
    assert send_file(client, wa_case, "panduan.pdf", PDF, "application/pdf", "Panduan kak")
    assert send_file(client, sms_case, "layar.png", PNG, "image/png").status_code == 303
    dispatch_all(client)
    assert [r["status"] for r in agent_rows(app, wa_case) + agent_rows(app, sms_case)] == [
        "sent",
        "sent",
    ]
    by_to = {c.form["To"]: c for c in twilio_api.calls() if c.media_urls}
    wa, sms = by_to[f"whatsapp:{WA_CLIENT}"], by_to[SMS_CLIENT]
    assert wa.form["Body"] == "Panduan kak"
    assert "Body" not in sms.form or sms.form["Body"] == ""
    links = [wa.media_urls[0], sms.media_urls[0]]
    assert all(link.startswith(f"{PUBLIC}/media/") for link in links)

    anonymous = TestClient(app, base_url=HTTPS)  # Twilio: no session cookie
    fetched = anonymous.get(links[0].removeprefix(PUBLIC))
    assert (fetched.status_code, fetched.content) == (200, PDF)
    assert fetched.headers["content-type"] == "application/pdf"
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert anonymous.get(links[1].removeprefix(PUBLIC)).content == PNG

    path = links[0].removeprefix(PUBLIC)
    other_id = path.replace("/media/", "/media/9", 1)  # another attachment, same signature
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for bad in (other_id, forged, "/media/1.2.3", "/media/" + "x" * 500):
        assert anonymous.get(bad).status_code == 404, bad
    clock.advance(hours=25)
    assert anonymous.get(path).status_code == 404  # expired
    # a client's own media is never served through a link, even with a valid signature
    kept = Path(app.state.settings.media_dir) / "whatsapp" / "client.png"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(PNG)
    photo = Attachment(kind="photo", content_type="image/png", stored_path=str(kept))
    app.state.desk.receive(
        Inbound(
            channel="whatsapp",
            chat_id=WA_CLIENT,
            message_id="SMclientphoto",
            kind="photo",
            attachments=(photo,),
        )
    )
    with app.state.engine.connect() as conn:
        ids = [a["id"] for a in queries.list_attachments(conn, case_ids=[wa_case])]
    client_file = app.state.media_links.url_for(max(ids)).removeprefix(PUBLIC)
    assert anonymous.get(client_file).status_code == 404


def test_bad_agent_files_are_refused_with_a_reason_and_nothing_is_sent(
    app: FastAPI, client: TestClient, tmp_path: Path
) -> None:
    case_id = queued(app, "telegram", "5252")
    add_user(app, "sari", "agent")
    login(client, "sari")
    big = send_file(client, case_id, "besar.pdf", PDF + b"0" * LIMIT, "application/pdf")
    assert big.status_code == 413
    assert "the file is larger than the 4.1 kB limit" in big.text
    fake = send_file(client, case_id, "panduan.pdf", PROGRAM, "application/pdf")
    assert fake.status_code == 422
    assert "not a .pdf file" in fake.text
    script = send_file(client, case_id, "run.exe", PROGRAM, "application/octet-stream")
    assert script.status_code == 422
    assert "files of type &#39;exe&#39; are not accepted" in script.text
    long_caption = send_file(client, case_id, "layar.png", PNG, "image/png", "x" * 1025)
    assert long_caption.status_code == 422
    assert agent_rows(app, case_id) == []
    outgoing = tmp_path / "media" / "outgoing"
    assert not outgoing.exists() or list(outgoing.iterdir()) == []  # refused: not kept


def test_a_web_chat_client_uploads_a_file_through_the_inbox(
    app: FastAPI, client: TestClient
) -> None:
    assert client.get("/").status_code == 200  # the chat cookie
    answer = client.post(
        "/chat/files",
        data={"message_id": "u1", "text": "ini layarnya kak"},
        files={"file": ("layar.png", PNG, "image/png")},
    )
    assert answer.json() == {"ok": True, "statuses": ["accepted"]}
    again = client.post(
        "/chat/files", data={"message_id": "u1"}, files={"file": ("layar.png", PNG, "image/png")}
    )
    assert again.json()["statuses"] == ["duplicate"]  # the same message, once
    engine = app.state.engine
    wait_for(lambda: stepped(engine), what="the stepper")
    with engine.connect() as conn:
        (case,) = [c for c in queries.list_cases(conn) if c["channel"] == "web"]
        (item,) = queries.list_attachments(conn, case_ids=[case["id"]])
        (first,) = [m for m in queries.list_messages(conn, case_ids=[case["id"]])][:1]
    assert (item["kind"], item["filename"], item["content_type"]) == (
        "photo",
        "layar.png",
        "image/png",
    )
    assert (first["kind"], first["text"]) == ("photo", "ini layarnya kak")
    own = client.get(f"/chat/files/{item['id']}")
    assert (own.status_code, own.content) == (200, PNG)
    stranger = TestClient(app, base_url=HTTPS)
    stranger.get("/")  # a chat of its own
    assert stranger.get(f"/chat/files/{item['id']}").status_code == 404
    assert "layar.png" in client.get("/").text  # shown again on a reload

    add_user(app, "sari", "agent")
    staff = TestClient(app, base_url=HTTPS)
    login(staff, "sari")
    page = staff.get(f"/desk/cases/{case['id']}").text
    assert f"/desk/cases/{case['id']}/attachments/{item['id']}" in page  # in the transcript


def test_a_web_chat_upload_too_big_or_of_the_wrong_type_is_told_why(
    app: FastAPI, client: TestClient
) -> None:
    client.get("/")
    big = client.post(
        "/chat/files",
        data={"message_id": "b1"},
        files={"file": ("besar.png", PNG + b"0" * LIMIT, "image/png")},
    )
    assert big.status_code == 413
    assert big.json()["message"] == (
        "Maaf kak, filenya terlalu besar. Ukuran maksimal 0.0041 MB ya kak."
    )
    wrong = client.post(
        "/chat/files", data={"message_id": "b2"}, files={"file": ("a.exe", PROGRAM, "x/y")}
    )
    assert wrong.status_code == 422
    assert "jpg, jpeg, png" in wrong.json()["message"]
    assert wrong.json()["error"].startswith("files of type 'exe'")
    empty = client.post("/chat/files", data={"message_id": "b3"})
    assert empty.status_code == 422
    broken = client.post(
        "/chat/files", content=b"--x\r\nnonsense", headers={"content-type": "multipart/form-data"}
    )
    assert broken.status_code == 400
    with app.state.engine.connect() as conn:
        assert [c for c in queries.list_cases(conn) if c["channel"] == "web"] == []


def test_an_agents_file_reaches_the_web_chat_of_that_session_only(
    app: FastAPI, client: TestClient
) -> None:
    client.get("/")
    client.post("/chat/messages", data={"text": "halo kak", "message_id": "1"})
    engine = app.state.engine
    wait_for(lambda: stepped(engine), what="the stepper")
    with engine.connect() as conn:
        (case,) = [c for c in queries.list_cases(conn) if c["channel"] == "web"]
    staff = TestClient(app, base_url=HTTPS)
    add_user(app, "sari", "agent")
    login(staff, "sari")
    assert send_file(staff, case["id"], "panduan.pdf", PDF, "application/pdf").status_code == 303
    dispatch_all(client)
    page = client.get("/").text
    assert 'download="panduan.pdf"' in page
    link = page.split('class="file" href="', 1)[1].split('"', 1)[0]
    fetched = client.get(link)
    assert (fetched.status_code, fetched.content) == (200, PDF)
    assert fetched.headers["content-disposition"].startswith("attachment")
    stranger = TestClient(app, base_url=HTTPS)
    stranger.get("/")
    assert stranger.get(link).status_code == 404


def test_a_file_refused_by_telegram_is_sent_again_with_its_file_or_fails_if_gone(
    app: FastAPI, client: TestClient, bot_api: FakeBotApi, tmp_path: Path
) -> None:
    case_id = queued(app, "telegram", "5353")
    add_user(app, "sari", "agent")
    token = login(client, "sari")
    blocked = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}
    bot_api.answer("sendPhoto", status=403, json=blocked)
    assert (
        send_file(client, case_id, "layar.png", PNG, "image/png", "lihat kak").status_code == 303
    )
    dispatch_all(client)
    (row,) = agent_rows(app, case_id)
    assert (row["status"], row["error"]) == (
        "failed",
        "Telegram refused the message: Forbidden: bot was blocked",
    )
    resend = f"/desk/cases/{case_id}/messages/{row['id']}/resend"
    assert (
        client.post(resend, data={"csrf_token": token}, follow_redirects=False).status_code == 303
    )
    dispatch_all(client)
    assert agent_rows(app, case_id)[0]["status"] == "sent"
    first, second = bot_api.calls("sendPhoto")
    assert second.uploads["photo"].data == first.uploads["photo"].data == PNG
    assert second.form["caption"] == "lihat kak"

    assert send_file(client, case_id, "panduan.pdf", PDF, "application/pdf").status_code == 303
    for kept in (tmp_path / "media" / "outgoing").glob("*.pdf"):
        kept.unlink()  # retention, or a lost disk: the row stays, the file is gone
    dispatch_all(client)
    gone = agent_rows(app, case_id)[-1]
    assert (gone["status"], gone["error"]) == ("failed", "the file to send is no longer kept")
    assert bot_api.calls("sendDocument") == []  # never sent as a bare caption
