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
    "gajadi": "tidak jadi",
    "gakjadi": "tidak jadi",
    "gkjadi": "tidak jadi",
    "jd": "jadi",
    "jdi": "jadi",
    "gpp": "tidak apa",
    "gapapa": "tidak apa",
    "gakpapa": "tidak apa",
    "nggapapa": "tidak apa",
    "gaada": "tidak ada",
    "gada": "tidak ada",
    "msh": "masih",
    "msih": "masih",
    "blum": "belum",
    "belom": "belum",
    "td": "tadi",
    "tdi": "tadi",
    "utk": "untuk",
    "klo": "kalau",
    "kalo": "kalau",
    "pake": "pakai",
    "dateng": "datang",
    "dtg": "datang",
    "nanya": "tanya",
    "nanyain": "tanya",
    "nambah": "tambah",
    "nambahin": "tambah",
    "tambahin": "tambah",
    "nyetak": "cetak",
    "ngeprint": "cetak",
    "ngeprin": "cetak",
    "konek": "connect",
    "konek2": "connect",
    "nyambung": "connect",
    "tolongin": "tolong",
    "bantuin": "bantu",
    "mkasih": "terima kasih",
    "mksih": "terima kasih",
    "makasii": "terima kasih",
    "makasihh": "terima kasih",
    "trims": "terima kasih",
    "trimakasih": "terima kasih",
    "terimakasih": "terima kasih",
    "tq": "terima kasih",
    "ty": "terima kasih",
    "gmana": "bagaimana",
    "kecetak": "tercetak",
    "korslet": "korsleting",
    "konslet": "korsleting",
    "pw": "password",
    "pwd": "password",
    "passwd": "password",
    "gimna": "bagaimana",
    "ngk": "tidak",
    "ngak": "tidak",
    "gx": "tidak",
    "nda": "tidak",
    "ndak": "tidak",
    "gag": "tidak",
    "dh": "sudah",
    "uda": "sudah",
    "udahan": "sudah",
    "lom": "belum",
    "blon": "belum",
    "bener": "benar",
    "bnr": "benar",
    "pdhl": "padahal",
    "padahl": "padahal",
    "ntar": "nanti",
    "nnti": "nanti",
    "bntr": "sebentar",
    "bentar": "sebentar",
    "msk": "masuk",
    "bkn": "bukan",
    "aq": "saya",
    "jgn": "jangan",
    "mhn": "mohon",
    "trmksh": "terima kasih",
    "mkasi": "terima kasih",
    "maacih": "terima kasih",
    "makacih": "terima kasih",
    "suwun": "terima kasih",
    "nuhun": "terima kasih",
    "okeh": "oke",
    "oce": "oke",
    "okai": "oke",
    "okk": "oke",
    "oks": "oke",
    "sipp": "oke",
    "sippp": "oke",
    "mantab": "mantap",
    "mntp": "mantap",
    "mantul": "mantap",
    "iyaa": "ya",
    "iyah": "ya",
    "iyya": "ya",
    "yoi": "ya",
    "bgs": "bagus",
    "kyk": "seperti",
    "kayak": "seperti",
    "tf": "transfer",
    "sbnrnya": "sebenarnya",
}

