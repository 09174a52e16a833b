"""A minimal fake Telegram Bot API for the benchmark: answers sendMessage at once.

Usage: python -m bench.fake_bot_api PORT
"""

from __future__ import annotations

import itertools
import sys
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_ids = itertools.count(1)


async def handle(request: Request) -> JSONResponse:
    """Answer every Bot API method; sendMessage gets a plausible Message back."""
    form = await request.form()
    if request.path_params["method"] != "sendMessage":
        return JSONResponse({"ok": True, "result": True})
    chat_id = int(str(form.get("chat_id", "0")))
    return JSONResponse(
        {
            "ok": True,
            "result": {
                "message_id": next(_ids),
                "chat": {"id": chat_id, "type": "private"},
                "date": int(time.time()),
                "text": str(form.get("text", "")),
            },
        }
    )


app = Starlette(routes=[Route("/bot{token}/{method}", handle, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
