"""SQLite backups through SQLite's online backup API: a consistent copy while Loket runs.

Copying the database file alone is not a backup in WAL mode (recent commits may still be in
the -wal file, and a copy taken mid-write is torn). The backup API copies committed pages
under SQLite's own locks, so Loket keeps serving while it runs. PostgreSQL has pg_dump and
pg_restore for this (docs/operations.md).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

PAGES_PER_STEP = 1024  # copied between pauses, so writers get their turns during a backup


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, for an operator."""


def backup_sqlite(database: Path, target: Path) -> None:
    """Write a consistent copy of `database` to `target`, which must not exist yet.

    The copy is written beside the target and renamed into place at the end, so `target`
    is either absent or complete, never half written.

    Raises:
        BackupError: no database at that path, or the target exists.
    """
    if not database.is_file():
        raise BackupError(f"no database at {database}")
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=PAGES_PER_STEP)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
    finally:
        source.close()
    os.replace(partial, target)


def restore_sqlite(backup: Path, database: Path) -> None:
    """Replace the contents of `database` with `backup` (a file from `backup_sqlite`).

    Run it with Loket stopped: the processes still running would keep working on what
    they had read. Goes through the backup API too, so the database's -wal and -shm files
    stay consistent with the restored pages.

    Raises:
        BackupError: the backup is missing, not a SQLite database, damaged, or not Loket's.
    """
    if not backup.is_file():
        raise BackupError(f"no backup at {backup}")
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        try:
            checked = source.execute("PRAGMA quick_check").fetchone()[0]
            tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{backup} is not a SQLite database ({exc})") from exc
        if checked != "ok":
            raise BackupError(f"{backup} is damaged: {checked}")
        if "alembic_version" not in tables:
            raise BackupError(f"{backup} is not a Loket database (no alembic_version table)")
        database.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(database)
        try:
            source.backup(target, pages=PAGES_PER_STEP)
        finally:
            target.close()
    finally:
        source.close()