GREETING_WORDS = frozenset(
    "p halo hallo halloo helo hello hai hi hey hay pagi siang sore malam selamat permisi "
    "assalamualaikum assalamu'alaikum asalamualaikum assalamualaikom salam kak admin bang "
    "mas mbak bu pak om tes test ping oke ya min mimin urgent penting tolong dong good morning "
    "afternoon evening night met malem terima kasih thanks thank you sugeng enjing sonten dalu "
    "punten sampurasun hy hei oi gan sis bro mba".split()
)
SALUTATIONS = frozenset(
    "p halo hallo halloo helo hello hai hi hey hay pagi siang sore malam selamat permisi "
    "assalamualaikum assalamu'alaikum asalamualaikum salam".split()
)
FILLERS = frozenset(
    "aja saja dong deh ya yah kak please pls sama dengan yang ada nya mana bisa service sih nih "
    "kok ini dimana bagaimana tidak".split()
)
SALAM_WORDS = frozenset(
    "assalamualaikum assalamu'alaikum asalamualaikum assalamualaikom assalamu'alaikum "
    "samlekom ass aslm".split()
)
HUMAN_WORDS = frozenset(
    "agen agent cs manusia admin human operator orang staf staff petugas someone person "
    "customer".split()
)
HUMAN_ASK_WORDS = frozenset(
    "mau ingin pengen pingin minta tolong bicara ngobrol hubungkan sambungkan chat talk "
    "speak want need connect please call telpon telepon hubungi ngomong omong dibantu "
    "dihubungkan disambungkan langsung".split()
)
# Asking to be put through ("hubungkan saya dengan petugas ...") is a request at any length.
_CONNECT_WORDS = frozenset(
    "hubungkan sambungkan dihubungkan disambungkan connect transfer".split()
)
# Refusing the bot ("jangan bot", "bukan bot", "no bot") asks for a person too.
_NOT_BOT = re.compile(r"\b(?:jangan|bukan|ga mau|gak mau|tidak mau|no|not a|not the) bot\b")
# Words that only address the desk ("admin tolong", "min"): asking a person needs more than them.
_ADDRESS_WORDS = frozenset({"admin", "tolong", "please", "dong", "kak"})
# Matched on normalised words: "gk jadi", "ga jd", "gajadi" all read "tidak jadi".
_CANCEL = re.compile(r"\b(?:batal|batalin|batalkan|cancel|tidak jadi|never mind|nevermind)\b")
# "udah beres sendiri kak": the problem went away, so the report is called off.
_SELF_FIXED = re.compile(
    r"(?<!tidak )\b(?:beres|bisa|normal|nyala|hidup|jalan|aman|keluar|masuk|connect|teratasi|"
    r"selesai) sendiri\b"
)
# "gak usah kak", "ya udah gak usah, udah bisa"; not "gak usah ditelpon, chat aja".
_NOT_NEEDED = re.compile(
    r"^(?:\w+ ){0,2}tidak usah(?: (?:kak|min|deh|aja|saja|ya|sudah|lagi|terima)\b|$)"
)
# "transaksi batal", "cancel order": what happened to a transaction, not the client calling off.
_CANCELLED_THING = frozenset(
    "transaksi pesanan order pembayaran bayar booking voucher struk nota penjualan void tiket "
    "reservasi pengiriman kiriman acara event".split()
)
YES_WORDS = frozenset(
    "ya sudah bisa berhasil oke mantap solved done yes yep betul benar beres terima kasih "
    "👍 👌 🙏 sesuai aman lancar works worked thanks thank jelas paham mengerti ngerti dapat "
    "dapet normal fixed mantul jos alhamdulillah".split()
)
NO_WORDS = frozenset(
    "belum tidak no nope masih tetap tetep gagal not didn't doesn't don't".split()
)
# "gak papa", "udah gk error lagi": a negation that says nothing is wrong (any more).
_NOTHING_WRONG = frozenset(
    "apa apa2 apa-apa papa masalah kendala error gagal macet lemot lambat hang crash loading "
    "eror lag ngelag".split()
)
SKIP_WORDS = frozenset("tidak skip lewati no none - ga gak nggak cukup enggak".split())
# Words that may come with a refusal to comment ("gak ada kak", "tidak ada saran", "no comment").
_SKIP_COMPANIONS = frozenset("kak min ada komentar comment saran sudah aja saja itu dulu".split())

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
_SECRET_TAIL = re.compile(r"\s*(?P<sep>adalah|is|:|=)?\s*(?P<secret>[^\s,;]+)", re.I)
# Words that follow "password" in a sentence about it ("lupa password akun owner", "password
# wifi nya apa"): they are not the secret, so the next words are looked at instead.
_NOT_A_SECRET = frozenset(
    "akun account owner admin kasir user wifi wi-fi email baru lama lupa salah ganti reset ubah "
    "ulang benar bener apa nya saya sy aku ku kok terus trs padahal login log masuk aplikasi app "
    "pos backoffice dashboard sudah udah udh tidak gk ga gak tdk bisa bs error eror yang yg untuk "
    "utk buat dengan dgn juga jg ini itu ya kak dong sih tuh mana gimana gmn bagaimana kenapa knp "
    "berapa tadi td sama sm dan atau of my the your is for was wrong forgot new old".split()
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
    out: list[str] = []
    pos = 0
    for label in _SECRET_LABEL.finditer(text):
        if label.start() < pos:
            continue
        at = label.end()
        for _ in range(3):  # "password baru sy Budi2024": skip up to two ordinary words
            tail = _SECRET_TAIL.match(text, at)
            if tail is None:
                break
            word = tail.group("secret").lower().strip(".!?'\"")
            base = word[:-3] if word.endswith("nya") and len(word) > 3 else word
            ordinary = base in _NOT_A_SECRET and not any(ch.isdigit() for ch in word)
            if tail.group("sep") or not ordinary:
                out.append(text[pos : tail.start("secret")] + MASK)
                pos = tail.end("secret")
                break
            at = tail.end()
    out.append(text[pos:])
    return "".join(out)


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


_THANKS_WORDS = frozenset("terima kasih thanks thank you oke ya mantap 👍 🙏 siap".split())
_THANKS_COMPANIONS = frozenset("kak min banyak sama sama-sama sekali ya sudah jelas paham".split())


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


def is_skip(text: str) -> bool:
    """Whether the client declines to leave a comment."""
    ws = words(text)
    return not ws or (
        len(ws) <= 4
        and any(w in SKIP_WORDS for w in ws)
        and all(w in SKIP_WORDS or w in _SKIP_COMPANIONS for w in ws)
    )


_NUMBER_WORDS = {
    "satu": 1,
    "dua": 2,
    "tiga": 3,
    "empat": 4,
    "lima": 5,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
}


_RATING_WORDS = frozenset(
    "bintang nilai nilainya rating kak ya saya deh aja dong mantap puas star stars min".split()
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
_AFFILIATION_WORDS = frozenset({"dari", "di"})
_NAME_SUFFIX = re.compile(
    r"(?:[\s,]+(?:kak|kk|min|ya|yaa|ka|gan|sis|mas|mbak|bro)\b)+[\s.!🙏]*$", re.I
)


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
