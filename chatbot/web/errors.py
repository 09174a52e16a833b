"""The one table from named rejections to HTTP status codes."""

from __future__ import annotations

import math

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from chatbot.errors import (
    BodyTooSlow,
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
    NotAllowed: 403,
    InvalidInput: 422,
}


def install(app: FastAPI) -> None:
    """Answer every LoketError with its status and reason, never a 500."""

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
