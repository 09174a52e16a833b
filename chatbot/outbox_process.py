"""The outbox dispatcher in its own process, so sending replies uses another CPU core.

`loket serve` answers webhooks and commits each message, its step and its replies in one
process; python-telegram-bot and httpx cost about as much per reply as the whole receive
path per message, and one Python process runs on one core at a time. `loket serve` therefore
starts `loket outbox` next to itself, restarts it if it dies, and stops it (gracefully: the
round in flight is finished and recorded) when it stops. The outbox is the database, so the
two processes share nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

logger = logging.getLogger(__name__)

RESTART_SECONDS = 1.0  # pause before starting a dispatcher that died again
READY_SECONDS = 30.0  # longest wait for a starting dispatcher to say it is sending


class DispatcherProcess:
    """`loket outbox` as a child of `loket serve`: started, kept running, stopped."""

    def __init__(self, argv: list[str] | None = None) -> None:
        self._argv = argv or [sys.executable, "-m", "chatbot", "outbox"]
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._keep_running, daemon=True)

    def start(self) -> None:
        """Start the dispatcher, wait until it is sending, and keep it running.

        Waiting makes "serve is up" mean replies go out too: the dispatcher's start-up
        (about a second of imports) does not overlap the first webhooks.
        """
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        read_end, write_end = os.pipe()
        try:
            with self._lock:
                if self._stopping.is_set():
                    return
                self._process = subprocess.Popen(  # noqa: S603  # our own command
                    [*self._argv, "--ready-fd", str(write_end)], pass_fds=(write_end,)
                )
            os.close(write_end)
            write_end = -1
            readable, _, _ = select.select([read_end], [], [], READY_SECONDS)
            if not readable or not os.read(read_end, 16):
                logger.warning("The outbox dispatcher did not report ready; going on.")
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)

    def _keep_running(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            logger.error("The outbox dispatcher exited with %s; starting it again.", code)
            self._stopping.wait(RESTART_SECONDS)
            self._spawn()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the dispatcher to finish its round and exit; kill it only if it hangs."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_with_dispatcher(app: Any, *, host: str, port: int) -> None:
    """Run uvicorn with a dispatcher child, stopped after the server's graceful shutdown.

    uvicorn re-raises SIGTERM/SIGINT once it has shut down, which ends the process before
    any `finally` of ours; the child is stopped just before that.
    """
    dispatcher = DispatcherProcess()

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                try:
                    yield
                finally:
                    dispatcher.stop()

    dispatcher.start()
    try:
        Server(uvicorn.Config(app, host=host, port=port, log_level="info")).run()
    finally:
        dispatcher.stop()
