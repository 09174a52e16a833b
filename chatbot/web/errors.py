"""The one table from named rejections to HTTP status codes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from chatbot.errors import (
    CaseTaken,
    DeskUnavailable,
    InvalidInput,
    InvalidSignature,
    LoketError,
    MalformedPayload,
    NotAllowed,
    PayloadTooLarge,
    PhraseRejected,
    SettingsRejected,
    UnknownCase,
    UnknownChannel,
    UnknownPhrase,
)

STATUS: dict[type[LoketError], int] = {
    InvalidSignature: 403,
    MalformedPayload: 400,
    PayloadTooLarge: 413,
    DeskUnavailable: 503,
    UnknownChannel: 404,
    UnknownPhrase: 404,
    PhraseRejected: 422,
    SettingsRejected: 422,
    UnknownCase: 404,
    CaseTaken: 409,
    NotAllowed: 403,
    InvalidInput: 422,
}


def install(app: FastAPI) -> None:
    """Answer every LoketError with its status and reason, never a 500."""

    async def _handle(_request: Request, exc: Exception) -> JSONResponse:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
        return JSONResponse({"ok": False, "error": str(exc)}, status_code=status)

    app.add_exception_handler(LoketError, _handle)
