"""Whether a client asks for a person, in any wording, at any length, in any case.

"bisa sambungkan ke orang aja?", "SAYA MAU BICARA DENGAN PETUGAS", "... mau bicara dengan cs
aja kak" at the end of a long story, "please have someone call me": a verb of talking,
connecting or wanting next to someone who is a person. The guards' short-message rules
(guards.is_human_request) still count; these patterns add the longer and rarer wordings.
"""

from __future__ import annotations

import re

from flows import guards
from flows.understanding import text

# Who a client means by a person (after slang; "-nya" dropped).
_PERSON = (
    r"(?:cs|admin|petugas|orang|manusia|agen|agent|operator|staf|staff|karyawan|pegawai|"
    r"atasan|supervisor|spv|pic|manager|manajer|marketing|sales|teknisi|human|person|someone|"
    r"somebody|representative|customer servis|customer care|tim(?: \w+)?|bagian \w+|"
    r"pihak \w+|live agent|real person|mimin)"
)
_TALK = (
    r"(?:bicara|berbicara|ngobrol|ngomong|omong|chat|chatting|talk|speak|diskusi|dilayani|"
    r"dibantu|ditangani)"
)
_CONNECT = (
    r"(?:sambungkan|hubungkan|disambungkan|dihubungkan|sambungin|hubungin|connect|transfer|"
    r"oper|alihkan|dialihkan|forward)"
)
_WANT = r"(?:mau|minta|ingin|pengen|pingin|butuh|perlu|need|want|would like|bisa|can|could)"
_LINK = r"(?:sama|dengan|ke|to|with|a|an|the|langsung|dulu|aja|saja|sm|yang|yg|sama orang)"
_REQUEST = re.compile(
    "|".join(
        [
            # "mau bicara langsung dengan cs", "talk to a real person", "ngobrol sm admin"
            rf"\b{_TALK}\b(?: \w+){{0,3}} {_PERSON}\b",
            # "sambungkan ke orang", "connect me to an agent", "tolong hubungkan saya"
            rf"\b{_CONNECT}\b(?: \w+){{0,3}} {_PERSON}\b",
            r"\b(?:hubungkan|sambungkan|connect) (?:saya|me)\b",
            # "minta cs", "mau sama orang aja", "need a human", "butuh petugas"
            rf"\b{_WANT}(?: {_LINK}){{0,2}} {_PERSON}\b(?! (?:tidak|belum|sudah|kemarin|tadi))",
            # "telpon saya", "please call me", "have someone call me", "minta ditelepon"
            r"\b(?:telpon|telepon|call|hubungi|ditelpon|ditelepon|dihubungi|telfon|ditelfon)"
            r" (?:saya|me|kami|us|balik|back|kembali)\b",
            r"\b(?:minta|mohon|tolong|please|bisa) (?:ditelpon|ditelepon|ditelfon|dihubungi|"
            r"dibantu langsung)\b",
            # "orang beneran", "bukan bot"
            r"\b(?:orang|manusia|person|human) (?:beneran|asli|langsung|sungguhan)\b",
            r"\breal (?:person|human)\b|\blive (?:agent|chat|person)\b",
        ]
    )
)
# A person mentioned in the story ("cs kemarin tidak balas") is not a request.
_STORY_AFTER = re.compile(r"\b(?:kemarin|tadi|sudah|tidak balas|tidak dibalas|bilang)\b")


def is_human_request(message: str) -> bool:
    """Whether the message clearly asks for a person, anywhere in it."""
    if guards.is_human_request(message):
        return True
    line = " ".join(text.base_words(message))
    found = _REQUEST.search(line)
    if found is None:
        return False
    # "mau komplain karena cs kemarin tidak balas" tells of a person; it asks for none.
    return _STORY_AFTER.search(line[found.end() : found.end() + 20]) is None
