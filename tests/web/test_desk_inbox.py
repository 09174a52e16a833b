"""The one-screen inbox over HTTP: list tabs, search and filters, reply-to-take, panes, zone."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.domain import Inbound
from tests.clock import FrozenClock
from tests.desk.agent_helpers import case_row, events
from tests.web.auth_helpers import PASSWORD, add_user, login
from tests.web.helpers import rows
from tests.web.test_desk_console import HOSTILE, queued_case, say


def test_reply_to_a_case_nobody_owns_takes_it_and_sends(app: FastAPI, client: TestClient) -> None:
    case_id = queued_case(app)
    sari = add_user(app, "sari", "agent")
    login(client, "sari")
    page = client.get(f"/desk/cases/{case_id}").text
    assert ">Ambil dan kirim</button>" in page  # "Take and send": Indonesian by default
    answer = client.post(
        f"/desk/cases/{case_id}/reply",
        data={"text": "Halo kak, saya cek ya"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    row = case_row(app.state.engine, case_id)
    assert (row["assignee_id"], row["state"], row["first_response_by"]) == (
        sari.id,
        "with_agent",
        sari.id,
    )
    assert [e[0] for e in events(app.state.engine, case_id)][-2:] == ["taken", "replied"]
    # an empty reply neither takes nor sends; the case stays with whoever had it
    other = queued_case(app, chat_id="777")
    refused = client.post(f"/desk/cases/{other}/reply", data={"text": "  "})
    assert refused.status_code == 422
    assert "the reply is empty" in refused.text
    assert case_row(app.state.engine, other)["assignee_id"] is None


def test_done_shows_once_and_not_again_on_reload(app: FastAPI, client: TestClient) -> None:
    case_id = queued_case(app)
    add_user(app, "sari", "agent")
    login(client, "sari")
    landed = client.post(f"/desk/cases/{case_id}/take")
    assert landed.url.path == f"/desk/cases/{case_id}"
    assert 'id="done">Berhasil: kasus diambil' in landed.text  # "Done: taken"
    assert 'id="done"' not in client.get(f"/desk/cases/{case_id}").text


def test_tabs_search_and_filters(app: FastAPI, client: TestClient) -> None:
    wulan = queued_case(app, chat_id="4242")
    budi = say(
        app, "5555", "halo kak", "stok gudang tidak cocok dengan struk kasir", "Budi", "toko Budi"
    )
    sari = add_user(app, "sari", "agent")
    login(client, "sari")
    assert sorted(rows(client.get("/desk").text)) == sorted([wulan, budi])
    client.post(f"/desk/cases/{budi}/take")
    assert rows(client.get("/desk?view=waiting").text) == [wulan]
    mine = client.get("/desk?view=mine").text
    assert rows(mine) == [budi]
    assert 'id="tab-mine"' in mine
    assert rows(client.get("/desk?view=open").text) == [wulan, budi]
    assert rows(client.get("/desk?view=closed").text) == []
    # search: client name, chat id, message text, verified field; all case-insensitive
    assert rows(client.get("/desk?view=open&q=budi").text) == [budi]
    assert rows(client.get("/desk?view=open&q=4242").text) == [wulan]
    assert rows(client.get("/desk?view=open&q=STRUK").text) == [budi]
    assert rows(client.get("/desk?view=open&q=kedai%20wulan").text) == [wulan]
    assert rows(client.get("/desk?view=open&q=nothing-like-this").text) == []
    # filters: owner, state, channel
    assert rows(client.get("/desk?view=open&owner=sari").text) == [budi]
    assert rows(client.get("/desk?view=open&owner=none").text) == [wulan]
    assert rows(client.get("/desk?view=open&state=queued").text) == [wulan]
    assert rows(client.get("/desk?view=open&channel=web").text) == []
    # the list keeps its tab and search in the case links and in the forms' actions
    page = client.get(f"/desk/cases/{budi}?view=open&q=budi").text
    assert f'href="/desk/cases/{budi}?view=open&amp;q=budi"' in page
    assert f'action="/desk/cases/{budi}/resolve?view=open&amp;q=budi"' in page
    back = client.post(
        f"/desk/cases/{budi}/notes?view=open&q=budi", data={"text": "x"}, follow_redirects=False
    )
    assert back.headers["location"] == f"/desk/cases/{budi}?view=open&q=budi"
    # an unknown tab or filter is a 422 with the reason on the page
    bad = client.get("/desk?view=everything")
    assert bad.status_code == 422
    assert "the list is one of waiting, mine, open, closed" in bad.text
    assert sari.id


def test_a_case_alone_for_the_script_and_the_client_panel(
    app: FastAPI, client: TestClient
) -> None:
    first = queued_case(app, chat_id="4242")
    add_user(app, "sari", "agent")
    login(client, "sari")
    client.post(f"/desk/cases/{first}/take")
    client.post(f"/desk/cases/{first}/hand-back")
    part = client.get(f"/desk/cases/{first}", headers={"X-Desk-Part": "case"}).text
    assert 'id="case-pane"' in part
    assert 'id="client-pane"' in part
    assert 'id="list-pane"' not in part
    assert "<html" not in part
    assert "Belum ada: kontak pertama." in part  # no earlier case


def test_times_are_in_the_desk_time_zone(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    case_id = queued_case(app)
    add_user(app, "sari", "agent")
    login(client, "sari")
    page = client.get(f"/desk/cases/{case_id}").text
    utc = clock.now()
    jakarta = f"{(utc.hour + 7) % 24:02d}:{utc.minute:02d}"
    assert f"{jakarta}</time>" in page  # Asia/Jakarta, UTC+7, as the KPI pages and reports


def test_the_console_script_is_served_to_staff_only(app: FastAPI, client: TestClient) -> None:
    assert client.get("/desk/static/desk.js", follow_redirects=False).status_code in (303, 307)
    add_user(app, "sari", "agent")
    login(client, "sari")
    script = client.get("/desk/static/desk.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert client.get("/desk/static/desk.css").status_code == 200
    assert client.get("/desk/static/..%2Fapp.py").status_code == 404
    assert client.get("/desk/static/other.js").status_code == 404


def test_change_ones_own_password(app: FastAPI, client: TestClient) -> None:
    add_user(app, "sari", "agent")
    login(client, "sari")
    page = client.get("/desk/account")
    assert 'id="password-form"' in page.text
    path = "/desk/account/password"
    wrong = client.post(path, data={"current": "nope", "new": "x" * 12, "repeat": "x" * 12})
    assert wrong.status_code == 403
    assert "the current password is wrong" in wrong.text
    differ = client.post(path, data={"current": PASSWORD, "new": "y" * 12, "repeat": "z" * 12})
    assert differ.status_code == 422
    assert "the new passwords differ" in differ.text
    short = client.post(path, data={"current": PASSWORD, "new": "short", "repeat": "short"})
    assert short.status_code == 422
    new = "a much better secret"
    done = client.post(
        path, data={"current": PASSWORD, "new": new, "repeat": new}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/login")
    assert client.get("/desk", follow_redirects=False).status_code == 303  # logged out
    login(client, "sari", new)
    assert client.get("/desk").status_code == 200


def test_display_name_presence_and_routing(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    sari = add_user(app, "sari", "agent")
    add_user(app, "sue", "supervisor")
    login(client, "sari")
    saved = client.post(
        "/desk/account", data={"display_name": "  Sari  Wulandari ", "ui_locale": "id"}
    )
    assert saved.status_code == 200
    assert 'value="Sari Wulandari"' in saved.text
    case_id = queued_case(app)
    page = client.get(f"/desk/cases/{case_id}").text
    assert "Sari Wulandari" in page  # in the standard phrases clients would read
    bad = client.post("/desk/account", data={"display_name": "x", "ui_locale": "fr"})
    assert bad.status_code == 422

    # away: routing gives sari nothing, the supervisor sees it
    moved = client.post(
        "/desk/presence",
        data={"presence": "away", "back": "/desk?view=mine"},
        follow_redirects=False,
    )
    assert moved.headers["location"] == "/desk?view=mine"
    assert client.post("/desk/presence", data={"presence": "asleep"}).status_code == 422
    agents = app.state.agent_desk
    assert agents.auto_assign() == []
    assert case_row(app.state.engine, case_id)["assignee_id"] is None
    client.post("/desk/presence", data={"presence": "online"})
    assert agents.auto_assign() == [(case_id, "sari")]
    assert case_row(app.state.engine, case_id)["assignee_id"] == sari.id
    client.post("/desk/presence", data={"presence": "offline"})
    login(client, "sue")
    staff = client.get("/desk/supervisor").text
    assert re.search(r'data-user="sari">.*?class="presence">offline<', staff, re.S)
    assert "(Sari Wulandari)" in staff


def test_the_admin_menu_links_to_the_desk(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    login(client, "ani")
    assert '<a href="/desk">Desk</a>' in client.get("/admin").text
    assert '<a href="/admin">Admin</a>' in client.get("/desk").text


def test_the_composer_says_when_whatsapp_s_window_is_closed(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    desk = app.state.desk
    receipt = None
    for n, line in enumerate(["halo kak", HOSTILE, "Wulan", "outlet Kedai Wulan"]):
        receipt = desk.receive(
            Inbound(channel="whatsapp", chat_id="+6281234567890", message_id=f"wa{n}", text=line)
        )
    assert receipt is not None
    add_user(app, "sari", "agent")
    login(client, "sari")
    page = client.get(f"/desk/cases/{receipt.case_id}").text
    assert 'id="wa-window"' not in page
    clock.advance(hours=25)
    login(client, "sari")  # the session of yesterday has ended
    page = client.get(f"/desk/cases/{receipt.case_id}").text
    assert 'id="wa-window"' in page
    assert "Belum ada template yang disetujui" in page  # no template: will not be delivered
    other = queued_case(app, chat_id="999")  # Telegram has no such window
    assert 'id="wa-window"' not in client.get(f"/desk/cases/{other}").text
