"""The labelled first messages of bench/understanding.py: well formed, and the targets hold.

Accuracy only (speed is the benchmark's to print): FAQ precision >= 0.9 and recall >= 0.8,
requests for a person recalled >= 0.95, over at least 300 messages of the four desks.
"""

from __future__ import annotations

from pathlib import Path

from bench.understanding import evaluate, load_set
from flows.profiles.schema import load_profiles

PROFILES = load_profiles(Path(__file__).resolve().parents[2] / "flows" / "profiles")


def test_the_set_is_large_and_every_label_names_something_real() -> None:
    examples = load_set()
    assert len(examples) >= 300
    # The inbound desks; Telkom's caring conversations start with our campaign message.
    assert {e.profile for e in examples} == set(PROFILES) - {"telkom"}
    for e in examples:
        profile = PROFILES[e.profile]
        if e.label.startswith("faq:"):
            assert e.label[4:] in {f.id for f in profile.faq}, e
        elif e.label.startswith("step:"):
            assert e.label[5:] in {s.id for s in profile.troubleshooting}, e
        else:
            assert e.label in {"human", "none"}, e


def test_the_targets_hold() -> None:
    tallies, misses = evaluate(load_set(), PROFILES)
    total = tallies["all"]
    assert total.faq_right / total.faq_predicted >= 0.9, misses
    assert total.faq_right / total.faq_labelled >= 0.8, misses
    assert total.human_right / total.human_labelled >= 0.95, misses
