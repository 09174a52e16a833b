"""Time the month's KPI dashboard and the daily report over 100,000 cases.

Usage:
    .venv/bin/python -m bench.kpi [--cases 100000] [--days 60] [--db /tmp/loket-kpi.db]

Generates the cases (with messages, surveys, events, escalations and QA reviews) into a
fresh SQLite file with bulk inserts, then times `kpi.compute` for the busiest month with its
charts and the daily log of the busiest day. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chatbot.supervision import charts, kpi
from chatbot.supervision.reports import write_daily
from db.engine import make_engine, migrate
from flows.profiles.schema import load_profile

ROOT = Path(__file__).resolve().parent.parent
AGENTS = 20
SLA = {"easy": 30, "normal": 120, "hard": 720}
END = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # midnight in Jakarta, 1 December


def _ts(moment: datetime | None) -> str | None:
    """SQLAlchemy's SQLite text form for a UTC moment."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if moment else None


def generate(path: Path, cases: int, days: int, seed: int = 7) -> None:
    """Fill a migrated SQLite file with `cases` cases over the `days` before END."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA journal_mode=WAL")
    created = _ts(END - timedelta(days=days + 1))
    db.executemany(
        "INSERT INTO desk_user (id, name, role, password_hash, active, created_at)"
        " VALUES (?, ?, 'agent', 'x', 1, ?)",
        [(i, f"agent{i:02d}", created) for i in range(1, AGENTS + 1)],
    )
    span = days * 86400
    contacts, rows, messages, surveys, events, escalations, reviews = [], [], [], [], [], [], []
    message_id = 0
    # Cases are opened in id order, as on a real desk.
    offsets = sorted((rng.random() * span for _ in range(cases)), reverse=True)
    for case_id, offset in enumerate(offsets, start=1):
        opened = END - timedelta(seconds=offset)
        category = rng.choices(("easy", "normal", "hard"), (5, 3, 2))[0]
        agent = rng.randint(1, AGENTS)
        chat = f"62812{case_id:07d}"
        contacts.append((case_id, "whatsapp", chat, f"Client {case_id}", f"+{chat}", _ts(opened)))
        handed = opened + timedelta(seconds=rng.randint(20, 300))
        first = handed + timedelta(seconds=rng.randint(10, 400))
        resolved = opened + timedelta(minutes=rng.uniform(5, SLA[category] * 1.3))
        due = opened + timedelta(minutes=SLA[category])
        open_now = resolved > END
        closed = None if open_now else resolved + timedelta(minutes=rng.randint(1, 20))
        reason = (
            None
            if open_now
            else rng.choices(
                ("resolved", "resolved_no_reply", "cancelled_by_client", "spam"), (80, 14, 5, 1)
            )[0]
        )
        rows.append(
            (case_id, case_id, "whatsapp", chat, "erzap", "id",
             "with_agent" if open_now else "closed", category, SLA[category],
             json.dumps({"name": f"Client {case_id}", "outlet": f"toko{case_id % 500}.erzap.id"}),
             json.dumps({"story": "stok di POS tidak sama dengan back office"}),
             _ts(opened), _ts(closed or opened), _ts(handed), _ts(closed), reason,
             "timer" if reason == "resolved_no_reply" else "client", "chat", _ts(handed), agent,
             _ts(first), _ts(first), agent, _ts(due), None if open_now else _ts(resolved),
             None if open_now else f"agent{agent:02d}")
        )  # fmt: skip
        for direction, author, key, at in (
            ("in", "client", None, opened),
            ("out", "bot", "greeting.salam", opened),
            ("out", f"agent{agent:02d}", None, first),
            ("in", "client", None, first + timedelta(seconds=30)),
        ):
            message_id += 1
            messages.append(
                (message_id, case_id, "whatsapp", chat, direction,
                 f"w{message_id}" if direction == "in" else None, "pesan " * 8, key, author,
                 "sent" if direction == "out" else None, _ts(at))
            )  # fmt: skip
        events.extend(
            [
                (case_id, "queued", "bot", "client asked", _ts(handed)),
                (case_id, "replied", f"agent{agent:02d}", None, _ts(first)),
            ]
        )
        if not open_now:
            events.append((case_id, "resolved", f"agent{agent:02d}", None, _ts(resolved)))
            events.append((case_id, "closed", "timer", reason, _ts(closed)))
            if rng.random() < 0.7:
                rating = rng.choices((1, 2, 3, 4, 5), (1, 1, 2, 6, 10))[0]
                comment = "terima kasih" if rng.random() < 0.2 else None
                surveys.append((case_id, rating, comment, _ts(closed)))
            if rng.random() < 0.02:
                events.append(
                    (case_id, "reopened", "client", None, _ts(resolved + timedelta(minutes=1)))
                )
        if rng.random() < 0.15:
            at = _ts(first + timedelta(minutes=5))
            escalations.append(
                (
                    case_id,
                    "POS",
                    "toko.erzap.id",
                    "stok minus",
                    "open",
                    f"agent{agent:02d}",
                    at,
                    at,
                )
            )
        if not open_now and rng.random() < 0.01:
            at = _ts(closed)
            reviews.append(
                (case_id, agent, "sri", "{}", rng.choice((70.0, 85.0, 90.0, 100.0)), at, at)
            )
    db.executemany(
        "INSERT INTO contact (id, channel, chat_id, display_name, phone, created_at)"
        " VALUES (?,?,?,?,?,?)",
        contacts,
    )
    db.executemany(
        'INSERT INTO "case" (id, contact_id, channel, chat_id, profile, locale, state, category,'
        " sla_minutes, fields_json, context_json, opened_at, updated_at, queued_at, closed_at,"
        " closed_reason, closed_by, source, handed_off_at, assignee_id, assigned_at,"
        " first_response_at, first_response_by, sla_due_at, resolved_at, resolved_by)"
        " VALUES (" + ",".join("?" * 26) + ")",
        rows,
    )
    db.executemany(
        "INSERT INTO message (id, case_id, channel, chat_id, direction, external_id, text,"
        " phrase_key, author, status, created_at, kind, attempts)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,'text',0)",
        messages,
    )
    db.executemany(
        "INSERT INTO surveyanswer (case_id, rating, comment, created_at) VALUES (?,?,?,?)", surveys
    )
    db.executemany(
        "INSERT INTO caseevent (case_id, kind, actor, detail, at) VALUES (?,?,?,?,?)", events
    )
    db.executemany(
        "INSERT INTO escalation (case_id, area, outlet, detail, status, filed_by,"
        " created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        escalations,
    )
    db.executemany(
        "INSERT INTO qareview (case_id, agent_id, reviewer, items_json, score,"
        " created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?)",
        reviews,
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()


def _best(fn: Any, rounds: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    """Generate, time, print; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="loket-kpi-")
    path = args.db or Path(folder) / "kpi.db"
    if path.exists():
        path.unlink()
    started = time.perf_counter()
    generate(path, args.cases, args.days)
    generated_s = time.perf_counter() - started
    print(f"generated {args.cases} cases over {args.days} days in {generated_s:.1f} s ({path})")

    profile = load_profile(ROOT / "flows" / "profiles" / "erzap.yaml")
    zone = ZoneInfo(profile.timezone)
    month = kpi.month_period(2026, 11, zone)
    day = date(2026, 11, 20)
    engine = make_engine(f"sqlite:///{path}")
    now = END
    with engine.connect() as conn:
        month_cases = len(kpi.case_facts(conn, month, now))

        def dashboard() -> kpi.KpiReport:
            report = kpi.compute(conn, profile, month, now=now)
            charts.report_charts(report)
            return report

        dashboard_s, report = _best(dashboard, args.rounds)
        out = Path(folder) / "daily.xlsx"
        daily_s, rows = _best(lambda: write_daily(conn, profile, day, out, now=now), args.rounds)
    engine.dispose()
    print(f"month {month.label}: {month_cases} cases; dashboard {dashboard_s:.3f} s")
    team = report.team
    print(f"team: FRT within {team['frt_within'].value}%, SLA met {team['sla_met'].value}%")
    print(f"daily report {day}: {rows} rows, {daily_s:.3f} s")
    print(
        json.dumps(
            {
                "cases": args.cases,
                "month_cases": month_cases,
                "dashboard_month_s": round(dashboard_s, 3),
                "daily_report_rows": rows,
                "daily_report_s": round(daily_s, 3),
                "generate_s": round(generated_s, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
