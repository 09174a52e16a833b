"""Files an agent sends: the upload from the console's reply box, and the signed link.

`/media/<token>` has no login: Twilio fetches the file an agent sent from there, and the
token is the credential (an attachment id and an expiry, signed; chatbot/channels/files.py).
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from chatbot.channels.files import UploadPolicy
from chatbot.channels.media import MediaStore
from chatbot.domain import Attachment
from chatbot.errors import UnknownFile
from chatbot.web.chat import file_response
from chatbot.web.deps import FilesDep, MediaLinksDep

router = APIRouter(tags=["files"])
MAX_TOKEN = 120  # an id, an expiry and a 43-character signature


@router.get("/media/{token}")
async def signed_file(token: str, links: MediaLinksDep, files: FilesDep) -> Response:
    """A file an agent sent, for the provider delivering it; 404 for anything else."""
    if links is None or len(token) > MAX_TOKEN:
        raise UnknownFile("no such file")
    attachment_id = links.verify(token)
    found = await run_in_threadpool(files.for_link, attachment_id)
    response = file_response(found)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def agent_file(
    upload: UploadFile | None, policy: UploadPolicy, store: MediaStore
) -> Attachment | None:
    """The file an agent attached to a reply, checked and stored; None when there is none.

    Raises:
        PayloadTooLarge: over LOKET_MAX_MEDIA_BYTES.
        InvalidInput: a type not allowed, or content not matching its name.
    """
    if upload is None or not upload.filename:
        return None
    data = await upload.read(policy.max_bytes + 1)
    checked = policy.check(data, upload.filename)
    path = await store.keep_bytes("outgoing", secrets.token_hex(16), data, checked.filename)
    return Attachment(
        kind=checked.kind,
        content_type=checked.content_type,
        filename=checked.filename,
        size=len(data),
        stored_path=str(path),
    )


def discard(file: Attachment | None) -> None:
    """Remove a stored file whose reply was refused (nothing refers to it)."""
    if file is not None and file.stored_path:
        with contextlib.suppress(OSError):
            Path(file.stored_path).unlink()
