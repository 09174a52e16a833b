"""Upload checks (type by name and first bytes, size) and the signed media links."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chatbot.channels.files import MediaLinks, UploadPolicy
from chatbot.errors import InvalidInput, PayloadTooLarge, UnknownFile
from tests.clock import FrozenClock

POLICY = UploadPolicy("jpg, PNG,.webp,pdf,docx,xls,txt", max_bytes=100)


@pytest.mark.parametrize(
    ("name", "data", "kind", "content_type"),
    [
        ("a.JPG", b"\xff\xd8\xff\xe0rest", "photo", "image/jpeg"),
        ("b.png", b"\x89PNG\r\n\x1a\nrest", "photo", "image/png"),
        ("c.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 ", "photo", "image/webp"),
        ("d.pdf", b"%PDF-1.7\n", "document", "application/pdf"),
        (
            "e.docx",
            b"PK\x03\x04rest",
            "document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("f.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "document", "application/vnd.ms-excel"),
        ("C:\\Users\\wulan\\g.txt", "catatan kasir ✓".encode(), "document", "text/plain"),
    ],
)
def test_allowed_files_pass_with_their_type_and_own_name(
    name: str, data: bytes, kind: str, content_type: str
) -> None:
    checked = POLICY.check(data, name)
    assert (checked.kind, checked.content_type) == (kind, content_type)
    assert "/" not in checked.filename
    assert "\\" not in checked.filename


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.exe", b"MZ\x90\x00", "not accepted"),
        ("noextension", b"%PDF-1.7", "not accepted"),
        ("a.gif", b"GIF89a", "not accepted"),  # known, but not in this policy
        ("a.pdf", b"MZ\x90\x00", "not a .pdf file"),
        ("a.webp", b"RIFF\x10\x00\x00\x00AVI ", "not a .webp file"),
        ("a.txt", b"\xff\xfe\x00binary", "not a .txt file"),
        ("a.txt", b"", "empty"),
    ],
)
def test_other_files_are_refused_with_the_reason(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        POLICY.check(data, name)


def test_a_file_over_the_cap_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge, match=r"larger than the 0\.1 kB limit"):
        POLICY.check(b"%PDF-" + b"0" * 100, "a.pdf")
    assert POLICY.check(b"%PDF-" + b"0" * 95, "a.pdf").kind == "document"  # exactly 100


def test_an_unknown_type_in_the_setting_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="unknown file types exe"):
        UploadPolicy("pdf,exe", 100)
    assert POLICY.accept == ".jpg,.png,.webp,.pdf,.docx,.xls,.txt"


def test_links_verify_only_unaltered_and_unexpired_tokens() -> None:
    clock = FrozenClock()
    links = MediaLinks("https://loket.example.co.id/", "secret-one", clock)
    url = links.url_for(42)
    assert url.startswith("https://loket.example.co.id/media/42.")
    token = url.rsplit("/", 1)[1]
    assert links.verify(token) == 42
    ident, expires, signature = token.split(".")
    for bad in (
        f"43.{expires}.{signature}",
        f"{ident}.{int(expires) + 1}.{signature}",
        f"{ident}.{expires}.{signature[:-1]}",
        token + ".x",
        "",
    ):
        with pytest.raises(UnknownFile):
            links.verify(bad)
    with pytest.raises(UnknownFile):  # another installation's secret
        MediaLinks("https://x", "secret-two", clock).verify(token)
    clock.advance(hours=24)
    assert links.verify(token) == 42  # the last second of its day
    clock.advance(seconds=1)
    with pytest.raises(UnknownFile, match="expired"):
        links.verify(token)
    assert MediaLinks("https://x", "s", clock, ttl=timedelta(minutes=5)).url_for(1)
