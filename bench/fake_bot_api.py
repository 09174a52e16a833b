"""A minimal fake Telegram Bot API for the benchmarks: answers sendMessage, counts and logs it.

It runs on the same two cores as the server it measures, and Telegram's own servers would
not, so it is kept as cheap as an HTTP/1.1 keep-alive server can be: asyncio streams, the
form read with the standard library. Under uvicorn and Starlette it took about a third of
a core while Loket sent its replies.

`--delay S` makes every sendMessage take S seconds (a slow provider, for bench/faults.py).
A sendMessage counts from the moment it arrives (Telegram delivers what it received, even
if the sender dies before reading the answer). GET /count answers {"count": sendMessage
calls, "in_flight": those still being answered}; GET /log answers every sendMessage as
{"chat_id", "text", "arrived", "done"} (time.monotonic, comparable across processes on one
machine; "done" is null while in flight).

Usage: python -m bench.fake_bot_api PORT [--delay 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from typing import Any
from urllib.parse import parse_qs

_ids = itertools.count(1)
_log: list[dict[str, Any]] = []
_in_flight = 0


def answer(method: str, form: dict[str, list[str]]) -> bytes:
    """The JSON body Telegram would answer; sendMessage gets a plausible Message back."""
    if method != "sendMessage":
        return b'{"ok":true,"result":true}'
    chat_id = int(form.get("chat_id", ["0"])[0])
    message = {
        "message_id": next(_ids),
        "chat": {"id": chat_id, "type": "private"},
        "date": int(time.time()),
        "text": form.get("text", [""])[0],
    }
    return json.dumps({"ok": True, "result": message}).encode()


async def respond(method: str, body: bytes, delay: float) -> bytes:
    """Answer one Bot API call, logging (and, with a delay, slowly answering) sendMessage."""
    global _in_flight
    form = parse_qs(body.decode())
    if method != "sendMessage":
        return answer(method, form)
    entry: dict[str, Any] = {
        "chat_id": form.get("chat_id", [""])[0],
        "text": form.get("text", [""])[0],
        "arrived": time.monotonic(),
        "done": None,
    }
    _log.append(entry)
    _in_flight += 1
    try:
        if delay:
            await asyncio.sleep(delay)
        return answer(method, form)
    finally:
        _in_flight -= 1
        entry["done"] = time.monotonic()


def report(path: str) -> bytes:
    """GET /count and GET /log."""
    if path == "/count":
        return json.dumps({"count": len(_log), "in_flight": _in_flight}).encode()
    if path == "/log":
        return json.dumps(_log).encode()
    return b'{"ok":false}'


async def serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
) -> None:
    """Answer requests on one connection until the client closes it."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            length = 0
            for line in header_lines:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length) if length else b""
            verb, path = request_line.split(" ")[:2]
            if verb == "GET":
                payload = report(path)
            else:
                payload = await respond(path.rsplit("/", 1)[-1], body, delay)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
            )
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int, delay: float) -> None:
    """Serve until killed."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_connection(reader, writer, delay)

    server = await asyncio.start_server(connection, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per sendMessage")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.delay))
