"""Easy / Normal / Hard from a profile's keywords, FAQ and troubleshooting ladder."""

from __future__ import annotations

from dataclasses import dataclass

from flows import guards
from flows.profiles.schema import FaqEntry, Profile, TroubleshootingStep


@dataclass(frozen=True, slots=True)
class Classification:
    """What the story is, and what the bot itself can offer for it."""

    category: str
    sla_minutes: int
    faq: FaqEntry | None = None


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


def faq_for(story: str, profile: Profile) -> FaqEntry | None:
    """The FAQ entry with the most matching keyword phrases, if any matches."""
    ws = guards.words(story)
    scored = [(sum(guards.has_phrase(ws, k) for k in e.keywords), e) for e in profile.faq]
    score, entry = max(scored, key=lambda pair: pair[0], default=(0, None))
    return entry if score > 0 else None


def classify(story: str, profile: Profile) -> Classification:
    """Hard words win (a broken system outranks a question), then the FAQ, then the rest."""
    ws = guards.words(story)

    def rule(category: str, faq: FaqEntry | None = None) -> Classification:
        return Classification(category, profile.categories[category].sla_minutes, faq)  # type: ignore[index]

    step = troubleshooting_for(story, profile)
    if step is not None and step.category is not None:
        return rule(step.category)
    if any(guards.has_phrase(ws, k) for k in profile.categories["hard"].keywords):
        return rule("hard")
    faq = faq_for(story, profile)
    if faq is not None:
        return rule("easy", faq)
    if any(guards.has_phrase(ws, k) for k in profile.categories["normal"].keywords):
        return rule("normal")
    if any(guards.has_phrase(ws, k) for k in profile.categories["easy"].keywords):
        return rule("easy")
    return rule(profile.default_category)
