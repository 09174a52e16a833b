"""The office calendar in /admin: an admin closes a day or opens a holiday, the desk follows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.domain import Inbound
from flows import phrase_keys as keys
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.web.auth_helpers import signed_in

WIB = ZoneInfo("Asia/Jakarta")


@contextmanager
def admin_at(app: FastAPI, clock: FrozenClock, *moment: int) -> Iterator[TestClient]:
    """The admin "ani" logged in at a moment in Jakarta (sessions expire: log in after)."""
    clock._now = datetime(*moment, tzinfo=WIB).astimezone(UTC)  # type: ignore[misc]
    with signed_in(app, "ani", "admin") as client:
        yield client


@pytest.fixture
def admin(app: FastAPI, clock: FrozenClock) -> Iterator[TestClient]:
    with admin_at(app, clock, 2026, 11, 23, 10, 0) as client:
        yield client


def test_the_year_lists_holidays_and_cuti_bersama(admin: TestClient) -> None:
    page = admin.get("/admin/calendar?profile=erzap&year=2026")
    assert page.status_code == 200
    assert "Christmas Day" in page.text
    assert "Christmas Joint Holiday" in page.text  # cuti bersama on the 24th
    assert 'id="day-2026-08-17"' in page.text  # Independence Day


def test_a_closed_day_sends_hand_offs_to_the_next_opening(
    app: FastAPI, clock: FrozenClock
) -> None:
    with admin_at(app, clock, 2026, 11, 24, 10, 0) as admin:  # a Tuesday
        closed_day_then_forgotten(app, admin)


def closed_day_then_forgotten(app: FastAPI, admin: TestClient) -> None:
    done = admin.post(
        "/admin/calendar",
        data={"profile": "erzap", "day": "2026-11-24", "action": "close", "note": "outing"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = admin.get(done.headers["location"])
    assert "2026-11-24 is now closed." in page.text
    row = page.text.split('id="day-2026-11-24"')[1].split("</tr>")[0]
    assert "closed by ani: outing" in row
    chat = ChatDriver(app.state.desk, app.state.engine)
    chat.client_says("mau bicara dengan cs")
    assert chat.bot_said()[-2:] == [keys.QUEUE_AFTER_HOURS, keys.QUEUE_POSITION]
    assert "Rabu" in chat.last_texts(2)[0]
    # forgetting the date opens the day again
    admin.post(
        "/admin/calendar", data={"profile": "erzap", "day": "2026-11-24", "action": "forget"}
    )
    other = ChatDriver(app.state.desk, app.state.engine, chat_id="client-2")
    other.client_says("mau bicara dengan cs")
    assert other.bot_said()[-2:] == [keys.QUEUE_HUMAN_REQUESTED, keys.QUEUE_POSITION]


def test_an_opened_holiday_is_a_working_day(app: FastAPI, clock: FrozenClock) -> None:
    with admin_at(app, clock, 2026, 12, 24, 9, 0) as admin:  # cuti bersama
        opened_holiday(app, admin)


def opened_holiday(app: FastAPI, admin: TestClient) -> None:
    admin.post("/admin/calendar", data={"profile": "erzap", "day": "2026-12-24", "action": "open"})
    page = admin.get("/admin/calendar?profile=erzap&year=2026")
    row = page.text.split('id="day-2026-12-24"')[1].split("</tr>")[0]
    assert "works" in row
    receipt = app.state.desk.receive(
        Inbound(channel="terminal", chat_id="c9", message_id="x1", text="mau bicara dengan cs")
    )
    assert receipt.replies  # answered with the usual phrase, not the after-hours one
    assert "di luar jam operasional" not in receipt.replies[-1]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"profile": "erzap", "day": "24-11-2026", "action": "close"}, "is not a date"),
        ({"profile": "nobody", "day": "2026-11-24", "action": "close"}, "no profile"),
        ({"profile": "erzap", "day": "2026-11-24", "action": "explode"}, "unknown action"),
        # a day no page of the calendar could show, nor forget
        ({"profile": "erzap", "day": "1900-01-01", "action": "close"}, "out of range"),
        ({"profile": "erzap", "day": "9999-12-31", "action": "close"}, "out of range"),
        (
            {"profile": "erzap", "day": "2026-11-24", "action": "close", "note": "x" * 201},
            "longer",
        ),
    ],
)
def test_a_wrong_change_is_refused_with_a_reason(
    admin: TestClient, data: dict[str, str], reason: str
) -> None:
    page = admin.post("/admin/calendar", data=data)
    assert page.status_code == 422
    assert reason in page.text


def test_a_change_needs_the_csrf_token(app: FastAPI) -> None:
    with signed_in(app, "ani", "admin") as client:
        client.headers.pop("x-csrf-token", None)
        page = client.post(
            "/admin/calendar", data={"profile": "erzap", "day": "2026-11-24", "action": "close"}
        )
        assert page.status_code == 403
