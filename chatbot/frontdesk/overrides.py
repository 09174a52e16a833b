"""Admin overrides as a worker sees them: reloaded when the revision counter in the DB moves.

The desk calls `refresh(conn)` once per message, inside its transaction. That is one
primary-key read; only when an admin saved something since the last message does the worker
load the overrides in force and compile the new ones (compiled templates are kept per version
id, so an edit compiles one template, not all). So an edit takes effect for the next message
on every worker, without a restart.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date

from pydantic import ValidationError
from sqlalchemy import Connection

from chatbot.frontdesk.sandbox import BoundedTemplate, compile_phrase
from db import admin_queries, contact_queries
from flows.profiles.schema import EditableSettings, Profile, apply_settings, describe_errors

logger = logging.getLogger(__name__)


class Overrides:
    """The phrase texts and profile settings admins saved, compiled and validated."""

    def __init__(
        self,
        profiles: Mapping[str, Profile],
        *,
        check_every: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start empty; the first `refresh` loads.

        Args:
            profiles: the profiles as their files define them.
            check_every: seconds between two reads of the revision (0: every message).
            monotonic: the clock for `check_every`.
        """
        self._base = dict(profiles)
        self._check_every = check_every
        self._monotonic = monotonic
        self._checked_at = -math.inf
        self._revision = -1
        self._phrases: dict[tuple[str, str], BoundedTemplate] = {}
        self._compiled: dict[int, BoundedTemplate | None] = {}
        self._profiles: dict[str, Profile] = {}
        self._lock = threading.Lock()

    @property
    def revision(self) -> int:
        """The revision loaded last (-1 before the first load)."""
        return self._revision

    def refresh(self, conn: Connection) -> bool:
        """Reload if an admin changed something; returns whether it reloaded."""
        now = self._monotonic()
        if now - self._checked_at < self._check_every:
            return False
        self._checked_at = now
        revision = admin_queries.revision(conn)
        if revision <= self._revision:
            return False
        with self._lock:
            if revision <= self._revision:  # another thread loaded it meanwhile
                return False
            phrases, compiled = self._load_phrases(conn)
            profiles = self._load_profiles(conn)
            # Swap whole dicts: readers on other threads see the old set or the new one.
            self._phrases, self._compiled, self._profiles = phrases, compiled, profiles
            self._revision = revision
        logger.info("Overrides at revision %s: %s phrases.", revision, len(phrases))
        return True

    def template(self, key: str, locale: str) -> BoundedTemplate | None:
        """The admin's text for this phrase, compiled; None means the file default."""
        return self._phrases.get((key, locale))

    def profile(self, name: str) -> Profile | None:
        """The profile with an admin's settings applied, or None when there are none."""
        return self._profiles.get(name)

    def _load_phrases(
        self, conn: Connection
    ) -> tuple[dict[tuple[str, str], BoundedTemplate], dict[int, BoundedTemplate | None]]:
        phrases: dict[tuple[str, str], BoundedTemplate] = {}
        compiled: dict[int, BoundedTemplate | None] = {}
        for row in admin_queries.current_phrases(conn):
            if row["is_reset"]:
                continue
            version = int(row["id"])
            if version in self._compiled:
                template = self._compiled[version]
            else:
                template = self._compile(row["key"], row["locale"], row["text"])
            compiled[version] = template
            if template is not None:
                phrases[(row["key"], row["locale"])] = template
        return phrases, compiled

    @staticmethod
    def _compile(key: str, locale: str, text: str) -> BoundedTemplate | None:
        try:
            return compile_phrase(text)
        except Exception:  # stored text is untrusted even though the editor checked it
            logger.exception("Override of %s/%s does not compile; using the default.", locale, key)
            return None

    def _load_profiles(self, conn: Connection) -> dict[str, Profile]:
        profiles: dict[str, Profile] = {}
        for row in admin_queries.current_profiles(conn):
            base = self._base.get(row["profile"])
            if row["is_reset"] or base is None:
                continue
            try:
                settings = EditableSettings.model_validate(json.loads(row["settings_json"]))
                profiles[base.name] = apply_settings(base, settings)
            except ValidationError as exc:
                logger.error(
                    "Settings of profile %s are invalid (%s); using the file.",
                    base.name,
                    describe_errors(exc),
                )
            except ValueError:
                logger.exception("Settings of profile %s unreadable; using the file.", base.name)
        return with_calendar_dates(conn, self._base, profiles)


def with_calendar_dates(
    conn: Connection, base: Mapping[str, Profile], edited: dict[str, Profile]
) -> dict[str, Profile]:
    """Profiles with the admin's calendar dates in their office hours (edited ones first)."""
    closed: dict[str, list[date]] = {}
    opened: dict[str, list[date]] = {}
    for row in contact_queries.list_calendar_dates(conn):
        (opened if row["is_open"] else closed).setdefault(row["profile"], []).append(row["day"])
    for name in set(closed) | set(opened):
        profile = edited.get(name) or base.get(name)
        if profile is None or profile.office_hours is None:
            continue
        hours = profile.office_hours.model_copy(
            update={
                "closed_dates": (*profile.office_hours.closed_dates, *closed.get(name, ())),
                "open_dates": (*profile.office_hours.open_dates, *opened.get(name, ())),
            }
        )
        edited[name] = profile.model_copy(update={"office_hours": hours})
    return edited
