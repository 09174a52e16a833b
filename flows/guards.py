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

from flows import vocabulary

WORD = vocabulary.WORD

# The words are data: flows/vocabulary/<locale>.yaml, merged and checked at import (start-up).
# This module is the matcher over them; docs/decisions/0008-vocabulary-as-data.md says why.
LEXICON = vocabulary.load()
_W = LEXICON.words

# Informal spellings -> the standard word that keywords in profiles are written with.
SLANG = dict(LEXICON.slang)  # a plain dict: the hot path looks up every word
GREETING_WORDS = _W["greeting"]
SALUTATIONS = _W["salutation"]
FILLERS = _W["filler"]
SALAM_WORDS = _W["salam"]
HUMAN_WORDS = _W["human"]
HUMAN_ASK_WORDS = _W["human_ask"]
_CONNECT_WORDS = _W["connect"]
_ADDRESS_WORDS = _W["address_only"]
_CANCELLED_THING = _W["cancelled_thing"]
YES_WORDS = _W["solved"]
NO_WORDS = _W["not_solved"]
_DATA_STILL = _W["data_still"]
_DATA_CHANGED = _W["data_changed"]
_NOTHING_WRONG = _W["nothing_wrong"]
SKIP_WORDS = _W["skip"]
_SKIP_COMPANIONS = _W["skip_companion"]
STORY_WORDS = _W["story"]
_AFFILIATION_WORDS = _W["affiliation"]
_THANKS_WORDS = _W["thanks"]
_THANKS_COMPANIONS = _W["thanks_companion"]
_RATING_WORDS = _W["rating_companion"]
INTENT_WORDS = _W["intent"]
POINTER_WORDS = _W["pointer"]
_NUMBER_WORDS = dict(LEXICON.rating_numbers)
# Words after "password" that are not the secret ("lupa password akun owner").
_NOT_A_SECRET = LEXICON.not_a_secret
ENGLISH_WORDS = LEXICON.language_markers.get("en", frozenset())
INDONESIAN_WORDS = LEXICON.language_markers.get("id", frozenset())


def _any_phrase(name: str) -> str:
    """One regex alternation of a phrase list, longest first, each a whole-word match."""
    phrases = sorted(LEXICON.phrases[name], key=len, reverse=True)
    return "(?:" + "|".join(re.escape(p) for p in phrases) + ")"


# Refusing the bot ("jangan bot", "bukan bot", "no bot") asks for a person too.
_NOT_BOT = re.compile(rf"\b{_any_phrase('refuse_bot')}\b")
# "jam buka kapan ya?", "what time do you open": when the desk works.
_OFFICE_HOURS = re.compile(rf"\b{_any_phrase('office_hours')}\b")
OFFICE_HOURS_MAX_WORDS = 10  # longer messages that mention the hours are telling a story
# Matched on normalised words: "gk jadi", "ga jd", "gajadi" all read "tidak jadi".
_CANCEL = re.compile(rf"\b{_any_phrase('cancel')}\b")
# "udah beres sendiri kak": the problem went away, so the report is called off.
_SELF_FIXED = re.compile(rf"(?<!tidak )\b{_any_phrase('self_fixed')}\b")
# "gak usah kak", "ya udah gak usah, udah bisa"; not "gak usah ditelpon, chat aja".
_NOT_NEEDED = re.compile(
    r"^(?:\w+ ){0,2}tidak usah(?: (?:kak|min|deh|aja|saja|ya|sudah|lagi|terima)\b|$)"
)

