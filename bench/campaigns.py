r"""A caring campaign of 100,000 recipients sent by `loket worker` to the fake Twilio API.

Usage:
    python bench/campaigns.py [--recipients 100000] [--kill-at 0.5] [--database-url URL]

The fake Twilio API (tests/fakes/twilio_api.py, the real twilio library talks to it over
HTTP) runs in this process; `loket worker` runs as a child with the campaign at an unlimited
rate, window 00:00-24:00 every day and a daily cap above the audience. Every second the
child's CPU time and resident memory are sampled with the recipients recorded as sent.

At `--kill-at` (a fraction of the audience recorded as sent) the worker gets SIGKILL (no
goodbye), a new one is started, and the campaign runs to `done`. Then, from the fake's count
of calls per number: recipients sent twice, against the bound, the sends in flight (the
dispatcher's concurrency).

Prints progress lines, then as its last line one JSON object: `sends_per_s` (before the
kill, and after it), `cpu_ms_per_send`, `rss_mb` samples as the campaign advanced and their
max, `sent_twice`, `in_flight_bound`, `missing`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from chatbot.frontdesk.outbox import CAMPAIGN_CONCURRENCY  # noqa: E402
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi  # noqa: E402

IN_FLIGHT_BOUND = CAMPAIGN_CONCURRENCY  # campaign sends claimed and not yet recorded, at most
LEASE_SECONDS = "10"  # the recipients in flight at the kill are sent again after this

TEMPLATE = "HX" + "ab" * 16
TICKS = os.sysconf("SC_CLK_TCK")


def child_env(database_url: str, twilio_url: str) -> dict[str, str]:
    """The worker's settings: the fake Twilio API, caps far above the audience."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(
        LOKET_DATABASE_URL=database_url,
        LOKET_PUBLIC_URL="https://loket.example.co.id",
        LOKET_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        LOKET_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        LOKET_TWILIO_WHATSAPP_FROM="+14155238886",
        LOKET_TWILIO_BASE_URL=twilio_url,
        LOKET_CAMPAIGN_DAILY_CAP="10000000",
        LOKET_WHATSAPP_MAX_PER_SECOND="100000",
        LOKET_CAMPAIGN_LEASE_SECONDS=LEASE_SECONDS,
    )
    return env


def loket(env: dict[str, str], cwd: Path, *args: str) -> str:
    """Run one `loket` command; its stdout, or exit with its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "chatbot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"loket {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def worker(env: dict[str, str], cwd: Path, name: str) -> subprocess.Popen[bytes]:
    """Start `loket worker` in its own process group, its log in `name`.log."""
    with (cwd / f"{name}.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "chatbot", "worker"],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sent(engine: Any) -> tuple[int, str]:
    """Recipients recorded as sent, and the campaign's state."""
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM campaignrecipient WHERE sent_at IS NOT NULL")
        ).scalar_one()
        state = conn.execute(text("SELECT state FROM campaign WHERE id = 1")).scalar_one()
    return int(count), str(state)


def run_phase(
    engine: Any, process: subprocess.Popen[bytes], stop_at: int | None, total: int
) -> dict[str, Any]:
    """Sample until `stop_at` recipients are recorded sent (then SIGKILL) or the end."""
    start_sent, _ = sent(engine)
    started = time.monotonic()
    samples: list[tuple[int, float]] = []
    last_print = 0.0
    while True:
        time.sleep(1.0)
        count, state = sent(engine)
        if process.poll() is not None:
            raise SystemExit(f"the worker exited with {process.returncode}")
        samples.append((count, rss_mb(process.pid)))
        now = time.monotonic()
        if now - last_print >= 10:
            last_print = now
            rate = (count - start_sent) / (now - started)
            print(
                f"  {count:>7}/{total} sent, {rate:.0f}/s, rss {samples[-1][1]:.0f} MB", flush=True
            )
        if stop_at is not None and count >= stop_at:
            cpu = cpu_seconds(process.pid)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            break
        if state == "done":
            cpu = cpu_seconds(process.pid)
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            break
    elapsed = time.monotonic() - started
    end_sent, _ = sent(engine)
    sends = end_sent - start_sent
    return {
        "sends": sends,
        "seconds": round(elapsed, 1),
        "sends_per_s": round(sends / elapsed, 1),
        "cpu_ms_per_send": round(cpu * 1000 / max(sends, 1), 3),
        "rss_mb": [round(mb, 1) for _, mb in samples[:: max(1, len(samples) // 10)]],
        "rss_mb_max": round(max(mb for _, mb in samples), 1),
    }


def main() -> None:
    """Create, send, kill, resume, count."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--kill-at", type=float, default=0.5)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()

    twilio = FakeTwilioApi()
    twilio.keep_calls = False
    twilio.start()
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        database_url = args.database_url or f"sqlite:///{cwd}/loket.db"
        env = child_env(database_url, twilio.url)
        audience = cwd / "audience.csv"
        with audience.open("w") as out:
            out.write("phone,name,paket\n")
            for n in range(args.recipients):
                out.write(f"0812{n:08d},Pelanggan {n},IndiHome 30 Mbps\n")
        began = time.monotonic()
        output = loket(
            env,
            cwd,
            "campaigns",
            "create",
            "Bench",
            "--channel",
            "whatsapp",
            "--template",
            TEMPLATE,
            "--variables",
            '{"1": "name", "2": "paket"}',
            "--audience",
            str(audience),
            "--window",
            "00:00-24:00",
            "--every-day",
        )
        create_s = time.monotonic() - began
        campaign_id = output.split()[-1]
        loket(env, cwd, "campaigns", "start", campaign_id)
        print(f"created campaign {campaign_id} in {create_s:.1f}s: {output.splitlines()[0]}")
        engine = create_engine(database_url)
        kill_at = int(args.recipients * args.kill_at)
        print(f"sending; SIGKILL at {kill_at} recorded sends")
        first = run_phase(engine, worker(env, cwd, "first"), kill_at, args.recipients)
        at_kill_calls = twilio.count
        at_kill_sent, _ = sent(engine)
        print(f"killed: {at_kill_sent} recorded sent, {at_kill_calls} calls reached Twilio")
        second = run_phase(engine, worker(env, cwd, "second"), None, args.recipients)
        status = json.loads(loket(env, cwd, "campaigns", "status", campaign_id, "--json"))
        engine.dispose()
    twilio.stop()
    counts = twilio.per_recipient
    result = {
        "recipients": args.recipients,
        "create_seconds": round(create_s, 1),
        "before_kill": first,
        "after_restart": second,
        "status": {k: status[k] for k in ("state", "sent", "failed", "recipients")},
        "twilio_calls": twilio.count,
        "sent_twice": sum(1 for n in counts.values() if n == 2),
        "sent_more_than_twice": sum(1 for n in counts.values() if n > 2),
        "in_flight_bound": IN_FLIGHT_BOUND,
        "unsent_at_kill_but_called": at_kill_calls - at_kill_sent,
        "missing": args.recipients - len(counts),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
