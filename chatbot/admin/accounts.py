"""Desk user accounts and login sessions, over the `desk_user` and `websession` tables.

Passwords are argon2id hashes (argon2-cffi); the session cookie's token is kept only as its
SHA-256, so a copy of the database cannot be replayed as logins. Every method is one short
transaction. An unknown name costs the same as a wrong password (a dummy hash is verified),
and repeated failures for one name from one address wait longer and longer (chatbot/throttle.py,
counted in the database so every worker process shares the count).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, Table, delete, func, insert, select, update

from chatbot.clock import Clock
from chatbot.errors import LoketError
from chatbot.throttle import LoginLimits, Throttle, whole_seconds
from db.engine import FIRST_ADMIN_LOCK, as_utc, read, take_turn
from db.models import User, WebSession

USER = cast(Table, User.__table__)  # type: ignore[attr-defined]
WEBSESSION = cast(Table, WebSession.__table__)  # type: ignore[attr-defined]

ROLES = ("agent", "supervisor", "qc", "admin", "ops")  # ops: Operations
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; this only bounds the work per attempt
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# last_seen_at is written at most this often per user, not on every request
SEEN_EVERY = timedelta(seconds=30)


class AccountError(LoketError):
    """A refused change to an account; the message is safe to show."""


class UnknownUser(AccountError):
    """No user of that name."""


class UserExists(AccountError):
    """The name is taken."""


class WeakPassword(AccountError):
    """The password is too short (or absurdly long)."""


class InvalidRole(AccountError):
    """Not one of ROLES."""


class InvalidName(AccountError):
    """A user name must be letters, digits, dot, dash or underscore, 1-64 characters."""


class LastAdmin(AccountError):
    """The change would leave the installation without an active admin."""


class TooManyAttempts(LoketError):
    """Too many failed logins for one name from one address; `seconds` until the next try."""

    def __init__(self, seconds: int) -> None:
        minutes = max(1, -(-seconds // 60))
        super().__init__(f"too many failed logins; try again in {minutes} minute(s)")
        self.seconds = seconds


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A desk user as listed; never carries the password hash."""

    id: int
    name: str
    role: str
    active: bool
    created_at: datetime
    last_seen_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The user behind a valid session cookie, with the session's CSRF token."""

    id: int
    name: str
    role: str
    csrf_token: str


