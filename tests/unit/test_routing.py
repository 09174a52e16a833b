"""The bot's remote-or-visit suggestion, and the profiles' routing blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import phrase_keys as keys
from flows.classify import classify
from flows.profiles.schema import ProfileError, load_profile, load_profiles
from flows.routing import suggest

PROFILES = load_profiles(Path(__file__).resolve().parents[2] / "flows" / "profiles")
INTERA = PROFILES["intera"].routing


@pytest.mark.parametrize(
    ("story", "route", "reason"),
    [
        ("mesin wifi koin mati total sejak kemarin", "visit", "mati total"),
        ("kemarin hujan petir, mesinnya terbakar kak", "visit", "terbakar"),
        ("layar pecah kena bola anak-anak", "visit", "layar pecah"),
        ("voucher lemot, sudah restart mesin tapi tetap", "visit", "sudah restart"),
        ("voucher tidak keluar setelah masukkan koin", "remote", "not tried"),
        ("wifi lemot banget dari pagi", "remote", "not tried"),
    ],
)
def test_hardware_words_and_tried_steps_suggest_a_visit(
    story: str, route: str, reason: str
) -> None:
    assert INTERA is not None
    found = suggest(story, INTERA)
    assert found.route == route
    assert reason in found.text()


def test_only_intera_routes_and_its_steps_are_phrases() -> None:
    assert [name for name, p in PROFILES.items() if p.routing is not None] == ["intera"]
    assert INTERA is not None
    assert INTERA.technical_area in PROFILES["intera"].escalation_areas
    for step in INTERA.remote_steps:
        assert step.key in keys.ALL


def test_a_routing_block_without_remote_steps_is_refused(tmp_path: Path) -> None:
    source = (Path(__file__).resolve().parents[2] / "flows/profiles/intera.yaml").read_text()
    broken = (
        source.split("routing:")[0] + "routing:\n  hardware_words: [mati]\n  technical_area: IT\n"
    )
    path = tmp_path / "intera.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ProfileError, match=r"routing\.remote_steps"):
        load_profile(path)


def test_broken_hardware_is_never_an_faq_answer_on_a_routing_desk() -> None:
    intera = PROFILES["intera"]
    machine_faq = "layar mesinnya mati kak, gk nyala sama sekali"
    assert classify(machine_faq, intera).faq is not None  # the FAQ's advice, then "did it help?"
    burnt = "mesin mati total sejak pagi kak, tidak bisa nyala"
    assert classify(burnt, intera).faq is None  # Operations decides, not the FAQ
