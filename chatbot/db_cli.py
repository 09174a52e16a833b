"""`loket db upgrade|check|backup|restore`: the schema and SQLite backups, for operators."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from db.backup import BackupError, backup_sqlite, restore_sqlite
from db.engine import make_engine, migrate, schema_revisions
from settings import Settings

PG_BACKUP_HINT = "on PostgreSQL use pg_dump -Fc and pg_restore (docs/operations.md)"


def add_commands(sub: Any) -> None:
    """Add `loket db ...` to the `loket` parser's sub-commands."""
    db = sub.add_parser("db", help="the database: schema upgrades and checks, SQLite backups")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser(
        "upgrade", help="bring the schema to this version's newest (loket serve does it too)"
    )
    upgrade.set_defaults(run=_upgrade)
    check = db_sub.add_parser(
        "check", help="exit 1 with a reason when the schema is not this version's newest"
    )
    check.set_defaults(run=_check)
    backup = db_sub.add_parser(
        "backup", help="SQLite: write a consistent copy to a new FILE, also while serving"
    )
    backup.add_argument("file", type=Path)
    backup.set_defaults(run=_backup)
    restore = db_sub.add_parser(
        "restore", help="SQLite: replace the database with a backup FILE (stop Loket first)"
    )
    restore.add_argument("file", type=Path)
    restore.set_defaults(run=_restore)


def _upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)  # in turns with any process starting at the same time
        current, _head, _known = schema_revisions(engine)
    finally:
        engine.dispose()
    print(f"database schema is at {current}, the newest this version knows")
    return 0


def _check(settings: Settings, _args: argparse.Namespace) -> int:
    path = _sqlite_path(settings)
    if path is not None and not path.is_file():
        print(f"loket: no database at {path}; run `loket db upgrade`", file=sys.stderr)
        return 1
    engine = make_engine(settings.database_url)
    try:
        current, head, known = schema_revisions(engine)
    finally:
        engine.dispose()
    if current == head:
        print(f"database schema is up to date ({head})")
        return 0
    if not known:
        print(
            f"loket: the database schema is at {current}, newer than this version knows "
            f"(newest {head}): a newer Loket migrated it; run that version",
            file=sys.stderr,
        )
    else:
        print(
            f"loket: the database schema is behind: at {current or 'nothing (empty)'}, "
            f"this version needs {head}; run `loket db upgrade`",
            file=sys.stderr,
        )
    return 1


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    path = _sqlite_path(settings)
    if path is None:
        print(f"loket: `loket db backup` is for SQLite; {PG_BACKUP_HINT}", file=sys.stderr)
        return 2
    try:
        backup_sqlite(path, args.file)
    except BackupError as exc:
        print(f"loket: no backup written: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {path} to {args.file}")
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    path = _sqlite_path(settings)
    if path is None:
        print(f"loket: `loket db restore` is for SQLite; {PG_BACKUP_HINT}", file=sys.stderr)
        return 2
    try:
        restore_sqlite(args.file, path)
    except BackupError as exc:
        print(f"loket: nothing restored: {exc}", file=sys.stderr)
        return 1
    print(f"restored {path} from {args.file}; `loket db check` says if it needs an upgrade")
    return 0


def _sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file of the configured database; None for any other database."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))
