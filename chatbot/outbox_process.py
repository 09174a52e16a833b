"""The outbox dispatcher in its own process, so sending replies uses another CPU core.

Both sides live here: `serve_with_dispatcher` and DispatcherProcess in `loket serve`, and
`run_dispatcher`, the child's main (`python -m chatbot.outbox_process`, or `loket outbox`).

Sending a reply through python-telegram-bot costs CPU (0.25 ms a send over aiohttp), and one
Python process runs on one core at a time, so `loket serve` starts the dispatcher next to
itself, waits until it is sending, restarts it if it dies, and stops it (gracefully: the
round in flight is finished and recorded) when it stops. The outbox is the database, so the
processes share nothing else. The child loads no web framework: it starts in about half the
time and memory of `loket serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

from chatbot.channels.base import Channel
from chatbot.channels.web import WebChannel
from chatbot.clock import SystemClock
from chatbot.wiring import open_channels, outbox_dispatcher
from db.engine import make_engine
from settings import Settings

logger = logging.getLogger(__name__)

RESTART_SECONDS = 1.0  # pause before starting a dispatcher that died again
PARENT_CHECK_SECONDS = 1.0  # how often an orphaned dispatcher notices and stops
READY_SECONDS = 30.0  # longest wait for a starting dispatcher to say it is sending


class DispatcherProcess:
    """`loket outbox` as a child of `loket serve`: started, kept running, stopped."""

    def __init__(self) -> None:
        self._argv = [sys.executable, "-m", "chatbot.outbox_process"]
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
    import uvicorn  # here: the dispatcher child imports this module without serving HTTP

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


async def run_dispatcher(settings: Settings, *, ready_fd: int | None = None) -> None:
    """Send replies until SIGTERM/SIGINT or until the parent `loket serve` is gone.

    `loket outbox` runs this; so does the child `loket serve` starts, which passes
    `ready_fd` (see DispatcherProcess) and imports no web framework to get here.
    """
    clock = SystemClock()
    engine = make_engine(settings.database_url)  # `loket serve` migrated it before
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if ready_fd is None:
        loop.add_signal_handler(signal.SIGINT, stop.set)
    else:  # started by serve: Ctrl-C reaches the whole group, and serve stops us with SIGTERM
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    parent = os.getppid()

    async def watch_parent() -> None:
        while not stop.is_set():
            if os.getppid() != parent:  # serve was killed: do not send on behind its back
                stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=PARENT_CHECK_SECONDS)

    try:
        async with open_channels(settings, clock) as built:
            channels: dict[str, Channel] = {"web": WebChannel(), **built}
            gc.freeze()  # start-up objects out of every collection (cli.py: LONG_RUNNING_GC)
            dispatcher = outbox_dispatcher(engine, channels, clock, settings)
            watcher = asyncio.create_task(watch_parent())
            if ready_fd is not None:  # `loket serve` waits for this before it listens
                os.write(ready_fd, b"ready")
                os.close(ready_fd)
            await dispatcher.run(settings.outbox_poll_seconds, stop)
            await watcher
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    """`python -m chatbot.outbox_process --ready-fd N`: the child `loket serve` starts."""
    parser = argparse.ArgumentParser(prog="python -m chatbot.outbox_process")
    parser.add_argument("--ready-fd", type=int, help="write to this descriptor once sending")
    ready_fd = parser.parse_args(argv).ready_fd
    logging.basicConfig(  # as `loket outbox`: warnings and errors (retries, failed replies)
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run_dispatcher(Settings(), ready_fd=ready_fd))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
