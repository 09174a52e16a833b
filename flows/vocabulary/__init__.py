"""The words the guards listen for: per-locale YAML data, checked and merged at start.

Each `flows/vocabulary/<locale>.yaml` holds one locale's slang, word lists and phrases. All
files are merged into one `Lexicon`, because clients mix languages: an Indonesian desk hears
"please" and "thanks" too. `flows/guards.py` is the small matcher over it. Loading refuses
what could never match (an upper-case word, a word the tokenizer would split, a slang
spelling in a list of standard words), naming the file, the field and the word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from flows.yaml_files import read_yaml

# A word as the guards see it: letters and digits, joined by at most one ' . or - ("wi-fi").
WORD = re.compile(r"[^\W_]+(?:[.'-][^\W_]+)*", re.UNICODE)


class VocabularyError(ValueError):
    """A vocabulary file Loket cannot use; the message names the file, field and word."""


def _check_words(values: list[str], field: str = "") -> list[str]:
    bad = [v for v in values if v != v.lower() or not WORD.fullmatch(v)]
    if bad:
        raise ValueError(f"{field}: not one lower-case word each: {bad}".lstrip(": "))
    return values


def _check_phrases(values: list[str], field: str = "") -> list[str]:
    for phrase in values:
        _check_words(phrase.split(" "), field)  # a stray space leaves an empty word, refused
    return values


class WordLists(BaseModel):
    """Lists of single standard words (matched after slang is replaced); see the YAML notes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    greeting: list[str] = Field(default=[], description="a message of only these just greets")
    salutation: list[str] = Field(default=[], description="greetings proper")
    salam: list[str] = Field(default=[], description="the Islamic greeting, answered in kind")
    filler: list[str] = Field(default=[], description="add nothing to a request for a person")
    human: list[str] = Field(default=[], description="who a client asks for")
    human_ask: list[str] = Field(default=[], description="verbs of asking for a person")
    connect: list[str] = Field(default=[], description="asking to be put through")
    address_only: list[str] = Field(default=[], description="only address the desk")
    cancelled_thing: list[str] = Field(default=[], description="things that get cancelled")
    solved: list[str] = Field(default=[], description="the client confirms it is solved")
    not_solved: list[str] = Field(default=[], description="the client says it is not solved")
    nothing_wrong: list[str] = Field(default=[], description='after "tidak": nothing is wrong')
    skip: list[str] = Field(default=[], description="declining a survey comment")
    skip_companion: list[str] = Field(default=[], description="may come with a skip")
    story: list[str] = Field(default=[], description="never in a name: the client tells a story")
    affiliation: list[str] = Field(default=[], description='"Ratna dari PT Maju"')
    thanks: list[str] = Field(default=[], description="only thanks: no new case")
    thanks_companion: list[str] = Field(default=[], description="may come with thanks")
    rating_companion: list[str] = Field(default=[], description="may surround a written rating")
    intent: list[str] = Field(default=[], description="an intent to report, not the report")
    pointer: list[str] = Field(default=[], description="point at a file sent with the text")
    # A returning client asked whether their earlier data still holds (docs/office-hours.md).
    data_still: list[str] = Field(default=[], description="earlier data still holds")
    data_changed: list[str] = Field(default=[], description="earlier data no longer holds")

    @model_validator(mode="after")
    def _one_word_each(self) -> WordLists:
        for name in type(self).model_fields:
            _check_words(getattr(self, name), name)
        return self


