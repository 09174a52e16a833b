"""Accounts against a real SQLite database: users, passwords, sessions, lockout, online."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from sqlalchemy import Engine, text

from chatbot.admin.accounts import (
    ROLES,
    Accounts,
    InvalidName,
    InvalidRole,
    LastAdmin,
    TooManyAttempts,
    UnknownUser,
    UserExists,
    WeakPassword,
)
from db.engine import make_engine, migrate
from settings import Settings
from tests.clock import FrozenClock

PASSWORD = "correct-horse-9"


class CountingHasher(PasswordHasher):
    """argon2-cffi's hasher at its cheapest parameters, counting verifications."""

    def __init__(self, **params: Any) -> None:
        base = CHEAPEST
        super().__init__(
            time_cost=params.get("time_cost", base.time_cost),
            memory_cost=params.get("memory_cost", base.memory_cost),
            parallelism=base.parallelism,
            hash_len=base.hash_len,
            salt_len=base.salt_len,
            type=base.type,
        )
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = make_engine(settings.database_url)
    migrate(built)
    yield built
    built.dispose()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def accounts(engine: Engine, clock: FrozenClock, hasher: CountingHasher) -> Accounts:
    return Accounts(engine, clock, hasher=hasher)


def test_roles() -> None:
    assert ROLES == ("agent", "supervisor", "qc", "admin", "ops")


def test_add_and_authenticate(accounts: Accounts, clock: FrozenClock) -> None:
    made = accounts.add_user(" ani ", "admin", PASSWORD)
    assert (made.name, made.role, made.active, made.created_at) == (
        "ani",
        "admin",
        True,
        clock.now(),
    )
    found = accounts.authenticate("ani", PASSWORD)
    assert found is not None
    assert (found.id, found.name, found.role) == (made.id, "ani", "admin")
    assert accounts.authenticate("ani", PASSWORD + "x") is None
    assert accounts.authenticate("ani", PASSWORD[:-1]) is None


@pytest.mark.parametrize(
    ("name", "role", "password", "error"),
    [
        ("a b", "agent", PASSWORD, InvalidName),
        ("", "agent", PASSWORD, InvalidName),
        ("x" * 65, "agent", PASSWORD, InvalidName),
        ("-ani", "agent", PASSWORD, InvalidName),
        ("<b>", "agent", PASSWORD, InvalidName),
        ("ani", "boss", PASSWORD, InvalidRole),
        ("ani", "agent", "1234567", WeakPassword),
        ("ani", "agent", "x" * 1025, WeakPassword),
    ],
)
def test_refused_users(
    accounts: Accounts, name: str, role: str, password: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        accounts.add_user(name, role, password)
    assert accounts.list_users() == []


def test_names_are_unique_ignoring_case(accounts: Accounts) -> None:
    accounts.add_user("Ani", "agent", PASSWORD)
    with pytest.raises(UserExists, match="'Ani' is taken"):
        accounts.add_user("ani", "agent", PASSWORD)
    # ...so the name logs in whatever its case, as it was refused whatever its case
    for typed in ("Ani", "ani", "ANI", " ani "):
        user = accounts.authenticate(typed, PASSWORD)
        assert user is not None
        assert user.name == "Ani"


def test_unknown_and_disabled_users_cost_a_verification_too(
    accounts: Accounts, hasher: CountingHasher
) -> None:
    accounts.add_user("agus", "agent", PASSWORD)
    accounts.set_active("agus", False)
    hasher.verified = 0
    assert accounts.authenticate("nobody", PASSWORD) is None
    assert accounts.authenticate("agus", PASSWORD) is None
    assert hasher.verified == 2


def test_the_password_is_stored_as_argon2id(accounts: Accounts, engine: Engine) -> None:
    accounts.add_user("ani", "admin", PASSWORD)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM desk_user")).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_old_parameters_are_rehashed_at_login(
    engine: Engine, clock: FrozenClock, accounts: Accounts
) -> None:
    accounts.add_user("ani", "admin", PASSWORD)
    stronger = Accounts(engine, clock, hasher=CountingHasher(time_cost=2, memory_cost=16))
    assert stronger.authenticate("ani", PASSWORD) is not None
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM desk_user")).scalar_one()
    assert "m=16,t=2" in stored
    assert stronger.authenticate("ani", PASSWORD) is not None


