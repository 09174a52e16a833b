"""Queries for admin overrides: phrase and profile versions and the revision counter.

Keyword-only, connection first, the caller owns the transaction (as in db/queries.py). Every
write that changes what the bot says also calls `bump_revision` in the same transaction, so
that each worker sees one number move and reloads.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Connection, RowMapping, Table, func, insert, select, update

from db.driver import Statement
from db.models import OverrideRevision, PhraseVersion, ProfileVersion

PHRASE_VERSION = cast(Table, PhraseVersion.__table__)  # type: ignore[attr-defined]
PROFILE_VERSION = cast(Table, ProfileVersion.__table__)  # type: ignore[attr-defined]
OVERRIDE_REVISION = cast(Table, OverrideRevision.__table__)  # type: ignore[attr-defined]

_REVISION = Statement("SELECT value FROM overriderevision WHERE id = 1")


def revision(conn: Connection) -> int:
    """The number of admin edits so far: one primary-key read, done for every message.

    Straight on the driver (db/driver.py): `conn.execute(select(...))` costs about 55 µs
    on SQLite, the cursor about 2 µs.
    """
    row = _REVISION.first(conn)
    return int(row[0]) if row else 0


def bump_revision(conn: Connection) -> None:
    """Tell every worker that overrides changed (same transaction as the change)."""
    conn.execute(
        update(OVERRIDE_REVISION)
        .where(OVERRIDE_REVISION.c.id == 1)
        .values(value=OVERRIDE_REVISION.c.value + 1)
    )


def add_phrase_version(
    conn: Connection,
    *,
    key: str,
    locale: str,
    text: str,
    author: str,
    now: datetime,
    is_reset: bool = False,
    reverted_from: int | None = None,
) -> int:
    """Append one version of a phrase; returns its id."""
    result = conn.execute(
        insert(PHRASE_VERSION).values(
            key=key,
            locale=locale,
            text=text,
            author=author,
            is_reset=is_reset,
            reverted_from=reverted_from,
            created_at=now,
        )
    )
    return int(cast(tuple[int], result.inserted_primary_key)[0])


def current_phrases(conn: Connection) -> list[RowMapping]:
    """The newest version of every phrase that has one (resets included; callers skip them)."""
    newest = select(func.max(PHRASE_VERSION.c.id)).group_by(
        PHRASE_VERSION.c.key, PHRASE_VERSION.c.locale
    )
    return list(
        conn.execute(select(PHRASE_VERSION).where(PHRASE_VERSION.c.id.in_(newest))).mappings()
    )


def phrase_history(conn: Connection, *, key: str, locale: str) -> list[RowMapping]:
    """Every version of one phrase, newest first."""
    return list(
        conn.execute(
            select(PHRASE_VERSION)
            .where(PHRASE_VERSION.c.key == key, PHRASE_VERSION.c.locale == locale)
            .order_by(PHRASE_VERSION.c.id.desc())
        ).mappings()
    )


def get_phrase_version(conn: Connection, *, version_id: int) -> RowMapping | None:
    """One version by id."""
    return (
        conn.execute(select(PHRASE_VERSION).where(PHRASE_VERSION.c.id == version_id))
        .mappings()
        .first()
    )


def add_profile_version(
    conn: Connection,
    *,
    profile: str,
    settings_json: str,
    author: str,
    now: datetime,
    is_reset: bool = False,
) -> int:
    """Append one version of a profile's editable settings; returns its id."""
    result = conn.execute(
        insert(PROFILE_VERSION).values(
            profile=profile,
            settings_json=settings_json,
            author=author,
            is_reset=is_reset,
            created_at=now,
        )
    )
    return int(cast(tuple[int], result.inserted_primary_key)[0])


def current_profiles(conn: Connection) -> list[RowMapping]:
    """The newest settings version of every profile that has one (resets included)."""
    newest = select(func.max(PROFILE_VERSION.c.id)).group_by(PROFILE_VERSION.c.profile)
    return list(
        conn.execute(select(PROFILE_VERSION).where(PROFILE_VERSION.c.id.in_(newest))).mappings()
    )


def profile_history(conn: Connection, *, profile: str) -> list[RowMapping]:
    """Every settings version of one profile, newest first."""
    return list(
        conn.execute(
            select(PROFILE_VERSION)
            .where(PROFILE_VERSION.c.profile == profile)
            .order_by(PROFILE_VERSION.c.id.desc())
        ).mappings()
    )
