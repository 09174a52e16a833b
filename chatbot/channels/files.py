"""Files that are not a provider's: what a web chat client or an agent may upload, and links.

Uploads are checked against an allow-list of file types (by name *and* by their first bytes,
so a renamed program is not taken for a PDF) and a size cap. Files we send to Twilio are
served at a link it can fetch without a login: `LOKET_PUBLIC_URL/media/<token>`, where the
token names the attachment, its expiry, and an HMAC-SHA256 over both, so a link cannot be
guessed, altered or used after it expires (see docs/agent-desk.md#attachments).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from chatbot.clock import Clock
from chatbot.domain import OutFile
from chatbot.errors import InvalidInput, PayloadTooLarge, SendFailed, UnknownFile

LINK_TTL = timedelta(hours=24)  # Twilio fetches at once; a retried send signs a fresh link
MAX_FILENAME = 120
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of .doc, .xls, .ppt
ZIP = b"PK\x03\x04"  # the container of .docx, .xlsx, .pptx


@dataclass(frozen=True, slots=True)
class FileType:
    """One allowed kind of file: its MIME type, how it starts, and how the desk shows it."""

    content_type: str
    magic: tuple[bytes, ...]  # () = text: it must be UTF-8 instead
    kind: str  # photo (shown inline) or document


FILE_TYPES: dict[str, FileType] = {
    "jpg": FileType("image/jpeg", (b"\xff\xd8\xff",), "photo"),
    "jpeg": FileType("image/jpeg", (b"\xff\xd8\xff",), "photo"),
    "png": FileType("image/png", (b"\x89PNG\r\n\x1a\n",), "photo"),
    "webp": FileType("image/webp", (b"RIFF",), "photo"),
    "pdf": FileType("application/pdf", (b"%PDF-",), "document"),
    "doc": FileType("application/msword", (OLE,), "document"),
    "xls": FileType("application/vnd.ms-excel", (OLE,), "document"),
    "ppt": FileType("application/vnd.ms-powerpoint", (OLE,), "document"),
    "docx": FileType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (ZIP,),
        "document",
    ),
    "xlsx": FileType(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (ZIP,), "document"
    ),
    "pptx": FileType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        (ZIP,),
        "document",
    ),
    "txt": FileType("text/plain", (), "document"),
    "csv": FileType("text/csv", (), "document"),
}


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """An upload that passed the checks: what to store and how to show it."""

    data: bytes
    filename: str
    content_type: str
    kind: str


class UploadPolicy:
    """The file types and size an upload may have (LOKET_UPLOAD_TYPES, LOKET_MAX_MEDIA_BYTES)."""

    def __init__(self, extensions: str, max_bytes: int) -> None:
        """`extensions`: comma-separated, e.g. "jpg,png,pdf".

        Raises:
            ValueError: an extension this module does not know how to check.
        """
        wanted = [e.strip().lower().lstrip(".") for e in extensions.split(",") if e.strip()]
        unknown = [e for e in wanted if e not in FILE_TYPES]
        if unknown:
            raise ValueError(
                f"LOKET_UPLOAD_TYPES: unknown file types {', '.join(unknown)}; "
                f"known: {', '.join(FILE_TYPES)}"
            )
        self.extensions = tuple(dict.fromkeys(wanted))
        self.max_bytes = max_bytes

    @property
    def accept(self) -> str:
        """The `accept` attribute of a file input: the allowed extensions."""
        return ",".join(f".{e}" for e in self.extensions)

    def check(self, data: bytes, filename: str) -> CheckedFile:
        """The upload, if its name, its first bytes and its size are allowed.

        Raises:
            PayloadTooLarge: over the size cap.
            InvalidInput: empty, a type not allowed, or content not matching its name.
        """
        name = _clean_name(filename)
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension not in self.extensions:
            raise InvalidInput(
                f"files of type '{extension or '?'}' are not accepted; "
                f"allowed: {', '.join(self.extensions)}"
            )
        if not data:
            raise InvalidInput("the file is empty")
        if len(data) > self.max_bytes:
            limit = _megabytes(self.max_bytes)
            raise PayloadTooLarge(f"the file is larger than the {limit} limit")
        kind = FILE_TYPES[extension]
        if not _looks_like(data, kind, extension):
            raise InvalidInput(f"the file's content is not a .{extension} file")
        return CheckedFile(data, name, kind.content_type, kind.kind)


def _looks_like(data: bytes, kind: FileType, extension: str) -> bool:
    if not kind.magic:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return b"\x00" not in data
    if extension == "webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return data.startswith(kind.magic)


def _clean_name(filename: str) -> str:
    """The file's own name, without folders or control characters, at most MAX_FILENAME."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>|:*?').strip(" .")
    if len(name) > MAX_FILENAME:
        stem, _, extension = name.rpartition(".")
        name = f"{stem[: MAX_FILENAME - len(extension) - 1]}.{extension}" if stem else name[:120]
    return name or "file"


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"


class MediaLinks:
    """Signed, expiring links to one stored attachment, for providers that fetch files by URL."""

    def __init__(self, public_url: str, secret: str, clock: Clock, ttl: timedelta = LINK_TTL):
        self._base = public_url.rstrip("/")
        # A key of its own, derived from a secret every process of the installation shares.
        self._key = hmac.new(secret.encode(), b"loket media links", hashlib.sha256).digest()
        self._clock = clock
        self._ttl = ttl

    def url_for(self, attachment_id: int) -> str:
        """The public link Twilio fetches the file from, valid for the link's time to live."""
        expires = int((self._clock.now() + self._ttl).timestamp())
        payload = f"{attachment_id}.{expires}"
        return f"{self._base}/media/{payload}.{self._sign(payload)}"

    def verify(self, token: str) -> int:
        """The attachment id a link's token names.

        Raises:
            UnknownFile: the token is malformed, forged, or expired.
        """
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise UnknownFile("no such file")
        payload = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(parts[2], self._sign(payload)):
            raise UnknownFile("no such file")
        if datetime.fromtimestamp(int(parts[1]), self._clock.now().tzinfo) < self._clock.now():
            raise UnknownFile("the link has expired")
        return int(parts[0])

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def media_link(links: MediaLinks | None, file: OutFile) -> str:
    """The signed link a provider fetches an agent's file from.

    Raises:
        SendFailed: no links are configured (Twilio needs a public URL to fetch the file).
    """
    if links is None:
        raise SendFailed("files need LOKET_PUBLIC_URL and Twilio's credentials to be sent")
    return links.url_for(file.attachment_id)
