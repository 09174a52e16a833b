"""Reading request bodies from strangers: a size cap, a time cap, and a cap on how many at once.

A body is read only after the cheap checks that need no body passed (Telegram's secret
header, the presence of Twilio's signature header), and never more than `limit` bytes. Bodies
whose sender is not yet proven (a Twilio form before its signature is checked, a web chat
post) are read at most `max_pending` at a time per worker process, each within
`timeout_seconds`: a crowd of slow or large bodies costs at most max_pending x limit bytes of
memory, and is answered 503 (full) or 408 (too slow) instead of piling up. The cap is per
process on purpose: memory is per process, and it must hold when the database is down.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from fastapi import Request
from starlette.requests import ClientDisconnect

from chatbot.channels.base import RawRequest
from chatbot.errors import BodyTooSlow, MalformedPayload, Overloaded, PayloadTooLarge

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 1000  # Twilio sends about 30


class BodyReader:
    """Reads bodies under the limits above; one per app (the pending count is shared)."""

    def __init__(self, *, public_url: str, max_pending: int, timeout_seconds: float) -> None:
        self._public_url = public_url.rstrip("/")
        self._pending = asyncio.Semaphore(max_pending)
        self._timeout = timeout_seconds

    def head(self, request: Request) -> RawRequest:
        """The request without its body: enough to refuse a missing secret or signature.

        The URL is the public one the provider called (LOKET_PUBLIC_URL + path + query),
        since behind a proxy the URL this server sees is not the one Twilio signed.
        """
        url = self._public_url + request.url.path
        if request.url.query:
            url += f"?{request.url.query}"
        headers = {name.lower(): value for name, value in request.headers.items()}
        return RawRequest(url=url, headers=headers, body=b"")

    async def read(
        self, request: Request, head: RawRequest, *, limit: int, proven: bool
    ) -> RawRequest:
        """`head` with the body (and its form fields, for a form post) filled in.

        `proven` says the sender is already authenticated (Telegram's secret header); other
        bodies wait for a free place among the pending ones, or are refused when none is free.

        Raises:
            PayloadTooLarge: the body is (or says it is) over `limit` bytes.
            Overloaded: `max_pending` unproven bodies are being read already.
            BodyTooSlow: the body did not arrive within the time allowed.
            MalformedPayload: a form body is not valid UTF-8, or the client left mid-body.
        """
        declared = head.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"body is over the {limit}-byte limit")
        if proven:
            body = await self._bounded(request, limit)
        else:
            if self._pending.locked():
                raise Overloaded("too many requests are being read; try again shortly")
            async with self._pending:
                body = await self._bounded(request, limit)
        form: dict[str, list[str]] = {}
        if head.headers.get("content-type", "").startswith(FORM_TYPE):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedPayload(
                    f"the body is not UTF-8 (its Content-Type says {FORM_TYPE})"
                ) from None
            try:
                form = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
            except ValueError:
                raise MalformedPayload(f"form has over {MAX_FIELDS} fields") from None
        return RawRequest(url=head.url, headers=head.headers, body=body, form=form)

    async def _bounded(self, request: Request, limit: int) -> bytes:
        chunks = bytearray()
        try:
            async with asyncio.timeout(self._timeout):
                async for chunk in request.stream():
                    chunks += chunk
                    if len(chunks) > limit:
                        raise PayloadTooLarge(f"body is over the {limit}-byte limit")
        except TimeoutError:
            raise BodyTooSlow(f"the body did not arrive within {self._timeout:g} s") from None
        except ClientDisconnect:  # nobody hears the answer; only a traceback-free log line
            raise MalformedPayload("the client left before the body was complete") from None
        return bytes(chunks)
