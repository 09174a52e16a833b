"""The console's live feed: one shared change poller per web process, fanned out to every stream.

Why: fifty open consoles each polling the database twice a second, and each re-fetching its
whole list whenever anything changed anywhere, cost more than the agents' own work
(docs/decisions/0011-console-live-feed.md). Here one poller per process reads the newest
message and event ids (one cheap query per tick); only when they moved does it read which
cases changed (two primary-key range reads and one lookup of those cases' owners). Every
/desk/events stream waits on the poller and gets a `Notice` naming the changed cases, their
owners, and whether list membership or tab counts may have changed, so a console re-fetches
only what it shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine

from db import agent_queries as aq
from db.engine import read

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # one cheap query per tick per process, however many consoles are open
MAX_CASES = 200  # more changed cases than this in one notice: it says "everything"
KEEP = 64  # notices kept for streams that fell behind; further behind means "everything"
# Events that change a case's row but neither which list it is in nor the tab counts: an
# agent's reply, a note, the category, a resend, the clocks' marks. Any other kind (queued,
# taken, transferred, resolved, closed, ...) may move cases between lists.
ROW_ONLY_EVENTS = frozenset(
    {"replied", "note", "category_set", "resent", "send_failed", "frt_missed", "sla_breached"}
)


@dataclass(frozen=True, slots=True)
class Notice:
    """What changed since the previous notice: the newest ids and the cases they touched."""

    message: int
    event: int
    cases: tuple[int, ...] = ()
    owners: tuple[int, ...] = ()  # the changed cases' owners now (their Mine counts moved)
    counts: bool = False  # list membership or the tab counts may have changed
    everything: bool = False  # too much changed to name: refresh all
    # (case, its newest message id) for cases with new messages, and the cases with events
    # other than an agent's reply: a console that already shows a case's newest message and
    # saw no other event on it (its own reply) need not fetch that transcript again
    newest: tuple[tuple[int, int], ...] = ()
    stirred: tuple[int, ...] = ()
    # cases that joined the queue: a console announces a new client waiting even when a
    # take in the same moment left the waiting count where it was
    queued: tuple[int, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The `data:` line of /desk/events (message and event ids as before, plus what)."""
        return {
            "message": self.message,
            "event": self.event,
            "cases": list(self.cases),
            "owners": list(self.owners),
            "counts": self.counts,
            "all": self.everything,
            "newest": {str(c): m for c, m in self.newest},
            "events": list(self.stirred),
            "queued": list(self.queued),
        }


def merge(notices: list[Notice]) -> Notice:
    """One notice for several (a stream that was busy gets them together)."""
    last = notices[-1]
    if len(notices) == 1:
        return last
    cases = sorted({c for n in notices for c in n.cases})
    newest: dict[int, int] = {}
    for n in notices:
        for case_id, message_id in n.newest:
            newest[case_id] = max(message_id, newest.get(case_id, 0))
    return Notice(
        message=last.message,
        event=last.event,
        cases=tuple(cases),
        owners=tuple(sorted({o for n in notices for o in n.owners})),
        counts=any(n.counts for n in notices),
        everything=any(n.everything for n in notices) or len(cases) > MAX_CASES,
        newest=tuple(sorted(newest.items())),
        stirred=tuple(sorted({c for n in notices for c in n.stirred})),
        queued=tuple(sorted({c for n in notices for c in n.queued})),
    )


Marker = tuple[int, int, int]  # the newest message, event and case ids


def changes(
    engine: Engine, since: Marker, upto: Marker | None = None
) -> tuple[Marker, Notice | None]:
    """The newest ids (or `upto`), and a notice when they moved past `since`."""
    with read(engine) as conn:
        now = upto or aq.feed_marker(conn)
        if now == since:
            return now, None
        if any(n < s for n, s in zip(now, since, strict=True)):  # a restored database
            return now, Notice(now[0], now[1], counts=True, everything=True)
        found = aq.changes_between(conn, since=since, upto=now, limit=MAX_CASES + 1)
    case_ids = sorted(found.cases)
    if len(case_ids) > MAX_CASES:
        return now, Notice(now[0], now[1], counts=True, everything=True)
    return now, Notice(
        message=now[0],
        event=now[1],
        cases=tuple(case_ids),
        owners=tuple(sorted({o for o in found.owners.values() if o is not None})),
        counts=found.new_cases or bool(found.event_kinds - ROW_ONLY_EVENTS),
        newest=tuple(sorted(found.newest.items())),
        stirred=tuple(sorted(found.stirred)),
        queued=tuple(sorted(found.queued)),
    )


