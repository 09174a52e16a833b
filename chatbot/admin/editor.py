"""Validated admin edits: phrase versions, history, revert, reset, import/export; profile settings.

Every change is a new version row plus a bump of the revision counter, in one transaction;
nothing is ever updated in place, so history is complete and a revert is just another save.
The web pages and `loket phrases import` both go through here, so they validate alike.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import Connection, Engine, RowMapping

from chatbot.clock import Clock
from chatbot.errors import PhraseRejected, SettingsRejected, UnknownPhrase
from chatbot.frontdesk.phrases import LOCALES, PhraseBook
from chatbot.frontdesk.sandbox import TemplateRejected, check_phrase
from db import admin_queries
from db.engine import as_utc, read
from flows import phrase_keys
from flows.profiles.schema import (
    EditableSettings,
    Profile,
    apply_settings,
    describe_errors,
    editable_settings,
)


def normalize(text: str) -> str:
    """The form in which texts are compared and stored: LF line ends, no trailing blanks."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()


def unified_diff(before: str, after: str, before_name: str, after_name: str) -> str:
    """A unified diff of two texts, line by line, for the history pages."""
    return "\n".join(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), before_name, after_name, lineterm=""
        )
    )


class _BlockDumper(yaml.SafeDumper):
    """YAML with multi-line texts as `|` blocks, so they read as they will be said."""


def _str_block(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_block)


def to_yaml(data: object) -> str:
    """YAML for people: key order kept, unicode as is, no folding, multi-line texts as blocks."""
    return yaml.dump(data, Dumper=_BlockDumper, allow_unicode=True, sort_keys=False, width=10**6)


class _PlainLoader(yaml.SafeLoader):
    """safe_load without aliases: `*x` repeated in `*x` lists is billions of items (YAML bomb)."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed here", event.start_mark
            )
        return super().compose_node(parent, index)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def load_data(text: str, kind: str) -> object:
    """The data of a JSON or YAML text given by a person (a phrase file, the FAQ field).

    Raises:
        ValueError: not valid JSON or YAML, nested too deeply, or YAML with aliases; the
            message is one line.
    """
    try:
        if kind == "json":
            return json.loads(text)
        return yaml.load(text, Loader=_PlainLoader)  # noqa: S506  # a SafeLoader, aliases refused
    except RecursionError:
        raise ValueError(f"not valid {kind.upper()}: nested too deeply") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"not valid {kind.upper()}: {_one_line(exc)}") from exc


PHRASE_FILE_KINDS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def phrase_file_kind(path: Path) -> str | None:
    """'json' or 'yaml' by the file name's ending, or None for another ending."""
    return PHRASE_FILE_KINDS.get(path.suffix.lower())


def read_phrase_set(text: str, kind: str) -> object:
    """The data of a phrase file's text (`kind` is 'json' or 'yaml'), not yet checked.

    Raises:
        PhraseRejected: the text is not valid JSON or YAML (one problem, naming no phrase).
    """
    try:
        return load_data(text, kind)
    except ValueError as exc:
        raise PhraseRejected([("-", "-", None, str(exc))]) from exc


@dataclass(frozen=True, slots=True)
class PhraseState:
    """One phrase in one locale as the editor lists it."""

    key: str
    locale: str
    text: str  # in force now
    default: str  # the file's text
    variables: tuple[str, ...]  # what the flows pass, so what the text may use
    version: int | None  # the version in force; None when it is the file default

    @property
    def overridden(self) -> bool:
        """Whether an admin's text is in force."""
        return self.version is not None


@dataclass(frozen=True, slots=True)
class Version:
    """One saved version, with the diff from the text in force before it."""

    id: int
    text: str
    author: str
    created_at: datetime | None
    is_reset: bool
    reverted_from: int | None
    diff: str