def token_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Users (add, list, roles, disable), password checks, and login sessions."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        session_hours: float = 12.0,
        login_limits: LoginLimits | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.session_lifetime = timedelta(hours=session_hours)
        self._throttle = Throttle(engine, clock, login=login_limits)
        self._hasher = hasher or PasswordHasher()

    # users

    def add_user(self, name: str, role: str, password: str) -> UserInfo:
        """Create an active user; refuse a bad name or role, a taken name, a short password."""
        name = name.strip()
        _check_name(name)
        _check_role(role)
        _check_password(password)
        hashed = self._hasher.hash(password)
        now = self._clock.now()
        with self._engine.begin() as conn:
            taken = conn.execute(
                select(USER.c.name).where(func.lower(USER.c.name) == name.lower())
            ).first()
            if taken is not None:
                raise UserExists(f"the name '{taken[0]}' is taken")
            new_id = conn.execute(
                insert(USER).values(
                    name=name, role=role, password_hash=hashed, active=True, created_at=now
                )
            ).inserted_primary_key
        assert new_id is not None
        return UserInfo(int(new_id[0]), name, role, True, now, None)

    def add_first_admin(self, name: str, password: str) -> UserInfo | None:
        """Create an admin if the installation has no user yet, else do nothing (None).

        Every process that starts on a fresh database may call this at once (several `loket
        serve` on one PostgreSQL): the check and the insert are one transaction, taken in
        turns, so exactly one admin is created and the others go on without an error.
        """
        _check_name(name)
        _check_password(password)
        hashed = self._hasher.hash(password)  # before the turn: argon2 is slow on purpose
        now = self._clock.now()
        with self._engine.begin() as conn:
            take_turn(conn, FIRST_ADMIN_LOCK)
            if conn.execute(select(USER.c.id).limit(1)).first() is not None:
                return None
            new_id = conn.execute(
                insert(USER).values(
                    name=name, role="admin", password_hash=hashed, active=True, created_at=now
                )
            ).inserted_primary_key
        assert new_id is not None
        return UserInfo(int(new_id[0]), name, "admin", True, now, None)

    def list_users(self) -> list[UserInfo]:
        """Every user, by name."""
        with read(self._engine) as conn:
            rows = conn.execute(select(*_INFO_COLUMNS).order_by(USER.c.name)).all()
        return [_info(row) for row in rows]

    def get_user(self, name: str) -> UserInfo:
        """One user by name, or UnknownUser."""
        with read(self._engine) as conn:
            return _info(_by_name(conn, name))

    def has_users(self) -> bool:
        """Whether any user exists (the login page explains how to add the first admin)."""
        with read(self._engine) as conn:
            return conn.execute(select(USER.c.id).limit(1)).first() is not None

    def set_role(self, name: str, role: str) -> None:
        """Change a user's role; the last active admin cannot be demoted."""
        _check_role(role)
        with self._engine.begin() as conn:
            row = _by_name(conn, name)
            if row.role == "admin" and role != "admin" and row.active:
                _keep_an_admin(conn, row.id)
            conn.execute(update(USER).where(USER.c.id == row.id).values(role=role))

    def set_active(self, name: str, active: bool) -> None:
        """Disable (ending every session of the user) or enable again."""
        with self._engine.begin() as conn:
            row = _by_name(conn, name)
            if not active and row.role == "admin" and row.active:
                _keep_an_admin(conn, row.id)
            conn.execute(update(USER).where(USER.c.id == row.id).values(active=active))
            if not active:
                conn.execute(delete(WEBSESSION).where(WEBSESSION.c.user_id == row.id))

    def set_password(self, name: str, password: str) -> None:
        """Replace a user's password and end their sessions."""
        _check_password(password)
        hashed = self._hasher.hash(password)
        with self._engine.begin() as conn:
            row = _by_name(conn, name)
            conn.execute(update(USER).where(USER.c.id == row.id).values(password_hash=hashed))
            conn.execute(delete(WEBSESSION).where(WEBSESSION.c.user_id == row.id))

    # login

    def authenticate(self, name: str, password: str, address: str = "") -> UserInfo | None:
        """The active user with this name and password, else None.

        `address` is the client's (the web login passes the peer address); failures are
        counted per name and address, so a stranger cannot lock a user out.

        Raises:
            TooManyAttempts: too many recent failures for the name from this address; the
                password is then not even checked.
        """
        name = name.strip().lower()  # names are unique whatever their case ("Sari" = "sari")
        wait = self._throttle.login_attempt(name, address)
        if wait > 0:
            raise TooManyAttempts(whole_seconds(wait))
        with read(self._engine) as conn:
            row = conn.execute(
                select(*_INFO_COLUMNS, USER.c.password_hash).where(func.lower(USER.c.name) == name)
            ).first()
        stored = row.password_hash if row is not None else self._dummy_hash
        candidate = password if len(password) <= MAX_PASSWORD else ""  # "" never matches
        ok = self._verify(stored, candidate) and row is not None and row.active
        if not ok or row is None:
            return None  # login_attempt counted it as a failure already
        self._throttle.login_succeeded(name, address)
        if self._hasher.check_needs_rehash(stored):
            with self._engine.begin() as conn:
                conn.execute(
                    update(USER)
                    .where(USER.c.id == row.id)
                    .values(password_hash=self._hasher.hash(password))
                )
        return _info(row)

    def start_session(self, user_id: int) -> tuple[str, str]:
        """A new session for the user: (cookie token, CSRF token); expired rows are swept."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self._clock.now()
        with self._engine.begin() as conn:
            conn.execute(delete(WEBSESSION).where(WEBSESSION.c.expires_at <= now))
            conn.execute(
                insert(WEBSESSION).values(
                    token_hash=token_hash(token),
                    user_id=user_id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + self.session_lifetime,
                )
            )
            conn.execute(update(USER).where(USER.c.id == user_id).values(last_seen_at=now))
        return token, csrf

    def session_user(self, token: str) -> SessionUser | None:
        """The active user of an unexpired session, else None; marks the user as seen.

        Every page and event stream asks this first, so it reads without waiting for the
        writer; only the "seen" mark, once per SEEN_EVERY, is a write transaction.
        """
        if not token or len(token) > 128:
            return None
        now = self._clock.now()
        with read(self._engine) as conn:
            row = conn.execute(
                select(
                    USER.c.id,
                    USER.c.name,
                    USER.c.role,
                    USER.c.active,
                    USER.c.last_seen_at,
                    WEBSESSION.c.csrf_token,
                    WEBSESSION.c.expires_at,
                )
                .select_from(WEBSESSION.join(USER, USER.c.id == WEBSESSION.c.user_id))
                .where(WEBSESSION.c.token_hash == token_hash(token))
            ).first()
            if row is None or not row.active:
                return None
            expires = as_utc(row.expires_at)
            if expires is None or expires <= now:
                return None
        seen = as_utc(row.last_seen_at)
        if seen is None or now - seen >= SEEN_EVERY:
            # a write of its own; two requests racing here both store about the same moment
            with self._engine.begin() as conn:
                conn.execute(update(USER).where(USER.c.id == row.id).values(last_seen_at=now))
        return SessionUser(int(row.id), str(row.name), str(row.role), str(row.csrf_token))

    def end_session(self, token: str) -> None:
        """Log out: the session row is deleted."""
        with self._engine.begin() as conn:
            conn.execute(delete(WEBSESSION).where(WEBSESSION.c.token_hash == token_hash(token)))

    def online_users(self, within_minutes: float = 5) -> list[UserInfo]:
        """Active users seen within the last minutes, by name (supervisors' "who is online")."""
        since = self._clock.now() - timedelta(minutes=within_minutes)
        with read(self._engine) as conn:
            rows = conn.execute(
                select(*_INFO_COLUMNS)
                .where(USER.c.active.is_(True), USER.c.last_seen_at >= since)
                .order_by(USER.c.name)
            ).all()
        return [_info(row) for row in rows]

    # internals

    @functools.cached_property
    def _dummy_hash(self) -> str:
        """Verified when the name is unknown, so that costs what a wrong password costs."""
        return self._hasher.hash(secrets.token_urlsafe(16))

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False


_INFO_COLUMNS = (
    USER.c.id,
    USER.c.name,
    USER.c.role,
    USER.c.active,
    USER.c.created_at,
    USER.c.last_seen_at,
)


def _info(row: Any) -> UserInfo:  # a Row with the _INFO_COLUMNS
    created = as_utc(row.created_at)
    assert created is not None
    return UserInfo(
        id=int(row.id),
        name=str(row.name),
        role=str(row.role),
        active=bool(row.active),
        created_at=created,
        last_seen_at=as_utc(row.last_seen_at),
    )


def _by_name(conn: Connection, name: str) -> Any:  # a Row with the _INFO_COLUMNS
    row = conn.execute(select(*_INFO_COLUMNS).where(USER.c.name == name.strip())).first()
    if row is None:
        raise UnknownUser(f"no user '{name.strip()}'")
    return row


def _keep_an_admin(conn: Connection, leaving_id: int) -> None:
    others = conn.execute(
        select(func.count())
        .select_from(USER)
        .where(USER.c.role == "admin", USER.c.active.is_(True), USER.c.id != leaving_id)
    ).scalar_one()
    if not others:
        raise LastAdmin("that would leave no active admin; make someone else admin first")


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidName(
            f"invalid name '{name[:64]}': use 1-64 letters, digits, '.', '-' or '_', "
            "starting with a letter or digit"
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidRole(f"unknown role '{role}'; known: {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"the password must have at most {MAX_PASSWORD} characters")


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two tokens."""
    return hmac.compare_digest(given.encode(), expected.encode())
