"""The front-desk machine drawn as Mermaid text, from the same tables the desk runs."""

from __future__ import annotations

from transitions.extensions import GraphMachine

from flows.front_desk import TRANSITIONS, State


class _Drawing:
    """A stand-in model: GraphMachine(model=None) raises IndexError when drawing (0.9.3)."""


def mermaid() -> str:
    """The state diagram as Mermaid `stateDiagram-v2` text."""
    model = _Drawing()
    GraphMachine(
        model=model,
        states=State,
        transitions=TRANSITIONS,
        initial=State.NEW,
        auto_transitions=False,
        graph_engine="mermaid",
        title="Loket front desk",
    )
    return str(model.get_graph().draw(None))  # type: ignore[attr-defined]
