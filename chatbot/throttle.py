"""Rate limits and login lockouts counted in the database, so every worker sees one count.

`loket serve --workers N` runs N web processes; a counter in one process's memory would let
N times the limit through and forget it on restart. Each check is one short transaction of
atomic statements (db/throttle_queries.py): 40 concurrent logins against a limit of 5 let
exactly 5 reach the password check. Limits and their settings: docs/security.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Engine

from chatbot.clock import Clock
from db import throttle_queries as tq

SWEEP_EVERY = 1000  # checks between deletions of idle keys (per process)
IDLE_SECONDS = 86_400.0  # a key untouched this long is forgotten (a day without failures)
NEW_CHAT_SECONDS = 86_400.0  # a web chat silent this long counts as new when it writes again
PENDING_CASE_SECONDS = 600.0  # a new chat's first message counts as a case this long before
# its stepper opens one (it is stepped in well under a second unless the desk is down)
OPEN_CASES_RETRY_SECONDS = 300.0  # what a refused client is told to wait before trying again


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How failed logins for one name from one address are slowed down."""

    free_attempts: int = 5  # failures before the first wait
    first_wait_seconds: float = 60.0  # then the wait doubles with every further failure
    max_wait_seconds: float = 900.0


@dataclass(frozen=True, slots=True)
class ChatLimits:
    """How much one web chat, and one client address, may post."""

    per_chat_per_minute: int = 20
    per_address_per_minute: int = 60
    new_chats_per_address_per_hour: int = 10
    open_cases_per_address: int = 3  # web chats with an open (or coming) case, per address


@dataclass(frozen=True, slots=True)
class ChatWait:
    """How long a web chat post must wait (0: not at all), and whether for the address.

    `crowded`: this address has opened too many chats, or has too many open; the client is
    then told so, not that they type too fast.
    """

    seconds: float
    crowded: bool = False


class Throttle:
    """Counts attempts per key in the `throttle` table and says how long to wait, if at all."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        login: LoginLimits | None = None,
        chat: ChatLimits | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.login = login or LoginLimits()
        self.chat = chat or ChatLimits()
        self._checks = 0

    def login_attempt(self, name: str, address: str) -> float:
        """Claim one login attempt for (name, address); 0 if it may be checked, else the wait.

        The attempt counts as a failure before the password is checked, so concurrent
        attempts cannot all pass the count; `login_succeeded` clears it. From the failure
        that reaches `free_attempts` on, each one blocks the key for a wait that doubles.
        The key includes the address, so nobody can lock a user out from elsewhere.
        """
        key = _login_key(name, address)
        now = self._now()
        with self._engine.begin() as conn:
            row = tq.lock_counter(conn, key=key, now=now)
            if row.blocked_until > now:
                return float(row.blocked_until) - now
            hits = 0 if now - row.window_start > IDLE_SECONDS else int(row.hits)
            hits += 1
            blocked = 0.0
            if hits >= self.login.free_attempts:
                steps = min(hits - self.login.free_attempts, 30)  # 2**30 x anything is past cap
                wait = min(self.login.first_wait_seconds * 2**steps, self.login.max_wait_seconds)
                blocked = now + wait
            tq.save_counter(conn, key=key, hits=hits, window_start=now, blocked_until=blocked)
        self._maybe_sweep()
        return 0.0

    def login_succeeded(self, name: str, address: str) -> None:
        """Forget the failures of (name, address)."""
        with self._engine.begin() as conn:
            tq.forget_counter(conn, key=_login_key(name, address))

    def chat_post(self, chat_id: str, address: str) -> ChatWait:
        """Count one web chat post; a wait of 0 seconds if it may go on.

        Refused posts count too, so a flood stays refused. A chat that has not written for
        a day counts as new; new chats per address are limited per hour, and a new chat is
        refused while the address already has `open_cases_per_address` web chats with an
        open case (each chat has at most one), so one address cannot fill the agents' queue.
        """
        now = self._now()
        limits = self.chat
        address = address[:64]  # the key's and the origin column's width
        waits: list[float] = []
        with self._engine.begin() as conn:
            for key, limit in (
                (f"chat:{chat_id}", limits.per_chat_per_minute),
                (f"addr:{address}", limits.per_address_per_minute),
            ):
                hits, start = tq.count_hit(conn, key=key, now=now, window=60.0)
                if hits > limit:
                    waits.append(start + 60.0 - now)
            if waits:
                return ChatWait(max(waits))
            seen, _ = tq.count_hit(conn, key=f"seen:{chat_id}", now=now, window=NEW_CHAT_SECONDS)
            if seen == 1:
                # The counter's row lock (PostgreSQL) or the write lock (SQLite) makes one
                # address's new chats take turns, so the open-case count below cannot race.
                new, start = tq.count_hit(conn, key=f"new:{address}", now=now, window=3600.0)
                if new > limits.new_chats_per_address_per_hour:
                    tq.forget_counter(conn, key=f"seen:{chat_id}")  # still new next time
                    return ChatWait(start + 3600.0 - now, crowded=True)
                open_chats = tq.count_open_web_chats(
                    conn, address=address, pending_since=now - PENDING_CASE_SECONDS
                )
                if open_chats >= limits.open_cases_per_address:
                    tq.forget_counter(conn, key=f"seen:{chat_id}")
                    return ChatWait(OPEN_CASES_RETRY_SECONDS, crowded=True)
                tq.record_web_chat_origin(conn, chat_id=chat_id, address=address, now=now)
        self._maybe_sweep()
        return ChatWait(0.0)

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _maybe_sweep(self) -> None:
        self._checks += 1  # a lost increment between threads only delays a sweep
        if self._checks % SWEEP_EVERY:
            return
        with self._engine.begin() as conn:
            tq.sweep_counters(conn, before=self._now() - IDLE_SECONDS)
            tq.sweep_web_chat_origins(conn, before=self._now() - IDLE_SECONDS)


def _login_key(name: str, address: str) -> str:
    return f"login:{name.lower()[:64]}|{address[:64]}"


def whole_seconds(wait: float) -> int:
    """A wait as the whole seconds a Retry-After header or a message shows."""
    return max(1, math.ceil(wait))
