"""Webhook messages parsed and stepped in a child process: HTTP on one core, the desk on another.

One Python process runs Python on one CPU core at a time. Under load `loket serve` spends
as much CPU on HTTP as on parsing Telegram updates and the flow step with its SQLite
transaction, so with SQLite the group commit's batches run in a child process that opens
its own desk on the same database. A batch crosses as pickled deliveries (checked Telegram
bodies, parsed Twilio messages) one way and receipts the other, a few µs a message. Each
request is still answered only after the child committed its messages, so nothing
acknowledged is lost if either process dies: a dead child is started again and the requests
it held are answered 503 (the provider sends them again). `_open` is the child's
composition root: it reads the settings to build the desk and the Telegram parser.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import pickle
import signal
import struct
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from chatbot.bootstrap import open_desk_for
from chatbot.channels.base import Channel
from chatbot.clock import SystemClock
from chatbot.desk import Desk
from chatbot.errors import DeskUnavailable
from chatbot.group_commit import Delivery, Outcome, record
from chatbot.wiring import telegram_channel
from settings import Settings

logger = logging.getLogger(__name__)

READY = b"ready"
STOP_SECONDS = 30.0  # longest wait for the child to finish its batch at shutdown
_HEADER = struct.Struct("!i")  # multiprocessing.Connection's frame header


def _open(settings: Settings) -> tuple[Desk, dict[str, Channel]]:
    desk = open_desk_for(settings, SystemClock())[1]
    telegram = telegram_channel(settings)  # parses only: never sends
    channels: dict[str, Channel] = {"telegram": telegram} if telegram is not None else {}
    gc.freeze()  # start-up objects out of every collection (cli.py: LONG_RUNNING_GC)
    return desk, channels


def _serve(requests: Connection, replies: Connection, settings: Settings) -> None:
    """The child's main: open the desk, say ready, then record batches until the parent goes.

    Ctrl-C and systemd's stop reach the whole process group; the child leaves its end to
    serve, which finishes the requests in flight and then closes the pipe (EOF below).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    desk, channels = _open(settings)
    replies.send_bytes(READY)
    while True:
        try:
            batch = pickle.loads(requests.recv_bytes())  # noqa: S301  # from our own parent
        except EOFError:  # the parent closed the pipe (stop) or died
            return
        results = [_portable(outcome) for outcome in record(desk, channels, batch)]
        replies.send_bytes(pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL))


def _portable(outcome: Outcome) -> Outcome:
    """The outcome, or for an exception that cannot be pickled, a RuntimeError saying it."""
    if not isinstance(outcome, Exception):
        return outcome
    try:
        pickle.dumps(outcome)
    except Exception:
        return RuntimeError(f"{type(outcome).__name__}: {outcome}")
    return outcome


class _Replies(asyncio.Protocol):
    """The child's answers, read without blocking the loop; each resolves the oldest waiter.

    Frames are multiprocessing.Connection's: a 4-byte big-endian length, then the bytes.
    """

    def __init__(self) -> None:
        self.waiting: deque[asyncio.Future[bytes]] = deque()
        self.closed = False
        self._buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer)
            if len(self._buffer) < _HEADER.size + size:
                return
            frame = bytes(self._buffer[_HEADER.size : _HEADER.size + size])
            del self._buffer[: _HEADER.size + size]
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(frame)

    def connection_lost(self, _exc: Exception | None) -> None:
        self.closed = True
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(
                    DeskUnavailable("the desk process stopped; send the message again")
                )


def _log_failed_start(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("The desk process did not start again: %s", task.exception())


def _take_fd(connection: Connection) -> int:
    """The connection's descriptor, owned by the caller from now on."""
    fd = os.dup(connection.fileno())
    connection.close()
    return fd


class DeskProcess:
    """A child process with its own desk; batches go down one pipe, answers up another.

    The pipes are asyncio transports in this process: a batch is written and its answer
    read by the event loop itself, with no thread in between. (concurrent.futures'
    process pool passes each batch through two threads of this busy process: 7 ms round
    trips for 2 ms of work in the child.) Answers come back in the order batches went.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._process: BaseProcess | None = None
        self._requests: asyncio.WriteTransport | None = None
        self._replies: _Replies | None = None
        self._restarting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the child and wait until its desk is open (imports, profiles, phrases).

        Raises:
            DeskUnavailable: the child stopped before it was ready.
        """
        context = multiprocessing.get_context("spawn")  # fork would copy this process's threads
        child_reads, parent_writes = context.Pipe(duplex=False)
        parent_reads, child_writes = context.Pipe(duplex=False)
        process = context.Process(
            target=_serve,
            args=(child_reads, child_writes, self._settings),
            name="loket-desk",
            daemon=True,
        )
        process.start()
        child_reads.close()
        child_writes.close()
        loop = asyncio.get_running_loop()
        replies = _Replies()
        await loop.connect_read_pipe(
            lambda: replies, os.fdopen(_take_fd(parent_reads), "rb", buffering=0)
        )
        requests, _ = await loop.connect_write_pipe(
            asyncio.Protocol, os.fdopen(_take_fd(parent_writes), "wb", buffering=0)
        )
        ready: asyncio.Future[bytes] = loop.create_future()
        replies.waiting.append(ready)
        self._process, self._requests, self._replies = process, requests, replies
        if await ready != READY:
            raise DeskUnavailable("the desk process answered nonsense at start")

    async def record(self, batch: list[Delivery]) -> list[Outcome]:
        """Each delivery's Recorded or exception, once the child committed the batch.

        Raises:
            DeskUnavailable: the child is gone (it is started again for the next batch).
        """
        if self._restarting is not None and not self._restarting.done():
            await asyncio.shield(self._restarting)  # a new child is starting: wait for it
        replies, requests = self._replies, self._requests
        if replies is None or requests is None or replies.closed:
            self._restart()
            raise DeskUnavailable("the desk process is restarting; send the message again")
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        replies.waiting.append(answer)
        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        requests.write(_HEADER.pack(len(data)) + data)
        try:
            results: list[Outcome] = pickle.loads(await answer)  # noqa: S301  # our own child
        except DeskUnavailable:
            self._restart()
            raise
        return results

    def _restart(self) -> None:
        if self._restarting is not None and not self._restarting.done():
            return
        logger.error("The desk process died; starting it again.")
        self._close()
        if self._process is not None:
            self._process.join(0)  # reap it: a dead child stays a zombie until joined
        self._restarting = asyncio.get_running_loop().create_task(self.start())
        self._restarting.add_done_callback(_log_failed_start)

    @property
    def pid(self) -> int | None:
        """The child's process id, once started (for logs and for tests that kill it)."""
        return self._process.pid if self._process is not None else None

    async def stop(self) -> None:
        """Close the child's pipe: it finishes the batch in hand and exits."""
        process = self._process
        self._close()
        if process is not None:
            await asyncio.get_running_loop().run_in_executor(None, process.join, STOP_SECONDS)
            if process.is_alive():
                process.kill()

    def _close(self) -> None:
        if self._requests is not None:
            self._requests.close()
        self._requests = self._replies = None