def test_sessions(accounts: Accounts, clock: FrozenClock, engine: Engine) -> None:
    ani = accounts.add_user("ani", "admin", PASSWORD)
    token, csrf = accounts.start_session(ani.id)
    assert token != csrf
    assert len(token) >= 43
    assert len(csrf) >= 43
    user = accounts.session_user(token)
    assert user is not None
    assert (user.id, user.name, user.role, user.csrf_token) == (ani.id, "ani", "admin", csrf)
    assert accounts.session_user(token + "x") is None
    assert accounts.session_user("") is None
    assert accounts.session_user("x" * 10_000) is None
    accounts.end_session(token)
    assert accounts.session_user(token) is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM websession")).scalar_one() == 0


def test_sessions_expire_and_are_swept(
    accounts: Accounts, clock: FrozenClock, engine: Engine
) -> None:
    ani = accounts.add_user("ani", "admin", PASSWORD)
    old, _ = accounts.start_session(ani.id)
    clock.advance(hours=12)
    assert accounts.session_user(old) is None
    new, _ = accounts.start_session(ani.id)  # sweeps the expired row
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM websession")).scalar_one() == 1
    assert accounts.session_user(new) is not None


def test_disabling_or_a_new_password_ends_sessions(accounts: Accounts) -> None:
    accounts.add_user("ani", "admin", PASSWORD)
    agus = accounts.add_user("agus", "agent", PASSWORD)
    token, _ = accounts.start_session(agus.id)
    accounts.set_password("agus", "another-pass-1")
    assert accounts.session_user(token) is None
    assert accounts.authenticate("agus", PASSWORD) is None
    assert accounts.authenticate("agus", "another-pass-1") is not None
    token, _ = accounts.start_session(agus.id)
    accounts.set_active("agus", False)
    assert accounts.session_user(token) is None
    assert accounts.authenticate("agus", "another-pass-1") is None
    accounts.set_active("agus", True)
    assert accounts.authenticate("agus", "another-pass-1") is not None


def test_there_is_always_an_active_admin(accounts: Accounts) -> None:
    accounts.add_user("ani", "admin", PASSWORD)
    with pytest.raises(LastAdmin):
        accounts.set_role("ani", "agent")
    with pytest.raises(LastAdmin):
        accounts.set_active("ani", False)
    accounts.add_user("budi", "admin", PASSWORD)
    accounts.set_role("ani", "supervisor")
    assert {u.name: u.role for u in accounts.list_users()} == {
        "ani": "supervisor",
        "budi": "admin",
    }
    with pytest.raises(LastAdmin):
        accounts.set_active("budi", False)


def test_changes_to_unknown_users_are_refused(accounts: Accounts) -> None:
    for change in (
        lambda: accounts.set_role("nobody", "agent"),
        lambda: accounts.set_active("nobody", False),
        lambda: accounts.set_password("nobody", PASSWORD),
        lambda: accounts.get_user("nobody"),
    ):
        with pytest.raises(UnknownUser, match="no user 'nobody'"):
            change()
    with pytest.raises(InvalidRole):
        accounts.set_role("nobody", "boss")


def test_lockout_after_repeated_failures(accounts: Accounts, clock: FrozenClock) -> None:
    accounts.add_user("ani", "admin", PASSWORD)
    accounts.add_user("agus", "agent", PASSWORD)
    for _ in range(5):
        clock.advance(minutes=1)
        assert accounts.authenticate("ani", "wrong-wrong") is None
    with pytest.raises(TooManyAttempts) as refused:
        accounts.authenticate("ani", PASSWORD)
    assert refused.value.seconds == 60  # the fifth failure started the first minute's wait
    assert accounts.authenticate("agus", PASSWORD) is not None  # other names are not locked
    clock.advance(minutes=1)
    assert accounts.authenticate("ani", PASSWORD) is not None


