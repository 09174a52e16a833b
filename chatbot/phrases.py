"""The phrase book: every sentence the bot says, as sandboxed jinja2 templates per locale."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

logger = logging.getLogger(__name__)

LOCALES = ("id", "en")
FALLBACK_LOCALE = "id"


class PhraseBook:
    """What the bot says: file defaults under scripts_text/<locale>/<step>/<what>.j2."""

    def __init__(self, root: Path) -> None:
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

    def path_of(self, key: str, locale: str) -> Path:
        """Where the default text of a phrase lives."""
        step, _, what = key.partition(".")
        return self._root / locale / step / f"{what}.j2"

    def has(self, key: str, locale: str) -> bool:
        """Whether the phrase exists in that locale."""
        return self.path_of(key, locale).is_file()

    def render(self, key: str, locale: str, variables: Mapping[str, object]) -> str:
        """The phrase in `locale` (Indonesian when there is no such locale), filled in.

        Raises:
            TemplateNotFound: the key exists in no locale; a flow bug caught by tests.
            UndefinedError: a variable the template needs was not passed.
        """
        if locale not in LOCALES:
            locale = FALLBACK_LOCALE
        return self._template(key, locale).render(variables).strip()

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