class PhraseLists(BaseModel):
    """Phrases of standard words, matched as whole words in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cancel: list[str] = Field(default=[], description="the client calls the case off")
    self_fixed: list[str] = Field(default=[], description="the problem went away by itself")
    refuse_bot: list[str] = Field(default=[], description="refusing the bot asks for a person")
    office_hours: list[str] = Field(default=[], description="asks when the desk is open")

    @model_validator(mode="after")
    def _words_each(self) -> PhraseLists:
        for name in type(self).model_fields:
            _check_phrases(getattr(self, name), name)
        return self


class VocabularyFile(BaseModel):
    """One `<locale>.yaml` as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    locale: str = Field(pattern=r"^[a-z]{2}$")
    language_markers: list[str] = []
    slang: dict[str, str] = {}
    rating_numbers: dict[str, int] = {}
    words: WordLists = WordLists()
    phrases: PhraseLists = PhraseLists()
    not_a_secret: list[str] = []

    @field_validator("language_markers", "not_a_secret")
    @classmethod
    def _as_typed(cls, value: list[str]) -> list[str]:
        return _check_words(value)

    @field_validator("slang")
    @classmethod
    def _slang_is_word_to_words(cls, value: dict[str, str]) -> dict[str, str]:
        _check_words(list(value))
        for standard in value.values():
            _check_words(standard.split(" "))
        return value

    @field_validator("rating_numbers")
    @classmethod
    def _ratings_are_one_to_five(cls, value: dict[str, int]) -> dict[str, int]:
        _check_words(list(value))
        if any(not 1 <= n <= 5 for n in value.values()):
            raise ValueError("ratings are 1 to 5")
        return value


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Every locale's vocabulary merged: what the guards match against."""

    locales: tuple[str, ...]
    slang: Mapping[str, str]
    rating_numbers: Mapping[str, int]
    words: Mapping[str, frozenset[str]]
    phrases: Mapping[str, tuple[str, ...]]
    not_a_secret: frozenset[str]
    language_markers: Mapping[str, frozenset[str]]
    files: Mapping[str, VocabularyFile]  # as written, for /admin


def read_file(source: Traversable) -> VocabularyFile:
    """One vocabulary file, checked; a problem names the file and the field."""
    try:
        data = read_yaml(source.read_text(encoding="utf-8"))
        return VocabularyFile.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise VocabularyError(f"{source.name}: {exc}") from exc


def merge(vocabularies: Iterable[tuple[str, VocabularyFile]]) -> Lexicon:
    """Merge locale files into one Lexicon; refuse slang that disagrees or can never match.

    Raises:
        VocabularyError: two files map one spelling differently, or a list of standard
            words holds a slang spelling (it is replaced before lists are looked at).
    """
    named = dict(vocabularies)
    slang: dict[str, str] = {}
    for name, vocabulary in named.items():
        for spelling, standard in vocabulary.slang.items():
            if slang.setdefault(spelling, standard) != standard:
                raise VocabularyError(f"{name}: slang.{spelling} disagrees with another locale")
    problems = [
        f"{name}: {field}: '{word}' is slang for '{slang[word]}'; list the standard word"
        for name, vocabulary in named.items()
        for field, phrases in [
            *((f"words.{k}", v) for k, v in vocabulary.words.model_dump().items()),
            *((f"phrases.{k}", v) for k, v in vocabulary.phrases.model_dump().items()),
            ("rating_numbers", list(vocabulary.rating_numbers)),
        ]
        for phrase in phrases
        for word in phrase.split(" ")
        if word in slang
    ]
    if problems:
        raise VocabularyError("\n".join(problems))
    files_ = list(named.values())
    return Lexicon(
        locales=tuple(v.locale for v in files_),
        slang=MappingProxyType(slang),
        rating_numbers=MappingProxyType(
            {k: n for v in files_ for k, n in v.rating_numbers.items()}
        ),
        words=MappingProxyType(
            {
                key: frozenset(w for v in files_ for w in getattr(v.words, key))
                for key in WordLists.model_fields
            }
        ),
        phrases=MappingProxyType(
            {
                key: tuple(p for v in files_ for p in getattr(v.phrases, key))
                for key in PhraseLists.model_fields
            }
        ),
        not_a_secret=frozenset(w for v in files_ for w in v.not_a_secret),
        language_markers=MappingProxyType(
            {v.locale: frozenset(v.language_markers) for v in files_}
        ),
        files=MappingProxyType(named),
    )


def load(directory: Traversable | None = None) -> Lexicon:
    """Every `*.yaml` of the directory (by default the one shipped in this package), merged.

    Raises:
        VocabularyError: a file is malformed or the files disagree (see `merge`).
    """
    root = directory if directory is not None else files("flows") / "vocabulary"
    sources = sorted((f for f in root.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    return merge((f.name, read_file(f)) for f in sources)
