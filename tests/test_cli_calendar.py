"""`loket calendar show|close|open|forget` and `loket chat --at`, in a real subprocess."""

from __future__ import annotations

from pathlib import Path

from tests.loket_cli import loket


def test_an_operator_closes_a_day_and_the_chat_follows(tmp_path: Path, database_url: str) -> None:
    def run(*args: str, stdin: str = "") -> str:
        done = loket(tmp_path, *args, stdin=stdin, database_url=database_url)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "2026-12-28: closed (erzap)" in run(
        "calendar", "close", "2026-12-28", "--note", "stock taking"
    )
    run("calendar", "open", "2026-12-24")
    shown = run("calendar", "show", "--year", "2026")
    assert "2026-12-25  closed  Christmas Day" in shown
    assert "2026-12-24  works   Christmas Joint Holiday  open by cli" in shown
    assert "2026-12-28  closed  -  closed by cli: stock taking" in shown
    # Sunday the 27th at 10:00: Monday is closed now, so the team is back on Tuesday
    talk = run("chat", "--at", "2026-12-27T10:00", stdin="halo\nmau bicara dengan cs\n")
    assert "hari Selasa, 29/12/2026 mulai pukul 08.00 WIB" in talk
    assert "the usual rules apply again" in run("calendar", "forget", "2026-12-28")
    assert "nothing was set" in run("calendar", "forget", "2026-12-28")


def test_a_wrong_date_is_refused_with_a_reason(tmp_path: Path, database_url: str) -> None:
    done = loket(tmp_path, "calendar", "close", "28-12-2026", database_url=database_url)
    assert done.returncode == 2
    assert "is not a date (YYYY-MM-DD)" in done.stderr
