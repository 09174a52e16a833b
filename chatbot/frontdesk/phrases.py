"""The phrase book: every sentence the bot says, as sandboxed jinja2 templates per locale."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

logger = logging.getLogger(__name__)

LOCALES = ("id", "en")
FALLBACK_LOCALE = "id"


class Override(Protocol):
    """An admin's text for one phrase, compiled in the hardened sandbox (frontdesk/sandbox.py)."""

    def render(self, variables: Mapping[str, object]) -> str:
        """Fill in the text; raises on any failure or when a bound is crossed."""
        ...


class OverrideSource(Protocol):
    """Where admin overrides come from; hands out compiled templates, never raw source."""

    def template(self, key: str, locale: str) -> Override | None:
        """The override in force for this phrase, if any."""
        ...


class PhraseBook:
    """What the bot says: admin overrides first, else scripts_text/<locale>/<step>/<what>.j2."""

    def __init__(self, root: Path, overrides: OverrideSource | None = None) -> None:
        # Sandboxed even for files: the same texts become admin-editable.
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader(root),
            undefined=StrictUndefined,
            autoescape=False,  # chat text, not HTML; pages escape it themselves
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._root = root
        self._cache: dict[tuple[str, str], Template] = {}
        self._fixed: dict[tuple[str, str], str] = {}  # file defaults rendered without variables
        self._overrides = overrides

    def path_of(self, key: str, locale: str) -> Path:
        """Where the default text of a phrase lives."""
        step, _, what = key.partition(".")
        return self._root / locale / step / f"{what}.j2"

    def has(self, key: str, locale: str) -> bool:
        """Whether the phrase exists in that locale."""
        return self.path_of(key, locale).is_file()

    def default_source(self, key: str, locale: str) -> str:
        """The file default's template text, as an admin edits it (no trailing newline).

        Raises:
            FileNotFoundError: the phrase has no file in that locale.
        """
        return self.path_of(key, locale).read_text(encoding="utf-8").rstrip()

    def render(self, key: str, locale: str, variables: Mapping[str, object]) -> str:
        """The phrase in `locale` (Indonesian when there is no such locale), filled in.

        An admin override that fails in any way (a bound crossed, a missing variable, an
        empty result) is logged and the file default is used: admin text never breaks a
        conversation.

        Raises:
            TemplateNotFound: the key exists in no locale; a flow bug caught by tests.
            UndefinedError: a variable the default text needs was not passed.
        """
        if locale not in LOCALES:
            locale = FALLBACK_LOCALE
        override = self._overrides.template(key, locale) if self._overrides else None
        if override is not None:
            try:
                text = override.render(variables).strip()
            except Exception:  # admin text is untrusted: whatever it raises, fall back
                logger.exception("Override of %s/%s failed; using the default text.", locale, key)
            else:
                if text:
                    return text
                logger.error("Override of %s/%s rendered empty; using the default.", locale, key)
        if variables:
            return self._template(key, locale).render(variables).strip()
        fixed = self._fixed.get((key, locale))
        if fixed is None:  # most replies name nothing: render their file text once
            fixed = self._fixed[(key, locale)] = self._template(key, locale).render().strip()
        return fixed

    def _template(self, key: str, locale: str) -> Template:
        cached = self._cache.get((key, locale))
        if cached is None:
            step, _, what = key.partition(".")
            try:
                cached = self._env.get_template(f"{locale}/{step}/{what}.j2")
            except TemplateNotFound:
                if locale == FALLBACK_LOCALE:
                    raise
                logger.warning("Phrase %s has no %s text; using Indonesian.", key, locale)
                cached = self._template(key, FALLBACK_LOCALE)
            self._cache[(key, locale)] = cached
        return cached
