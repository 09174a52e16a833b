"""Property tests: any phrase file or profile form is parsed or refused by name, never crashes.

The parsers under test are the ones `loket phrases import` and /admin/profile use
(chatbot/admin/editor.py). Hypothesis runs derandomized (the same examples on every run, so a
run on a loaded machine fails only if the code is wrong) and with no deadline (a slow machine
is not a failure).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine

from chatbot.admin.editor import (
    PhraseEditor,
    ProfileEditor,
    read_phrase_set,
    settings_form,
    settings_from_form,
)
from chatbot.errors import PhraseRejected, SettingsRejected
from chatbot.frontdesk.phrases import LOCALES, PhraseBook
from flows import phrase_keys
from flows.profiles.schema import EditableSettings, editable_settings, load_profile
from tests.clock import FrozenClock

ROOT = Path(__file__).resolve().parents[2]
ERZAP = editable_settings(load_profile(ROOT / "flows" / "profiles" / "erzap.yaml"))
PROPERTIES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# JSON-like values, and texts a phrase or a form field might hold (jinja and YAML syntax).
SYNTAX = st.sampled_from(
    ["{{", "}}", "{%", "%}", "{#", "#}", ":", "- ", "[", "]", "{", "}", "&a", "*a", "!!", "\n"]
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(SYNTAX, st.text(max_size=6)), max_size=12).map("".join),
    st.sampled_from(["{{ desk_name }}", "{{ nama }}", "{% for x in y %}", "{{ 'x' * 99 }}"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
KEYS = st.one_of(st.sampled_from(phrase_keys.ALL), TEXT)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
PHRASE_SETS = st.dictionaries(
    st.one_of(st.sampled_from(LOCALES), TEXT),
    st.one_of(st.dictionaries(KEYS, st.one_of(TEXT, JSONISH), max_size=4), JSONISH),
    max_size=3,
)


@pytest.fixture(scope="module")
def engine() -> Engine:
    """An engine the checks never use: parsing and validation need no database."""
    return create_engine("sqlite://")


@pytest.fixture(scope="module")
def phrase_editor(engine: Engine) -> PhraseEditor:
    return PhraseEditor(engine, PhraseBook(ROOT / "scripts_text"), FrozenClock())


@pytest.fixture(scope="module")
def profile_editor(engine: Engine) -> ProfileEditor:
    folder = ROOT / "flows" / "profiles"
    profiles = {p.stem: load_profile(p) for p in sorted(folder.glob("*.yaml"))}
    return ProfileEditor(engine, profiles, FrozenClock())


def _phrase_file(editor: PhraseEditor, text: str, kind: str) -> list[tuple[str, str, str]]:
    """What importing `text` would save, or [] when it is refused by name."""
    try:
        return editor.check_phrase_set(read_phrase_set(text, kind))
    except PhraseRejected as refused:
        problems = refused.problems
    assert problems
    assert all(reason for _, _, _, reason in problems)
    return []


@PROPERTIES
@given(text=st.one_of(st.text(), TEXT), kind=st.sampled_from(["json", "yaml"]))
def test_any_phrase_file_text_is_parsed_or_refused(
    phrase_editor: PhraseEditor, text: str, kind: str
) -> None:
    for locale, key, saved in _phrase_file(phrase_editor, text, kind):
        assert locale in LOCALES
        assert key in phrase_keys.SAMPLE_VARIABLES
        assert isinstance(saved, str)


@PROPERTIES
@given(data=PHRASE_SETS, kind=st.sampled_from(["json", "yaml"]))
def test_any_phrase_set_is_saved_as_checked_or_refused(
    phrase_editor: PhraseEditor, data: dict[Any, Any], kind: str
) -> None:
    text = json.dumps(data) if kind == "json" else yaml.safe_dump(data, allow_unicode=True)
    for locale, key, saved in _phrase_file(phrase_editor, text, kind):
        assert data[locale][key].replace("\r\n", "\n").replace("\r", "\n").rstrip() == saved


@pytest.mark.parametrize("kind", ["json", "yaml"])
@pytest.mark.parametrize("depth", [10, 1_000, 100_000])
def test_deeply_nested_phrase_files_are_refused(
    phrase_editor: PhraseEditor, kind: str, depth: int
) -> None:
    with pytest.raises(PhraseRejected):
        phrase_editor.check_phrase_set(read_phrase_set("[" * depth + "]" * depth, kind))


def test_a_real_phrase_set_passes(phrase_editor: PhraseEditor) -> None:
    text = json.dumps({"id": {phrase_keys.GREETING_SALAM: "Halo {{ desk_name }}"}})
    assert _phrase_file(phrase_editor, text, "json") == [
        ("id", phrase_keys.GREETING_SALAM, "Halo {{ desk_name }}")
    ]


FIELDS = (
    "welcome_id",
    "welcome_en",
    "sla_easy",
    "sla_normal",
    "sla_hard",
    "first_response_minutes",
    "auto_close_minutes",
    "backlog_limit",
    "escalation_areas",
    "faq",
)
FIELD_TEXT = st.one_of(
    TEXT,
    st.integers().map(str),
    st.sampled_from(["0", "-1", "1e3", "9" * 5000, " 15 ", "１５", "nan"]),
    JSONISH.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    st.lists(
        st.fixed_dictionaries(
            {"id": TEXT, "question": TEXT, "answer": TEXT},
            optional={"keywords": st.lists(TEXT, max_size=3), "extra": SCALARS},
        ),
        max_size=3,
    ).map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
)


def _validated(editor: ProfileEditor, form: dict[str, str]) -> EditableSettings | None:
    try:
        return editor.validate("erzap", settings_from_form(form))
    except SettingsRejected as refused:
        reason = str(refused)
    assert reason
    return None


@PROPERTIES
@given(form=st.dictionaries(st.one_of(st.sampled_from(FIELDS), TEXT), FIELD_TEXT, max_size=12))
def test_any_profile_form_is_validated_or_refused(
    profile_editor: ProfileEditor, form: dict[str, str]
) -> None:
    _validated(profile_editor, form)


@PROPERTIES
@given(field=st.sampled_from(FIELDS), value=FIELD_TEXT)
def test_one_changed_field_of_a_valid_form_is_validated_or_refused(
    profile_editor: ProfileEditor, field: str, value: str
) -> None:
    form = settings_form(ERZAP) | {field: value}
    done = _validated(profile_editor, form)
    if done is not None:  # what was accepted shows again as a form that is accepted alike
        assert _validated(profile_editor, settings_form(done)) == done


def test_the_profile_form_round_trips(profile_editor: ProfileEditor) -> None:
    assert _validated(profile_editor, settings_form(ERZAP)) == ERZAP


@pytest.mark.parametrize(
    "faq",
    [
        "[" * 5_000 + "]" * 5_000,
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n",
        "{{ not yaml",
    ],
)
def test_a_hostile_faq_field_is_refused_by_name(profile_editor: ProfileEditor, faq: str) -> None:
    form = settings_form(ERZAP) | {"faq": faq}
    with pytest.raises(SettingsRejected, match="field 'faq'"):
        profile_editor.validate("erzap", settings_from_form(form))
