from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flows.profiles.schema import ProfileError, load_profile, load_profiles
from tests.loket_cli import child_env

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "flows" / "profiles" / "erzap.yaml").read_text(encoding="utf-8")


def test_every_seed_business_has_a_profile() -> None:
    profiles = load_profiles(ROOT / "flows" / "profiles")
    assert {"erzap", "intera", "ctera", "panasea"} <= set(profiles)
    erzap = profiles["erzap"]
    assert {k: v.sla_minutes for k, v in erzap.categories.items()} == {
        "easy": 30,
        "normal": 120,
        "hard": 720,
    }
    assert erzap.escalation_areas == (
        "Back End",
        "POS",
        "Smart Repair",
        "BI",
        "Teams",
        "Sinkronisasi",
    )
    assert [f.key for f in profiles["intera"].fields] == ["name", "location", "proof"]


def test_faq_answers_break_lines_only_between_sentences_and_steps() -> None:
    """A line break inside a sentence shows in the client's chat bubble as a broken line."""
    broken = []
    for name, profile in load_profiles(ROOT / "flows" / "profiles").items():
        for entry in profile.faq:
            for locale in ("id", "en"):
                lines = getattr(entry.answer, locale).split("\n")
                for before, after in itertools.pairwise(lines):
                    if not re.search(r"[.!?:)]$", before.rstrip()) and not re.match(
                        r"(\d+[.)]|[-•*]) ", after
                    ):
                        broken.append(f"{name} {entry.id} ({locale}): {before[-30:]!r}")
                    if after.startswith(" "):
                        broken.append(f"{name} {entry.id} ({locale}): indented {after[:30]!r}")
    assert broken == []


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (GOOD.replace("sla_minutes: 120", "sla_minutes: -5"), "categories.normal.sla_minutes"),
        (GOOD.replace("kind: name", "kind: nickname"), "fields.0.kind"),
        (GOOD.replace("desk_name: HaloERZAP\n", ""), "desk_name"),
        (GOOD.replace("  hard:\n", "  harder:\n"), "categories"),
        ("name: [unclosed", "not valid YAML"),
    ],
)
def test_a_malformed_profile_names_the_file_and_the_field(
    tmp_path: Path, broken: str, named: str
) -> None:
    path = tmp_path / "erzap.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert str(path) in str(caught.value)
    assert named in str(caught.value)


def test_loket_refuses_to_start_on_a_malformed_profile(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "erzap.yaml").write_text(GOOD.replace("kind: text", "kind: txt"), "utf-8")
    env = child_env(
        LOKET_DATABASE_URL=f"sqlite:///{tmp_path}/x.db", LOKET_PROFILES_DIR=str(profiles)
    )
    done = subprocess.run(
        [sys.executable, "-m", "chatbot", "cases"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0  # `cases` needs no profile ...
    done = subprocess.run(
        [sys.executable, "-m", "chatbot", "chat"],
        env=env,
        cwd=tmp_path,
        input="halo\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2  # ... but the desk does
    assert "erzap.yaml" in done.stderr
    assert "fields.1.kind" in done.stderr
