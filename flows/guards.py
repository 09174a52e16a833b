"""Pure checks on what clients type: intents, validators, secret masking, language.

Clients write informal Indonesian on WhatsApp ("gk bisa", "udh", "sy"), so text is
normalised to standard words before any keyword is looked for.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

import phonenumbers

WORD = re.compile(r"[^\W_]+(?:[.'-][^\W_]+)*", re.UNICODE)

# Informal spellings -> the standard word that keywords in profiles are written with.
SLANG = {
    "gk": "tidak",
    "ga": "tidak",
    "gak": "tidak",
    "nggak": "tidak",
    "ngga": "tidak",
    "enggak": "tidak",
    "engga": "tidak",
    "tdk": "tidak",
    "tak": "tidak",
    "kagak": "tidak",
    "g": "tidak",
    "gak?": "tidak",
    "sy": "saya",
    "aku": "saya",
    "ak": "saya",
    "gw": "saya",
    "gue": "saya",
    "udh": "sudah",
    "udah": "sudah",
    "sdh": "sudah",
    "dah": "sudah",
    "blm": "belum",
    "blom": "belum",
    "tp": "tapi",
    "tpi": "tapi",
    "jg": "juga",
    "jga": "juga",
    "sm": "sama",
    "ama": "sama",
    "bs": "bisa",
    "bsa": "bisa",
    "yg": "yang",
    "dgn": "dengan",
    "dg": "dengan",
    "krn": "karena",
    "karna": "karena",
    "gmn": "bagaimana",
    "gimana": "bagaimana",
    "gmna": "bagaimana",
    "knp": "kenapa",
    "napa": "kenapa",
    "trs": "terus",
    "trus": "terus",
    "lg": "lagi",
    "lgi": "lagi",
    "bgt": "banget",
    "skrg": "sekarang",
    "skrng": "sekarang",
    "hr": "hari",
    "kmrn": "kemarin",
    "kemaren": "kemarin",
    "mksh": "terima kasih",
    "makasih": "terima kasih",
    "makasi": "terima kasih",
    "thx": "terima kasih",
    "tks": "terima kasih",
    "eror": "error",
    "erorr": "error",
    "errorr": "error",
    "ss": "screenshot",
    "pls": "tolong",
    "tlg": "tolong",
    "kk": "kak",
    "kakak": "kak",
    "ok": "oke",
    "okay": "oke",
    "okey": "oke",
    "okee": "oke",
    "sip": "oke",
    "siap": "oke",
    "y": "ya",
    "iy": "ya",
    "iya": "ya",
    "yaa": "ya",
    "yap": "ya",
    "yup": "ya",
    "dmn": "dimana",
    "dimn": "dimana",
    "bgmn": "bagaimana",
    "gabisa": "tidak bisa",
    "gbs": "tidak bisa",
    "gakbisa": "tidak bisa",
    "gkbisa": "tidak bisa",
}

GREETING_WORDS = frozenset(
    "p halo hallo halloo helo hello hai hi hey hay pagi siang sore malam selamat permisi "
    "assalamualaikum assalamu'alaikum asalamualaikum assalamualaikom salam kak admin bang "
    "mas mbak bu pak om tes test ping oke ya min mimin urgent penting tolong dong".split()
)
SALUTATIONS = frozenset(
    "p halo hallo halloo helo hello hai hi hey hay pagi siang sore malam selamat permisi "
    "assalamualaikum assalamu'alaikum asalamualaikum salam".split()
)
FILLERS = frozenset("aja saja dong deh ya yah kak please pls sama dengan yang ada".split())
SALAM_WORDS = frozenset(
    "assalamualaikum assalamu'alaikum asalamualaikum assalamualaikom assalamu'alaikum "
    "samlekom ass aslm".split()
)
HUMAN_WORDS = frozenset(
    "agen agent cs manusia admin human operator orang staf staff petugas someone person".split()
)
HUMAN_ASK_WORDS = frozenset(
    "mau ingin pengen pingin minta tolong bicara ngobrol hubungkan sambungkan chat talk "
    "speak want need connect please call telpon telepon hubungi".split()
)
CANCEL_PHRASES = (
    "batal",
    "batalkan",
    "cancel",
    "tidak jadi",
    "ga jadi",
    "gak jadi",
    "gk jadi",
    "nggak jadi",
    "ngga jadi",
    "enggak jadi",
    "gajadi",
    "gakjadi",
    "never mind",
    "nevermind",
)
_CANCEL = re.compile(r"\b(?:" + "|".join(map(re.escape, CANCEL_PHRASES)) + r")\b")
YES_WORDS = frozenset(
    "ya sudah bisa berhasil oke mantap solved done yes yep betul benar beres terima kasih "
    "👍 👌 🙏 sesuai aman lancar works worked thanks thank".split()
)
NO_WORDS = frozenset(
    "belum tidak no nope masih tetap tetep gagal not didn't doesn't don't".split()
)
SKIP_WORDS = frozenset("tidak skip lewati no none - ga gak nggak cukup enggak".split())

ENGLISH_WORDS = frozenset(
    "the i you my we is are was want to a an of please have someone call me it not hello "
    "hi file complaint with what when how can could would this that on in for and help "
    "received last week error shows".split()
)
INDONESIAN_WORDS = frozenset(
    "saya kak tidak sudah yang mau bisa ada ini itu dan di ke dari dengan tolong apa "
    "bagaimana kenapa belum halo selamat pagi siang sore malam terima kasih mohon "
    "assalamualaikum gimana udh gk ga sy tp jg sm min".split()
)

# Words a person's name does not contain: their presence means the client is telling the story.
STORY_WORDS = frozenset(
    "di ke dari yang sudah belum tidak mau bisa ada ini itu dan tapi juga lagi kalau karena "
    "saat waktu hari kemarin tadi sejak jam minggu bulan masih tetap terus error gagal "
    "kendala masalah aplikasi tamu acara the is was my not when it error help".split()
)
TIME_HINTS = frozenset("hari kemarin tadi sejak jam minggu bulan pagi siang sore malam".split())

_OTP_CONTEXT = re.compile(r"\b(otp|kode|code|pin|verifikasi|verification|token)\b", re.I)
_CODE = re.compile(r"(?<![\w+])\d{4,8}(?![\w])")
_SECRET_AFTER = re.compile(
    r"(?P<label>\b(?:password|passwd|pass|pwd|sandi|kata sandi|katasandi|pw|pin)"
    r"(?:\s*nya)?\b\s*(?:saya|sy|ku)?\s*(?:adalah|:|=|is)?\s*)(?P<secret>\S+)",
    re.I,
)
MASK = "******"


def words(text: str) -> list[str]:
    """Lower-cased words with informal spellings replaced by the standard ones."""
    return list(_words(text))


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    # Many guards look at the same message; split it once.
    out: list[str] = []
    for raw in WORD.findall(text.lower()):
        out.extend(SLANG.get(raw, raw).split())
    return tuple(out)


def normalised(text: str) -> str:
    """The text as one line of standard words, for phrase matching."""
    return " ".join(words(text))


def has_phrase(text_words: list[str], phrase: str) -> bool:
    """Whether every word of `phrase` appears in the words, allowing small typos."""
    wanted = words(phrase)
    return bool(wanted) and all(_has_word(text_words, w) for w in wanted)


def _has_word(text_words: list[str], wanted: str) -> bool:
    if wanted in text_words:
        return True
    if len(wanted) < 5:
        return False
    # "aplikasih", "transaski": one slip of the thumb should not hide a keyword
    return any(
        w[:1] == wanted[:1] and abs(len(w) - len(wanted)) <= 2 and _similar(w, wanted)
        for w in text_words
    )


@lru_cache(maxsize=65536)
def _similar(word: str, wanted: str) -> bool:
    matcher = SequenceMatcher(None, word, wanted)
    return matcher.real_quick_ratio() >= 0.85 and matcher.ratio() >= 0.85


def _letters(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch).startswith("L"))


def mask_secrets(text: str) -> str:
    """Replace OTP codes and passwords with ****** before the text is stored anywhere."""
    if not text:
        return text
    masked = _SECRET_AFTER.sub(lambda m: m.group("label") + MASK, text)
    stripped = masked.strip()
    if _OTP_CONTEXT.search(masked) or _CODE.fullmatch(stripped):
        masked = _CODE.sub(MASK, masked)
    return masked


def is_salam(text: str) -> bool:
    """Whether the client opened with the Islamic greeting, which is answered in kind."""
    return any(w in SALAM_WORDS or w.startswith("assalam") for w in words(text))


def is_greeting_only(text: str) -> bool:
    """Whether the text holds nothing but greetings and fillers ("P", "halo kak", "pagi")."""
    ws = words(text)
    return all(w in GREETING_WORDS for w in ws)


def is_human_request(text: str) -> bool:
    """Whether the client asks for a person ("mau ngobrol sama cs aja", "human please")."""
    ws = words(text)
    if not any(w in HUMAN_WORDS for w in ws):
        return False
    if any(w in SALUTATIONS for w in ws) and all(w in GREETING_WORDS for w in ws):
        return False  # "halo min" greets the admin; it does not ask to be handed over
    if HUMAN_ASK_WORDS & set(ws) and len(ws) <= 8:
        return True  # longer texts that mention "cs" or "admin" are telling the story
    # "cs", "admin dong", "agen kak?": nothing but the person asked for and fillers
    return all(w in HUMAN_WORDS or w in GREETING_WORDS or w in FILLERS for w in ws)


def is_cancel(text: str) -> bool:
    """Whether the client calls the case off ("batal aja", "gak jadi kak")."""
    return _CANCEL.search(" ".join(WORD.findall(text.lower()))) is not None


def is_no(text: str, button: str | None = None) -> bool:
    """Whether the client says it is not solved ("belum kak", "masih error")."""
    if button is not None:
        return button == "no"
    return any(w in NO_WORDS for w in words(text))


def is_yes(text: str, button: str | None = None) -> bool:
    """Whether the client confirms ("sudah kak", "oke bisa makasih", "👍")."""
    if button is not None:
        return button == "yes"
    if is_no(text):
        return False
    ws = words(text)
    return any(w in YES_WORDS for w in ws) or any(ch in text for ch in "👍👌✅")


def is_skip(text: str) -> bool:
    """Whether the client declines to leave a comment."""
    ws = words(text)
    return not ws or (len(ws) <= 2 and all(w in SKIP_WORDS or w == "kak" for w in ws))


def rating_of(text: str, button: str | None = None) -> int | None:
    """A 1-5 rating from a button, a lone digit ("5", "nilai 4", "5/5") or stars ("⭐⭐⭐⭐")."""
    if button is not None and button.startswith("rating:"):
        value = button.removeprefix("rating:")
        return int(value) if value in {"1", "2", "3", "4", "5"} else None
    stars = text.count("⭐") + text.count("★")
    if 1 <= stars <= 5 and not re.search(r"\d", text):
        return stars
    digits = re.findall(r"\d+", text)
    if len(digits) == 1 and digits[0] in {"1", "2", "3", "4", "5"}:
        return int(digits[0])
    if len(digits) == 2 and digits[1] == "5" and digits[0] in {"1", "2", "3", "4", "5"}:
        return int(digits[0])  # "4/5", "4 dari 5"
    return None


# "mau komplain kak", "I want to file a complaint": an intent to report, not yet the report.
INTENT_WORDS = frozenset(
    "mau ingin pengen lapor laporan melapor komplain complain complaint keluhan kendala masalah "
    "tanya nanya bertanya pertanyaan ada saya kami i want to a an file make report ask question "
    "have problem issue need help bantu bantuan dibantu minta".split()
)


def has_story(text: str) -> bool:
    """Whether the text says something about the problem, beyond greetings and fillers."""
    ws = [w for w in words(text) if w not in GREETING_WORDS and w not in INTENT_WORDS]
    return len(ws) >= 2 or (len(ws) == 1 and len(ws[0]) >= 5 and ws[0] not in YES_WORDS)


def looks_like_story(text: str) -> bool:
    """Whether an answer to a data question is really more of the chronology."""
    ws = words(text)
    return len(ws) >= 2 and (
        bool(STORY_WORDS & set(ws)) or bool(re.search(r"\d", text)) or len(ws) >= 7
    )


def detect_language(text: str) -> str | None:
    """'en' or 'id' when the text clearly is one of them, else None."""
    ws = [w.lower() for w in WORD.findall(text)]
    en = sum(1 for w in ws if w in ENGLISH_WORDS)
    indo = sum(1 for w in ws if w in INDONESIAN_WORDS)
    if en >= 2 and en > 2 * indo:
        return "en"
    if indo >= 1 and indo >= en:
        return "id"
    return None


_NAME_PREFIX = re.compile(
    r"^\s*(?:nama\s+(?:saya|sy|aku|ku)|nama(?:ku|nya)?|saya|sy|aku|my name is|i am|i'm|"
    r"name)\s*[:,-]?\s*",
    re.I,
)


def clean_name(text: str) -> str | None:
    """A person's name from "nama saya Rina" / "Rina" / "dr. Hana, RS Sehat"; None if not one."""
    candidate = _NAME_PREFIX.sub("", text.strip()).strip(" .,!")
    ws = words(candidate)
    if not ws or len(ws) > 8 or re.search(r"\d", candidate) or _letters(candidate) < 2:
        return None
    if all(w in GREETING_WORDS or w in YES_WORDS or w in NO_WORDS for w in ws):
        return None
    # "Ratna dari PT Maju" names a person and where they are from; "dari kemarin" does not.
    story = STORY_WORDS & set(ws[1:]) - _AFFILIATION_WORDS | STORY_WORDS & {ws[0]}
    if story:
        return None
    return candidate