# "kode otp", "pin", "verification code", "kodenya", "OTPnya"; "kode voucher 5521" is a proof of
# purchase, not a secret.
_OTP_CONTEXT = re.compile(
    r"\b(?:otp|pin|verifikasi\w*|verification|token|passcode)(?:nya)?\b"
    r"|\b(?:kode|code)(?:nya)?\b(?!\s*(?:nya\s*)?(?:voucher|transaksi|trx|booking|pesanan|order|"
    r"promo|outlet|produk|barang|resi|invoice|tiket|pos)\b)"
    r"|\b(?:otp|pin|kode|code|token)(?=\d)",
    re.I,
)
# A run of digits, possibly typed in groups ("482 913", "48-29-13"); 4 to 8 digits is a code.
_DIGIT_RUN = re.compile(r"(?<![\w+])\d(?:[ -]?\d)*(?![\w])")
# Next to an OTP word, digits glued to letters count too ("otp123456").
_LOOSE_DIGIT_RUN = re.compile(r"(?<![\d+])\d(?:[ -]?\d)*(?!\d)")
# What may surround a code sent on its own ("123456 kak", "ini kak: 123 456 🙏").
_AROUND_CODE = re.compile(r"\b(?:ini|itu|kak|kk|min|ya|nih|dong|the|is|it)\b|[^\w\s-]", re.I)
_SECRET_LABEL = re.compile(
    r"\b(?:password|passwd|pass|pwd|sandi|kata\s*sandi|katasandi|pw|pin|passcode)(?:\s*nya)?\b"
    r"(?:\s*(?:saya|sy|ku|aku)\b)?",
    re.I,
)
# A label that says whose password it is: the word after it is the password itself.
_OWNED_LABEL = re.compile(r"(?:nya|saya|sy|ku|aku)$", re.I)
_POSSESSIVES = frozenset({"saya", "sy", "ku", "aku", "my", "nya"})
_SECRET_TAIL = re.compile(r"\s*(?P<sep>adalah|is|:|=)?\s*(?P<secret>[^\s,;]+)", re.I)
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


_PHRASE_GAP = 2  # "tambah akun kasir" still says "tambah kasir"


def has_phrase(text_words: list[str], phrase: str) -> bool:
    """Whether the words of `phrase` appear in order, close together, allowing small typos.

    One word may slip in between ("tambah akun kasir" for "tambah kasir"), but "bisa di export
    gk" does not say "tidak bisa": the words of a phrase must come in the phrase's order.
    """
    wanted = words(phrase)
    if not wanted:
        return False
    if len(wanted) == 1:
        return _has_word(text_words, wanted[0])
    if not all(_has_word(text_words, w) for w in wanted):
        return False  # the cheap check first: most phrases are simply absent
    starts = [i for i, w in enumerate(text_words) if _is_word(w, wanted[0])]
    for start in starts:
        at = start
        for w in wanted[1:]:
            nxt = next(
                (
                    j
                    for j in range(at + 1, min(at + 2 + _PHRASE_GAP, len(text_words)))
                    if _is_word(text_words[j], w)
                ),
                None,
            )
            if nxt is None:
                break
            at = nxt
        else:
            return True
    return False


def _is_word(word: str, wanted: str) -> bool:
    if word == wanted:
        return True
    return (
        len(wanted) >= 5
        and word[:1] == wanted[:1]
        and abs(len(word) - len(wanted)) <= 2
        and _similar(word, wanted)
    )


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
    if len(word) == len(wanted) and sorted(word) == sorted(wanted):
        # two letters swapped ("seacrh", "transaski"): the same letters, a few out of place
        return sum(a != b for a, b in zip(word, wanted, strict=True)) <= 3
    matcher = SequenceMatcher(None, word, wanted)
    return matcher.real_quick_ratio() >= 0.85 and matcher.ratio() >= 0.85


_LETTER_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lo"})  # not Lm: "ـــ" (tatweel) is no name


def _letters(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch) in _LETTER_CATEGORIES)


def mask_secrets(text: str) -> str:
    """Replace OTP codes and passwords with ****** before the text is stored anywhere."""
    if not text:
        return text
    masked = _mask_passwords(text) if _SECRET_LABEL.search(text) else text
    if _OTP_CONTEXT.search(masked):
        return _LOOSE_DIGIT_RUN.sub(_mask_code, masked)
    if len(masked) <= 40 and _DIGIT_RUN.fullmatch(_AROUND_CODE.sub(" ", masked).strip()):
        return _DIGIT_RUN.sub(_mask_code, masked)  # a code sent on its own
    return masked


def _mask_code(found: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in found.group(0))
    return MASK if 4 <= digits <= 8 else found.group(0)  # phone numbers are longer


