"""Phrase overrides: versions, history, revert, reset, and the desk's next message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from chatbot.admin.editor import PhraseEditor
from chatbot.errors import PhraseRejected, UnknownPhrase
from chatbot.frontdesk.desk import Desk
from chatbot.frontdesk.overrides import Overrides
from db import admin_queries
from flows import phrase_keys as keys
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock

SALAM = keys.GREETING_SALAM
DeskFor = Callable[..., tuple[Engine, Desk]]


@pytest.fixture
def engine_desk(desk_for: DeskFor) -> tuple[Engine, Desk]:
    return desk_for("erzap")


@pytest.fixture
def editor(engine_desk: tuple[Engine, Desk], clock: FrozenClock) -> PhraseEditor:
    engine, desk = engine_desk
    return PhraseEditor(engine, desk.phrases, clock)


def _first_reply(engine: Engine, desk: Desk, chat_id: str) -> str:
    chat = ChatDriver(desk, engine, chat_id=chat_id)
    chat.client_says("halo kak")
    return chat.last_texts(2)[0]


def test_saved_phrase_is_used_for_the_next_message(
    engine_desk: tuple[Engine, Desk], editor: PhraseEditor
) -> None:
    engine, desk = engine_desk
    assert _first_reply(engine, desk, "a").startswith("Halo kak, terima kasih")
    editor.save(SALAM, "id", "Selamat siang dari {{ desk_name }}!", "ani")
    assert _first_reply(engine, desk, "b") == "Selamat siang dari HaloERZAP!"


def test_an_edit_reaches_another_worker_without_restart(
    desk_for: DeskFor, clock: FrozenClock
) -> None:
    engine, worker_1 = desk_for("erzap")
    _, worker_2 = desk_for("erzap")  # another process would build exactly this
    assert _first_reply(engine, worker_2, "a").startswith("Halo kak")
    PhraseEditor(engine, worker_1.phrases, clock).save(SALAM, "id", "Hai {{ desk_name }}", "ani")
    assert _first_reply(engine, worker_2, "b") == "Hai HaloERZAP"


def test_refused_text_keeps_the_old_text_in_force(
    engine_desk: tuple[Engine, Desk], editor: PhraseEditor
) -> None:
    engine, desk = engine_desk
    editor.save(SALAM, "id", "Versi satu {{ desk_name }}", "ani")
    with pytest.raises(PhraseRejected) as caught:
        editor.save(SALAM, "id", "Versi dua\n{{ desk_name.__class__ }}", "ani")
    assert caught.value.problems == [
        ("id", SALAM, 2, "'__class__' is not allowed: names starting with '_' are private")
    ]
    assert "id/greeting.salam: line 2:" in str(caught.value)
    assert len(editor.history(SALAM, "id")) == 1
    assert _first_reply(engine, desk, "a") == "Versi satu HaloERZAP"


def test_unknown_key_or_locale_is_refused(editor: PhraseEditor) -> None:
    with pytest.raises(UnknownPhrase):
        editor.save("greeting.nope", "id", "x", "ani")
    with pytest.raises(UnknownPhrase):
        editor.save(SALAM, "fr", "x", "ani")


def test_every_save_is_a_version_with_author_time_and_diff(
    editor: PhraseEditor, clock: FrozenClock
) -> None:
    first = editor.save(SALAM, "id", "Satu {{ desk_name }}", "ani")
    clock.advance(minutes=5)
    second = editor.save(SALAM, "id", "Satu {{ desk_name }}\nDua", "budi")
    assert editor.save(SALAM, "id", "Satu {{ desk_name }}\r\nDua\n", "budi") is None  # same
    history = editor.history(SALAM, "id")
    assert [v.id for v in history] == [second, first]
    assert [v.author for v in history] == ["budi", "ani"]
    assert history[0].created_at == clock.now()
    assert history[0].diff.splitlines()[2:] == ["@@ -1 +1,2 @@", " Satu {{ desk_name }}", "+Dua"]
    assert history[1].diff.startswith("--- default\n+++ v")


def test_revert_is_a_new_version_with_the_old_text(
    engine_desk: tuple[Engine, Desk], editor: PhraseEditor
) -> None:
    engine, desk = engine_desk
    first = editor.save(SALAM, "id", "Satu {{ desk_name }}", "ani")
    editor.save(SALAM, "id", "Dua {{ desk_name }}", "ani")
    assert first is not None
    reverted = editor.revert(SALAM, "id", first, "budi")
    newest = editor.history(SALAM, "id")[0]
    assert (newest.id, newest.text, newest.reverted_from) == (
        reverted,
        "Satu {{ desk_name }}",
        first,
    )
    assert len(editor.history(SALAM, "id")) == 3
    assert _first_reply(engine, desk, "a") == "Satu HaloERZAP"
    with pytest.raises(UnknownPhrase):
        editor.revert(keys.GREETING_WELCOME, "id", first, "budi")  # not this phrase's version


def test_reset_returns_to_the_file_text(
    engine_desk: tuple[Engine, Desk], editor: PhraseEditor
) -> None:
    engine, desk = engine_desk
    assert editor.reset(SALAM, "id", "ani") is None  # nothing to reset
    editor.save(SALAM, "id", "Satu {{ desk_name }}", "ani")
    editor.reset(SALAM, "id", "ani")
    state = editor.state(SALAM, "id")
    assert not state.overridden
    assert state.text == state.default
    assert editor.history(SALAM, "id")[0].is_reset
    assert _first_reply(engine, desk, "a").startswith("Halo kak, terima kasih")


def test_locales_are_separate(engine_desk: tuple[Engine, Desk], editor: PhraseEditor) -> None:
    editor.save(SALAM, "en", "Hello from {{ desk_name }}", "ani")
    assert editor.state(SALAM, "id").version is None
    assert editor.state(SALAM, "en").text == "Hello from {{ desk_name }}"


def test_stored_text_that_fails_falls_back_to_default_and_is_logged(
    engine_desk: tuple[Engine, Desk], clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A row written past the editor (by hand, an old version) never breaks a conversation."""
    engine, desk = engine_desk
    with engine.begin() as conn:
        for text in ("{{ 'x' * 10**7 }}", "{% for i in range(1000) %}{% for j in range(1000) %}"):
            admin_queries.add_phrase_version(
                conn, key=SALAM, locale="id", text=text, author="db", now=clock.now()
            )
        admin_queries.add_phrase_version(
            conn,
            key=keys.GREETING_WELCOME,
            locale="id",
            text="{{ nope }}",
            author="db",
            now=clock.now(),
        )
        admin_queries.bump_revision(conn)
    with caplog.at_level(logging.ERROR):
        chat = ChatDriver(desk, engine, chat_id="a")
        receipt = chat.client_says("halo kak")
    assert receipt.status == "answered"
    salam, welcome = chat.last_texts(2)
    assert salam.startswith("Halo kak, terima kasih")
    assert welcome.startswith("Selamat datang di HaloERZAP")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "Override of id/greeting.salam does not compile" in logged
    assert "Override of id/greeting.welcome failed" in logged


