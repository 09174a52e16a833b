"""Field types the channels' input models share: text any database column can store."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationError

MAX_TEXT = 65_536  # no provider sends more in one message; the margin costs nothing


def clean_text(value: str) -> str:
    """Refuse characters no database column can store.

    PostgreSQL text refuses NUL, and no database stores a lone surrogate (UTF-8 cannot encode
    one), so either would fail at the inbox insert: a 500, and the provider sends it again.
    """
    if "\x00" in value:
        raise ValueError("text contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text is not valid Unicode (a lone surrogate)") from None
    return value


Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(clean_text)]
ShortText = Annotated[str, Field(max_length=512), AfterValidator(clean_text)]


def first_error(exc: ValidationError) -> str:
    """The first problem pydantic found, as one line: `field.path: message`."""
    error = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"[:300]


def place_name(name: str, address: str) -> str | None:
    """A shared place as the transcript names it ("Toko Maju, Jl. Sudirman 1"), or None."""
    return ", ".join(part for part in (name, address) if part) or None