def _mask_passwords(text: str) -> str:
    """Mask what follows a password label when it is the password, not the sentence.

    After "password:" or "adalah" the next word is masked whatever it is. Otherwise words
    about the password ("lupa password akun owner") are skipped, up to three, and a word is
    masked when it looks like a secret (a digit, a symbol, a capital inside) or follows a
    possessive ("password sy kucingku", "my password hunter"); a plain word after a bare
    label is the client's sentence going on ("reset password akun erzap") and is kept.
    """
    out: list[str] = []
    pos = 0
    for label in _SECRET_LABEL.finditer(text):
        if label.start() < pos:
            continue
        at = label.end()
        before = text[: label.start()].split()[-1:]
        owned = bool(_OWNED_LABEL.search(label.group(0))) or (
            bool(before) and before[0].lower() in _POSSESSIVES
        )
        for _ in range(3):  # "password baru sy Budi2024": skip up to two ordinary words
            tail = _SECRET_TAIL.match(text, at)
            if tail is None:
                break
            token = tail.group("secret").strip(".!?'\"")
            word = token.lower()
            base = word[:-3] if word.endswith("nya") and len(word) > 3 else word
            ordinary = base in _NOT_A_SECRET and not any(ch.isdigit() for ch in word)
            if tail.group("sep") or (not ordinary and (owned or _looks_secret(token))):
                out.append(text[pos : tail.start("secret")] + MASK)
                pos = tail.end("secret")
                break
            if not ordinary:
                break
            owned = base in _POSSESSIVES
            at = tail.end()
    out.append(text[pos:])
    return "".join(out)


def _looks_secret(token: str) -> bool:
    """A digit, a symbol or a capital past the first letter: not a word of the sentence."""
    return any(ch.isdigit() or not ch.isalpha() for ch in token) or any(
        ch.isupper() for ch in token[1:]
    )


def is_salam(text: str) -> bool:
    """Whether the client opened with the Islamic greeting, which is answered in kind."""
    return any(w in SALAM_WORDS or w.startswith("assalam") for w in words(text))


def asks_office_hours(text: str) -> bool:
    """Whether a short message asks when the desk is open ("buka jam brp kak?")."""
    ws = words(text)
    return 0 < len(ws) <= OFFICE_HOURS_MAX_WORDS and bool(_OFFICE_HOURS.search(" ".join(ws)))


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
    asks = HUMAN_ASK_WORDS & set(ws)
    people = HUMAN_WORDS & set(ws)
    if people == {"admin"} and asks <= _ADDRESS_WORDS and not set(ws) <= _ADDRESS_WORDS:
        return False  # "admin tolong, stok sy minus": the admin is addressed, the story follows
    if asks and len(ws) <= 8:
        return True  # longer texts that mention "cs" or "admin" are telling the story
    if _CONNECT_WORDS & set(ws) or _NOT_BOT.search(" ".join(ws)):
        return True  # "tolong hubungkan saya dengan petugas yang bisa bantu, jangan bot"
    # "cs", "admin dong", "agen kak?": nothing but the person asked for and fillers
    return all(w in HUMAN_WORDS or w in GREETING_WORDS or w in FILLERS for w in ws)


def is_thanks_only(text: str) -> bool:
    """Whether the text only thanks or acknowledges ("makasih kak", "ok sip", "👍").

    After a case closed, such a message deserves a "sama-sama", not a new case.
    """
    ws = words(text)
    if not ws:
        return any(ch in text for ch in "👍🙏")
    return any(w in _THANKS_WORDS for w in ws) and all(
        w in _THANKS_WORDS or w in _THANKS_COMPANIONS for w in ws
    )


def is_cancel(text: str) -> bool:
    """Whether the client calls the case off ("batal aja", "gak jadi", "udah beres sendiri")."""
    line = normalised(text)
    found = _CANCEL.search(line)
    if found is not None:
        before, after = line[: found.start()].split(), line[found.end() :].split()
        if before[-1:] and before[-1] in _CANCELLED_THING:
            return False
        if after[:1] and after[0] in _CANCELLED_THING:
            return False
        return len(before) <= 3 or len(before) + len(after) <= 8  # else part of the story
    return _NOT_NEEDED.search(line) is not None or (
        "sudah" in line.split() and _SELF_FIXED.search(line) is not None
    )


