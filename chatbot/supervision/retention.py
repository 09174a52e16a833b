"""Letting go of records: transcripts and personal data past the profile's limit are anonymised.

What stays is what the figures need: the case row with its clocks, category, owner and
reason, the message rows without their text (direction, author, phrase key, time), the
events, the escalation areas and the survey ratings. So the KPIs of a month are the same
after anonymisation (tests/supervision/test_retention.py proves it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from typing import cast as typed

from sqlalchemy import (
    Connection,
    Engine,
    String,
    Table,
    cast,
    delete,
    exists,
    literal,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from chatbot.clock import Clock
from db import inbox_queries as iq
from db import visit_queries as vq
from db.contact_queries import CONTACT_FIELD
from db.models import CaseNote, Escalation
from db.queries import ATTACHMENT, CASE, CONTACT, MESSAGE, SURVEY
from flows.profiles.schema import Profile

logger = logging.getLogger(__name__)

NOTE = typed(Table, CaseNote.__table__)  # type: ignore[attr-defined]
ESCALATION = typed(Table, Escalation.__table__)  # type: ignore[attr-defined]
BATCH = 500
# Providers re-deliver for hours (Telegram up to a day): a week of receipts answers every
# re-delivery. Messages set aside after failing steps wait a month for someone to look.
INBOX_KEEP = timedelta(days=7)
SET_ASIDE_KEEP = timedelta(days=30)


def _anonymous(column: Any) -> ColumnElement[str]:
    """'anonymised-<id>': unique like the chat id it replaces, and saying nothing."""
    return literal("anonymised-", String) + cast(column, String)


class Retention:
    """Anonymises closed cases older than `retention_days`, in batches, one transaction each."""

    def __init__(self, engine: Engine, clock: Clock, *, media_dir: Path | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self._media_dir = media_dir.resolve() if media_dir else None

    def cutoff(self, profile: Profile) -> datetime | None:
        """Cases closed before this moment lose their transcripts; None: keep forever."""
        if profile.retention_days is None:
            return None
        return self._clock.now() - timedelta(days=profile.retention_days)

    def run(self, profile: Profile) -> int:
        """Anonymise every case of the profile closed before the cutoff; returns how many.

        The inbox's stepped messages go first, whatever the profile keeps: the case's
        transcript is the record, the inbox only a receipt.
        """
        self.purge_inbox()
        cutoff = self.cutoff(profile)
        if cutoff is None:
            return 0
        done = 0
        while True:
            with self._engine.begin() as conn:
                ids = list(
                    conn.execute(
                        select(CASE.c.id)
                        .where(
                            CASE.c.profile == profile.name,
                            CASE.c.closed_at.is_not(None),
                            CASE.c.closed_at < cutoff,
                            CASE.c.anonymised_at.is_(None),
                        )
                        .order_by(CASE.c.id)
                        .limit(BATCH)
                    ).scalars()
                )
                if not ids:
                    break
                files = self._anonymise(conn, ids)
            self._delete_files(files)  # after the commit: a rollback must not lose files
            done += len(ids)
        if done:
            logger.info("Retention: anonymised %s cases closed before %s.", done, cutoff)
        return done

    def purge_inbox(self) -> int:
        """Delete inbox rows stepped more than INBOX_KEEP ago (set-aside ones: SET_ASIDE_KEEP)."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            purged = iq.purge_stepped(
                conn, stepped_before=now - INBOX_KEEP, set_aside_before=now - SET_ASIDE_KEEP
            )
        if purged:
            logger.info("Retention: forgot %s stepped inbox messages.", purged)
        return purged

    def _anonymise(self, conn: Connection, ids: list[int]) -> list[str]:
        now = self._clock.now()
        files = [
            path
            for path in conn.execute(
                select(ATTACHMENT.c.stored_path).where(
                    ATTACHMENT.c.case_id.in_(ids), ATTACHMENT.c.stored_path.is_not(None)
                )
            ).scalars()
            if path
        ]
        conn.execute(
            update(ATTACHMENT)
            .where(ATTACHMENT.c.case_id.in_(ids))
            .values(url=None, file_id=None, filename=None, stored_path=None)
        )
        conn.execute(
            update(MESSAGE)
            .where(MESSAGE.c.case_id.in_(ids))
            .values(
                text="",
                buttons_json=None,
                error=None,
                chat_id=_anonymous(MESSAGE.c.case_id),
            )
        )
        conn.execute(update(SURVEY).where(SURVEY.c.case_id.in_(ids)).values(comment=None))
        conn.execute(update(NOTE).where(NOTE.c.case_id.in_(ids)).values(text=""))
        files += vq.anonymise_visits(conn, case_ids=ids)  # addresses, notes, photos (visits.md)
        conn.execute(
            update(ESCALATION).where(ESCALATION.c.case_id.in_(ids)).values(outlet="", detail="")
        )
        contact_ids = list(
            conn.execute(select(CASE.c.contact_id).where(CASE.c.id.in_(ids)).distinct()).scalars()
        )
        conn.execute(
            update(CASE)
            .where(CASE.c.id.in_(ids))
            .values(
                fields_json="{}",
                context_json="{}",
                chat_id=_anonymous(CASE.c.id),
                anonymised_at=now,
            )
        )
        # A returning client's kept fields go with the case that verified them, and all of
        # them once the contact is forgotten (docs/office-hours.md#returning-clients).
        kept_live = exists().where(
            CASE.c.contact_id == CONTACT_FIELD.c.contact_id, CASE.c.anonymised_at.is_(None)
        )
        conn.execute(
            delete(CONTACT_FIELD).where(
                CONTACT_FIELD.c.case_id.in_(ids)
                | (CONTACT_FIELD.c.contact_id.in_(contact_ids) & ~kept_live)
            )
        )
        # A contact forgets its name and number once none of its cases keeps personal data.
        live = exists().where(CASE.c.contact_id == CONTACT.c.id, CASE.c.anonymised_at.is_(None))
        conn.execute(
            update(CONTACT)
            .where(CONTACT.c.id.in_(contact_ids), ~live)
            .values(
                display_name=None,
                phone=None,
                chat_id=_anonymous(CONTACT.c.id),
            )
        )
        return files

    def _delete_files(self, files: list[str]) -> None:
        for name in files:
            path = Path(name).resolve()
            if self._media_dir is not None and not path.is_relative_to(self._media_dir):
                logger.warning("Retention: not deleting %s, outside the media folder.", path)
                continue
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                logger.warning("Retention: could not delete a media file: %s", exc)


def prune_reports(folder: Path, keep_days: int, now: datetime) -> int:
    """Delete report files older than `keep_days` (the Telkom procedure keeps two years)."""
    if not folder.is_dir():
        return 0
    limit = (now - timedelta(days=keep_days)).timestamp()
    removed = 0
    for path in folder.glob("*.xlsx"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
