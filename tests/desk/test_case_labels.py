"""Case labels and the Enter preference in AgentDesk, on a real database."""

from __future__ import annotations

import pytest

from chatbot.agents.agent_desk import MAX_LABELS, AgentDesk
from chatbot.errors import InvalidInput, UnknownCase
from tests.chat_driver import ChatDriver
from tests.desk.agent_helpers import create_user, events, queue_hard_case


def test_labels_are_cleaned_kept_once_and_shown_on_the_case_and_the_list(
    chat: ChatDriver, agents: AgentDesk
) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    assert agents.add_label(case_id, sari, "  VIP   Client ") == "vip client"
    agents.add_label(case_id, sari, "vip client")  # the same label again: kept once
    agents.add_label(case_id, sari, "refund")
    assert agents.case_view(case_id).labels == ["refund", "vip client"]
    [row] = agents.inbox(sari, "waiting")
    assert row.labels == ("refund", "vip client")
    assert agents.known_labels() == ["refund", "vip client"]
    assert events(chat.engine, case_id).count(("label_added", "sari", "vip client")) == 1


def test_removing_a_label_and_a_label_the_case_lacks(chat: ChatDriver, agents: AgentDesk) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    agents.add_label(case_id, sari, "refund")
    agents.remove_label(case_id, sari, "refund")
    agents.remove_label(case_id, sari, "never-there")
    assert agents.case_view(case_id).labels == []
    assert agents.known_labels() == []
    assert ("label_removed", "sari", "refund") in events(chat.engine, case_id)
    assert ("label_removed", "sari", "never-there") not in events(chat.engine, case_id)


def test_the_list_filters_by_label(chat: ChatDriver, agents: AgentDesk) -> None:
    first = queue_hard_case(chat)
    second = queue_hard_case(ChatDriver(chat.desk, chat.engine, chat_id="client-2"))
    sari = create_user(chat.engine, "sari")
    agents.add_label(second, sari, "refund")
    assert [i.id for i in agents.inbox(sari, "open", filters={"label": "refund"})] == [second]
    assert [i.id for i in agents.inbox(sari, "open", filters={"label": "vip"})] == []
    assert {i.id for i in agents.inbox(sari, "open")} == {first, second}
    both = agents.inbox(sari, "open", filters={"label": "refund", "category": "hard"})
    assert [i.id for i in both] == [second]


@pytest.mark.parametrize("label", ["", "   ", "x" * 33, "bad\x00label"])
def test_unusable_labels_are_refused(chat: ChatDriver, agents: AgentDesk, label: str) -> None:
    case_id = queue_hard_case(chat)
    with pytest.raises(InvalidInput, match="label"):
        agents.add_label(case_id, create_user(chat.engine, "sari"), label)


def test_a_case_holds_a_bounded_number_of_labels(chat: ChatDriver, agents: AgentDesk) -> None:
    case_id = queue_hard_case(chat)
    sari = create_user(chat.engine, "sari")
    for n in range(MAX_LABELS):
        agents.add_label(case_id, sari, f"l{n}")
    with pytest.raises(InvalidInput, match=f"at most {MAX_LABELS}"):
        agents.add_label(case_id, sari, "one more")


def test_labels_on_an_unknown_case(chat: ChatDriver, agents: AgentDesk) -> None:
    sari = create_user(chat.engine, "sari")
    with pytest.raises(UnknownCase):
        agents.add_label(999, sari, "vip")
    with pytest.raises(UnknownCase):
        agents.remove_label(999, sari, "vip")


def test_enter_sends_by_default_and_the_choice_is_kept(
    chat: ChatDriver, agents: AgentDesk
) -> None:
    sari = create_user(chat.engine, "sari")
    assert agents.settings_of(sari).enter_sends is True
    agents.set_presence(sari, "away")  # a settings row made without the preference
    assert agents.settings_of(sari).enter_sends is True
    agents.save_settings(sari, display_name="Sari", ui_locale="en", enter_sends=False)
    assert agents.settings_of(sari).enter_sends is False
    agents.save_settings(sari, display_name="Sari", ui_locale="en")
    assert agents.settings_of(sari).enter_sends is True
