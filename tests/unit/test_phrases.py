from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError
from jinja2.exceptions import SecurityError

from chatbot.frontdesk.phrases import LOCALES, PhraseBook
from flows import phrase_keys as keys


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("key", keys.ALL)
def test_every_flow_phrase_exists_and_renders(phrases: PhraseBook, key: str, locale: str) -> None:
    assert phrases.has(key, locale), phrases.path_of(key, locale)
    assert phrases.render(key, locale, keys.SAMPLE_VARIABLES[key]).strip()


def test_every_phrase_file_is_a_known_key(phrases: PhraseBook) -> None:
    root = phrases.path_of("x.y", "id").parents[1]
    found = {f"{p.parent.name}.{p.stem}" for p in root.glob("*/*.j2")}
    assert found == set(keys.ALL)


def test_a_missing_variable_is_an_error_not_a_blank(phrases: PhraseBook) -> None:
    with pytest.raises(UndefinedError):
        phrases.render(keys.ask_field("name"), "id", {})


def test_unknown_locales_fall_back_to_indonesian(phrases: PhraseBook) -> None:
    assert phrases.render(keys.CHRONOLOGY_RECEIVED, "fr", {}) == phrases.render(
        keys.CHRONOLOGY_RECEIVED, "id", {}
    )


def test_a_phrase_file_reaching_python_internals_is_refused_by_the_sandbox(
    tmp_path: Path,
) -> None:
    phrase = tmp_path / "id" / "greeting" / "salam.j2"
    phrase.parent.mkdir(parents=True)
    phrase.write_text("{{ ''.__class__.__mro__ }}", encoding="utf-8")
    with pytest.raises(SecurityError):
        PhraseBook(tmp_path).render(keys.GREETING_SALAM, "id", {})
