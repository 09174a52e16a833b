"""The vocabulary files: shipped ones load, and mistakes are refused with file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import guards, vocabulary


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


def test_the_shipped_files_load_and_every_locale_marks_its_language() -> None:
    lexicon = vocabulary.load()
    assert set(lexicon.locales) == {"id", "en"}
    assert lexicon.language_markers["id"]
    assert lexicon.language_markers["en"]
    assert all(lexicon.words[name] for name in vocabulary.WordLists.model_fields)


def test_a_word_added_to_a_file_is_heard_by_the_guards(tmp_path: Path) -> None:
    write(tmp_path, "id.yaml", "locale: id\nslang: {mksh: terima kasih}\nwords: {human: [cs]}\n")
    write(tmp_path, "jv.yaml", "locale: jv\nwords: {human: [wong]}\n")
    lexicon = vocabulary.load(tmp_path)
    assert lexicon.words["human"] == {"cs", "wong"}  # every locale's words, merged
    assert lexicon.slang["mksh"] == "terima kasih"


def test_a_slang_spelling_in_a_list_of_standard_words_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "id.yaml", "locale: id\nslang: {gak: tidak}\nwords: {skip: [gak]}\n")
    with pytest.raises(vocabulary.VocabularyError, match=r"id.yaml: words.skip: 'gak' is slang"):
        vocabulary.load(tmp_path)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("locale: id\nwords: {greeting: [Halo]}\n", "words.greeting"),  # upper case
        ("locale: id\nwords: {greeting: ['halo kak']}\n", "words.greeting"),  # two words
        ("locale: id\nwords: {greting: [halo]}\n", "words.greting"),  # a misspelt list
        ("locale: id\nrating_numbers: {enam: 6}\n", "rating_numbers"),
        ("locale: id\nphrases: {cancel: ['tidak  jadi']}\n", "phrases.cancel"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_file_and_field(
    tmp_path: Path, text: str, field: str
) -> None:
    write(tmp_path, "id.yaml", text)
    with pytest.raises(vocabulary.VocabularyError) as refused:
        vocabulary.load(tmp_path)
    assert str(refused.value).startswith("id.yaml: ")
    assert all(part in str(refused.value) for part in field.split("."))


def test_two_locales_spelling_one_word_differently_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "locale: id\nslang: {tq: terima kasih}\n")
    write(tmp_path, "b.yaml", "locale: ms\nslang: {tq: tolong}\n")
    with pytest.raises(vocabulary.VocabularyError, match=r"slang\.tq disagrees"):
        vocabulary.load(tmp_path)


def test_the_guards_match_against_the_loaded_vocabulary() -> None:
    assert dict(guards.LEXICON.slang) == guards.SLANG
    assert guards.is_cancel("ga jadi kak")  # slang from id.yaml, phrase from phrases.cancel
    assert guards.is_cancel("never mind")  # a phrase from en.yaml
    assert guards.is_human_request("jangan bot, mau cs")
