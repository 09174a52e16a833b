"""`loket serve` as a subprocess: its supervisor, web workers and background worker."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.fakes.bot_api import FakeBotApi
from tests.loket_cli import child_env
from tests.polling import wait_for
from tests.web.auth_helpers import login
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
SERVE_TIMEOUT = 90.0


def children(pid: int) -> dict[int, str]:
    """The process's children and their command lines."""
    found = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [int(p) for p in found.read_text().split()] if found.exists() else []
    return {p: Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode() for p in pids}


@pytest.fixture
def served(
    request: pytest.FixtureRequest, tmp_path: Path, bot_api: FakeBotApi
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    extra: list[str] = getattr(request, "param", [])
    env = child_env(
        LOKET_DATABASE_URL=f"sqlite:///{tmp_path}/loket.db",
        LOKET_TELEGRAM_TOKEN=TOKEN,
        LOKET_TELEGRAM_SECRET=SECRET,
        LOKET_TELEGRAM_BASE_URL=f"{bot_api.url}/bot",
        LOKET_TIMERS_POLL_SECONDS="0.2",
    )
    output = (tmp_path / "serve.out").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "chatbot", "serve", "--port", str(port), *extra],
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
        wait_for(up, timeout=120)  # four Python processes start; CI machines may be busy
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        output.close()


def workers(running: dict[int, str]) -> tuple[list[int], list[int]]:
    """(web worker pids, background worker pids) among serve's children."""
    web = [p for p, command in running.items() if "chatbot.runtime.web_worker" in command]
    background = [p for p, command in running.items() if "chatbot worker" in command]
    return web, background


HEADERS = {"x-telegram-bot-api-secret-token": SECRET, "content-type": "application/json"}


def say(url: str, n: int, text: str) -> None:
    body = json.dumps(update(n, text))
    answer = httpx.post(f"{url}/webhooks/telegram", content=body, headers=HEADERS)
    assert answer.status_code == 200, answer.text


def test_serve_answers_through_its_background_worker_and_stops_every_child(
    served: tuple[str, subprocess.Popen[bytes]], bot_api: FakeBotApi
) -> None:
    url, process = served
    running = children(process.pid)
    web, background = workers(running)
    assert len(web) == 1  # --workers defaults to 1
    assert len(background) == 1  # steppers, outbox, clocks
    for n, said in enumerate(["halo kak", "stok di POS beda sama backoffice"], start=1):
        say(url, n, said)
    wait_for(lambda: len(bot_api.sent_texts(424242)) >= 2, SERVE_TIMEOUT)
    process.terminate()
    process.wait(timeout=30)
    assert process.returncode == 0
    wait_for(lambda: not any(Path(f"/proc/{child}").exists() for child in running), SERVE_TIMEOUT)


