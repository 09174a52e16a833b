"""Retention with a frozen clock: nothing personal older than the limit, the figures unchanged."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from chatbot.supervision.kpi import FIGURE_KEYS, compute, month_period
from chatbot.supervision.retention import Retention, prune_reports
from db.queries import ATTACHMENT, CASE, CONTACT, MESSAGE, SURVEY
from tests.supervision.builder import CaseBuilder, standard_day, utc

JAKARTA = ZoneInfo("Asia/Jakarta")


def _figures(builder: CaseBuilder, now):  # type: ignore[no-untyped-def]
    profile = builder.desk.profile()
    with builder.engine.connect() as conn:
        report = compute(conn, profile, month_period(2026, 11, JAKARTA), now=now)
    cards = [report.team, *report.agents]
    return (
        {(c.name, k): dataclasses.astuple(c[k]) for c in cards for k in FIGURE_KEYS},
        {c.name: c.counts for c in cards},
        report.csat_distribution,
        report.daily,
    )


def test_retention_anonymises_what_is_past_the_limit_and_keeps_the_figures(
    builder: CaseBuilder, tmp_path: Path
) -> None:
    ids = standard_day(builder)
    media = tmp_path / "media"
    media.mkdir()
    photo = media / "photo.jpg"
    photo.write_bytes(b"jpeg")
    with builder.engine.begin() as conn:
        message_id = conn.execute(
            select(MESSAGE.c.id).where(MESSAGE.c.case_id == ids["A"]).limit(1)
        ).scalar_one()
        conn.execute(
            insert(ATTACHMENT).values(
                case_id=ids["A"],
                message_id=message_id,
                kind="photo",
                stored_path=str(photo),
                filename="struk.jpg",
                created_at=utc(3),
            )
        )
    profile = builder.desk.profile()
    assert profile.retention_days == 365
    later = utc(6) + timedelta(days=365, hours=1)  # past the limit for cases closed by 05:50
    before = _figures(builder, later)

    builder.at(later)
    done = Retention(builder.engine, builder.clock, media_dir=media).run(profile)

    closed_early = {ids[k] for k in "ABCDG"}
    assert done == len(closed_early)
    assert not photo.exists()
    with builder.engine.connect() as conn:
        cases = {r.id: r for r in conn.execute(select(CASE))}
        for case_id in closed_early:
            row = cases[case_id]
            assert row.anonymised_at is not None
            assert row.fields_json == "{}"
            assert row.context_json == "{}"
            assert row.chat_id == f"anonymised-{case_id}"
        texts = conn.execute(
            select(MESSAGE.c.text, MESSAGE.c.chat_id).where(MESSAGE.c.case_id.in_(closed_early))
        ).all()
        assert texts
        assert all(t.text == "" and t.chat_id.startswith("anonymised-") for t in texts)
        assert conn.execute(
            select(SURVEY.c.comment).where(SURVEY.c.case_id.in_(closed_early))
        ).scalars().all() == [None, None]
        attachment = conn.execute(select(ATTACHMENT)).one()
        assert attachment.stored_path is None
        assert attachment.filename is None
        contact_a = conn.execute(
            select(CONTACT).where(CONTACT.c.id == cases[ids["A"]].contact_id)
        ).one()
        assert contact_a.display_name is None
        assert contact_a.phone is None
        # Open cases keep everything: the still-queued E and its client.
        assert cases[ids["E"]].anonymised_at is None
        assert (
            conn.execute(select(MESSAGE.c.text).where(MESSAGE.c.case_id == ids["E"]))
            .scalars()
            .first()
            == "halo kak"
        )
    after = _figures(builder, later)
    assert after == before  # every figure, its case ids, the counts and the charts' series
    assert Retention(builder.engine, builder.clock).run(profile) == 0  # nothing left to do


def test_nothing_is_anonymised_before_the_limit(builder: CaseBuilder) -> None:
    standard_day(builder)
    builder.at(utc(5, 49) + timedelta(days=365))  # B closed at 05:50 a year ago: not yet
    profile = builder.desk.profile()
    done = Retention(builder.engine, builder.clock).run(profile)
    assert done == 4  # A (03:31), C (03:21), D (05:01), G (05:21)
    off = profile.model_copy(update={"retention_days": None})
    assert Retention(builder.engine, builder.clock).run(off) == 0


def test_old_reports_are_pruned_after_two_years(tmp_path: Path) -> None:
    import os

    old, new = tmp_path / "daily-2024-01-01.xlsx", tmp_path / "daily-2026-11-22.xlsx"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    now = utc(6)
    os.utime(old, (now.timestamp() - 731 * 86400,) * 2)
    os.utime(new, (now.timestamp() - 86400,) * 2)
    assert prune_reports(tmp_path, 730, now) == 1
    assert not old.exists()
    assert new.exists()
    assert prune_reports(tmp_path / "missing", 730, now) == 0


def test_loket_retention_run_anonymises_old_cases(
    builder: CaseBuilder,
    settings,
    monkeypatch,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    from datetime import UTC, datetime

    from chatbot import cli

    old = datetime(2020, 3, 1, 3, tzinfo=UTC)
    case_id, _ = builder.client_case(old)
    builder.set(case_id, closed_at=old, closed_reason="resolved", state="closed")
    recent, _ = builder.client_case(utc(3))
    monkeypatch.setenv("LOKET_DATABASE_URL", settings.database_url)
    assert cli.main(["retention", "run"]) == 0
    assert capsys.readouterr().out.strip() == "anonymised 1 cases"
    with builder.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(CASE))}
    assert rows[case_id].anonymised_at is not None
    assert rows[recent].anonymised_at is None
