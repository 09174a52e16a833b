"""`loket serve` as a subprocess: replies leave through its `loket outbox` child, in order."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.bot_api import FakeBotApi
from tests.web.helpers import SECRET, TOKEN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def update(n: int, text: str) -> dict[str, object]:
    chat = {"id": 424242, "first_name": "Rina", "type": "private"}
    return {
        "update_id": 7000 + n,
        "message": {
            "message_id": n,
            "from": {"id": 424242, "is_bot": False, "first_name": "Rina"},
            "chat": chat,
            "date": 1_763_866_800 + n,
            "text": text,
        },
    }


# 90 s: on a loaded 2-core machine (two xdist workers, PostgreSQL beside them) serve took
# over 30 s to answer /healthz; the wait ends as soon as it answers.
def wait_for(check: object, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def children(pid: int) -> dict[int, str]:
    """The process's children and their command lines."""
    found = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [int(p) for p in found.read_text().split()] if found.exists() else []
    return {p: Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode() for p in pids}


@pytest.fixture
def served(tmp_path: Path, bot_api: FakeBotApi) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env.update(
        LOKET_DATABASE_URL=f"sqlite:///{tmp_path}/loket.db",
        LOKET_TELEGRAM_TOKEN=TOKEN,
        LOKET_TELEGRAM_SECRET=SECRET,
        LOKET_TELEGRAM_BASE_URL=f"{bot_api.url}/bot",
    )
    output = (tmp_path / "serve.out").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "chatbot", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as in a terminal
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        output.close()


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi().start()
    yield api
    api.stop()


def test_serve_sends_replies_from_its_dispatcher_child_and_stops_it(
    served: tuple[str, subprocess.Popen[bytes]], bot_api: FakeBotApi
) -> None:
    url, process = served
    running = children(process.pid)
    dispatchers = [p for p, command in running.items() if "chatbot.outbox_process" in command]
    desks = [p for p, command in running.items() if "multiprocessing.spawn" in command]
    assert len(dispatchers) == 1  # the `loket outbox` process
    assert len(desks) == 1  # the desk process that parses and steps webhook messages
    headers = {"x-telegram-bot-api-secret-token": SECRET, "content-type": "application/json"}
    for n, text in enumerate(["halo kak", "stok di POS beda sama backoffice"], start=1):
        body = json.dumps(update(n, text))
        assert (
            httpx.post(f"{url}/webhooks/telegram", content=body, headers=headers).status_code
            == 200
        )
    wait_for(lambda: len(bot_api.sent_texts(424242)) >= 2)
    process.terminate()
    process.wait(timeout=30)
    assert not Path(f"/proc/{dispatchers[0]}").exists()  # stopped and reaped by serve
    assert not Path(f"/proc/{desks[0]}").exists()
    # multiprocessing's resource tracker ends once it sees its parent gone
    wait_for(lambda: not any(Path(f"/proc/{child}").exists() for child in running))


def test_the_first_start_creates_an_admin_whose_password_only_the_terminal_shows(
    served: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    url, _process = served
    said = (tmp_path / "serve.out").read_text()
    found = re.search(r"created the admin user 'admin' with password (\S+)", said)
    assert found is not None, said
    answer = httpx.post(
        f"{url}/login", data={"name": "admin", "password": found.group(1)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin"
    wrong = httpx.post(f"{url}/login", data={"name": "admin", "password": "admin"})
    assert wrong.status_code != 303


def test_ctrl_c_in_the_terminal_stops_serve_and_its_children_without_a_restart(
    served: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    _url, process = served
    running = children(process.pid)
    assert len(running) >= 2  # the outbox dispatcher and the desk process
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    process.wait(timeout=30)
    wait_for(lambda: not any(Path(f"/proc/{child}").exists() for child in running))
    said = (tmp_path / "serve.out").read_text()
    assert "starting it again" not in said
    assert "Application shutdown complete" in said
    assert "Traceback" not in said
    assert process.returncode == 0
