"""The Operations pages and the technician's link over HTTP: roles, CSRF, bad input as 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.agents.agent_desk import Staff
from settings import Settings
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.desk.agent_helpers import case_row
from tests.visits.helpers import SOFT_STORY, reach_operations
from tests.web.auth_helpers import add_user, login


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, tmp_path: Path) -> Iterator[FastAPI]:
    from chatbot.web.app import create_app

    application = create_app(
        settings.model_copy(update={"profile": "intera", "media_dir": tmp_path / "media"}),
        clock=clock,
        run_outbox=False,
        run_timers=False,
    )
    yield application
    application.state.engine.dispose()


def waiting_case(
    app: FastAPI, story: str = "mesin mati total sejak pagi kak, tidak bisa nyala"
) -> int:
    return reach_operations(ChatDriver(app.state.desk, app.state.engine), story)


def window(clock: FrozenClock) -> dict[str, str]:
    start = clock.now() + timedelta(hours=8)  # Jakarta is UTC+7: local text, no zone
    return {
        "window_start": start.strftime("%Y-%m-%dT%H:%M"),
        "window_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }


def test_pages_need_a_login_and_the_ops_role(app: FastAPI, client: TestClient) -> None:
    assert client.get("/desk/visits", follow_redirects=False).status_code == 303
    assert client.post("/desk/visits/cases/1/route", data={"route": "remote"}).status_code == 401
    add_user(app, "sari", "agent")
    login(client, "sari")
    assert client.get("/desk/visits").status_code == 403
    assert client.get("/desk/visits/technicians").status_code == 403


def test_a_post_without_the_csrf_token_is_refused(app: FastAPI, client: TestClient) -> None:
    case_id = waiting_case(app)
    add_user(app, "oki", "ops")
    login(client, "oki", csrf_header=False)
    answer = client.post(f"/desk/visits/cases/{case_id}/route", data={"route": "remote"})
    assert answer.status_code == 403
    assert case_row(app.state.engine, case_id)["state"] == "queued"


def test_ops_decide_and_bad_work_orders_are_422_with_a_reason(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    case_id = waiting_case(app)
    add_user(app, "oki", "ops")
    login(client, "oki")
    page = client.get("/desk/visits")
    assert f"/desk/visits/cases/{case_id}" in page.text
    assert "mati total" in page.text
    setup = Staff(0, "setup", "admin")
    nobody = app.state.visits.add_technician(setup, "Rudi")  # no chat, no number, no group
    budi = app.state.visits.add_technician(setup, "Budi", whatsapp="0812-1111-2222")
    good = {
        "route": "visit",
        "technician_id": str(budi),
        "address": "Jl. Melati 5",
        "problem": "mati total",
        **window(clock),
    }
    for bad, reason in [
        ({**good, "technician_id": "x"}, "technician"),
        ({**good, "technician_id": "999"}, "active technician"),
        ({**good, "window_start": "tomorrow"}, "window start"),
        ({**good, "window_end": good["window_start"]}, "time window"),
        ({**good, "address": " "}, "address"),
        ({**good, "technician_id": str(nobody)}, "nobody can tell Rudi"),
        ({**good, "route": "teleport"}, "route must be"),
    ]:
        answer = client.post(f"/desk/visits/cases/{case_id}/route", data=bad)
        assert answer.status_code == 422, bad
        assert reason in answer.text
    answer = client.post(f"/desk/visits/cases/{case_id}/route", data=good, follow_redirects=False)
    assert answer.status_code == 303
    again = client.post(f"/desk/visits/cases/{case_id}/route", data={"route": "remote"})
    assert again.status_code == 409
    assert "already routed (visit) by oki" in again.text
    assert (
        client.post("/desk/visits/cases/99999/route", data={"route": "remote"}).status_code == 404
    )
    overview = client.get("/desk/visits")
    assert 'id="no-overdue"' in overview.text
    assert 'data-technician="Budi"' in overview.text
    clock.advance(hours=10, minutes=1)  # the window was 8h..10h from the decision
    overview = client.get("/desk/visits")
    assert 'id="overdue"' in overview.text
    assert "overdue" in overview.text.split('data-technician="Budi"')[1]


def test_an_agent_guides_the_client_through_the_remote_steps(
    app: FastAPI, client: TestClient
) -> None:
    case_id = waiting_case(app, SOFT_STORY)
    add_user(app, "oki", "ops")
    sari = add_user(app, "sari", "agent")
    login(client, "oki")
    client.post(f"/desk/visits/cases/{case_id}/route", data={"route": "remote"})
    login(client, "sari")
    client.post(f"/desk/cases/{case_id}/take")
    assert case_row(app.state.engine, case_id)["assignee_id"] == sari.id
    panel = client.get(f"/desk/visits/cases/{case_id}")
    assert 'data-send="visit.remote_restart"' in panel.text
    bad = client.post(f"/desk/visits/cases/{case_id}/remote-steps", data={"phrase": "x.y"})
    assert bad.status_code == 422
    sent = client.post(
        f"/desk/visits/cases/{case_id}/remote-steps", data={"phrase": "visit.remote_restart"}
    )
    assert sent.status_code == 200  # after the redirect
    assert 'data-step="visit.remote_restart"' in sent.text
    step_id = app.state.visits.case_panel(case_id)["steps"][0]["id"]
    answer = client.post(
        f"/desk/visits/cases/{case_id}/remote-steps/{step_id}", data={"result": "worked"}
    )
    assert answer.status_code == 200
    assert app.state.visits.case_panel(case_id)["steps"][0]["result"] == "worked"
    odd = client.post(
        f"/desk/visits/cases/{case_id}/remote-steps/{step_id}", data={"result": "maybe"}
    )
    assert odd.status_code == 422


def test_supervisors_edit_the_technicians_list(app: FastAPI, client: TestClient) -> None:
    add_user(app, "sup", "supervisor")
    login(client, "sup")
    added = client.post(
        "/desk/visits/technicians", data={"name": "<b>Budi</b>", "whatsapp": "0812-1111-2222"}
    )
    assert added.status_code == 200
    assert "&lt;b&gt;Budi&lt;/b&gt;" in added.text
    assert "+6281211112222" in added.text
    refused = client.post(
        "/desk/visits/technicians", data={"name": "Eko", "telegram_chat_id": "@eko"}
    )
    assert refused.status_code == 422
    assert (
        client.post("/desk/visits/technicians", data={"technician_id": "abc"}).status_code == 422
    )


def test_the_technician_page_refuses_bad_uploads_with_a_reason(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    case_id = waiting_case(app)
    budi = app.state.visits.add_technician(
        Staff(0, "setup", "admin"), "Budi", telegram_chat_id="-1001"
    )
    from chatbot.agents.visits import WorkOrder

    start = clock.now() + timedelta(hours=1)
    oki = add_user(app, "oki", "ops")
    _visit, token = app.state.visits.decide(
        case_id,
        Staff(oki.id, oki.name, oki.role),
        "visit",
        WorkOrder(budi, start, start + timedelta(hours=2), "Jl. Melati 5", problem="mati"),
    )
    page = client.get(f"/visit/{token}")
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in page.headers
    assert client.post(f"/visit/{token}", data={"status": "fixed", "note": "x"}).status_code == 403
    client.post(f"/visit/{token}", data={"status": "arrived"})
    fake = client.post(
        f"/visit/{token}",
        data={"status": "fixed", "note": "ok"},
        files={"photo": ("a.jpg", b"<?php evil", "image/jpeg")},
    )
    assert fake.status_code == 422
    assert "not the image it claims" in fake.text
    wrong_type = client.post(
        f"/visit/{token}",
        data={"status": "fixed", "note": "ok"},
        files={"photo": ("a.svg", b"<svg/>", "image/svg+xml")},
    )
    assert wrong_type.status_code == 422
    assert client.post(f"/visit/{token}", data={"status": 'x"><script>'}).status_code == 403
    garbage = client.post(
        f"/visit/{token}",
        content=b"--x\r\nnot multipart",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert garbage.status_code in (400, 403, 422)
    huge = client.post(
        f"/visit/{token}",
        data={"status": "fixed", "note": "ok"},
        files={"photo": ("a.jpg", b"\xff\xd8\xff" + b"0" * 20_000_000, "image/jpeg")},
    )
    assert huge.status_code == 413
    assert case_row(app.state.engine, case_id)["state"] == "with_agent"


def test_ops_send_a_new_link_and_the_old_one_stops_working(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    from chatbot.agents.visits import WorkOrder

    case_id = waiting_case(app)
    oki = add_user(app, "oki", "ops")
    budi = app.state.visits.add_technician(
        Staff(0, "setup", "admin"), "Budi", telegram_chat_id="-1001"
    )
    start = clock.now() + timedelta(hours=1)
    visit_id, old = app.state.visits.decide(
        case_id,
        Staff(oki.id, oki.name, oki.role),
        "visit",
        WorkOrder(budi, start, start + timedelta(hours=2), "Jl. Melati 5", problem="mati"),
    )
    login(client, "oki")
    answer = client.post(f"/desk/visits/{visit_id}/resend", data={"case_id": str(case_id)})
    assert answer.status_code == 200
    assert "link sent again" in answer.text
    assert client.get(f"/visit/{old}").status_code == 404


def test_a_supervisor_records_compensation_with_the_technicians_fault_flag(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    from chatbot.agents.visits import WorkOrder
    from db import agent_queries as aq

    case_id = waiting_case(app)
    sup = add_user(app, "sup", "supervisor")
    budi = app.state.visits.add_technician(
        Staff(sup.id, sup.name, sup.role), "Budi", telegram_chat_id="-1001"
    )
    start = clock.now() + timedelta(hours=1)
    _visit, token = app.state.visits.decide(
        case_id,
        Staff(sup.id, sup.name, sup.role),
        "visit",
        WorkOrder(budi, start, start + timedelta(hours=2), "Jl. Melati 5", problem="mati"),
    )
    client.post(f"/visit/{token}", data={"status": "arrived"})
    client.post(
        f"/visit/{token}",
        data={"status": "not_fixed", "note": "board terbakar", "product_fault": ["0", "1"]},
    )
    login(client, "sup")
    case_page = client.get(f"/desk/cases/{case_id}")
    assert 'id="operations-link"' in case_page.text
    assert "Product fault: yes" in case_page.text  # the technician's report, a case note
    panel = client.get(f"/desk/visits/cases/{case_id}")
    assert 'name="product_fault" value="1" checked' in panel.text
    client.post(
        f"/desk/cases/{case_id}/compensation",
        data={
            "product_fault": "1",
            "loss": "3 hari tanpa pendapatan",
            "agreed": "voucher 1 bulan",
        },
    )
    with app.state.engine.connect() as conn:
        [record] = aq.list_compensations(conn, case_id=case_id)
    assert record["product_fault"] is True
