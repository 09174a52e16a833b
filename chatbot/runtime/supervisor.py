"""`loket serve`: one small supervisor that starts every child process and restarts any that dies.

The supervisor imports only the standard library, so it costs a few MB. It binds the
listening socket once and hands it to N web workers (chatbot/runtime/web_worker.py), starts
M background workers (`loket worker`: steppers, outbox, clocks), and before either, a
one-shot preparation child that migrates the database and creates the first admin. All
state is in the database, so a child that dies loses nothing; the supervisor starts it
again. Ctrl-C or SIGTERM stops every child gracefully (they finish what they hold).

Usage: python -m chatbot.runtime.supervisor --host 127.0.0.1 --port 8000 --workers 1
       [--background 1]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from chatbot.logs import configure_logging

logger = logging.getLogger("loket.supervisor")

RESTART_PAUSE_SECONDS = 1.0  # before starting again a child that died
LONGEST_RESTART_PAUSE_SECONDS = 60.0  # a child that keeps dying is retried this often at most
STEADY_SECONDS = 60.0  # a child that ran this long before dying starts again at once (1 s)
STOP_SECONDS = 30.0  # longest wait for children to finish gracefully
PARENT_CHECK_SECONDS = 1.0


@dataclass
class Child:
    """One supervised process: how to start it, and the running one."""

    name: str
    argv: list[str]
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_exits: int = 0  # exits in a row, each before STEADY_SECONDS of running
    restart_at: float | None = None  # when it starts again after an exit

    def start(self) -> None:
        """Start (or start again) the process."""
        self.started_at = time.monotonic()
        self.restart_at = None
        self.process = subprocess.Popen(  # noqa: S603  # our own modules
            self.argv, pass_fds=self.pass_fds, env=child_environment(os.environ)
        )

    def exited(self, now: float) -> float:
        """Note an exit; returns the pause before it starts again."""
        steady = now - self.started_at >= STEADY_SECONDS
        self.quick_exits = 1 if steady else self.quick_exits + 1
        pause = restart_pause(self.quick_exits)
        self.restart_at = now + pause
        return pause


def restart_pause(quick_exits: int) -> float:
    """1 s after a first exit, then twice as long for each quick one in a row, up to 60 s.

    A child killed once (a kill -9, an out-of-memory) is back in a second; one that cannot
    start (the database refuses it, a broken setting) is not restarted, and logged, every
    second for as long as nobody looks.
    """
    doubled = RESTART_PAUSE_SECONDS * 2.0 ** min(max(quick_exits - 1, 0), 16)
    return min(doubled, LONGEST_RESTART_PAUSE_SECONDS)


def child_environment(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The children's environment: ours, with glibc's malloc held to two arenas.

    Each thread that allocates gets an arena of its own by default, and the workers'
    threads (then the background's database threads, now the web worker's thread pool) kept
    about 5 MB of them resident (bench/webhooks.py: 252 MB for the whole tree, 247 MB with
    two arenas). An operator's own MALLOC_ARENA_MAX wins.
    """
    return {"MALLOC_ARENA_MAX": "2", **environ}


class Supervisor:
    """Keeps a fixed set of children running until asked to stop."""

    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self._stopping = threading.Event()

    def stop(self, *_args: object) -> None:
        """Ask for a graceful stop (a signal handler)."""
        self._stopping.set()

    def run(self) -> int:
        """Start the children, restart any that exits, and stop them all when asked."""
        for child in self.children:
            child.start()
        while not self._stopping.wait(0.2):
            now = time.monotonic()
            for child in self.children:
                process = child.process
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        child.start()
                    continue
                if process is None or process.poll() is None:
                    continue
                pause = child.exited(now)
                logger.error(
                    "%s (pid %s) exited with %s; starting it again in %.0f s.",
                    child.name,
                    process.pid,
                    process.returncode,
                    pause,
                )
        return self._stop_children()

    def _stop_children(self) -> int:
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.error("pid %s did not stop in time; killing it.", process.pid)
                process.kill()
                process.wait()
        return 0


def exit_with_parent() -> None:
    """In a child: stop gracefully (SIGTERM to itself) once the supervisor is gone.

    A supervisor killed with -9 cannot stop its children; without this they would go on
    serving behind the back of the next `loket serve`.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="loket-parent-watch", daemon=True).start()


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket every web worker accepts on; bound here, once, so workers share it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main(argv: list[str]) -> int:
    """Prepare the database, then run N web workers and M background workers."""
    parser = argparse.ArgumentParser(prog="loket serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--background", type=int, default=1)
    args = parser.parse_args(argv)
    configure_logging(logging.INFO)
    python = sys.executable
    try:
        sock = listening_socket(args.host, args.port)
    except OSError as exc:
        print(f"loket: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    base = f"http://{args.host}:{sock.getsockname()[1]}"
    prepared = subprocess.run(  # noqa: S603  # our own module
        [python, "-m", "chatbot.runtime.prepare", "--url", base], check=False
    )
    if prepared.returncode != 0:
        return prepared.returncode
    fd = sock.fileno()
    web = [
        Child(
            f"web worker {n + 1}",
            [python, "-m", "chatbot.runtime.web_worker", "--fd", str(fd)],
            (fd,),
        )
        for n in range(max(1, args.workers))
    ]
    background = [
        Child(f"background worker {n + 1}", [python, "-m", "chatbot", "worker"])
        for n in range(max(1, args.background))
    ]
    supervisor = Supervisor([*web, *background])
    signal.signal(signal.SIGINT, supervisor.stop)
    signal.signal(signal.SIGTERM, supervisor.stop)
    code = supervisor.run()
    sock.close()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
