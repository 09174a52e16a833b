"""A minimal fake Telegram Bot API for the benchmark: answers sendMessage at once.

It runs on the same two cores as the server it measures, and Telegram's own servers would
not, so it is kept as cheap as an HTTP/1.1 keep-alive server can be: asyncio streams, the
form read with the standard library. Under uvicorn and Starlette it took about a third of
a core while Loket sent its replies.

Usage: python -m bench.fake_bot_api PORT
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from urllib.parse import parse_qs

_ids = itertools.count(1)


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


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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
            method = request_line.split(" ")[1].rsplit("/", 1)[-1]
            payload = answer(method, parse_qs(body.decode()))
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
            )
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    """Serve until killed."""
    server = await asyncio.start_server(serve_connection, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
