"""The bot's suggestion to Operations: remote fix or technician visit (docs/visits.md).

Pure: the story in, a suggestion and its reasons out. Hardware words ("mati total",
"terbakar", "layar pecah") point to a visit; so does a client who says the remote steps were
tried already. Everything else is worth a remote try first. Operations decides; this only
saves them reading the whole chronology before they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flows import guards
from flows.profiles.schema import Routing

Route = Literal["remote", "visit"]
ROUTES: tuple[Route, ...] = ("remote", "visit")


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What the bot suggests and the words that made it say so."""

    route: Route
    reasons: tuple[str, ...]

    def text(self) -> str:
        """The reasons as one line for the console."""
        return "; ".join(self.reasons)


def names_broken_hardware(story: str, routing: Routing) -> bool:
    """Whether the story names broken hardware: a case for Operations, never an FAQ answer."""
    ws = guards.words(story)
    return any(guards.has_phrase(ws, w) for w in routing.hardware_words)


def suggest(story: str, routing: Routing) -> Suggestion:
    """Visit when the story names broken hardware or remote steps already tried; else remote."""
    ws = guards.words(story)
    hardware = [w for w in routing.hardware_words if guards.has_phrase(ws, w)]
    tried = [w for w in routing.tried_words if guards.has_phrase(ws, w)]
    reasons = [f"hardware: {', '.join(hardware)}"] if hardware else []
    if tried:
        reasons.append(f"remote steps tried: {', '.join(tried)}")
    if reasons:
        return Suggestion("visit", tuple(reasons))
    return Suggestion("remote", ("no hardware words; remote steps not tried yet",))
