"""Login for the desk and admin pages: session cookie, roles, CSRF, /login and /logout.

`LoginRequired` (ASGI middleware) puts the session's user, or None, in `request.state.user`
and keeps everyone without a valid session out of /desk and /admin: a GET is sent to the login
page, anything else gets 401. Routes then ask for a role with `require_role` (or the
`StaffUser`, `SupervisorUser`, `QcUser`, `AdminUser` aliases), and routers that change
things add `Depends(verify_csrf)`. Templates render `csrf_input(request)` in every form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from chatbot.admin.accounts import Accounts, SessionUser, TooManyAttempts, same_secret
from chatbot.resource import package_dir
from chatbot.web.deps import AccountsDep, SettingsDep, WebSettings, client_address

__all__ = [
    "COOKIE",
    "AdminUser",
    "LoginRequired",
    "QcUser",
    "SessionUser",
    "StaffUser",
    "SupervisorUser",
    "csrf_input",
    "csrf_token",
    "current_user",
    "page_templates",
    "require_role",
    "router",
    "safe_next",
    "verify_csrf",
]

logger = logging.getLogger(__name__)

COOKIE = "loket_session"
PROTECTED = ("/desk", "/admin")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HOME = {"admin": "/admin"}  # everyone else starts at the desk
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# on the login, desk and admin pages: never framed (clickjacking), never cached by proxies
SECURITY_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)


def is_protected(path: str) -> bool:
    """Whether the path is under /desk or /admin (the pages that need a login)."""
    return any(path == p or path.startswith(p + "/") for p in PROTECTED)


class LoginRequired:
    """ASGI middleware: load the session user; keep /desk and /admin behind the login.

    Pure ASGI rather than BaseHTTPMiddleware, so event streams under /desk pass untouched.
    WebSockets under /desk and /admin are closed (1008) without a login or from another site.
    """

    def __init__(self, app: ASGIApp, accounts: Accounts, public_url: str = "") -> None:
        self.app = app
        self.accounts = accounts
        self.public_host = urlsplit(public_url).netloc  # behind a proxy Host may differ

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Look the cookie up, then pass the request on or answer it."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = _cookie(scope)
        user = await run_in_threadpool(self.accounts.session_user, token) if token else None
        scope.setdefault("state", {})["user"] = user
        path: str = scope["path"]
        if scope["type"] == "websocket":
            if is_protected(path) and (user is None or not self._same_origin(scope)):
                await WebSocketClose(code=1008, reason="login required")(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if is_protected(path) or path == "/login":
            send = _with_headers(send, SECURITY_HEADERS)
        if user is None and is_protected(path):
            response: Response
            if scope["method"] in ("GET", "HEAD"):
                query = scope.get("query_string", b"").decode("latin-1")
                wanted = path + (f"?{query}" if query else "")
                response = RedirectResponse(f"/login?next={quote(wanted)}", status_code=303)
            else:
                response = JSONResponse(
                    {"ok": False, "error": "login required"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Cookie realm="loket"'},
                )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _same_origin(self, scope: Scope) -> bool:
        """A browser always sends Origin on a WebSocket handshake; it must be this site."""
        headers = {name: value.decode("latin-1") for name, value in scope.get("headers", [])}
        origin = headers.get(b"origin")
        if origin is None:
            return True  # not a browser
        allowed = {headers.get(b"host", ""), self.public_host} - {""}
        return urlsplit(origin).netloc in allowed


def _with_headers(send: Send, headers: tuple[tuple[bytes, bytes], ...]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(n, v) for n, v in headers if n not in present]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


def _cookie(scope: Scope) -> str:
    """The session token from the Cookie header(s), parsed as Starlette parses cookies."""
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            token = cookie_parser(value.decode("latin-1")).get(COOKIE)
            if token:
                return token
    return ""


def current_user(request: Request) -> SessionUser | None:
    """The logged-in user of this request, or None."""
    user: SessionUser | None = getattr(request.state, "user", None)
    return user


def require_role(*roles: str) -> Callable[[Request], SessionUser]:
    """A dependency: the session user when their role is one of `roles`; else 401 or 403."""
    allowed = frozenset(roles)

    def dependency(request: Request) -> SessionUser:
        user = current_user(request)
        if user is None:
            raise HTTPException(status_code=401, detail="login required")
        if allowed and user.role not in allowed:
            raise HTTPException(
                status_code=403, detail=f"this page is for: {', '.join(sorted(allowed))}"
            )
        return user

    return dependency


StaffUser = Annotated[SessionUser, Depends(require_role())]
SupervisorUser = Annotated[SessionUser, Depends(require_role("supervisor", "admin"))]
QcUser = Annotated[SessionUser, Depends(require_role("qc", "supervisor", "admin"))]
AdminUser = Annotated[SessionUser, Depends(require_role("admin"))]


async def verify_csrf(request: Request) -> None:
    """Refuse (403) a state-changing request whose CSRF token is not the session's.

    The token comes in the `X-CSRF-Token` header (scripts) or the `csrf_token` form field.
    Safe methods pass. Add as a router dependency under /desk and /admin.
    """
    if request.method not in UNSAFE_METHODS:
        return
    user = current_user(request)
    if user is None:
        raise HTTPException(status_code=401, detail="login required")
    given = request.headers.get(CSRF_HEADER, "")
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            given = value if isinstance(value, str) else ""
    if not given or not same_secret(given, user.csrf_token):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")


def csrf_token(request: Request) -> str:
    """The session's CSRF token ("" without a login), e.g. for a <meta> tag scripts read."""
    user = current_user(request)
    return user.csrf_token if user else ""


