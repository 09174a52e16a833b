"""Start-up with company: any number of `loket serve` and `loket worker` on one fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from sqlalchemy import text

from chatbot.admin.accounts import Accounts, UserInfo
from db.engine import make_engine, migrate
from tests.clock import FrozenClock
from tests.test_cli_serve import free_port

ROOT = Path(__file__).resolve().parent.parent
SERVES = 3
WORKERS = 2
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # the race, not the hash


def test_first_admin_is_created_exactly_once_when_processes_race(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    racers = 6
    start = threading.Barrier(racers)
    results: list[UserInfo | None] = []
    errors: list[BaseException] = []

    def race() -> None:
        accounts = Accounts(engine, FrozenClock(), hasher=CHEAP)
        start.wait()
        try:
            results.append(accounts.add_first_admin("admin", "a-long-password"))
        except BaseException as exc:  # a UserExists or a unique violation would land here
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert len([r for r in results if r is not None]) == 1
        accounts = Accounts(engine, FrozenClock(), hasher=CHEAP)
        assert [(u.name, u.role) for u in accounts.list_users()] == [("admin", "admin")]
        assert accounts.add_first_admin("other", "a-long-password") is None  # never again
    finally:
        engine.dispose()


def test_serve_and_worker_processes_started_together_on_a_fresh_database_all_come_up(
    database_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    # this checkout's code, whichever Loket the virtualenv has installed
    env.update(LOKET_DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    ports = [free_port() for _ in range(SERVES)]
    commands = [["serve", "--port", str(port)] for port in ports] + [["worker"]] * WORKERS
    logs = [tmp_path / f"process{n}.out" for n in range(len(commands))]
    processes = []
    for command, log in zip(commands, logs, strict=True):  # as close to together as we can
        with log.open("w") as out:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "chatbot", *command],
                    env=env,
                    cwd=tmp_path,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        deadline = time.monotonic() + 180  # 11 Python processes start on a busy 2-core machine
        waiting = set(ports)
        while waiting:
            assert time.monotonic() < deadline, f"no /healthz 200 from {sorted(waiting)}"
            for n, process in enumerate(processes):
                assert process.poll() is None, logs[n].read_text()
            for port in list(waiting):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        waiting.discard(port)
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        time.sleep(1.0)  # the workers got as far as the serves' background workers
        assert [p.poll() for p in processes] == [None] * len(processes)
    finally:
        for process in processes:
            process.terminate()
        codes = [process.wait(timeout=60) for process in processes]
    outputs = [log.read_text() for log in logs]
    assert codes == [0] * len(processes), outputs
    assert not [out for out in outputs if "Traceback" in out or " ERROR " in out], outputs
    assert sum(out.count("created the admin user") for out in outputs) == 1, outputs
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            users = conn.execute(text("SELECT name, role FROM desk_user")).all()
    finally:
        engine.dispose()
    assert [tuple(u) for u in users] == [("admin", "admin")]