def _problem_words(text: str) -> list[str]:
    """The words, without negations that say nothing is wrong ("gak papa", "gk error lagi")."""
    ws = words(text)
    kept: list[str] = []
    skip = 0
    for i, w in enumerate(ws):
        if skip:
            skip -= 1
            continue
        if w == "tidak" and i + 1 < len(ws):
            nxt = ws[i + 1]
            if nxt in _NOTHING_WRONG:
                skip = 1
                continue
            if nxt == "ada" and i + 2 < len(ws) and ws[i + 2] in _NOTHING_WRONG:
                skip = 2
                continue
        kept.append(w)
    return kept


def is_no(text: str, button: str | None = None) -> bool:
    """Whether the client says it is not solved ("belum kak", "masih error")."""
    if button is not None:
        return button == "no"
    return any(w in NO_WORDS for w in _problem_words(text))


def is_yes(text: str, button: str | None = None) -> bool:
    """Whether the client confirms ("sudah kak", "oke bisa makasih", "👍")."""
    if button is not None:
        return button == "yes"
    if is_no(text):
        return False
    ws = words(text)
    return any(w in YES_WORDS for w in ws) or any(ch in text for ch in "👍👌✅")


def is_data_confirmed(text: str, button: str | None = None) -> bool:
    """Whether a returning client says their earlier data still holds ("iya masih kak")."""
    if button is not None:
        return button == "yes"
    ws = words(text)
    if any(w in _DATA_CHANGED for w in ws):
        return False
    return any(w in _DATA_STILL or w in YES_WORDS for w in ws) or any(
        ch in text for ch in "👍👌✅"
    )


def is_skip(text: str) -> bool:
    """Whether the client declines to leave a comment."""
    ws = words(text)
    return not ws or (
        len(ws) <= 4
        and any(w in SKIP_WORDS for w in ws)
        and all(w in SKIP_WORDS or w in _SKIP_COMPANIONS for w in ws)
    )


def rating_of(text: str, button: str | None = None) -> int | None:
    """A 1-5 rating: a button, a lone digit ("5", "nilai 4", "4/5"), stars, or "lima"."""
    if button is not None and button.startswith("rating:"):
        value = button.removeprefix("rating:")
        return int(value) if value in {"1", "2", "3", "4", "5"} else None
    stars = text.count("⭐") + text.count("★") + text.count("🌟")
    if 1 <= stars <= 5 and not re.search(r"\d", text):
        return stars
    digits = re.findall(r"\d+", text)
    if len(digits) == 1 and digits[0] in {"1", "2", "3", "4", "5"}:
        return int(digits[0])
    if len(digits) == 2 and digits[1] == "5" and digits[0] in {"1", "2", "3", "4", "5"}:
        return int(digits[0])  # "4/5", "4 dari 5"
    if not digits:
        ws = words(text)
        named = [_NUMBER_WORDS[w] for w in ws if w in _NUMBER_WORDS]
        rest = [w for w in ws if w not in _NUMBER_WORDS]
        if len(named) == 1 and all(w in _RATING_WORDS for w in rest):  # "bintang empat kak"
            return named[0]
    return None


