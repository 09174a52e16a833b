"""One step service: an admin's edit reaches every step, whichever worker takes it."""

from __future__ import annotations

from chatbot.admin.editor import PhraseEditor
from chatbot.agents.agent_desk import AgentDesk
from chatbot.frontdesk.timers import TimerRunner
from tests.chat_driver import ChatDriver
from tests.clock import FrozenClock
from tests.desk.agent_helpers import create_user, queue_hard_case


def test_a_phrase_edit_in_one_worker_reaches_agent_resolves_and_timer_texts_in_another(
    chat: ChatDriver, desk_for: object, clock: FrozenClock
) -> None:
    case_id = queue_hard_case(chat)
    web_engine, web_desk = desk_for("erzap")  # type: ignore[operator]
    editor = PhraseEditor(web_engine, web_desk.phrases, clock)  # the admin's web worker
    worker_engine, worker_desk = desk_for("erzap")  # type: ignore[operator]
    agents = AgentDesk(worker_engine, worker_desk, clock)  # no client message passes through
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    chat.bot_said()
    editor.save("closing.normal_hard", "id", "Sudah beres kak? (versi admin)", "admin")
    agents.resolve(case_id, sari)
    assert chat.last_texts(1) == ["Sudah beres kak? (versi admin)"]
    editor.save("closing.easy", "id", "Terima kasih kak (versi admin).", "admin")
    clock.advance(minutes=25)
    assert TimerRunner(worker_engine, agents, clock).tick().auto_closed == [case_id]
    assert "Terima kasih kak (versi admin)." in chat.last_texts(2)


def test_an_agent_reply_with_a_standard_phrase_uses_the_edit_at_once(
    chat: ChatDriver, desk_for: object, clock: FrozenClock
) -> None:
    case_id = queue_hard_case(chat)
    web_engine, web_desk = desk_for("erzap")  # type: ignore[operator]
    _engine, worker_desk = desk_for("erzap")  # type: ignore[operator]
    agents = AgentDesk(chat.engine, worker_desk, clock)
    sari = create_user(chat.engine, "sari")
    agents.take(case_id, sari)
    key = next(iter(agents.standard_phrases(case_id, sari)))[0]
    PhraseEditor(web_engine, web_desk.phrases, clock).save(key, "id", "Baik kak (edit).", "admin")
    agents.reply(case_id, sari, phrase=key)
    assert chat.last_texts(1) == ["Baik kak (edit)."]
