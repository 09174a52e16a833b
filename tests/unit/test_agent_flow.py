"""The machine's agent-side steps, with no database: escalation, hand-back, resolution."""

from __future__ import annotations

import pytest
from transitions import MachineError

from flows import phrase_keys as keys
from flows.events import CloseCase, ResolveCase
from flows.front_desk import State
from tests.unit.test_front_desk import run, said


def test_escalating_tells_the_client_it_is_being_checked() -> None:
    turn = run(State.WITH_AGENT, trigger="agent_escalated", fields={"name": "Wulan"})
    assert turn.state is State.ESCALATED
    assert said(turn) == [keys.ESCALATION_CHECKING]
    assert turn.replies[0].variables == {"client_name": "Wulan"}


def test_a_verified_fix_returns_the_case_to_its_agent() -> None:
    turn = run(State.ESCALATED, trigger="agent_verified_fix")
    assert turn.state is State.WITH_AGENT
    assert said(turn) == [keys.ESCALATION_FIXED]


def test_the_bot_stays_silent_while_escalated() -> None:
    for text in ["halo kak gimana?", "mau bicara dengan cs"]:
        turn = run(State.ESCALATED, text)
        assert turn.state is State.ESCALATED
        assert said(turn) == []


def test_an_escalated_case_can_be_resolved_and_cancelled() -> None:
    assert run(State.ESCALATED, trigger="agent_resolved", category="hard").state is (
        State.AWAITING_CONFIRMATION
    )
    turn = run(State.ESCALATED, "batal aja")
    assert turn.state is State.CLOSED
    assert turn.effects == [CloseCase(reason="cancelled_by_client", by="client")]


@pytest.mark.parametrize(
    ("context", "fields", "state", "question"),
    [
        ({}, {}, State.CHRONOLOGY, keys.CHRONOLOGY_REASK),
        ({"story": "stok selisih"}, {}, State.VERIFICATION, keys.ask_field("name")),
        (
            {"story": "stok selisih"},
            {"name": "Rina", "outlet": "x.erzap.id"},
            State.CHRONOLOGY,
            keys.CHRONOLOGY_REASK,
        ),
    ],
)
def test_hand_back_continues_where_the_procedure_needs_it(
    context: dict[str, str], fields: dict[str, str], state: State, question: str
) -> None:
    turn = run(
        State.WITH_AGENT,
        trigger="agent_handed_back",
        context={**context, "fails": 2},
        fields=fields,
    )
    assert turn.state is state
    assert said(turn) == [keys.AGENT_HANDED_BACK, question]
    assert turn.context["fails"] == 0


def test_hand_back_is_refused_while_escalated() -> None:
    with pytest.raises(MachineError):
        run(State.ESCALATED, trigger="agent_handed_back")


def test_the_faq_solving_it_records_the_resolution() -> None:
    turn = run(State.SELF_SERVICE, "sudah bisa makasih")
    assert turn.state is State.SURVEY_RATING
    assert turn.effects == [ResolveCase(by="client")]
