"""What the webhook and fault benchmarks share: ports, servers, databases, the fake Bot API.

A library for bench/webhooks.py and bench/faults.py (and tests/test_faults.py), not a program.

Usage: from bench.harness import fresh_database, FakeBotApiProcess, RssSampler, serve
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from flows.yaml_files import read_yaml

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-telegram-secret-0123456789"
TOKEN = "123456:BENCH-token"
HEADERS = {"x-telegram-bot-api-secret-token": SECRET, "content-type": "application/json"}


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], *, path: str = "", timeout: float = 60
) -> None:
    """Poll until the server answers `path` with 200, or without a path accepts a connection.

    Raises RuntimeError if the server died or never answered.
    """
    deadline = time.monotonic() + timeout
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {process.returncode}")
        try:
            if path:
                with urllib.request.urlopen(url + path, timeout=1) as answer:
                    if answer.status == 200:
                        return
            else:
                with socket.create_connection(("127.0.0.1", port), 0.2):
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url}: server did not start")


def stop(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Ask the server to stop (SIGTERM: graceful) and wait for it; kill it if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- processes and their memory, from /proc ------------------------------------------------


def children(pid: int) -> dict[int, str]:
    """The process's direct children and their command lines."""
    found = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        pids = [int(p) for p in found.read_text().split()]
    except OSError:
        return {}
    running: dict[int, str] = {}
    for child in pids:
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            running[child] = command.decode(errors="replace").strip()
    return running


def tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children(current))
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of one process (VmRSS), 0 if it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def tree_rss_mb(pid: int) -> float:
    """Resident memory summed over the process tree rooted at `pid`."""
    return sum(rss_mb(p) for p in tree(pid))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used so far (/proc/PID/stat), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on the machine (its backends are nobody's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU used by named groups of processes between `start` and `stop`, for a CPU budget.

    Each group is a callable returning its pids, asked at both ends (a process that
    started in between counts from zero; one that ended in between is not counted).
    """

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self._groups = groups
        self._before: dict[str, dict[int, float]] = {}
        self.seconds: dict[str, float] = {}

    def _read(self) -> dict[str, dict[int, float]]:
        return {name: {p: cpu_seconds(p) for p in pids()} for name, pids in self._groups.items()}

    def start(self) -> None:
        """Note every group's CPU so far."""
        self._before = self._read()

    def stop(self) -> None:
        """Each group's CPU since `start`, in `seconds`."""
        for name, now in self._read().items():
            before = self._before.get(name, {})
            self.seconds[name] = sum(cpu - before.get(p, 0.0) for p, cpu in now.items())

    def cores_busy(self, seconds: float) -> float:
        """How many cores the groups kept busy on average over `seconds` of wall time."""
        return round(sum(self.seconds.values()) / seconds, 2)

    def ms_per(self, count: int) -> dict[str, float]:
        """Each group's CPU milliseconds per item (message), and their `total`."""
        per = {name: round(sec * 1000 / max(1, count), 3) for name, sec in self.seconds.items()}
        per["total"] = round(sum(per.values()), 3)
        return per


class RssSampler:
    """Samples a process tree's summed RSS in a thread; `peak` and `last` in MB."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self._pid = pid
        self._every = every
        self._stop = threading.Event()
        self.peak = 0.0
        self.samples = 0
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def now(self) -> float:
        """Sample once (also counted in the peak)."""
        value = tree_rss_mb(self._pid)
        self.peak = max(self.peak, value)
        self.samples += 1
        return value

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.now()


# --- databases -------------------------------------------------------------------------------


def is_postgres(url: str) -> bool:
    """Whether `url` names a PostgreSQL server (postgresql:// or postgresql+driver://)."""
    return url.startswith("postgresql")


def sqlalchemy_url(url: str) -> str:
    """postgresql://... as SQLAlchemy with psycopg 3 wants it (postgresql+psycopg://...)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg / libpq reads it."""
    parsed = make_url(sqlalchemy_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def shown(url: str) -> str:
    """A URL fit to print (password hidden)."""
    return make_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def fresh_database(db: str, work: Path, name: str) -> Iterator[str]:
    """A new, empty database for one run, as a SQLAlchemy URL; dropped afterwards.

    `db` is "sqlite" (a file under `work`) or a PostgreSQL admin URL allowed to CREATE
    DATABASE.
    """
    if not is_postgres(db):
        yield f"sqlite:///{work / name}.db"
        return
    admin_url = sqlalchemy_url(db)
    database = f"loket_bench_{name}_{uuid.uuid4().hex[:8]}".lower().replace("-", "_")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield make_url(admin_url).set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def reader(url: str) -> Engine:
    """An engine for reading a run's database while servers write it (no pooled state)."""
    return create_engine(url, poolclass=NullPool)


def scalar(engine: Engine, sql: str) -> int:
    """One number from the database."""
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


# --- the fake Bot API and `loket serve` ------------------------------------------------------


@dataclass
class FakeBotApiProcess:
    """bench/fake_bot_api.py in a subprocess; reads its counters and its log over HTTP."""

    delay: float = 0.0
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FakeBotApiProcess:
        self.port = free_port()
        argv = [sys.executable, "-m", "bench.fake_bot_api", str(self.port)]
        if self.delay:
            argv += ["--delay", str(self.delay)]
        self.process = subprocess.Popen(  # our own module
            argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until_up(self.url, self.process)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            stop(self.process)

    @property
    def url(self) -> str:
        """Where it listens; LOKET_TELEGRAM_BASE_URL is this + "/bot"."""
        return f"http://127.0.0.1:{self.port}"

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as answer:
            return json.loads(answer.read())

    @property
    def pid(self) -> int:
        """The fake's process id (its CPU counts in a run's budget)."""
        assert self.process is not None, "use it in a with block"
        return self.process.pid

    def count(self) -> int:
        """How many sendMessage calls arrived so far."""
        return int(self._get("/count")["count"])

    def log(self) -> list[dict[str, Any]]:
        """Every sendMessage call: chat_id, text, arrived and done (time.monotonic)."""
        return list(self._get("/log"))


def always_open_profiles(work: Path) -> Path:
    """The desk's profiles without office hours, under `work`: the same replies at any hour.

    Outside office hours the bot adds its after-hours notice to hand-offs, so a benchmark's
    count of replies, and its processed rate, would depend on the time of day it ran.
    """
    profiles = work / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    for source in (ROOT / "flows" / "profiles").glob("*.yaml"):
        profile = read_yaml(source.read_text(encoding="utf-8"))
        profile.pop("office_hours", None)
        (profiles / source.name).write_text(
            yaml.safe_dump(profile, allow_unicode=True, sort_keys=False)
        )
    return profiles


def loket_env(
    database_url: str, fake: FakeBotApiProcess, work: Path, **extra: str
) -> dict[str, str]:
    """The environment `loket serve` runs with: only these LOKET_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env.update(
        LOKET_PROFILES_DIR=str(always_open_profiles(work)),
        LOKET_DATABASE_URL=sqlalchemy_url(database_url),
        LOKET_TELEGRAM_TOKEN=TOKEN,
        LOKET_TELEGRAM_SECRET=SECRET,
        LOKET_TELEGRAM_BASE_URL=f"{fake.url}/bot",
        # Measure the engine, not the limiter (the defaults are Telegram's published limits).
        LOKET_TELEGRAM_MAX_PER_SECOND="100000",
        LOKET_TELEGRAM_MAX_PER_CHAT_PER_SECOND="100000",
        PTB_TIMEDELTA="1",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


@contextlib.contextmanager
def serve(
    env: dict[str, str], workers: int, cwd: Path, *, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`loket serve --workers N` on a free port, up (healthz 200) until the block ends."""
    port = free_port()
    cwd.mkdir(parents=True, exist_ok=True)
    output = log.open("ab") if log is not None else None
    process = subprocess.Popen(  # our own module
        [sys.executable, "-m", "chatbot", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=cwd,
        stdout=output or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if output else subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, path="/healthz", timeout=300)  # slow on a busy machine
        yield url, process
    finally:
        stop(process)
        if process.poll() is None:  # pragma: no cover - stop() killed it
            os.killpg(process.pid, signal.SIGKILL)
        if output is not None:
            output.close()


def serve_workers(pid: int) -> tuple[list[int], list[int]]:
    """(web worker pids, background worker pids) among `loket serve`'s children."""
    running = children(pid)
    web = [p for p, command in running.items() if "chatbot.runtime.web_worker" in command]
    background = [p for p, command in running.items() if "chatbot worker" in command]
    return web, background
