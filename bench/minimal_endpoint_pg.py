"""The yardstick on PostgreSQL: FastAPI, the secret checked, the update inserted and committed.

One process, one event loop, a psycopg 3 `AsyncConnectionPool` (needs psycopg_pool:
`pip install -e '.[bench]'`); each request inserts its update in a transaction of its own
(autocommit) and answers 200 once PostgreSQL has committed it.

Usage: python -m bench.minimal_endpoint_pg PORT POSTGRESQL_URL SECRET [--pool 16]
"""

from __future__ import annotations

import argparse
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, Request, Response
from psycopg_pool import AsyncConnectionPool

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("port", type=int)
parser.add_argument("url", help="libpq URL: postgresql://user@host/db")
parser.add_argument("secret")
parser.add_argument("--pool", type=int, default=16, help="connections in the pool")
ARGS = parser.parse_args()
SECRET = ARGS.secret.encode()
pool = AsyncConnectionPool(
    ARGS.url, min_size=ARGS.pool, max_size=ARGS.pool, open=False, kwargs={"autocommit": True}
)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Open the pool and create the table; close the pool on the way out."""
    await pool.open(wait=True)
    async with pool.connection() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS update_ (update_id BIGINT PRIMARY KEY, body TEXT)"
        )
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/webhooks/telegram")
async def telegram(request: Request) -> Response:
    """Check the secret, store the update (one committed insert), acknowledge."""
    given = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
    if not hmac.compare_digest(given, SECRET):
        return Response(status_code=403)
    body = await request.body()
    update_id = json.loads(body)["update_id"]
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO update_ VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (update_id, body.decode()),
        )
    return Response(status_code=200)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=ARGS.port, log_level="warning")
