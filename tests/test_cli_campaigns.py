"""`loket campaigns ...` as real subprocesses, and `loket worker` killed -9 mid-campaign."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, text

from chatbot.frontdesk.outbox import CAMPAIGN_CONCURRENCY
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi
from tests.loket_cli import child_env, loket
from tests.polling import wait_for

TEMPLATE = "HX" + "ab" * 16
STATUS_KEYS = {
    "id",
    "name",
    "state",
    "recipients",
    "invalid",
    "duplicates",
    "opted_out",
    "sent",
    "delivered",
    "read",
    "failed",
    "replied",
}


def audience(tmp_path: Path, count: int, extra: str = "") -> Path:
    path = tmp_path / "audience.csv"
    rows = [f"08123{n:07d},Pelanggan {n},IndiHome 30" for n in range(count)]
    path.write_text("phone,name,paket\n" + "\n".join(rows) + "\n" + extra, encoding="utf-8")
    return path


def create(tmp_path: Path, *options: str, database_url: str | None = None) -> int:
    result = loket(
        tmp_path,
        "campaigns",
        "create",
        "Caring CT-0",
        "--channel",
        "whatsapp",
        "--template",
        TEMPLATE,
        "--variables",
        '{"1": "name", "2": "paket"}',
        "--audience",
        "audience.csv",
        *options,
        database_url=database_url,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


def status(tmp_path: Path, campaign_id: int) -> dict[str, object]:
    result = loket(tmp_path, "campaigns", "status", str(campaign_id), "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_create_reports_the_audience_and_prints_the_id_last(tmp_path: Path) -> None:
    audience(tmp_path, 3, extra="0812-3000-0000,Dobel,x\nbukan nomor,Rusak,x\n")
    campaign_id = create(tmp_path, "--window", "08:00-17:00", "--rate", "5")
    result = loket(tmp_path, "campaigns", "status", str(campaign_id), "--json")
    data = json.loads(result.stdout)
    assert set(data) >= STATUS_KEYS
    assert {k: data[k] for k in ("state", "recipients", "invalid", "duplicates", "sent")} == {
        "state": "draft",
        "recipients": 3,
        "invalid": 1,
        "duplicates": 1,
        "sent": 0,
    }
    again = create(tmp_path)
    assert again == campaign_id + 1
    for verb, state in (("start", "running"), ("pause", "paused"), ("resume", "running")):
        result = loket(tmp_path, "campaigns", verb, str(campaign_id))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"campaign {campaign_id} is {state}"
        assert status(tmp_path, campaign_id)["state"] == state
    assert loket(tmp_path, "campaigns", "cancel", str(campaign_id)).returncode == 0
    data = status(tmp_path, campaign_id)
    assert (data["state"], data["skipped"]) == ("cancelled", 3)
    refused = loket(tmp_path, "campaigns", "resume", str(campaign_id))
    assert refused.returncode == 1
    assert "cancelled" in refused.stderr


def test_create_refuses_bad_input_with_a_reason(tmp_path: Path) -> None:
    audience(tmp_path, 1)
    base = ["campaigns", "create", "X", "--channel", "whatsapp", "--audience", "audience.csv"]
    cases = [
        (["--template", "nope"], "Content SID"),
        (["--template", TEMPLATE, "--window", "8-17"], "HH:MM"),
        (["--template", TEMPLATE, "--variables", '{"1": "alamat"}'], "alamat"),
        (["--template", TEMPLATE, "--start", "besok"], "ISO"),
    ]
    for options, reason in cases:
        result = loket(tmp_path, *base, *options)
        assert result.returncode == 2, (options, result.stdout)
        assert reason in result.stderr
    missing = loket(tmp_path, "campaigns", "status", "99")
    assert missing.returncode == 1
    assert "no campaign 99" in missing.stderr


def test_the_opt_out_register_from_the_command_line(tmp_path: Path) -> None:
    assert loket(tmp_path, "optout", "add", "0812-3000-0001").stdout.strip() == (
        "+6281230000001 opted out"
    )
    audience(tmp_path, 3)
    campaign_id = create(tmp_path)
    assert status(tmp_path, campaign_id)["opted_out"] == 1
    assert "+6281230000001" in loket(tmp_path, "optout", "list").stdout
    assert "opted back in" in loket(tmp_path, "optout", "remove", "+6281230000001").stdout


def start_worker(tmp_path: Path, twilio: FakeTwilioApi, name: str) -> subprocess.Popen[bytes]:
    env = child_env(
        LOKET_DATABASE_URL=f"sqlite:///{tmp_path}/loket.db",
        LOKET_PUBLIC_URL="https://loket.example.co.id",
        LOKET_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        LOKET_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        LOKET_TWILIO_WHATSAPP_FROM="+14155238886",
        LOKET_TWILIO_BASE_URL=twilio.url,
        LOKET_OUTBOX_POLL_SECONDS="0.05",
        LOKET_CAMPAIGN_LEASE_SECONDS="5",
    )
    with (tmp_path / f"{name}.out").open("w") as output:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "chatbot", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def sent_count(tmp_path: Path) -> int:
    engine = create_engine(f"sqlite:///{tmp_path}/loket.db")
    try:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM campaignrecipient WHERE sent_at IS NOT NULL"
            return int(conn.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def test_a_worker_killed_mid_campaign_resends_at_most_the_sends_in_flight(
    tmp_path: Path, twilio_api: FakeTwilioApi
) -> None:
    count = 60
    audience(tmp_path, count)
    campaign_id = create(tmp_path, "--window", "00:00-24:00", "--every-day")
    assert loket(tmp_path, "campaigns", "start", str(campaign_id)).returncode == 0
    twilio_api.delay = 0.05  # a provider that takes its time: sends are in flight at the kill
    worker = start_worker(tmp_path, twilio_api, "first")
    try:
        wait_for(lambda: sent_count(tmp_path) >= 10, timeout=90, what="the first sends")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # no goodbye: sends in flight stay unrecorded
        worker.wait(timeout=30)
    recorded = sent_count(tmp_path)
    assert recorded < count
    twilio_api.delay = 0.0
    worker = start_worker(tmp_path, twilio_api, "second")
    try:
        wait_for(lambda: status(tmp_path, campaign_id)["state"] == "done", timeout=90)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    data = status(tmp_path, campaign_id)
    assert (data["sent"], data["failed"]) == (count, 0)
    per_number = Counter(c.form["To"] for c in twilio_api.calls())
    assert len(per_number) == count  # everyone got it
    twice = [to for to, n in per_number.items() if n > 1]
    assert all(n <= 2 for n in per_number.values())
    assert len(twice) <= CAMPAIGN_CONCURRENCY  # the sends in flight: claimed, not recorded
