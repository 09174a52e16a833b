"""The console's live path: the shared change feed, its notices, row patches.

Why and how: docs/decisions/0011-console-live-feed.md.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.agents.agent_desk import AgentDesk, Staff
from chatbot.agents.live import ChangeFeed, Notice, changes
from tests.own_loop import run_in_own_loop
from tests.web.auth_helpers import add_user, login
from tests.web.helpers import rows
from tests.web.test_desk_console import queued_case, say


def test_a_notice_names_the_changed_cases_their_owners_and_whether_lists_moved(
    app: FastAPI,
) -> None:
    engine = app.state.engine
    agents: AgentDesk = app.state.agent_desk
    first, second = queued_case(app, chat_id="111"), queued_case(app, chat_id="222")
    sari = add_user(app, "sari", "agent")
    staff = Staff(sari.id, "sari", "agent")
    start = ChangeFeed(engine).marker()
    assert changes(engine, start) == (start, None)  # nothing new: one query, no notice

    agents.take(first, staff)  # a case leaves Waiting for Mine: lists moved
    marker, notice = changes(engine, start)
    assert notice is not None
    assert (notice.cases, notice.owners, notice.counts) == ((first,), (sari.id,), True)

    agents.reply(first, staff, text="Baik kak, kami cek")  # the row changes, no list does
    say(app, "222", "masih menunggu kak")  # the client of a waiting case writes again
    marker, notice = changes(engine, marker)
    assert notice is not None
    assert (notice.cases, notice.owners) == (tuple(sorted((first, second))), (sari.id,))
    assert notice.counts is False
    # the reply's own message: a console showing it need not fetch the transcript again
    assert first not in notice.stirred
    assert set(dict(notice.newest)) == {first, second}
    assert dict(notice.newest)[first] < dict(notice.newest)[second] == marker[0]
    assert marker == ChangeFeed(engine).marker()
    assert (notice.message, notice.event) == marker[:2]
    assert notice.queued == ()  # nobody joined the queue

    third = queued_case(app, chat_id="333")  # a client joins the queue...
    agents.take(second, staff)  # ...as a waiting case is taken: Waiting stays at one
    marker, notice = changes(engine, marker)
    assert notice is not None
    assert notice.queued == (third,)
    assert notice.as_json()["queued"] == [third]


def test_every_stream_shares_one_poller_and_gets_the_same_notice(app: FastAPI) -> None:
    feed = ChangeFeed(app.state.engine, poll_seconds=0.01)

    async def two_streams() -> tuple[Notice | None, Notice | None, int]:
        async with feed.subscribe() as one, feed.subscribe() as two:
            polls = sum(1 for t in asyncio.all_tasks() if "_run" in repr(t.get_coro()))
            case_id = await asyncio.to_thread(say, app, "333", "halo kak")  # a new case
            got = await one.next(within=10), await two.next(within=10)
            assert all(n is not None and case_id in n.cases for n in got)
            return got[0], got[1], polls

    first, second, polls = run_in_own_loop(two_streams())
    assert polls == 1
    assert first == second
    assert first is not None
    assert first.counts


def test_the_event_stream_says_which_case_changed(app: FastAPI, client: TestClient) -> None:
    add_user(app, "sari", "agent")
    login(client, "sari")
    with client.stream("GET", "/desk/events") as stream:
        lines = stream.iter_lines()
        first = json.loads(next(line for line in lines if line.startswith("data:"))[5:])
        case_id = queued_case(app, chat_id="5151")  # several messages, then the hand-off
        notices = []
        while not notices or notices[-1]["event"] == first["event"]:
            notices.append(json.loads(next(x for x in lines if x.startswith("data:"))[5:]))
    assert set(first) == {"message", "event"}  # the opening line: what the page should show
    assert notices[0]["message"] > first["message"]
    assert all(n["cases"] == [case_id] for n in notices)
    assert notices[0]["counts"] is True  # a new case: the All open count moved
    assert notices[-1]["counts"] is True  # the hand-off: Waiting moved
    assert not any(n["all"] for n in notices)


def test_the_first_line_names_who_joined_the_queue_since_the_page_was_rendered(
    app: FastAPI, client: TestClient
) -> None:
    add_user(app, "sari", "agent")
    login(client, "sari")
    page = ChangeFeed(app.state.engine).marker()  # the ids the page was rendered with
    case_id = queued_case(app, chat_id="6161")  # before the page opens its stream
    with client.stream("GET", f"/desk/events?since={page[0]},{page[1]}") as stream:
        first = json.loads(next(x for x in stream.iter_lines() if x.startswith("data:"))[5:])
    assert first["queued"] == [case_id]
    assert first["cases"] == [case_id]
    assert first["counts"] is True  # the page refreshes its list and counts
    assert (first["message"], first["event"]) > (page[0], page[1])
    with client.stream("GET", "/desk/events?since=not,ids") as stream:  # ignored
        first = json.loads(next(x for x in stream.iter_lines() if x.startswith("data:"))[5:])
    assert set(first) == {"message", "event"}


def test_a_row_patch_renders_only_the_rows_asked_and_the_counts(
    app: FastAPI, client: TestClient
) -> None:
    first, second = queued_case(app, chat_id="111"), queued_case(app, chat_id="222")
    add_user(app, "sari", "agent")
    login(client, "sari")
    assert rows(client.get("/desk/fragments/queue").text) == [first, second]
    patch = client.get(f"/desk/fragments/queue?view=waiting&rows={second}")
    assert patch.status_code == 200
    assert rows(patch.text) == [second]
    assert 'id="tabs"' in patch.text
    assert 'data-waiting="2"' in patch.text
    client.post(f"/desk/cases/{second}/take")  # it left Waiting: the patch has no row for it
    assert rows(client.get(f"/desk/fragments/queue?rows={first},{second}").text) == [first]
    assert 'data-waiting="1"' in client.get("/desk/fragments/queue?rows=").text
    for bad in ("1;2", "x", ",".join(["1"] * 201)):
        refused = client.get(f"/desk/fragments/queue?rows={bad}")
        assert refused.status_code == 422
        assert "comma-separated list" in refused.text
