"""`loket serve`'s first child: migrate the database and create the first admin, then exit.

Run once before the workers start, so they never race to migrate or to create the admin.
Several `loket serve` (and `loket worker`) processes may start together on one database:
migrations run in turns under a database lock (db/engine.py) and the first admin is
created in one transaction taken in turns, so exactly one process creates it.
"""

from __future__ import annotations

import argparse
import secrets
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from chatbot.admin.accounts import Accounts
from chatbot.clock import SystemClock
from chatbot.runtime.bootstrap import open_desk_for
from flows.profiles.schema import ProfileError
from settings import Settings

FIRST_ADMIN = "admin"  # created on the first start, so the console works at once


def first_admin(accounts: Accounts, base: str) -> None:
    """On the very first start, create an admin with a random password and say it once.

    The console works right after the README's first command, and no known password ever
    exists: the operator reads this one in their own terminal and changes it.
    """
    if accounts.has_users():  # every later start: no password hashed for nothing
        return
    password = secrets.token_urlsafe(12)
    if accounts.add_first_admin(FIRST_ADMIN, password) is None:
        return  # another process starting at the same moment created it
    print(
        f"First start: created the admin user '{FIRST_ADMIN}' with password {password}\n"
        f"  Log in at {base}/login, then change it: loket users passwd {FIRST_ADMIN}",
        flush=True,
    )


def main(argv: list[str]) -> int:
    """Exit 0 once the database is ready, 2 on a configuration error."""
    parser = argparse.ArgumentParser(prog="python -m chatbot.runtime.prepare")
    parser.add_argument("--url", required=True, help="where the web workers listen")
    base = parser.parse_args(argv).url
    settings = Settings()
    clock = SystemClock()
    try:  # the desk's own checks: profiles, their phrases, the default profile
        engine, _desk = open_desk_for(settings, clock)
    except ProfileError as exc:
        print(f"loket: configuration error: {exc}", file=sys.stderr)
        return 2
    except (OSError, SQLAlchemyError) as exc:  # a missing or read-only directory, no server
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        reason = getattr(exc, "orig", None) or exc  # the driver's words, not SQLAlchemy's
        line = " ".join(str(reason).split())
        print(f"loket: cannot open the database {where}: {line}", file=sys.stderr)
        return 2
    try:
        first_admin(Accounts(engine, clock, session_hours=settings.session_hours), base)
    finally:
        engine.dispose()
    print(f"Loket is serving {settings.profile} on {base}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
