"""Login, sessions, roles and CSRF through HTTP, against the real Accounts and database."""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi import APIRouter, Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.websockets import WebSocketDisconnect

from chatbot.admin.accounts import Accounts
from chatbot.web.app import create_app
from chatbot.web.auth import (
    COOKIE,
    AdminUser,
    QcUser,
    StaffUser,
    SupervisorUser,
    safe_next,
    verify_csrf,
)
from settings import Settings
from tests.clock import FrozenClock
from tests.web.auth_helpers import PASSWORD, add_user, login

SALAM = "/admin/phrases/id/greeting.salam"


def _post_login(client: TestClient, name: str, password: str, next_path: str = "") -> object:
    return client.post(
        "/login",
        data={"name": name, "password": password, "next": next_path},
        follow_redirects=False,
    )


def test_unknown_user_and_wrong_password_are_refused(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    for name, password in [("nobody", PASSWORD), ("ani", "wrong-password"), ("ani", "")]:
        answer = _post_login(client, name, password)
        assert answer.status_code == 401  # type: ignore[attr-defined]
        assert "Wrong name or password" in answer.text  # type: ignore[attr-defined]
        assert COOKIE not in client.cookies
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_login_sets_a_safe_cookie_and_lands_by_role(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    add_user(app, "agus", "agent")
    answer = _post_login(client, "ani", PASSWORD)
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert answer.headers["location"] == "/admin"  # type: ignore[attr-defined]
    cookie = answer.headers["set-cookie"]  # type: ignore[attr-defined]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # LOKET_PUBLIC_URL is http here
    assert client.get("/admin").status_code == 200
    with TestClient(app) as other:
        landed = _post_login(other, "agus", PASSWORD)
        assert landed.headers["location"] == "/desk"  # type: ignore[attr-defined]
        nexted = _post_login(other, "agus", PASSWORD, next_path="/desk/cases/7?tab=notes")
        assert nexted.headers["location"] == "/desk/cases/7?tab=notes"  # type: ignore[attr-defined]


def test_cookie_is_secure_behind_https(settings: Settings, clock: FrozenClock) -> None:
    app = create_app(
        settings.model_copy(update={"public_url": "https://loket.example"}),
        clock=clock,
        run_outbox=False,
    )
    add_user(app, "ani", "admin")
    with TestClient(app, base_url="https://testserver") as client:
        answer = _post_login(client, "ani", PASSWORD)
        assert "Secure" in answer.headers["set-cookie"]  # type: ignore[attr-defined]
    app.state.engine.dispose()


def test_login_then_logout_ends_the_session(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    login(client, "ani")
    token = client.cookies[COOKIE]
    assert client.get("/admin").status_code == 200
    out = client.post("/logout", follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert COOKIE not in client.cookies
    with TestClient(app, cookies={COOKIE: token}) as replay:  # the old cookie is dead
        assert replay.get("/admin", follow_redirects=False).status_code == 303


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _protected_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves under /admin and /desk, from its route table.

    Read through the OpenAPI schema: FastAPI keeps included routers nested, and the schema
    is its public, flattened list of them.
    """
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith(("/admin", "/desk")):
            found.extend((method.upper(), _concrete(path)) for method in sorted(operations))
    return found


def test_every_desk_and_admin_route_needs_a_login(app: FastAPI, client: TestClient) -> None:
    routes = _protected_routes(app)
    assert len([r for r in routes if r[1].startswith("/admin")]) >= 8
    routes += [("GET", "/desk"), ("GET", "/admin/no-such-page"), ("POST", "/desk/anything")]
    for method, path in routes:
        answer = client.request(method, path, follow_redirects=False)
        if method in ("GET", "HEAD"):
            assert answer.status_code == 303, (method, path)
            assert answer.headers["location"].startswith(f"/login?next={path.split('?')[0]}"), (
                method,
                path,
            )
        else:
            assert answer.status_code == 401, (method, path)


def test_redirect_to_login_keeps_the_page_asked_for(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    asked = client.get(f"{SALAM}?done=x", follow_redirects=False)
    assert asked.headers["location"] == "/login?next=/admin/phrases/id/greeting.salam%3Fdone%3Dx"
    form = client.get(asked.headers["location"]).text
    assert 'name="next" value="/admin/phrases/id/greeting.salam?done=x"' in form
    landed = _post_login(client, "ani", PASSWORD, "/admin/phrases/id/greeting.salam?done=x")
    assert landed.headers["location"] == f"{SALAM}?done=x"  # type: ignore[attr-defined]


def test_an_agent_gets_403_on_every_admin_route(app: FastAPI, client: TestClient) -> None:
    add_user(app, "agus", "agent")
    login(client, "agus")
    for method, path in _protected_routes(app):
        if path.startswith("/admin"):
            assert client.request(method, path).status_code == 403, (method, path)


@pytest.mark.parametrize("role", ["supervisor", "qc"])
def test_only_admins_reach_admin(app: FastAPI, client: TestClient, role: str) -> None:
    add_user(app, "sari", role)
    login(client, "sari")
    assert client.get("/admin/phrases").status_code == 403


def test_csrf_missing_or_wrong_is_403(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    csrf = login(client, "ani", csrf_header=False)
    post = {"text": "Halo {{ desk_name }}"}
    assert client.post(SALAM, data=post).status_code == 403
    assert client.post(SALAM, data={**post, "csrf_token": "x" * 43}).status_code == 403
    assert client.post(SALAM, data=post, headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert client.post(f"{SALAM}/reset").status_code == 403
    assert "default text" in client.get(SALAM).text  # nothing was saved
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/admin").status_code == 200  # still logged in
    ok = client.post(SALAM, data={**post, "csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    by_header = client.post(f"{SALAM}/preview", data=post, headers={"X-CSRF-Token": csrf})
    assert by_header.json()["ok"] is True
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303


def test_every_admin_form_carries_the_csrf_token(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    csrf = login(client, "ani")
    client.post(SALAM, data={"text": "Satu {{ desk_name }}"})
    client.post(SALAM, data={"text": "Dua {{ desk_name }}"})
    for path in ["/admin", "/admin/phrases", SALAM, "/admin/profile", "/admin/users"]:
        page = client.get(path).text
        forms = re.findall(r"<form method=\"post\"[^>]*>(.*?)</form>", page, re.S)
        assert forms, path
        for form in forms:
            assert f'name="csrf_token" value="{csrf}"' in form, (path, form[:80])


def test_logout_without_a_session_is_401(client: TestClient) -> None:
    assert client.post("/logout").status_code == 401


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "//evil.com/admin",
        "https://evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "http:/evil.com",
        "javascript:alert(1)",
        "evil.com",
        "/\t/evil.com",
    ],
)
def test_next_never_leaves_the_site(app: FastAPI, client: TestClient, target: str) -> None:
    add_user(app, "ani", "admin")
    assert safe_next(target) is None
    answer = _post_login(client, "ani", PASSWORD, target)
    assert answer.headers["location"] == "/admin"  # type: ignore[attr-defined]
    page = client.get("/login", params={"next": target}).text
    assert 'name="next" value=""' in page


def test_local_next_is_kept() -> None:
    assert safe_next("/admin/users?done=1") == "/admin/users?done=1"
    assert safe_next("/desk") == "/desk"


def test_a_disabled_user_is_logged_out_and_cannot_log_in(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    add_user(app, "agus", "agent")
    login(client, "agus")
    token = client.cookies[COOKIE]
    accounts: Accounts = app.state.accounts
    assert accounts.session_user(token) is not None
    accounts.set_active("agus", False)
    assert accounts.session_user(token) is None
    assert client.get("/desk", follow_redirects=False).status_code == 303
    assert _post_login(client, "agus", PASSWORD).status_code == 401  # type: ignore[attr-defined]
    accounts.set_active("agus", True)
    login(client, "agus")


def test_disabling_by_admin_page_stops_the_session_at_once(
    app: FastAPI, client: TestClient
) -> None:
    add_user(app, "ani", "admin")
    add_user(app, "agus", "agent")
    with TestClient(app) as agent:
        login(agent, "agus")
        login(client, "ani")
        client.post("/admin/users", data={"action": "disable", "name": "agus"})
        assert agent.get("/desk", follow_redirects=False).status_code == 303


def test_sessions_expire(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    add_user(app, "ani", "admin")
    login(client, "ani")
    clock.advance(hours=11, minutes=59)
    assert client.get("/admin", follow_redirects=False).status_code == 200
    clock.advance(minutes=1)
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_session_length_is_a_setting(settings: Settings, clock: FrozenClock) -> None:
    app = create_app(
        settings.model_copy(update={"session_hours": 1}), clock=clock, run_outbox=False
    )
    add_user(app, "ani", "admin")
    with TestClient(app) as client:
        login(client, "ani")
        clock.advance(minutes=61)
        assert client.get("/admin", follow_redirects=False).status_code == 303
    app.state.engine.dispose()


def test_passwords_and_tokens_are_stored_hashed(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    login(client, "ani")
    token = client.cookies[COOKIE]
    with app.state.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM desk_user")).scalar_one()
        sessions = conn.execute(text("SELECT token_hash FROM websession")).scalars().all()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert sessions == [hashlib.sha256(token.encode()).hexdigest()]


def test_repeated_failures_lock_the_name_for_a_while(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    add_user(app, "ani", "admin")
    for _ in range(5):
        assert _post_login(client, "ani", "guess-guess").status_code == 401  # type: ignore[attr-defined]
    locked = _post_login(client, "ani", PASSWORD)
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "too many failed logins" in locked.text  # type: ignore[attr-defined]
    clock.advance(minutes=15)
    assert _post_login(client, "ani", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_login_page_tells_how_to_make_the_first_admin(app: FastAPI, client: TestClient) -> None:
    page = client.get("/login").text
    assert "loket users add NAME --role admin" in page
    add_user(app, "ani", "admin")
    assert "loket users add" not in client.get("/login").text


def test_cross_site_login_post_is_refused(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    answer = client.post(
        "/login",
        data={"name": "ani", "password": PASSWORD},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert COOKIE not in client.cookies


def test_hostile_names_are_escaped_on_the_login_page(client: TestClient) -> None:
    page = _post_login(client, "<script>alert(1)</script>", "whatever-1")
    assert "<script>alert(1)</script>" not in page.text  # type: ignore[attr-defined]
    assert "&lt;script&gt;" in page.text  # type: ignore[attr-defined]


def test_a_new_login_replaces_the_old_session(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    login(client, "ani")
    first = client.cookies[COOKIE]
    login(client, "ani")
    assert client.cookies[COOKIE] != first
    accounts: Accounts = app.state.accounts
    assert accounts.session_user(first) is None


def test_login_and_admin_pages_are_not_framed_nor_cached(app: FastAPI, client: TestClient) -> None:
    add_user(app, "ani", "admin")
    pages = [client.get("/login"), client.get("/admin", follow_redirects=False)]
    login(client, "ani")
    pages.append(client.get("/admin/phrases"))
    for page in pages:
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert page.headers["cache-control"] == "no-store"
    assert "x-frame-options" not in client.get("/healthz").headers


def test_logged_in_user_on_the_login_page_can_continue(app: FastAPI, client: TestClient) -> None:
    add_user(app, "agus", "agent")
    login(client, "agus")
    page = client.get("/login").text
    assert 'id="signed-in"' in page
    assert '<a href="/desk">Continue</a>' in page


ALLOWED = {
    "staff": {"agent", "supervisor", "qc", "admin"},
    "qc": {"qc", "supervisor", "admin"},
    "supervisor": {"supervisor", "admin"},
    "admin": {"admin"},
}


def _role_router() -> APIRouter:
    router = APIRouter(prefix="/desk/roles", dependencies=[Depends(verify_csrf)])

    @router.get("/staff")
    def staff(user: StaffUser) -> dict[str, str]:
        return {"name": user.name, "role": user.role}

    @router.get("/qc")
    def qc(user: QcUser) -> dict[str, str]:
        return {"name": user.name, "role": user.role}

    @router.get("/supervisor")
    def supervisor(user: SupervisorUser) -> dict[str, str]:
        return {"name": user.name, "role": user.role}

    @router.get("/admin")
    def admin(user: AdminUser) -> dict[str, str]:
        return {"name": user.name, "role": user.role}

    @router.post("/staff")
    def change(user: StaffUser) -> dict[str, str]:
        return {"changed_by": user.name}

    return router


@pytest.mark.parametrize("role", ["agent", "supervisor", "qc", "admin"])
def test_role_aliases(app: FastAPI, client: TestClient, role: str) -> None:
    app.include_router(_role_router())
    add_user(app, "someone", role)
    csrf = login(client, "someone", csrf_header=False)
    for alias, roles in ALLOWED.items():
        answer = client.get(f"/desk/roles/{alias}")
        if role in roles:
            assert answer.status_code == 200, alias
            assert answer.json() == {"name": "someone", "role": role}
        else:
            assert answer.status_code == 403, alias
    assert client.post("/desk/roles/staff").status_code == 403  # no CSRF token
    done = client.post("/desk/roles/staff", headers={"X-CSRF-Token": csrf})
    assert done.json() == {"changed_by": "someone"}


def test_require_role_outside_desk_and_admin_is_401_without_login(
    app: FastAPI, client: TestClient
) -> None:
    @app.get("/api/whoami")
    def whoami(user: StaffUser) -> dict[str, str]:
        return {"name": user.name}

    assert client.get("/api/whoami").status_code == 401
    add_user(app, "agus", "agent")
    login(client, "agus")
    assert client.get("/api/whoami").json() == {"name": "agus"}


def test_websockets_under_desk_need_a_login_and_this_site(
    app: FastAPI, client: TestClient
) -> None:
    @app.websocket("/desk/ws-test")
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        user = websocket.state.user
        await websocket.send_json({"name": user.name})
        await websocket.close()

    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/desk/ws-test"):
        pass
    assert refused.value.code == 1008
    add_user(app, "agus", "agent")
    login(client, "agus")
    with client.websocket_connect("/desk/ws-test") as ws:
        assert ws.receive_json() == {"name": "agus"}
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/desk/ws-test", headers={"origin": "https://evil.example"}),
    ):
        pass


def test_other_odd_cookies_do_not_hide_the_session(app: FastAPI) -> None:
    add_user(app, "ani", "admin")
    with TestClient(app) as client:
        login(client, "ani")
        token = client.cookies[COOKIE]
    with TestClient(app) as other:
        odd = f'_ga=GA1.1.2"x; weird name=1; {COOKIE}={token}; theme=dark'
        answer = other.get("/admin", headers={"cookie": odd}, follow_redirects=False)
        assert answer.status_code == 200
        bad = other.get("/admin", headers={"cookie": f"{COOKIE}=forged"}, follow_redirects=False)
        assert bad.status_code == 303