class PhraseEditor:
    """Reads and changes phrase overrides; every write is validated first."""

    def __init__(self, engine: Engine, phrases: PhraseBook, clock: Clock) -> None:
        self._engine = engine
        self._phrases = phrases
        self._clock = clock

    @staticmethod
    def keys() -> tuple[str, ...]:
        """Every phrase key the flows use."""
        return phrase_keys.ALL

    @staticmethod
    def variables(key: str) -> tuple[str, ...]:
        """The variables a phrase may use: what the flows pass to it.

        Raises:
            UnknownPhrase: no phrase has that key.
        """
        if key not in phrase_keys.SAMPLE_VARIABLES:
            raise UnknownPhrase(f"no phrase '{key}'")
        return tuple(sorted(phrase_keys.SAMPLE_VARIABLES[key]))

    def _check_key(self, key: str, locale: str) -> None:
        self.variables(key)
        if locale not in LOCALES:
            raise UnknownPhrase(f"no locale '{locale}'; known: {', '.join(LOCALES)}")

    def default(self, key: str, locale: str) -> str:
        """The file default's text (Indonesian when the locale has no file)."""
        self._check_key(key, locale)
        if not self._phrases.has(key, locale):
            locale = "id"
        return self._phrases.default_source(key, locale)

    def states(self) -> list[PhraseState]:
        """Every phrase in every locale, with the text in force."""
        with read(self._engine) as conn:
            current = {(r["key"], r["locale"]): r for r in admin_queries.current_phrases(conn)}
        return [
            self._state(key, locale, current.get((key, locale)))
            for key in self.keys()
            for locale in LOCALES
        ]

    def state(self, key: str, locale: str) -> PhraseState:
        """One phrase in one locale.

        Raises:
            UnknownPhrase: no such key or locale.
        """
        self._check_key(key, locale)
        with read(self._engine) as conn:
            return self._state(key, locale, self._latest(conn, key, locale))

    def _state(self, key: str, locale: str, latest: RowMapping | None) -> PhraseState:
        default = self.default(key, locale)
        if latest is None or latest["is_reset"]:
            return PhraseState(key, locale, default, default, self.variables(key), None)
        return PhraseState(
            key, locale, latest["text"], default, self.variables(key), int(latest["id"])
        )

    @staticmethod
    def _latest(conn: Connection, key: str, locale: str) -> RowMapping | None:
        history = admin_queries.phrase_history(conn, key=key, locale=locale)
        return history[0] if history else None

    def check(self, key: str, locale: str, text: str) -> str:
        """Validate a text as saving would, and return its preview with sample values.

        Raises:
            UnknownPhrase: no such key or locale.
            PhraseRejected: why the text cannot be saved, with the line when known.
        """
        self._check_key(key, locale)
        try:
            _, preview = check_phrase(
                normalize(text), self.variables(key), phrase_keys.SAMPLE_VARIABLES[key]
            )
        except TemplateRejected as exc:
            raise PhraseRejected([(locale, key, exc.line, exc.reason)]) from exc
        return preview

    def save(self, key: str, locale: str, text: str, author: str) -> int | None:
        """Save a new version after validating it; None when the text is already in force.

        Raises:
            UnknownPhrase: no such key or locale.
            PhraseRejected: the text is invalid; nothing changed.
        """
        text = normalize(text)
        self.check(key, locale, text)
        with self._engine.begin() as conn:
            return self._write(conn, key, locale, text, author)

    def _write(
        self,
        conn: Connection,
        key: str,
        locale: str,
        text: str,
        author: str,
        reverted_from: int | None = None,
    ) -> int | None:
        if self._state(key, locale, self._latest(conn, key, locale)).text == text:
            return None
        version = admin_queries.add_phrase_version(
            conn,
            key=key,
            locale=locale,
            text=text,
            author=author,
            now=self._clock.now(),
            reverted_from=reverted_from,
        )
        admin_queries.bump_revision(conn)
        return version

    def revert(self, key: str, locale: str, version_id: int, author: str) -> int | None:
        """Bring back the text of an earlier version, as a new version (validated again).

        Raises:
            UnknownPhrase: no such key, locale or version of this phrase.
            PhraseRejected: the old text is no longer valid (e.g. a variable was removed).
        """
        self._check_key(key, locale)
        with read(self._engine) as conn:
            old = admin_queries.get_phrase_version(conn, version_id=version_id)
        if old is None or (old["key"], old["locale"]) != (key, locale):
            raise UnknownPhrase(f"{locale}/{key} has no version {version_id}")
        if old["is_reset"]:
            return self.reset(key, locale, author)
        self.check(key, locale, old["text"])
        with self._engine.begin() as conn:
            return self._write(conn, key, locale, old["text"], author, reverted_from=version_id)

    def reset(self, key: str, locale: str, author: str) -> int | None:
        """Return to the file default; None when no override was in force."""
        self._check_key(key, locale)
        with self._engine.begin() as conn:
            if self._state(key, locale, self._latest(conn, key, locale)).version is None:
                return None
            version = admin_queries.add_phrase_version(
                conn,
                key=key,
                locale=locale,
                text=self.default(key, locale),  # kept so the history can show the diff
                author=author,
                now=self._clock.now(),
                is_reset=True,
            )
            admin_queries.bump_revision(conn)
            return version

    def history(self, key: str, locale: str) -> list[Version]:
        """Every version of the phrase, newest first, each with its diff."""
        self._check_key(key, locale)
        with read(self._engine) as conn:
            rows = admin_queries.phrase_history(conn, key=key, locale=locale)
        before, before_name = self.default(key, locale), "default"
        versions: list[Version] = []
        for row in reversed(rows):
            name = f"v{row['id']}" + (" (default)" if row["is_reset"] else "")
            versions.append(
                Version(
                    id=int(row["id"]),
                    text=row["text"],
                    author=row["author"],
                    created_at=as_utc(row["created_at"]),
                    is_reset=bool(row["is_reset"]),
                    reverted_from=row["reverted_from"],
                    diff=unified_diff(before, row["text"], before_name, name),
                )
            )
            before, before_name = row["text"], name
        return versions[::-1]

    def export(self) -> dict[str, dict[str, str]]:
        """Every phrase's text in force, as `{locale: {key: text}}`."""
        exported: dict[str, dict[str, str]] = {locale: {} for locale in LOCALES}
        for state in self.states():
            exported[state.locale][state.key] = state.text
        return exported

    def check_phrase_set(self, data: object) -> list[tuple[str, str, str]]:
        """Check a whole phrase set as importing would; returns (locale, key, text) to save.

        Raises:
            PhraseRejected: every problem found (unknown locale or key, a non-text value, an
                invalid template).
        """
        problems: list[tuple[str, str, int | None, str]] = []
        texts: list[tuple[str, str, str]] = []
        if not isinstance(data, Mapping):
            raise PhraseRejected([("-", "-", None, "the file must map locales to phrases")])
        for locale, phrases in data.items():
            if locale not in LOCALES:
                problems.append((str(locale), "-", None, f"unknown locale; known: {LOCALES}"))
                continue
            if not isinstance(phrases, Mapping):
                problems.append((locale, "-", None, "must map phrase keys to texts"))
                continue
            for key, text in phrases.items():
                if key not in phrase_keys.SAMPLE_VARIABLES:
                    problems.append((locale, str(key), None, "unknown phrase key"))
                elif not isinstance(text, str):
                    problems.append((locale, key, None, "the text must be a string"))
                else:
                    try:
                        self.check(key, locale, text)
                    except PhraseRejected as exc:
                        problems.extend(exc.problems)
                    texts.append((locale, key, normalize(text)))
        if problems:
            raise PhraseRejected(problems)
        return texts

    def import_phrases(self, data: object, author: str) -> list[tuple[str, str]]:
        """Save a whole phrase set, all or nothing; returns the (locale, key) pairs changed.

        Raises:
            PhraseRejected: every problem found (see `check_phrase_set`); nothing was saved.
        """
        texts = self.check_phrase_set(data)
        changed: list[tuple[str, str]] = []
        with self._engine.begin() as conn:  # one transaction: all or nothing
            for locale, key, text in texts:
                if self._write(conn, key, locale, text, author) is not None:
                    changed.append((locale, key))
        return changed


