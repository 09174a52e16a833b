"""How well the front desk understands first messages: FAQ matching and requests for a person.

Reads the hand-labelled set bench/understanding_set.tsv (client first messages per profile,
each an FAQ entry, a troubleshooting step, a request for a person, or none) and prints, per
profile and overall, the precision and recall of FAQ matching (the entry must be the right
one), the recall and precision of human-request detection, troubleshooting-step accuracy, and
the time per message of the whole reading (classification, person, language). Targets:
FAQ precision >= 0.9 and recall >= 0.8, human recall >= 0.95, < 1 ms a message.

Usage: python -m bench.understanding [--repeat 20] [--misses]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from flows import classify
from flows.profiles.schema import Profile, load_profiles
from flows.understanding import language, people

ROOT = Path(__file__).resolve().parents[1]
SET = Path(__file__).with_name("understanding_set.tsv")


@dataclass(frozen=True)
class Example:
    """One labelled first message."""

    profile: str
    label: str
    text: str


def load_set(path: Path = SET) -> list[Example]:
    """The labelled messages; lines starting with '#' are comments."""
    out: list[Example] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path}:{number}: expected profile, label, text (tab-separated)")
        out.append(Example(*parts))
    return out


@dataclass
class Tally:
    """Counts for one profile (or all)."""

    faq_labelled: int = 0
    faq_predicted: int = 0
    faq_right: int = 0
    human_labelled: int = 0
    human_predicted: int = 0
    human_right: int = 0
    steps_labelled: int = 0
    steps_right: int = 0
    total: int = 0


def read(example: Example, profile: Profile) -> tuple[str | None, str | None, bool]:
    """What the desk makes of one message: FAQ id, step id, asks for a person."""
    human = people.is_human_request(example.text)
    language.detect(example.text)
    found = classify.classify(example.text, profile)
    step = classify.troubleshooting_for(example.text, profile)
    return (found.faq.id if found.faq else None), (step.id if step else None), human


def evaluate(
    examples: list[Example], profiles: dict[str, Profile]
) -> tuple[dict[str, Tally], list[str]]:
    """Counts per profile (and "all"), and a line per wrong reading."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    misses: list[str] = []
    for ex in examples:
        faq, step, human = read(ex, profiles[ex.profile])
        for t in (tallies[ex.profile], tallies["all"]):
            t.total += 1
            if ex.label.startswith("faq:"):
                t.faq_labelled += 1
                t.faq_right += faq == ex.label[4:]
            if faq is not None and ex.label != "human":
                t.faq_predicted += 1
            if ex.label.startswith("step:"):
                t.steps_labelled += 1
                t.steps_right += step == ex.label[5:]
            t.human_labelled += ex.label == "human"
            t.human_predicted += human
            t.human_right += human and ex.label == "human"
        wrong = (
            (ex.label.startswith("faq:") and faq != ex.label[4:])
            or ((ex.label == "none" or ex.label.startswith("step:")) and faq is not None)
            or (ex.label == "human") != human
            or (ex.label.startswith("step:") and step != ex.label[5:])
        )
        if wrong:
            misses.append(f"  {ex.profile:8} {ex.label:32} faq={faq} human={human}  {ex.text}")
    return tallies, misses


def ratio(num: int, den: int) -> str:
    """A ratio to three places, or n/a."""
    return f"{num / den:.3f}" if den else "n/a"


def main(argv: list[str] | None = None) -> int:
    """Run the set and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timing passes over the set")
    parser.add_argument("--misses", action="store_true", help="list every wrong reading")
    args = parser.parse_args(argv)

    profiles = load_profiles(ROOT / "flows" / "profiles")
    examples = load_set()
    first_started = time.perf_counter()
    tallies, misses = evaluate(examples, profiles)
    first_ms = (time.perf_counter() - first_started) * 1000 / len(examples)

    # Timing: the whole reading of every message, repeated, with the caches as warm as a
    # running desk's; the first reading above paid for building them.
    started = time.perf_counter()
    for _ in range(args.repeat):
        for ex in examples:
            read(ex, profiles[ex.profile])
    per_message_ms = (time.perf_counter() - started) * 1000 / (args.repeat * len(examples))

    print(f"labelled messages: {len(examples)} (bench/understanding_set.tsv)")
    print(
        f"{'profile':10}{'n':>5}{'faq P':>8}{'faq R':>8}{'human P':>9}{'human R':>9}{'steps':>8}"
    )
    for name in [*sorted(n for n in tallies if n != "all"), "all"]:
        t = tallies[name]
        print(
            f"{name:10}{t.total:>5}{ratio(t.faq_right, t.faq_predicted):>8}"
            f"{ratio(t.faq_right, t.faq_labelled):>8}"
            f"{ratio(t.human_right, t.human_predicted):>9}"
            f"{ratio(t.human_right, t.human_labelled):>9}"
            f"{ratio(t.steps_right, t.steps_labelled):>8}"
        )
    print(f"time per message, first reading (cold caches): {first_ms:.3f} ms")
    print(f"time per message: {per_message_ms:.3f} ms (mean of {args.repeat} more passes)")
    if args.misses:
        print(f"wrong readings ({len(misses)}):")
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
