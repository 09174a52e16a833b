"""`loket users` as a subprocess: add (password on stdin), refusals, list, passwd, disable."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from chatbot.web.app import create_app
from settings import Settings
from tests.clock import FrozenClock
from tests.loket_cli import loket
from tests.web.auth_helpers import login


def _app(tmp_path: Path) -> TestClient:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/loket.db", _env_file=None)  # type: ignore[call-arg]
    return TestClient(create_app(settings, clock=FrozenClock(), run_outbox=False))


def test_users_add_from_stdin_then_login_works(tmp_path: Path) -> None:
    added = loket(tmp_path, "users", "add", "ani", "--role", "admin", stdin="s3cret-pass\n")
    assert added.returncode == 0, added.stderr
    assert "added ani as admin" in added.stdout
    with _app(tmp_path) as client:
        login(client, "ani", "s3cret-pass")
        assert client.get("/admin/phrases").status_code == 200
        refused = client.post(
            "/login", data={"name": "ani", "password": "s3cret-pass\n"}, follow_redirects=False
        )
        assert refused.status_code == 401  # the newline was not part of the password
    listed = loket(tmp_path, "users", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "ACTIVE", "LAST", "SEEN"]
    assert lines[1].split()[:3] == ["ani", "admin", "yes"]
    assert lines[1].split()[3] != "-"  # seen at the login


def test_refusals_exit_1_with_a_reason(tmp_path: Path) -> None:
    short = loket(tmp_path, "users", "add", "agus", "--role", "agent", stdin="short\n")
    assert short.returncode == 1
    assert "at least 8 characters" in short.stderr
    empty = loket(tmp_path, "users", "add", "agus", "--role", "agent", stdin="")
    assert empty.returncode == 1
    assert "no password on standard input" in empty.stderr
    assert (
        loket(tmp_path, "users", "add", "agus", "--role", "agent", stdin="pass-1234\n").returncode
        == 0
    )
    again = loket(tmp_path, "users", "add", "agus", "--role", "qc", stdin="pass-5678\n")
    assert again.returncode == 1
    assert "'agus' is taken" in again.stderr
    role = loket(tmp_path, "users", "add", "budi", "--role", "boss", stdin="pass-1234\n")
    assert role.returncode == 2  # argparse: invalid choice
    assert "invalid choice" in role.stderr
    bad = loket(tmp_path, "users", "add", "a b", "--role", "agent", stdin="pass-1234\n")
    assert bad.returncode == 1
    assert "invalid name" in bad.stderr


def test_passwd_and_disable(tmp_path: Path) -> None:
    loket(tmp_path, "users", "add", "ani", "--role", "admin", stdin="first-pass-1\n")
    loket(tmp_path, "users", "add", "agus", "--role", "agent", stdin="first-pass-2\n")
    changed = loket(tmp_path, "users", "passwd", "agus", stdin="second-pass-2\n")
    assert changed.returncode == 0, changed.stderr
    unknown = loket(tmp_path, "users", "passwd", "nobody", stdin="second-pass-2\n")
    assert unknown.returncode == 1
    assert "no user 'nobody'" in unknown.stderr
    with _app(tmp_path) as client:
        login(client, "agus", "second-pass-2")
    assert loket(tmp_path, "users", "disable", "agus").returncode == 0
    last_admin = loket(tmp_path, "users", "disable", "ani")
    assert last_admin.returncode == 1
    assert "no active admin" in last_admin.stderr
    listed = loket(tmp_path, "users", "list").stdout
    assert any(line.split()[:3] == ["agus", "agent", "no"] for line in listed.splitlines())
    with _app(tmp_path) as client:
        answer = client.post(
            "/login", data={"name": "agus", "password": "second-pass-2"}, follow_redirects=False
        )
        assert answer.status_code == 401