def has_story(text: str, *, with_file: bool = False) -> bool:
    """Whether the text says something about the problem, beyond greetings and fillers.

    With a file, words that only point at it ("ini ss nya kak") say nothing either.
    """
    ws = [
        w
        for w in words(text)
        if w not in GREETING_WORDS
        and w not in INTENT_WORDS
        and not (with_file and w in POINTER_WORDS)
    ]
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
    candidate = _NAME_SUFFIX.sub("", candidate).strip(" .,!")
    ws = words(candidate)
    if not ws or len(ws) > 8 or re.search(r"\d", candidate) or _letters(candidate) < 2:
        return None
    if MASK in candidate or _NOT_A_NAME.search(candidate):
        return None  # "otp nya ******", "tokoku.erzap.id", an e-mail address
    if all(w in GREETING_WORDS or w in YES_WORDS or w in NO_WORDS for w in ws):
        return None
    # "Ratna dari PT Maju" names a person and where they are from; "dari kemarin" does not.
    # A capitalised word is a proper noun: "Hari" is a name, "hari" is a day.
    story = {
        w
        for i, (w, proper) in enumerate(_tokens(candidate))
        if not proper and w in STORY_WORDS and (i == 0 or w not in _AFFILIATION_WORDS)
    }
    if story:
        return None
    return candidate


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Normalised words, each with whether the client capitalised it ("Hari", "Bulan")."""
    out: list[tuple[str, bool]] = []
    for raw in WORD.findall(text):
        proper = raw[:1].isupper() and (len(raw) == 1 or raw[1:].islower())
        out.extend((w, proper) for w in SLANG.get(raw.lower(), raw.lower()).split())
    return out


_NOT_A_NAME = re.compile(r"@|https?:|www\.|\.(?:id|com|co|net|org)\b", re.I)
# "belum bisa kak, email nya ngk masuk", "gk tau": the client answers with the problem instead.
_NOT_AN_ANSWER = re.compile(
    r"\b(?:belum|tidak|masih|tetap) (?:bisa|masuk|keluar|tahu|tau|ada|muncul|berhasil)\b"
    r"|\b(?:gagal|error|lupa)\b"
)
_NAME_SUFFIX = re.compile(
    r"(?:[\s,]+(?:kak|kk|min|ya|yaa|ka|gan|sis|mas|mbak|bro)\b)+[\s.!🙏]*$", re.I
)


def clean_description(text: str) -> str | None:
    """The client's own account of something ("tidak bisa connect dr kemarin", "gk puas").

    Unlike `clean_text`, a complaint is the answer here; only greetings, a masked secret or
    a message without letters ("🙏", ".") are none.
    """
    value = text.strip()
    ws = words(value)
    if _letters(value) < 2 or not ws or MASK in value:
        return None
    if all(w in GREETING_WORDS or w in YES_WORDS or w in NO_WORDS for w in ws):
        return None  # "ya", "gk": a yes or no says nothing of how it is
    return value


def clean_text(text: str) -> str | None:
    """Free text with some substance (an outlet group, a venue); None for ".", "-", "🙏"."""
    value = text.strip()
    ws = words(value)
    if _letters(value) < 3 or not ws:
        return None
    if all(w in GREETING_WORDS or w in YES_WORDS or w in NO_WORDS for w in ws):
        return None
    if MASK in value:
        return None
    plain = " ".join(w for w, proper in _tokens(value) if not proper)
    if _NOT_AN_ANSWER.search(plain):
        return None
    return value


def clean_phone(text: str, region: str = "ID") -> str | None:
    """The number in E.164 ("+6281299887766") or None when no valid number is in the text.

    "0812-3456-7890", "+62 812 3456 7890", "62812..." and "no hp sy 0812 3456 7890 kak" all
    give the number.
    """
    candidate = text.strip().removeprefix("whatsapp:")
    if not re.search(r"\d{6,}", re.sub(r"[\s().-]", "", candidate)):
        return None
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        # a number inside a sentence: the first valid one found in it
        found = next(iter(phonenumbers.PhoneNumberMatcher(candidate, region)), None)
        if found is None:
            return None
        number = found.number
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


_REFERENCE = re.compile(r"\b(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{4,}\b")


_NOTHING = re.compile(
    r"^\s*(?:\w+\s+)?(?:tidak|belum)\s+(?:ada|punya|dapat|dapet|simpan|nyimpen|beli|pernah|bayar|"
    r"pakai|masukin|masukkan|transaksi)\b|^\s*(?:hilang|ilang|no|none|nothing)\b"
    r"|\b(?:hilang|ilang|dibuang|buang|kebuang|lupa|rusak|sobek|basah)\b"
    r"|\b(?:don't|do not|didn't|did not) (?:have|get|keep)\b|\bno receipt\b|\bhaven't\b",
    re.I,
)


def clean_reference(text: str) -> str | None:
    """A transaction reference ("TRX-88213"), or the client's word that there is none."""
    if _REFERENCE.search(text):
        return text.strip()
    if _NOTHING.search(normalised(text)):
        return text.strip()  # "ga ada struk kak": an agent follows up; asking again will not help
    return None
