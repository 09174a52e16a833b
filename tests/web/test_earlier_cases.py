"""The case page shows the client's earlier cases (any channel with the same phone), escaped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.domain import Inbound
from chatbot.web.app import create_app
from settings import Settings
from tests.clock import FrozenClock
from tests.web.auth_helpers import add_user, login

STORY = "<b>laporan</b> penjualan di BI kosong semua"


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, tmp_path: Path) -> Iterator[FastAPI]:
    application = create_app(settings, clock=clock, run_outbox=False, run_timers=False)
    yield application
    application.state.engine.dispose()


def say(app: FastAPI, channel: str, chat_id: str, *lines: str) -> int:
    case_id = None
    for n, line in enumerate(lines):
        receipt = app.state.desk.receive(
            Inbound(
                channel=channel,
                chat_id=chat_id,
                message_id=f"{channel}:{chat_id}:{n}:{line[:6]}",
                text=line,
                phone=chat_id if chat_id.startswith("+") else None,
            )
        )
        case_id = receipt.case_id
    assert case_id is not None
    return case_id


def test_the_case_page_lists_earlier_cases_of_the_same_client(
    app: FastAPI, clock: FrozenClock
) -> None:
    first = say(app, "whatsapp", "+6281299887766", "halo", STORY, "Wulan", "outlet Kedai", "batal")
    clock.advance(hours=2)
    second = say(app, "sms", "+6281299887766", "stok minus terus kak")
    stranger = say(app, "telegram", "777", "stok minus terus kak")
    add_user(app, "sari", "agent")
    with TestClient(app) as client:
        login(client, "sari")
        page = client.get(f"/desk/cases/{second}")
        assert page.status_code == 200
        block = page.text.split('id="earlier"')[1].split("</ul>")[0]
        assert f'href="/desk/cases/{first}"' in block
        assert "cancelled_by_client" in block
        assert "&lt;b&gt;laporan&lt;/b&gt;" in block  # the client's words, escaped
        assert "<b>laporan" not in page.text
        alone = client.get(f"/desk/cases/{stranger}")
        assert "Belum ada: kontak pertama." in alone.text  # the console speaks Indonesian