@dataclass(frozen=True, slots=True)
class ProfileVersionView:
    """One saved set of profile settings, with its diff from the set before."""

    id: int
    author: str
    created_at: datetime | None
    is_reset: bool
    diff: str


def settings_text(settings: EditableSettings) -> str:
    """Settings as stable, readable JSON (what is stored and diffed)."""
    return json.dumps(settings.model_dump(mode="json"), ensure_ascii=False, indent=2)


CATEGORIES = ("easy", "normal", "hard")


def settings_form(settings: EditableSettings) -> dict[str, str]:
    """The settings as the fields of the /admin/profile form."""
    return {
        "welcome_id": settings.welcome.id,
        "welcome_en": settings.welcome.en,
        **{f"sla_{name}": str(minutes) for name, minutes in settings.sla_minutes.items()},
        "first_response_minutes": str(settings.first_response_minutes),
        "auto_close_minutes": str(settings.auto_close_minutes),
        "backlog_limit": str(settings.backlog_limit),
        "escalation_areas": "\n".join(settings.escalation_areas),
        "faq": to_yaml([e.model_dump(mode="json") for e in settings.faq]) if settings.faq else "",
    }


def settings_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The fields of the /admin/profile form as data for `ProfileEditor.validate`.

    Raises:
        SettingsRejected: the FAQ field is not valid YAML.
    """
    try:
        faq = load_data(form.get("faq", ""), "yaml") or []
    except ValueError as exc:
        raise SettingsRejected(f"field 'faq': {exc}") from exc
    return {
        "welcome": {"id": form.get("welcome_id", ""), "en": form.get("welcome_en", "")},
        "sla_minutes": {name: form.get(f"sla_{name}", "") for name in CATEGORIES},
        "first_response_minutes": form.get("first_response_minutes", ""),
        "auto_close_minutes": form.get("auto_close_minutes", ""),
        "backlog_limit": form.get("backlog_limit", ""),
        "escalation_areas": [
            line.strip() for line in form.get("escalation_areas", "").splitlines() if line.strip()
        ],
        "faq": faq,
    }


class ProfileEditor:
    """Reads and changes the editable settings of the desk profiles, validated by pydantic."""

    def __init__(self, engine: Engine, profiles: Mapping[str, Profile], clock: Clock) -> None:
        self._engine = engine
        self._profiles = dict(profiles)
        self._clock = clock

    def names(self) -> list[str]:
        """The profiles, by name."""
        return sorted(self._profiles)

    def _base(self, name: str) -> Profile:
        if name not in self._profiles:
            raise SettingsRejected(f"no profile '{name}'; known: {', '.join(self.names())}")
        return self._profiles[name]

    def current(self, name: str) -> tuple[EditableSettings, int | None]:
        """The settings in force and the version they come from (None: the file)."""
        base = self._base(name)
        with read(self._engine) as conn:
            history = admin_queries.profile_history(conn, profile=name)
        if history and not history[0]["is_reset"]:
            try:
                stored = json.loads(history[0]["settings_json"])
                return EditableSettings.model_validate(stored), int(history[0]["id"])
            except ValueError:  # ValidationError too; the desk falls back to the file alike
                pass
        return editable_settings(base), None

    def with_settings(self, name: str, settings: EditableSettings) -> Profile:
        """The profile as the desk would run it with these settings (the FAQ form's trials)."""
        return apply_settings(self._base(name), settings)

    def validate(self, name: str, data: Mapping[str, Any]) -> EditableSettings:
        """Check settings as saving would.

        Raises:
            SettingsRejected: what is wrong, naming each field.
        """
        base = self._base(name)
        try:
            settings = EditableSettings.model_validate(data)
            apply_settings(base, settings)
        except ValidationError as exc:
            raise SettingsRejected(describe_errors(exc)) from exc
        return settings

    def save(self, name: str, data: Mapping[str, Any], author: str) -> int | None:
        """Save validated settings as a new version; None when nothing changed.

        Raises:
            SettingsRejected: what is wrong, naming each field; nothing changed.
        """
        settings = self.validate(name, data)
        if settings == self.current(name)[0]:
            return None
        with self._engine.begin() as conn:
            version = admin_queries.add_profile_version(
                conn,
                profile=name,
                settings_json=settings_text(settings),
                author=author,
                now=self._clock.now(),
            )
            admin_queries.bump_revision(conn)
        return version

    def reset(self, name: str, author: str) -> int | None:
        """Return to the profile file's settings; None when they are already in force."""
        _, version = self.current(name)
        if version is None:
            return None
        with self._engine.begin() as conn:
            reset = admin_queries.add_profile_version(
                conn,
                profile=name,
                settings_json=settings_text(editable_settings(self._base(name))),
                author=author,
                now=self._clock.now(),
                is_reset=True,
            )
            admin_queries.bump_revision(conn)
        return reset

    def history(self, name: str) -> list[ProfileVersionView]:
        """Every saved version, newest first, each with its diff."""
        before = settings_text(editable_settings(self._base(name)))
        before_name = "file"
        with read(self._engine) as conn:
            rows: Sequence[RowMapping] = admin_queries.profile_history(conn, profile=name)
        views: list[ProfileVersionView] = []
        for row in reversed(rows):
            label = f"v{row['id']}" + (" (file)" if row["is_reset"] else "")
            views.append(
                ProfileVersionView(
                    id=int(row["id"]),
                    author=row["author"],
                    created_at=as_utc(row["created_at"]),
                    is_reset=bool(row["is_reset"]),
                    diff=unified_diff(before, row["settings_json"], before_name, label),
                )
            )
            before, before_name = row["settings_json"], label
        return views[::-1]
