"""Admin pages through HTTP: role checks, phrase editing, preview, history, profile settings."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.admin.accounts import Accounts
from chatbot.domain import Inbound
from chatbot.frontdesk.desk import Desk
from settings import Settings
from tests.web.auth_helpers import add_user, login

SALAM = "/admin/phrases/id/greeting.salam"


ADMIN_PAGES = [
    "/admin",
    "/admin/phrases",
    SALAM,
    "/admin/profile",
    "/admin/users",
    "/admin/vocabulary",
    "/admin/calendar",
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_nobody_gets_in_without_a_login(app: FastAPI, path: str) -> None:
    with TestClient(app) as client:
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login?next=")
        assert client.post(SALAM, data={"text": "x"}).status_code == 401


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_an_agent_gets_403(app: FastAPI, path: str) -> None:
    add_user(app, "agus", "agent")
    with TestClient(app) as client:
        login(client, "agus")
        assert client.get(path).status_code == 403
        assert client.post(f"{SALAM}/reset").status_code == 403


def test_an_admin_user_gets_in(app: FastAPI) -> None:
    add_user(app, "ani", "admin")
    with TestClient(app) as client:
        login(client, "ani")
        assert client.get("/admin/phrases").status_code == 200


def test_list_shows_every_key_per_locale_with_variables(admin: TestClient) -> None:
    page = admin.get("/admin/phrases").text
    assert 'data-edit="id/greeting.salam"' in page
    assert 'data-edit="en/survey.thanks"' in page
    assert "<code>desk_name</code>, <code>salam</code>" in page


def test_save_then_the_next_message_uses_it(admin: TestClient, app: FastAPI) -> None:
    saved = admin.post(SALAM, data={"text": "Halo dari {{ desk_name }}!"}, follow_redirects=False)
    assert saved.status_code == 303
    page = admin.get(saved.headers["location"]).text
    assert "Saved as version 1." in page
    assert "edited, version 1" in page
    desk: Desk = app.state.desk
    receipt = desk.receive(Inbound(channel="web", chat_id="w1", message_id="w1:1", text="halo"))
    assert receipt.replies[0] == "Halo dari HaloERZAP!"


def test_a_nul_character_is_never_a_500(admin: TestClient, settings: Settings) -> None:
    """PostgreSQL cannot store NUL in text (SQLite can): refused with the reason, not a 500."""
    saved = admin.post(SALAM, data={"text": "Halo\x00 {{ desk_name }}"}, follow_redirects=False)
    if settings.is_sqlite:
        assert saved.status_code == 303
    else:
        assert saved.status_code == 422
        assert "NUL" in saved.json()["error"]
    search = admin.get("/desk", params={"q": "a\x00b"})
    assert search.status_code in (200, 422)  # SQLite finds nothing; PostgreSQL refuses it


def test_refused_text_shows_reason_and_line_and_keeps_the_old_text(admin: TestClient) -> None:
    refused = admin.post(SALAM, data={"text": "Halo\n{{ nama }}"})
    assert refused.status_code == 422
    assert "line 2: unknown variable &#39;nama&#39;" in refused.text
    assert "Halo\n{{ nama }}</textarea>" in refused.text  # the admin's draft is kept
    assert "default text" in admin.get(SALAM).text  # nothing saved


def test_preview_endpoint(admin: TestClient) -> None:
    good = admin.post(f"{SALAM}/preview", data={"text": "Hai {{ desk_name|upper }}"}).json()
    assert good == {"ok": True, "preview": "Hai HALOERZAP"}
    bad = admin.post(f"{SALAM}/preview", data={"text": "{{ desk_name.__class__ }}"}).json()
    assert bad["ok"] is False
    assert bad["line"] == 1
    assert "__class__" in bad["reason"]


def test_preview_button_without_javascript(admin: TestClient) -> None:
    page = admin.post(SALAM, data={"text": "Hai {{ desk_name }}", "action": "preview"}).text
    assert '<pre id="preview-text">Hai HaloERZAP</pre>' in page
    assert "default text" in page  # previewing saves nothing


def test_history_revert_and_reset(admin: TestClient) -> None:
    admin.post(SALAM, data={"text": "Satu {{ desk_name }}"})
    admin.post(SALAM, data={"text": "Dua {{ desk_name }}"})
    page = admin.get(SALAM).text
    assert "-Satu {{ desk_name }}\n+Dua {{ desk_name }}" in page
    reverted = admin.post(f"{SALAM}/revert/1", follow_redirects=False)
    assert reverted.status_code == 303
    page = admin.get(reverted.headers["location"]).text
    assert "revert of version 1" in page
    assert "Satu {{ desk_name }}</textarea>" in page
    reset = admin.post(f"{SALAM}/reset")
    assert "Back to the default text." in reset.text
    assert "reset to default" in reset.text


def test_admin_text_is_escaped_in_pages(admin: TestClient) -> None:
    admin.post(SALAM, data={"text": "<script>alert(1)</script> {{ desk_name }}"})
    page = admin.get("/admin/phrases").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_cross_site_post_is_refused(admin: TestClient) -> None:
    response = admin.post(SALAM, data={"text": "x"}, headers={"origin": "https://evil.example"})
    assert response.status_code == 403


def test_unknown_phrase_is_404(admin: TestClient) -> None:
    assert admin.get("/admin/phrases/id/greeting.nope").status_code == 404
    assert admin.get("/admin/phrases/fr/greeting.salam").status_code == 404


def _profile_form(admin: TestClient) -> dict[str, str]:
    page = admin.get("/admin/profile").text
    form = dict(re.findall(r'name="(\w+)" (?:id="\w+" )?value="([^"]*)"', page))
    form.update(re.findall(r'name="(\w+)" id="\w+" value="([^"]*)"', page))
    for name in ("welcome_id", "welcome_en", "escalation_areas", "faq"):
        found = re.search(rf'name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
        assert found, name
        form[name] = found.group(1).replace("&#34;", '"').replace("&#39;", "'")
    return form


def test_profile_settings_save_and_reach_the_desk(admin: TestClient, app: FastAPI) -> None:
    form = _profile_form(admin)
    assert form["sla_easy"] == "30"
    assert form["auto_close_minutes"] == "20"
    form.update(welcome_id="Selamat datang di toko kami.", sla_hard="600", backlog_limit="9")
    saved = admin.post("/admin/profile", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert "Saved as version" in admin.get(saved.headers["location"]).text
    desk: Desk = app.state.desk
    receipt = desk.receive(Inbound(channel="web", chat_id="w2", message_id="w2:1", text="halo"))
    assert receipt.replies[1] == "Selamat datang di toko kami."
    profile = desk.profile("erzap")
    assert profile.categories["hard"].sla_minutes == 600
    assert profile.backlog_limit == 9


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("sla_easy", "-5", "field 'sla_minutes'"),
        ("auto_close_minutes", "abc", "field 'auto_close_minutes'"),
        ("backlog_limit", "0", "field 'backlog_limit'"),
        ("welcome_en", "", "field 'welcome.en'"),
        ("faq", "- id: x\n  keywords: []\n  answer: {id: a, en: b}", "field 'faq.0.keywords'"),
        ("faq", "- [unclosed", "field 'faq': not valid YAML"),
    ],
)
def test_invalid_profile_settings_are_refused_naming_the_field(
    admin: TestClient, field: str, value: str, reason: str
) -> None:
    form = _profile_form(admin)
    form[field] = value
    refused = admin.post("/admin/profile", data=form)
    assert refused.status_code == 422
    assert reason.replace("'", "&#39;") in refused.text
    assert "as in the profile file" in admin.get("/admin/profile").text


def test_users_page_lists_the_accounts(admin: TestClient) -> None:
    page = admin.get("/admin/users").text
    assert 'id="user-ani"' in page
    assert 'id="users-pending"' not in page


def _roles(app: FastAPI) -> dict[str, tuple[str, bool]]:
    accounts: Accounts = app.state.accounts
    return {u.name: (u.role, u.active) for u in accounts.list_users()}


def test_users_add_disable_and_set_role(admin: TestClient, app: FastAPI) -> None:
    add_user(app, "agus", "agent")
    page = admin.get("/admin/users").text
    assert 'id="user-agus"' in page
    added = admin.post(
        "/admin/users",
        data={"action": "add", "name": "sari", "role": "supervisor", "password": "sari-pass-1"},
    )
    assert "Added sari as supervisor." in added.text
    admin.post("/admin/users", data={"action": "disable", "name": "agus"})
    admin.post("/admin/users", data={"action": "set_role", "name": "sari", "role": "agent"})
    assert _roles(app)["agus"] == ("agent", False)
    assert _roles(app)["sari"] == ("agent", True)
    taken = admin.post(
        "/admin/users",
        data={"action": "add", "name": "agus", "role": "agent", "password": "agus-pass-1"},
    )
    assert taken.status_code == 422
    assert "&#39;agus&#39; is taken" in taken.text
    short = admin.post(
        "/admin/users", data={"action": "add", "name": "budi", "role": "qc", "password": "short"}
    )
    assert short.status_code == 422
    assert "at least 8 characters" in short.text
    wrong = admin.post("/admin/users", data={"action": "set_role", "name": "agus", "role": "boss"})
    assert wrong.status_code == 422
    myself = admin.post("/admin/users", data={"action": "disable", "name": "ani"})
    assert myself.status_code == 422
    assert _roles(app)["ani"] == ("admin", True)
    unknown = admin.post("/admin/users", data={"action": "enable", "name": "nobody"})
    assert unknown.status_code == 422
    assert "no user &#39;nobody&#39;" in unknown.text


def test_a_user_added_on_the_page_can_log_in(admin: TestClient, app: FastAPI) -> None:
    admin.post(
        "/admin/users",
        data={"action": "add", "name": "dewi", "role": "qc", "password": "dewi-pass-1"},
    )
    with TestClient(app) as other:
        login(other, "dewi", "dewi-pass-1")
        assert other.get("/admin", follow_redirects=False).status_code == 403


def test_the_vocabulary_page_shows_each_list_and_the_slang_read_only(admin: TestClient) -> None:
    page = admin.get("/admin/vocabulary")
    assert page.status_code == 200
    assert 'id="list-words.human"' in page.text
    assert "manusia" in page.text
    assert "someone" in page.text  # en.yaml
    assert "<td>gk</td><td>tidak</td>" in page.text
    assert "<form" not in page.text.split('id="vocabulary-howto"')[1]  # nothing to submit