def csrf_input(request: Request) -> Markup:
    """The hidden form field every POST form under /desk and /admin carries."""
    return Markup(  # noqa: S704 - the token is escaped
        f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf_token(request))}">'
    )


def install_globals(env: Environment) -> None:
    """Give a template environment `csrf_input(request)` and `csrf_token(request)`."""
    env.globals["csrf_input"] = csrf_input
    env.globals["csrf_token"] = csrf_token


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None  # browsers read "/\evil.com" as "//evil.com"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def home_for(role: str) -> str:
    """Where a user lands after login when no `next` was asked for."""
    return HOME.get(role, "/desk")


# pages

router = APIRouter(tags=["auth"])


def page_templates() -> Jinja2Templates:
    """The pages' templates: autoescape on (client, agent and admin text), CSRF helpers in."""
    env = Environment(
        loader=FileSystemLoader(package_dir("chatbot", "web", "templates")), autoescape=True
    )
    install_globals(env)
    return Jinja2Templates(env=env)


templates = page_templates()


def _secure(settings: WebSettings) -> bool:
    return str(settings.public_url).lower().startswith("https://")


def _login_page(
    request: Request,
    accounts: Accounts,
    *,
    name: str = "",
    next_path: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    user = current_user(request)
    context = {
        "name": name,
        "next": next_path,
        "error": error,
        "no_users": not accounts.has_users(),
        "user": user,
        "home": home_for(user.role) if user else "",
    }
    return templates.TemplateResponse(request, "login.html", context, status_code=status)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, accounts: AccountsDep, next: str = "") -> Response:
    """The login form; says how to create the first admin when there is no user yet."""
    return _login_page(request, accounts, next_path=safe_next(next) or "")


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    accounts: AccountsDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the password, start a session, set the cookie, go to `next` or the user's home."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise HTTPException(status_code=403, detail="cross-site login refused")
    wanted = safe_next(next) or ""
    try:
        user = accounts.authenticate(name, password, client_address(request))
    except TooManyAttempts as exc:
        logger.warning("Login refused: too many failed attempts for one name and address.")
        page = _login_page(
            request, accounts, name=name, next_path=wanted, error=str(exc), status=429
        )
        page.headers["Retry-After"] = str(exc.seconds)
        return page
    if user is None:
        return _login_page(
            request,
            accounts,
            name=name,
            next_path=wanted,
            error="Wrong name or password, or the account is disabled.",
            status=401,
        )
    old = request.cookies.get(COOKIE)
    if old:
        accounts.end_session(old)  # a fresh token at every login: no session fixation
    token, _csrf = accounts.start_session(user.id)
    response = RedirectResponse(wanted or home_for(user.role), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(accounts.session_lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
    )
    return response


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request, accounts: AccountsDep, settings: SettingsDep) -> Response:
    """End the session (CSRF-checked, so no other site can log an agent out)."""
    token = request.cookies.get(COOKIE)
    if token:
        accounts.end_session(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(settings)
    )
    return response
