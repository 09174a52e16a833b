"""The agent console's own words in Indonesian (the default) or English, from a catalogue.

Templates under templates/desk/ write English message ids as `_("...")`; the translations
live in chatbot/web/locale/<language>/LC_MESSAGES/desk.po, a standard gettext catalogue read
with Babel when first used (no compile step: the .po file is the source and ships in the
package). English needs no catalogue: its text is the message id. Client-facing text is not
here: that is the phrase book (scripts_text/), which admins edit.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from chatbot.resource import package_dir

DEFAULT_LOCALE = "id"
DOMAIN = "desk"


def catalogue_path(locale: str) -> str:
    """Where the console's catalogue for `locale` is kept."""
    return str(package_dir("chatbot", "web", "locale") / locale / "LC_MESSAGES" / f"{DOMAIN}.po")


@cache
def translations(locale: str) -> NullTranslations:
    """The console's translations for `locale` (English, or an unknown one, as written)."""
    if locale == "en":
        return NullTranslations()
    try:
        with open(catalogue_path(locale), "rb") as source:
            catalog = read_po(source, locale=locale, domain=DOMAIN)
    except FileNotFoundError:
        return NullTranslations()
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def gettext_for(locale: str | None) -> Callable[[str], str]:
    """`_` for a page: the user's console language, Indonesian when none was chosen."""
    return translations(locale or DEFAULT_LOCALE).gettext
