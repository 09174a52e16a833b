"""`loket db upgrade|check|backup|restore`, and the backups of docs/operations.md, tried."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_URL
from tests.loket_cli import loket

# README's sample conversation: it opens a case with a story, a name and an outlet
CONVERSATION = "P\nmau lapor stok ga sama antara pos sm backoffice\nRina\noutlet Mini Berkah\n"


def cases(tmp_path: Path, database_url: str | None = None) -> list[dict[str, object]]:
    listed = loket(tmp_path, "cases", "--json", database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    found: list[dict[str, object]] = json.loads(listed.stdout)
    return found


def chat(tmp_path: Path, database_url: str | None = None) -> None:
    talked = loket(
        tmp_path, "chat", "--profile", "erzap", stdin=CONVERSATION, database_url=database_url
    )
    assert talked.returncode == 0, talked.stderr
    assert talked.stdout.count("bot> ") >= 4


def test_check_fails_with_a_reason_until_upgrade_brings_the_schema_to_head(
    tmp_path: Path, database_url: str
) -> None:
    missing = loket(tmp_path, "db", "check", database_url=database_url)
    assert missing.returncode == 1
    assert "loket db upgrade" in missing.stderr  # no file, or an empty database
    upgraded = loket(tmp_path, "db", "upgrade", database_url=database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    checked = loket(tmp_path, "db", "check", database_url=database_url)
    assert checked.returncode == 0, checked.stderr
    assert "up to date" in checked.stdout
    head = checked.stdout.split("(")[1].rstrip(")\n")
    engine = create_engine(database_url)
    with engine.begin() as conn:  # as if the installed Loket were newer than the database
        conn.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    behind = loket(tmp_path, "db", "check", database_url=database_url)
    assert behind.returncode == 1
    assert behind.stderr.strip() == (
        f"loket: the database schema is behind: at 0007, this version needs {head}; "
        "run `loket db upgrade`"
    )
    with engine.begin() as conn:  # as if a newer Loket had migrated it
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    ahead = loket(tmp_path, "db", "check", database_url=database_url)
    assert ahead.returncode == 1
    assert "newer than this version knows" in ahead.stderr


def test_sqlite_backup_then_losing_the_file_then_restore_brings_every_case_back(
    tmp_path: Path,
) -> None:
    chat(tmp_path)
    before = cases(tmp_path)
    assert len(before) == 1
    assert before[0]["messages"]
    backed = loket(tmp_path, "db", "backup", "backup.db")
    assert backed.returncode == 0, backed.stderr
    again = loket(tmp_path, "db", "backup", "backup.db")
    assert again.returncode == 1
    assert "exists" in again.stderr
    for lost in tmp_path.glob("loket.db*"):  # the file and its -wal/-shm
        lost.unlink()
    restored = loket(tmp_path, "db", "restore", "backup.db")
    assert restored.returncode == 0, restored.stderr
    assert cases(tmp_path) == before
    assert loket(tmp_path, "db", "check").returncode == 0


def test_sqlite_restore_refuses_what_is_not_a_loket_backup(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database\n" * 100)
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.commit()
    for name, reason in [
        ("missing.db", "no backup at missing.db"),
        ("notes.txt", "is not a SQLite database"),
        ("other.db", "is not a Loket database"),
    ]:
        refused = loket(tmp_path, "db", "restore", name)
        assert refused.returncode == 1
        assert reason in refused.stderr
    assert not (tmp_path / "loket.db").exists()


def pg_tool(name: str) -> str | None:
    """A PostgreSQL client program: on PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3])
    )
    return str(candidates[-1]) if candidates else None


@pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="PostgreSQL run only (TEST_DATABASE_URL)")
def test_postgres_pg_dump_then_losing_the_database_then_pg_restore_brings_every_case_back(
    tmp_path: Path, database_url: str
) -> None:
    pg_dump, pg_restore = pg_tool("pg_dump"), pg_tool("pg_restore")
    if pg_dump is None or pg_restore is None:
        pytest.skip("pg_dump/pg_restore not installed (Debian package postgresql-client)")
    chat(tmp_path, database_url)
    before = cases(tmp_path, database_url)
    assert len(before) == 1
    assert before[0]["messages"]
    url = make_url(database_url)
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    dump = tmp_path / "loket.dump"
    # the commands of docs/operations.md
    subprocess.run([pg_dump, "-Fc", "-f", str(dump), libpq], check=True, timeout=120)
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # the database is lost, and made again empty
        conn.execute(text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    assert loket(tmp_path, "db", "check", database_url=database_url).returncode == 1
    subprocess.run([pg_restore, "--no-owner", "-d", libpq, str(dump)], check=True, timeout=120)
    assert cases(tmp_path, database_url) == before
    assert loket(tmp_path, "db", "check", database_url=database_url).returncode == 0


def test_cases_from_a_database_that_did_not_exist_says_so(tmp_path: Path) -> None:
    """`loket cases` in the wrong folder made a new database: its [] looked like an empty desk."""
    first = loket(tmp_path, "cases", "--json")
    assert (first.returncode, first.stdout.strip()) == (0, "[]")
    assert "there was no database at" in first.stderr
    again = loket(tmp_path, "cases", "--json")
    assert "no database" not in again.stderr  # it exists now: an empty desk is empty
