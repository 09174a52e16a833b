"""Ingress in a web worker: requests arriving together share a commit, failures stay theirs."""

from __future__ import annotations

import asyncio

import pytest

from chatbot.domain import Inbound
from chatbot.web.ingress import IngressWriter
from tests.chat_driver import ChatDriver
from tests.web.helpers import stepped


def message(chat: str, n: int, text: str = "halo kak") -> Inbound:
    return Inbound(channel="telegram", chat_id=chat, message_id=f"{chat}:{n}", text=text)


async def test_requests_arriving_together_are_stored_and_answered_each(chat: ChatDriver) -> None:
    writer = IngressWriter(chat.desk.accept)
    results = await asyncio.gather(
        *(writer.write([message(str(c), 1), message(str(c), 2)]) for c in range(20)),
        writer.write([message("0", 1)]),  # a re-delivery in the same batch
    )
    assert results[:20] == [[True, True]] * 20
    assert results[20] == [False]
    assert not stepped(chat.engine)
    assert chat.desk.step_pending(chats=100, whole=True) == 40


async def test_a_message_the_database_refuses_fails_only_its_own_request(
    chat: ChatDriver,
) -> None:
    writer = IngressWriter(chat.desk.accept)
    results = await asyncio.gather(
        writer.write([message("1", 1)]),
        writer.write([message("2", 1, "halo \ud800 kak")]),  # a lone surrogate
        writer.write([message("3", 1)]),
        return_exceptions=True,
    )
    assert results[0] == [True]
    assert isinstance(results[1], Exception)
    assert results[2] == [True]
    with pytest.raises(UnicodeEncodeError):
        chat.desk.accept([message("2", 1, "halo \ud800 kak")])
