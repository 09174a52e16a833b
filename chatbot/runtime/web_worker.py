"""One web worker of `loket serve`: the FastAPI app on the socket the supervisor bound.

It takes requests only: webhooks and the web chat put messages in the inbox, the console
and admin pages read and act. The background worker does the rest.

Usage: python -m chatbot.runtime.web_worker --fd N
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import socket
import sys
from types import FrameType

import uvicorn

from chatbot.logs import configure_logging
from chatbot.runtime.supervisor import exit_with_parent
from chatbot.web.app import create_app
from settings import Settings


def main(argv: list[str]) -> int:
    """Serve until SIGTERM/SIGINT (uvicorn's graceful shutdown)."""
    parser = argparse.ArgumentParser(prog="python -m chatbot.runtime.web_worker")
    parser.add_argument("--fd", type=int, required=True, help="the listening socket")
    fd = parser.parse_args(argv).fd
    configure_logging(logging.INFO)
    app = create_app(Settings(), background=False)
    exit_with_parent()
    # Start-up objects (SQLAlchemy, pydantic, profiles, phrases) live as long as the
    # process: out of every collection, or full collections walk them all (80-140 ms pauses).
    gc.freeze()
    # loop="auto" and http="auto" choose uvloop and httptools (dependencies of Loket), and
    # fall back to asyncio and h11 where those are missing (uvloop has no Windows build).
    WebServer(uvicorn.Config(app, fd=fd, log_level="info"), app.state.stopping).run()
    return 0


class WebServer(uvicorn.Server):
    """uvicorn's server that, told to stop, first tells the app's event streams to end.

    Open streams would otherwise hold the shutdown until the supervisor kills the worker
    (chatbot/web/stopping.py).
    """

    def __init__(self, config: uvicorn.Config, stopping: asyncio.Event) -> None:
        super().__init__(config)
        self._stopping = stopping
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve, remembering the loop the stop signal hands the news to."""
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """SIGTERM or SIGINT: the streams end at their next turn, then uvicorn's own stop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        super().handle_exit(sig, frame)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