_AFFILIATION_WORDS = frozenset({"dari", "di"})


def clean_text(text: str) -> str | None:
    """Free text with some substance (an outlet group, a venue); None for ".", "-", "🙏"."""
    value = text.strip()
    ws = words(value)
    if _letters(value) < 3 or not ws:
        return None
    if all(w in GREETING_WORDS or w in YES_WORDS or w in NO_WORDS for w in ws):
        return None
    return value


def clean_phone(text: str, region: str = "ID") -> str | None:
    """The number in E.164 ("+6281299887766") or None when it is not a valid number."""
    candidate = text.strip().removeprefix("whatsapp:")
    if not re.search(r"\d{6,}", re.sub(r"[\s().-]", "", candidate)):
        return None
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


_REFERENCE = re.compile(r"\b(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{4,}\b")


_NOTHING = re.compile(
    r"^\s*(?:tidak|belum)\s+(?:ada|punya|dapat|simpan)\b|^\s*(?:hilang|no|none|nothing)\b"
    r"|\b(?:don't|do not) have\b",
    re.I,
)


def clean_reference(text: str) -> str | None:
    """A transaction reference ("TRX-88213"), or the client's word that there is none."""
    if _REFERENCE.search(text):
        return text.strip()
    if _NOTHING.search(normalised(text)):
        return text.strip()  # "ga ada struk kak": an agent follows up; asking again will not help
    return None
