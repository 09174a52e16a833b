"""What Twilio's and WhatsApp's error codes mean, in plain Indonesian for supervisors.

And which of them must not be retried: the sender decides retry, give up, or suppress.
"""

from __future__ import annotations

from typing import Literal

OUTSIDE_WINDOW = 63016
WINDOW_EXPIRED = 131047
MARKETING_LIMIT = 131049
STOPPED_MARKETING = 131050

# code -> (what it means for a supervisor, what the sender does)
_CODES: dict[int, tuple[str, Literal["fail", "suppress"]]] = {
    OUTSIDE_WINDOW: (
        "Di luar jendela 24 jam WhatsApp: hanya template yang sudah disetujui yang boleh "
        "dikirim. Periksa Content SID template kampanye.",
        "fail",
    ),
    WINDOW_EXPIRED: (
        "Jendela percakapan 24 jam sudah lewat: pesan bebas tidak bisa dikirim, gunakan "
        "template yang disetujui.",
        "fail",
    ),
    MARKETING_LIMIT: (
        "WhatsApp membatasi jumlah pesan pemasaran ke pengguna ini. Jangan kirim ulang "
        "sekarang; coba lagi di kampanye berikutnya.",
        "fail",
    ),
    STOPPED_MARKETING: (
        "Pengguna sudah menghentikan pesan pemasaran dari bisnis ini. Nomor dicatat di "
        "daftar berhenti langganan dan tidak dikirimi lagi.",
        "suppress",
    ),
    130429: (
        "Batas kecepatan kirim WhatsApp tercapai. Turunkan kecepatan kirim kampanye.",
        "fail",
    ),
    131026: (
        "Pesan tidak bisa diterima: nomor tidak memakai WhatsApp atau aplikasinya terlalu lama.",
        "fail",
    ),
    21211: ("Nomor telepon tidak valid.", "fail"),
    21610: (
        "Pelanggan sudah membalas STOP ke nomor SMS ini; harus membalas START dulu.",
        "suppress",
    ),
    21614: ("Nomor ini tidak bisa menerima SMS (bukan nomor seluler).", "fail"),
    63024: ("Penerima tidak valid untuk WhatsApp.", "fail"),
    30003: ("Nomor tujuan tidak aktif atau tidak bisa dihubungi.", "fail"),
    30005: ("Nomor tujuan tidak dikenal atau sudah tidak ada.", "fail"),
    30006: ("Nomor tujuan adalah telepon rumah atau operator tidak mendukung.", "fail"),
    30007: ("Pesan ditolak operator sebagai spam.", "fail"),
    30008: ("Gagal terkirim karena sebab yang tidak diketahui dari operator.", "fail"),
}


def explain(code: int | None) -> str:
    """The code's meaning in Indonesian; a generic sentence for codes not listed."""
    if code is None:
        return "Gagal terkirim tanpa kode kesalahan dari penyedia."
    known = _CODES.get(code)
    if known is not None:
        return known[0]
    return f"Kode kesalahan {code} dari Twilio/WhatsApp; lihat twilio.com/docs/errors/{code}."


def suppresses(code: int | None) -> bool:
    """Whether the code means the user stopped such messages: opt the number out."""
    known = _CODES.get(code) if code is not None else None
    return known is not None and known[1] == "suppress"
