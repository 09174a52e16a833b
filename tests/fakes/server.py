"""Run an ASGI app with uvicorn on 127.0.0.1, port 0, in a background thread.

The fakes of vendor APIs use it (no lifespan), and so do the tests that need Loket itself on
a real socket (a browser, a live server; lifespan on, so background work runs).
"""

from __future__ import annotations

import threading
from typing import Any

import uvicorn

from tests.polling import wait_for


class ThreadedServer:
    """uvicorn in a daemon thread; `url` is known once started."""

    def __init__(self, app: Any, *, lifespan: str = "off", **config: Any) -> None:
        self._server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan, **config
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.url = ""

    def start(self) -> ThreadedServer:
        self._thread.start()
        wait_for(lambda: self._server.started, timeout=10, what="the server to start")
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
