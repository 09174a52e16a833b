"""The yardstick: a FastAPI endpoint that only checks the secret and inserts the update.

Usage: python -m bench.minimal_endpoint PORT DATABASE_FILE SECRET
"""

from __future__ import annotations

import hmac
import json
import sqlite3
import sys

import uvicorn
from fastapi import FastAPI, Request, Response

PORT, DATABASE, SECRET = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()

db = sqlite3.connect(DATABASE, isolation_level=None, check_same_thread=False)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE IF NOT EXISTS update_ (update_id INTEGER PRIMARY KEY, body TEXT)")
app = FastAPI()


@app.post("/webhooks/telegram")
async def telegram(request: Request) -> Response:
    """Check the secret, store the update (one committed insert), acknowledge."""
    given = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
    if not hmac.compare_digest(given, SECRET):
        return Response(status_code=403)
    body = await request.body()
    update_id = json.loads(body)["update_id"]
    # One event loop, one connection: inserts are serialised without lock waits.
    db.execute("INSERT OR IGNORE INTO update_ VALUES (?, ?)", (update_id, body.decode()))
    return Response(status_code=200)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="info")