def test_waits_grow_with_each_failure_after_the_free_ones(
    accounts: Accounts, clock: FrozenClock
) -> None:
    accounts.add_user("ani", "admin", PASSWORD)
    for _ in range(5):
        assert accounts.authenticate("ani", "wrong-wrong", "10.0.0.9") is None
    waits = []
    for _ in range(6):
        with pytest.raises(TooManyAttempts) as refused:
            accounts.authenticate("ani", PASSWORD, "10.0.0.9")
        waits.append(refused.value.seconds)
        clock.advance(seconds=refused.value.seconds)
        assert accounts.authenticate("ani", "wrong-wrong", "10.0.0.9") is None
    assert waits == [60, 120, 240, 480, 900, 900]  # doubling, capped at 15 minutes


def test_a_stranger_cannot_lock_a_user_out_from_another_address(accounts: Accounts) -> None:
    accounts.add_user("admin", "admin", PASSWORD)
    for _ in range(20):
        with contextlib.suppress(TooManyAttempts):
            accounts.authenticate("admin", "guess-guess", "203.0.113.7")
    with pytest.raises(TooManyAttempts):
        accounts.authenticate("admin", PASSWORD, "203.0.113.7")
    assert accounts.authenticate("admin", PASSWORD, "192.0.2.10") is not None


def test_concurrent_attempts_let_only_the_free_ones_reach_the_password_check(
    engine: Engine, clock: FrozenClock, settings: Settings
) -> None:
    hasher = CountingHasher()
    accounts = Accounts(engine, clock, hasher=hasher)
    accounts.add_user("admin", "admin", PASSWORD)
    other_engine = make_engine(settings.database_url)  # another worker: its own connections
    other_worker = Accounts(other_engine, clock, hasher=hasher)
    start = threading.Barrier(40)

    def attempt(index: int) -> str:
        start.wait()
        worker = accounts if index % 2 else other_worker
        try:
            return "ok" if worker.authenticate("admin", "guess-guess", "203.0.113.7") else "no"
        except TooManyAttempts:
            return "refused"

    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(attempt, range(40)))
    other_engine.dispose()
    assert outcomes.count("no") == 5
    assert outcomes.count("refused") == 35
    assert hasher.verified == 5


def test_a_success_clears_the_failures(accounts: Accounts) -> None:
    accounts.add_user("ani", "admin", PASSWORD)
    for _ in range(4):
        accounts.authenticate("ani", "wrong-wrong")
    assert accounts.authenticate("ani", PASSWORD) is not None
    for _ in range(4):
        accounts.authenticate("ani", "wrong-wrong")
    assert accounts.authenticate("ani", PASSWORD) is not None


def test_online_users_and_last_seen(accounts: Accounts, clock: FrozenClock) -> None:
    accounts.add_user("ani", "admin", PASSWORD)
    agus = accounts.add_user("agus", "agent", PASSWORD)
    sari = accounts.add_user("sari", "supervisor", PASSWORD)
    assert accounts.online_users() == []
    agus_token, _ = accounts.start_session(agus.id)
    start = clock.now()
    clock.advance(minutes=3)
    sari_token, _ = accounts.start_session(sari.id)
    assert [u.name for u in accounts.online_users()] == ["agus", "sari"]
    clock.advance(minutes=2, seconds=1)
    assert [u.name for u in accounts.online_users()] == ["sari"]
    assert accounts.session_user(agus_token) is not None  # a request marks agus as seen
    assert [u.name for u in accounts.online_users()] == ["agus", "sari"]
    seen = accounts.get_user("agus").last_seen_at
    assert seen is not None
    assert seen > start
    clock.advance(seconds=10)
    accounts.session_user(agus_token)  # within 30 s: not written again
    assert accounts.get_user("agus").last_seen_at == seen
    accounts.set_active("sari", False)
    assert [u.name for u in accounts.online_users(within_minutes=60)] == ["agus"]
    assert accounts.session_user(sari_token) is None
