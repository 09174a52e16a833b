"""Case labels and the Enter preference over HTTP: routes, escaping, refusals as 4xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.agents.agent_desk import AgentDesk
from tests.web.auth_helpers import signed_in
from tests.web.helpers import rows
from tests.web.test_desk_console import queued_case


@pytest.fixture
def sari(app: FastAPI) -> Iterator[TestClient]:
    with signed_in(app, "sari", "agent") as client:
        yield client


def test_add_filter_and_remove_a_label(app: FastAPI, sari: TestClient) -> None:
    case_id = queued_case(app)
    added = sari.post(f"/desk/cases/{case_id}/labels?view=open", data={"label": "Refund"})
    assert added.status_code == 200  # back on the case, the list tab kept
    assert 'data-label="refund"' in added.text
    assert "Berhasil: label" in added.text  # "Done: label", in Indonesian
    listed = sari.get("/desk?view=open&label=refund").text
    assert rows(listed) == [case_id]
    assert '<option value="refund" selected>' in listed
    assert rows(sari.get("/desk?view=open&label=vip").text) == []
    sari.post(f"/desk/cases/{case_id}/labels/remove", data={"label": "refund"})
    agents: AgentDesk = app.state.agent_desk
    assert agents.case_view(case_id).labels == []


def test_a_label_is_escaped_everywhere(app: FastAPI, sari: TestClient) -> None:
    case_id = queued_case(app)
    sari.post(f"/desk/cases/{case_id}/labels", data={"label": "<b>x</b>"})
    page = sari.get(f"/desk/cases/{case_id}?view=open").text
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_refusals_are_4xx(app: FastAPI, sari: TestClient) -> None:
    case_id = queued_case(app)
    empty = sari.post(f"/desk/cases/{case_id}/labels", data={"label": "   "})
    assert empty.status_code == 422
    assert "a label has 1 to 32 printable characters" in empty.text
    assert sari.post(f"/desk/cases/{case_id}/labels", data={"label": "x" * 300}).status_code == 422
    assert sari.post(f"/desk/cases/{case_id}/labels", data={}).status_code == 422
    assert sari.post("/desk/cases/999/labels", data={"label": "vip"}).status_code == 404
    assert sari.post("/desk/cases/999/labels/remove", data={"label": "vip"}).status_code == 404


def test_labels_need_login_and_csrf(app: FastAPI) -> None:
    case_id = queued_case(app)
    with TestClient(app) as stranger:
        refused = stranger.post(f"/desk/cases/{case_id}/labels", data={"label": "vip"})
        assert refused.status_code in (401, 403)
    with signed_in(app, "sari", "agent") as client:
        client.headers.pop("X-CSRF-Token", None)
        assert (
            client.post(f"/desk/cases/{case_id}/labels", data={"label": "vip"}).status_code == 403
        )
    agents: AgentDesk = app.state.agent_desk
    assert agents.case_view(case_id).labels == []


def test_the_enter_preference_on_the_account_page(app: FastAPI, sari: TestClient) -> None:
    case_id = queued_case(app)
    page = sari.get(f"/desk/cases/{case_id}").text
    assert 'data-enter-sends="1"' in page
    saved = sari.post(
        "/desk/account", data={"display_name": "", "ui_locale": "id", "enter_sends": "0"}
    )
    assert saved.status_code == 200
    assert '<option value="0" selected>' in saved.text
    assert 'data-enter-sends="0"' in sari.get(f"/desk/cases/{case_id}").text
    wrong = sari.post("/desk/account", data={"ui_locale": "id", "enter_sends": "maybe"})
    assert wrong.status_code == 422