def test_revision_is_read_once_per_message_and_compiles_only_new_versions(
    engine_desk: tuple[Engine, Desk], editor: PhraseEditor
) -> None:
    engine, _ = engine_desk
    overrides = Overrides({})
    editor.save(SALAM, "id", "Satu {{ desk_name }}", "ani")
    with engine.begin() as conn:
        assert overrides.refresh(conn) is True
        assert overrides.refresh(conn) is False  # nothing changed: one cheap read
    first = overrides.template(SALAM, "id")
    editor.save(keys.GREETING_WELCOME, "id", "{{ welcome_text }}!", "ani")
    with engine.begin() as conn:
        assert overrides.refresh(conn) is True
    assert overrides.template(SALAM, "id") is first  # kept, not compiled again
    assert overrides.template(keys.GREETING_WELCOME, "id") is not None


def test_check_every_limits_how_often_the_revision_is_read(
    engine_desk: tuple[Engine, Desk], editor: PhraseEditor
) -> None:
    engine, _ = engine_desk
    now = [100.0]
    overrides = Overrides({}, check_every=1.0, monotonic=lambda: now[0])
    with engine.begin() as conn:
        overrides.refresh(conn)
    editor.save(SALAM, "id", "Satu {{ desk_name }}", "ani")
    with engine.begin() as conn:
        assert overrides.refresh(conn) is False
        now[0] += 1.0
        assert overrides.refresh(conn) is True


def test_export_lists_every_phrase_in_force(editor: PhraseEditor) -> None:
    editor.save(SALAM, "en", "Hello {{ desk_name }}", "ani")
    exported: dict[str, Any] = editor.export()
    assert set(exported) == {"id", "en"}
    assert set(exported["id"]) == set(keys.ALL)
    assert exported["en"][SALAM] == "Hello {{ desk_name }}"


def test_import_is_all_or_nothing(editor: PhraseEditor) -> None:
    before = editor.export()
    data = {
        "id": {SALAM: "Baru {{ desk_name }}", keys.GREETING_WELCOME: "{{ welcome_text }} {{ x }}"},
        "en": {"greeting.nope": "x"},
    }
    with pytest.raises(PhraseRejected) as caught:
        editor.import_phrases(data, "cli")
    assert [(p[0], p[1]) for p in caught.value.problems] == [
        ("id", keys.GREETING_WELCOME),
        ("en", "greeting.nope"),
    ]
    assert editor.export() == before
    changed = editor.import_phrases({"id": {SALAM: "Baru {{ desk_name }}"}}, "cli")
    assert changed == [("id", SALAM)]
    assert editor.import_phrases(editor.export(), "cli") == []  # a round trip changes nothing
