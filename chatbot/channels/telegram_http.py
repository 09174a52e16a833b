"""python-telegram-bot's HTTP requests over aiohttp instead of its default httpx.

PTB sends through any `telegram.request.BaseRequest`; its default, HTTPXRequest, cost
1.17 ms of CPU per `send_message` against the benchmark's fake Bot API, this one 0.25 ms
(2,000 sends, 8 in flight, same Bot and fake API): the outbox's CPU went mostly into
httpx and httpcore. aiohttp is already installed for twilio's async client. PTB still builds
every request and reads every answer (errors, 429 retry_after, de_json); only the transport
changes. Write timeouts have no aiohttp equivalent: sends are bounded by the connect and read
timeouts.
"""

from __future__ import annotations

import io

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECT_SECONDS = 5.0  # the same defaults as PTB's HTTPXRequest
READ_SECONDS = 5.0
POOL_SECONDS = 1.0


class AiohttpRequest(BaseRequest):
    """A pool of `pool_size` keep-alive connections to the Bot API, opened on first use."""

    def __init__(self, pool_size: int = 8) -> None:
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        """The read timeout used when a call does not give its own."""
        return READ_SECONDS

    async def initialize(self) -> None:
        """Open the session (inside the running event loop, as aiohttp requires)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        """Close the connections; safe to call twice or before any request."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,  # noqa: ARG002  # see module
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one Bot API request; PTB reads the status and the body.

        Raises:
            TimedOut: no connection, or no answer, within the timeouts.
            NetworkError: the connection failed.
        """
        await self.initialize()
        assert self._session is not None
        read = _seconds(read_timeout, READ_SECONDS)
        connect = _seconds(connect_timeout, CONNECT_SECONDS)
        pool = _seconds(pool_timeout, POOL_SECONDS)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _seconds(value: object, default: float) -> float | None:
    """A timeout PTB passed: seconds, None (no limit), or its "not given" sentinel.

    The sentinel's class lives in PTB's private `telegram._utils`, so it is recognised by
    what it is not (a number or None) rather than imported.
    """
    if value is None or isinstance(value, int | float):
        return value
    return default


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """Fields form-encoded, as PTB's httpx request sends them; multipart when files go along."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    files = request_data.multipart_data
    if not files:
        return fields
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, content_type) in files.items():
        # A stream, not raw bytes: aiohttp warns that a body over 1 MB of raw bytes blocks
        # the event loop while it is written (an agent's file can be 16 MB).
        data = io.BytesIO(content) if isinstance(content, bytes) else content
        form.add_field(name, data, filename=filename, content_type=content_type)
    return form
