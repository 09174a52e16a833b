"""Faults (slow, ~1.5 min): kill -9 three of `loket serve --workers 2`'s children under load.

bench/faults.py at a smaller size, on the test's own database (PostgreSQL too when
TEST_DATABASE_URL is set): every acknowledged update is stored once and in order, and the
replies reach the fake Bot API (0.2 s a send) in the stored order. Replies sent twice are at
most the sends in flight at the fake when the children were killed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.faults import report, run_faults

UPDATES, CHATS = 300, 30


def run(database_url: str, work: Path) -> dict[str, Any]:
    result = run_faults(
        database_url,
        work=work,
        updates=UPDATES,
        chats=CHATS,
        workers=2,
        duplicates=0.1,
        kills=3,
        delay=0.2,
        quiet_timeout=300,
    )
    report(result)
    return result


def test_killed_children_lose_duplicate_and_disorder_nothing(
    database_url: str, tmp_path: Path
) -> None:
    result = run(database_url, tmp_path)
    seed = result["seed"]
    # PostgreSQL: a background worker beside each web worker; SQLite: one writer, one
    assert result["background_workers"] == (2 if result["db"] == "postgresql" else 1), seed
    assert len(result["kills"]) == 3, seed
    assert result["acknowledged"] == UPDATES, seed
    assert result["lost"] == 0, (seed, result["examples"])
    assert result["stored_twice"] == 0, (seed, result["examples"])
    assert result["chats_out_of_order"] == 0, (seed, result["examples"])
    assert result["chats_replies_out_of_order"] == 0, (seed, result["examples"])
    assert result["replies_missing_at_fake"] == 0, (seed, result["examples"])
    assert result["outbound_by_status"].keys() == {"sent"}, seed
    # At least once, and again only what was in flight at a kill: claimed by the outbox and
    # not yet recorded (each send's result is recorded as it returns, not after a round) ...
    assert result["replies_sent_twice"] <= result["sends_in_flight_at_kills"], seed
    # ... which is at most one reply per chat per kill: a chat's replies leave one at a time.
    assert result["most_sent_twice_in_one_chat"] <= result["background_kills"], seed
