"""The one table from named rejections to HTTP status codes."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from chatbot.errors import (
    BodyTooSlow,
    CaseMovedOn,
    CaseTaken,
    DeskUnavailable,
    InvalidInput,
    InvalidSignature,
    LoketError,
    MalformedPayload,
    NotAllowed,
    Overloaded,
    PayloadTooLarge,
    PhraseRejected,
    SettingsRejected,
    TooManyRequests,
    UnknownCase,
    UnknownChannel,
    UnknownFile,
    UnknownPhrase,
)

logger = logging.getLogger(__name__)

STATUS: dict[type[LoketError], int] = {
    InvalidSignature: 403,
    MalformedPayload: 400,
    PayloadTooLarge: 413,
    BodyTooSlow: 408,
    Overloaded: 503,
    TooManyRequests: 429,
    DeskUnavailable: 503,
    UnknownChannel: 404,
    UnknownPhrase: 404,
    PhraseRejected: 422,
    SettingsRejected: 422,
    UnknownCase: 404,
    UnknownFile: 404,
    CaseTaken: 409,
    CaseMovedOn: 409,  # before NotAllowed, its parent: the first match wins
    NotAllowed: 403,
    InvalidInput: 422,
}


def install(app: FastAPI, *, refused_values: type[Exception] | None = None) -> None:
    """Answer every LoketError with its status and reason, never a 500.

    `refused_values` is the database's error for a value it cannot store (SQLAlchemy's
    DataError, named by the composition root: the web layer imports no SQL). PostgreSQL
    refuses a NUL character in text, or a text over its column's width, where SQLite stores
    both; a form or a search holding one is the caller's input, answered 422 with the reason.
    """

    async def _handle(_request: Request, exc: Exception) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
        headers = {}
        body: dict[str, object] = {"ok": False, "error": str(exc)}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(max(1, math.ceil(exc.seconds)))
            if exc.message is not None:
                body["message"] = exc.message
        elif isinstance(exc, Overloaded):
            headers["Retry-After"] = "1"
        return JSONResponse(body, status_code=status, headers=headers)

    app.add_exception_handler(LoketError, _handle)

    async def _refused(_request: Request, exc: Exception) -> JSONResponse:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
        logger.warning("A value the database cannot store was refused: %s", reason)
        error = f"a value cannot be stored: {reason}"
        return JSONResponse({"ok": False, "error": error}, status_code=422)

    if refused_values is not None:
        app.add_exception_handler(refused_values, _refused)