@dataclass(slots=True)
class _Loop:
    """The poller's state in one event loop (tests run several loops; a server runs one)."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    notices: deque[tuple[int, Notice]] = field(default_factory=lambda: deque(maxlen=KEEP))
    seq: int = 0
    latest: Marker | None = None
    listeners: int = 0
    task: asyncio.Task[None] | None = None


class Subscription:
    """One stream's place in the feed: `start` is the marker, `next()` the following notices."""

    def __init__(self, state: _Loop) -> None:
        self._state = state
        self._seen = state.seq
        self.marker: Marker = state.latest or (0, 0, 0)  # where its notices start

    async def next(self, within: float) -> Notice | None:
        """The changes since the previous call (merged), or None after `within` seconds."""
        state = self._state
        if state.seq == self._seen:
            try:
                await asyncio.wait_for(state.wake.wait(), within)
            except TimeoutError:
                return None
        # a stream further behind than KEEP notices missed some: refresh everything
        dropped = state.notices[0][0] > self._seen + 1
        notice = merge([n for s, n in state.notices if s > self._seen])
        self._seen = state.seq
        if dropped:
            return Notice(notice.message, notice.event, counts=True, everything=True)
        return notice


class ChangeFeed:
    """The shared poller: `subscribe()` yields notices; the first subscriber starts the poll."""

    def __init__(self, engine: Engine, *, poll_seconds: float = POLL_SECONDS) -> None:
        self._engine = engine
        self._poll = poll_seconds
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = (
            weakref.WeakKeyDictionary()
        )

    def marker(self) -> Marker:
        """The newest message, event and case ids now."""
        with read(self._engine) as conn:
            return aq.feed_marker(conn)

    async def opening(self, notices: Subscription, page: tuple[int, int] | None) -> dict[str, Any]:
        """A stream's first line: the ids its notices start from.

        Given `page`, the (message, event) ids the page was rendered with, it is a notice of
        what changed in between, so a client who joined the queue then is announced too;
        always `counts`, since the page refreshes its list and counts once the stream opens.
        """
        start = notices.marker
        if page is None:
            return {"message": start[0], "event": start[1]}
        if page == start[:2] or any(p > s for p, s in zip(page, start[:2], strict=True)):
            return Notice(start[0], start[1], counts=True).as_json()  # none, or past the feed
        _, found = await asyncio.to_thread(changes, self._engine, (*page, start[2]), start)
        return replace(found or Notice(start[0], start[1]), counts=True).as_json()

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        """A listener for as long as the block lasts; the first listener starts the poll."""
        state = self._state()
        state.listeners += 1
        try:
            if state.task is None or state.task.done():
                state.latest = await asyncio.to_thread(self.marker)
                state.task = asyncio.get_running_loop().create_task(self._run(state))
            yield Subscription(state)
        finally:
            state.listeners -= 1

    def _state(self) -> _Loop:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _Loop()
        return state

    async def _run(self, state: _Loop) -> None:
        """Poll while anyone listens; every change becomes one notice for all listeners."""
        while state.listeners > 0:
            await asyncio.sleep(self._poll)
            assert state.latest is not None
            try:
                latest, notice = await asyncio.to_thread(changes, self._engine, state.latest)
            except Exception:  # a database hiccup: say so, the next tick tries again
                logger.warning("The console's change feed could not read", exc_info=True)
                continue
            state.latest = latest
            if notice is None:
                continue
            state.seq += 1
            state.notices.append((state.seq, notice))
            state.wake.set()
            state.wake = asyncio.Event()
