"""Easy / Normal / Hard from a profile's keywords, FAQ and troubleshooting ladder.

No fixed priority: a question that names a failure ("cara reset password? kasir gk bisa
login") is weighed by how specifically it matches an FAQ entry or a troubleshooting step
against the generic failure words it holds (flows/understanding/match.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from flows import guards, routing
from flows.profiles.schema import FaqEntry, Profile, TroubleshootingStep
from flows.understanding import match


@dataclass(frozen=True, slots=True)
class Classification:
    """What the story is, and what the bot itself can offer for it."""

    category: str
    sla_minutes: int
    faq: FaqEntry | None = None


# An FAQ match needs this weight (a two-word keyword, or a question naming one keyword), and
# more than the generic problem words in the message weigh (match.problem_weight).
_FAQ_MIN = 2.0


def troubleshooting_for(story: str, profile: Profile) -> TroubleshootingStep | None:
    """The most specific fallback step whose every condition the story meets."""
    ws = guards.words(story)
    best: TroubleshootingStep | None = None
    for step in profile.troubleshooting:
        if all(any(guards.has_phrase(ws, p) for p in group) for group in step.when_all) and (
            best is None or len(step.when_all) > len(best.when_all)
        ):
            best = step
    return best


def _step_weight(step: TroubleshootingStep) -> float:
    """A step matched on N conditions weighs like an N-condition phrase and a question."""
    return 1.0 + 2.0 * len(step.when_all)


def faq_for(story: str, profile: Profile) -> FaqEntry | None:
    """The FAQ entry the story asks about, when it outweighs the failure words in it.

    Broken hardware ("mati total", "terbakar") on a desk that routes to Operations is never
    answered from the FAQ: the procedure sends it to Operations (docs/visits.md).
    """
    if profile.routing is not None and routing.names_broken_hardware(story, profile.routing):
        return None
    found = match.best_faq(story, profile)
    if found.entry is None or found.score < _FAQ_MIN:
        return None
    if found.score <= match.problem_weight(story, profile):
        return None
    return found.entry


def classify(story: str, profile: Profile) -> Classification:
    """The FAQ, a troubleshooting step or the category keywords, whichever fits best."""
    ws = guards.words(story)

    def rule(category: str, faq: FaqEntry | None = None) -> Classification:
        return Classification(category, profile.categories[category].sla_minutes, faq)  # type: ignore[index]

    step = troubleshooting_for(story, profile)
    faq = faq_for(story, profile)
    if faq is not None and (
        step is None or match.best_faq(story, profile).score > _step_weight(step)
    ):
        return rule("easy", faq)
    if step is not None and step.category is not None:
        return rule(step.category)
    for category in ("hard", "normal", "easy"):
        keywords = profile.categories[category].keywords
        if any(guards.has_phrase(ws, k) for k in keywords) or match.mentions(
            story, keywords, profile
        ):
            return rule(category)
    return rule(profile.default_category)