@pytest.mark.parametrize("served", [["--workers", "2"]], indirect=True)
def test_killed_workers_are_started_again_and_lose_nothing_acknowledged(
    served: tuple[str, subprocess.Popen[bytes]], bot_api: FakeBotApi, tmp_path: Path
) -> None:
    url, process = served
    web, background = workers(children(process.pid))
    assert len(web) == 2
    assert len(background) == 1
    say(url, 1, "halo kak")
    os.kill(background[0], signal.SIGKILL)  # accepted messages wait in the inbox meanwhile
    say(url, 2, "stok di POS beda sama backoffice")
    os.kill(web[0], signal.SIGKILL)
    wait_for(lambda: all(len(group) for group in workers(children(process.pid))), SERVE_TIMEOUT)
    wait_for(lambda: len(workers(children(process.pid))[0]) == 2, SERVE_TIMEOUT)
    say(url, 3, "Rina")
    new_web, new_background = workers(children(process.pid))
    assert background[0] not in new_background
    assert web[0] not in new_web
    # every acknowledged message was stepped, in order, and answered
    wait_for(lambda: len(bot_api.sent_texts(424242)) >= 4, SERVE_TIMEOUT)
    done = subprocess.run(
        [sys.executable, "-m", "chatbot", "cases", "--json", "--id", "1"],
        env=child_env(LOKET_DATABASE_URL=f"sqlite:///{tmp_path}/loket.db"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    texts = [m["text"] for m in json.loads(done.stdout)["messages"] if m["direction"] == "in"]
    assert texts == ["halo kak", "stok di POS beda sama backoffice", "Rina"]
    assert "starting it again" in (tmp_path / "serve.out").read_text()


def test_an_admin_phrase_edit_reaches_the_next_agent_resolve_and_auto_close(
    served: tuple[str, subprocess.Popen[bytes]], bot_api: FakeBotApi, tmp_path: Path
) -> None:
    url, _process = served
    password = admin_password(tmp_path)
    say(url, 1, "halo kak")
    say(url, 2, "mau bicara dengan cs")  # a client asking for a person is queued
    engine = create_engine(f"sqlite:///{tmp_path}/loket.db")
    wait_for(lambda: case_state(engine) == "queued", SERVE_TIMEOUT)
    with httpx.Client(base_url=url) as admin:
        login(admin, "admin", password)
        for key, wording in [
            ("closing.normal_hard", "Sudah beres ya kak (diubah admin). Sudah berhasil?"),
            ("closing.easy", "Terima kasih kak (diubah admin)."),
        ]:
            saved = admin.post(f"/admin/phrases/id/{key}", data={"text": wording})
            assert saved.status_code in (200, 303), saved.text
        assert admin.post("/desk/cases/1/take").status_code in (200, 303)
        assert admin.post("/desk/cases/1/resolve").status_code in (200, 303)
    wait_for(
        lambda: any("diubah admin). Sudah" in t for t in bot_api.sent_texts(424242)), SERVE_TIMEOUT
    )
    # 20 minutes of silence after the closing phrase: the clocks close the case
    with engine.begin() as conn:
        conn.execute(text('UPDATE "case" SET updated_at = :then'), {"then": "2000-01-01 00:00:00"})
    wait_for(
        lambda: "Terima kasih kak (diubah admin)." in bot_api.sent_texts(424242), SERVE_TIMEOUT
    )
    engine.dispose()


def admin_password(tmp_path: Path) -> str:
    said = (tmp_path / "serve.out").read_text()
    found = re.search(r"created the admin user 'admin' with password (\S+)", said)
    assert found is not None, said
    return found.group(1)


def case_state(engine: Any) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text('SELECT state FROM "case" WHERE id = 1')).scalar()


def test_the_first_start_creates_an_admin_whose_password_only_the_terminal_shows(
    served: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    url, _process = served
    answer = httpx.post(
        f"{url}/login",
        data={"name": "admin", "password": admin_password(tmp_path)},
        follow_redirects=False,
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
    assert len(running) == 2  # a web worker and the background worker
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    process.wait(timeout=30)
    wait_for(lambda: not any(Path(f"/proc/{child}").exists() for child in running), SERVE_TIMEOUT)
    said = (tmp_path / "serve.out").read_text()
    assert "starting it again" not in said
    assert "Application shutdown complete" in said
    assert "Traceback" not in said
    assert process.returncode == 0


def test_serve_says_in_one_line_when_the_database_directory_cannot_be_made(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env["LOKET_DATABASE_URL"] = f"sqlite:///{blocker}/loket.db"
    env["PYTHONPATH"] = str(Path(__file__).parents[1])  # this checkout, not an installed one
    done = subprocess.run(
        [sys.executable, "-m", "chatbot", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("loket: cannot open the database sqlite:///")


def test_children_get_two_malloc_arenas_unless_the_operator_chose() -> None:
    from chatbot.runtime.supervisor import child_environment

    assert child_environment({"PATH": "/usr/bin"}) == {"PATH": "/usr/bin", "MALLOC_ARENA_MAX": "2"}
    assert child_environment({"MALLOC_ARENA_MAX": "8"})["MALLOC_ARENA_MAX"] == "8"


def test_a_child_that_keeps_dying_is_started_again_less_and_less_often() -> None:
    from chatbot.runtime.supervisor import STEADY_SECONDS, Child, restart_pause

    assert [restart_pause(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    child = Child("background worker 1", ["true"])
    child.started_at = 1000.0
    assert child.exited(1000.5) == 1  # the first exit: back in a second
    child.started_at = 1001.5
    assert child.exited(1002.0) == 2  # it died again at once: it waits longer
    child.started_at = 1004.0
    assert child.exited(1004.0 + STEADY_SECONDS) == 1  # it ran a while: a fresh start


def test_open_event_streams_end_when_serve_is_told_to_stop(
    served: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """A console tab and a web chat stay open in production: a restart must not wait for them.

    Before, uvicorn waited for the streams until the supervisor killed the worker (30 s).
    """
    url, process = served
    with (
        httpx.Client(base_url=url, timeout=60) as agent,
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        login(agent, "admin", admin_password(tmp_path))
        client.get("/")  # the chat page gives the chat its cookie
        opened: list[str] = []

        def listen(who: httpx.Client, path: str) -> None:
            try:
                with who.stream("GET", path) as events:
                    opened.append(path)
                    for _line in events.iter_lines():
                        pass
            except httpx.HTTPError:
                pass  # the stream was cut: the test below tells whether it was in time

        streams = [
            threading.Thread(target=listen, args=(who, path), daemon=True)
            for who, path in ((client, "/chat/events"), (agent, "/desk/events"))
        ]
        for stream in streams:
            stream.start()
        wait_for(lambda: len(opened) == 2, SERVE_TIMEOUT)
        started = time.monotonic()
        process.terminate()
        process.wait(timeout=40)
        took = time.monotonic() - started
        for stream in streams:
            stream.join(timeout=5)
            assert not stream.is_alive()  # the server ended both streams
    said = (tmp_path / "serve.out").read_text()
    assert "did not stop in time" not in said
    assert took < 15, f"serve took {took:.1f} s to stop"
    assert process.returncode == 0
