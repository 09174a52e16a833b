"""Guards against what real WhatsApp clients type: slang, grouped OTPs, loose ratings, and the
look-alikes that must NOT match ("gak papa" is no refusal, "cs" inside a word asks nobody)."""

from __future__ import annotations

import pytest

from flows import guards


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("otp: 123 456", "123 456"),
        ("kode otp 482-913 udh masuk", "482-913"),
        ("OTP-nya 889900 kak", "889900"),
        ("482 913", "482 913"),
        ("pw nya Rahasia123 udah bener kok", "Rahasia123"),
        ("password: abc12345", "abc12345"),
        ("username: kasir1, password: abc12345", "abc12345"),
        ("password sy kucingku", "kucingku"),
        ("password baru sy Budi2024", "Budi2024"),
        ("pin kasir 4321 gk bisa", "4321"),
        ("the password is hunter22", "hunter22"),
        ("kata sandi saya adalah Mawar#1", "Mawar#1"),
        ("password: Ctera2024! udah bener", "Ctera2024!"),
        ("mau cek status tp kode otp 9081 23 gk masuk", "9081 23"),
        ("kodenya 123456", "123456"),
        ("OTPnya 123456", "123456"),
        ("otp123456", "123456"),
        ("pinnya 2580", "2580"),
        ("123456 kak", "123456"),  # a code sent on its own, with a word of courtesy
        ("ini kak: 123 456 🙏", "123 456"),
        ("password lama sy kucingku", "kucingku"),  # a plain word, after whose it is
        ("passwordnya kucingku", "kucingku"),
        ("my password hunter", "hunter"),
        ("password KucingKu", "KucingKu"),  # a capital inside: no word of the sentence
    ],
)
def test_mask_secrets_hides_codes_in_groups_and_passwords_after_words(
    text: str, secret: str
) -> None:
    masked = guards.mask_secrets(text)
    assert secret not in masked
    assert secret.replace(" ", "").replace("-", "") not in masked.replace(" ", "")
    assert guards.MASK in masked


@pytest.mark.parametrize(
    "text",
    [
        "outlet 123456",  # a six-digit outlet number without any OTP word is kept
        "kode voucher 5521",  # a voucher code is a proof of purchase, not a secret
        "kode transaksi 88213",
        "lupa password akun owner gmn",  # words about the password are not the password
        "password wifi nya apa ya kak",
        "kode otp 1234, no hp 0812 3456 7890",  # the phone number stays (only the OTP goes)
        "hp 0812-3456-7890",
        "Rina 2024",
    ],
)
def test_mask_secrets_keeps_what_is_no_secret(text: str) -> None:
    masked = guards.mask_secrets(text)
    kept_parts = ("123456", "5521", "88213", "akun owner", "wifi nya apa", "0812 3456 7890")
    for kept in (*kept_parts, "0812-3456-7890", "2024"):
        if kept in text:
            assert kept in masked


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("lima", 5),
        ("bintang empat kak", 4),
        ("five", 5),
        ("⭐⭐⭐⭐⭐", 5),
        ("⭐️⭐️⭐️⭐️⭐️", 5),  # stars with the emoji variation selector
        ("🌟🌟🌟", 3),
        ("bintang 4", 4),
        ("mantap 5", 5),
        ("4 bintang kak", 4),
        ("nilai 5 dari 5", 5),
        ("satu lagi kak, stok saya minus semua di outlet cabang", None),  # no rating
        ("lima puluh ribu", None),  # more than a number word
        ("10/10", None),
    ],
)
def test_rating_of_reads_loose_ratings(text: str, rating: int | None) -> None:
    assert guards.rating_of(text) == rating


@pytest.mark.parametrize(
    ("text", "no"),
    [
        ("gak", True),
        ("ga kak", True),
        ("blm bisa kak", True),
        ("masih error", True),
        ("gak papa kak", False),
        ("gapapa", False),
        ("udah gk error lagi kak makasih", False),
        ("tidak ada masalah kak", False),
        ("gk error tapi masih lemot", True),
    ],
)
def test_is_no_ignores_negations_that_say_nothing_is_wrong(text: str, no: bool) -> None:
    assert guards.is_no(text) is no


@pytest.mark.parametrize(
    ("text", "yes"),
    [
        ("udah gk error lagi kak makasih", True),
        ("ok jelas kak", True),
        ("sip udh dapet mksh", True),
        ("yes it works, thanks", True),
        ("gak", False),
        ("gak papa", False),  # neither a no nor a yes: the question is asked again
        ("nanti sy coba dulu", False),
    ],
)
def test_is_yes_in_slang(text: str, yes: bool) -> None:
    assert guards.is_yes(text) is yes


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("mau ngomong sama orang aja", True),
        ("minta cs", True),
        ("operator", True),
        ("admin tolong", True),
        ("cs nya mana sih", True),
        ("I need to speak to an agent", True),
        ("sambungkan ke customer service dong", True),
        ("admin tolong stok sy minus semua", False),  # the admin is addressed; a story follows
        ("berapa pcs yang masuk", False),  # "cs" inside a word
        ("discs nya rusak", False),
        ("mau service alat tensimeter", False),  # servicing a device is no person
        ("cs nya ramah", False),
    ],
)
def test_is_human_request_in_slang(text: str, asks: bool) -> None:
    assert guards.is_human_request(text) is asks


@pytest.mark.parametrize(
    ("text", "cancels"),
    [
        ("gk jd kak", True),
        ("ga jd deh", True),
        ("gajadi", True),
        ("eh udah beres sendiri kak, makasih", True),
        ("udah kak gak usah, udah bisa sendiri", True),
        ("gak usah kak", True),
        ("batal kak, udah normal", True),
        ("transaksi batal terus kak", False),  # what happened, not the client calling off
        ("cancel order nya gagal", False),
        ("gak usah ditelpon, chat aja", False),
        ("tidak bisa sendiri", False),
        ("sudah sy coba sendiri tapi gagal", False),
        ("gak papa kak", False),
        (
            "tadi sy coba bikin transaksi terus mau batal tapi tombolnya gk ada dan kasir "
            "bingung harus gimana",
            False,
        ),
    ],
)
def test_is_cancel_in_slang_and_not_in_stories(text: str, cancels: bool) -> None:
    assert guards.is_cancel(text) is cancels


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("no hp sy 0812 3456 7890 kak", "+6281234567890"),
        ("0812 9988 7766 ya kak", "+6281299887766"),
        ("hp/wa: 0857-1234-5678", "+6285712345678"),
        ("62812 3456 7890", "+6281234567890"),
        ("+62 811 2233 4455", "+6281122334455"),
        ("hp 0812-3456 ya", None),  # too short
        ("udh 2 hari", None),
    ],
)
def test_clean_phone_finds_the_number_in_a_sentence(text: str, e164: str | None) -> None:
    assert guards.clean_phone(text) == e164


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Rina kak", "Rina"),
        ("nama sy Budi ya kak", "Budi"),
        ("Kak Ana", "Kak Ana"),
        ("makasih kak", None),
        ("ok", None),
        ("ـــ", None),  # tatweel only: no letters of a name
    ],
)
def test_clean_name_drops_the_trailing_kak(text: str, name: str | None) -> None:
    assert guards.clean_name(text) == name


@pytest.mark.parametrize(
    ("text", "story"),
    [
        ("makasih kak", False),
        ("Good morning", False),
        ("terima kasih", False),
        ("thank you", False),
        ("koin masuk tp voucher gk keluar kak", True),
    ],
)
def test_thanks_and_greetings_are_no_story(text: str, story: bool) -> None:
    assert guards.has_story(text) is story


@pytest.mark.parametrize(
    ("text", "phrase", "found"),
    [
        ("cara tambah akun kasir", "tambah kasir", True),
        ("sy gk bisa login", "tidak bisa", True),
        ("scan qr nya gk kebaca", "tidak kebaca", True),
        ("rekap tamu bisa di export gk kak", "tidak bisa", False),  # wrong order
        ("kasir bisa login tapi laporan nya lama sekali tidak", "tidak bisa", False),
        ("aplikasih eror", "aplikasi", True),
        ("SEACRH BY NAME nya eror", "search by name", True),  # two letters swapped
        ("stok selisih", "search", False),
    ],
)
def test_has_phrase_wants_the_words_in_order_and_close(
    text: str, phrase: str, found: bool
) -> None:
    assert guards.has_phrase(guards.words(text), phrase) is found


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("blm beli kak", True),
        ("struknya udh sy buang kak", True),
        ("I don't have a receipt", True),
        ("baru mau beli", False),
        ("kemarin sore", False),
    ],
)
def test_clean_reference_hears_more_ways_of_having_no_receipt(text: str, accepted: bool) -> None:
    assert (guards.clean_reference(text) is not None) is accepted


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("nambah kasir", ["tambah", "kasir"]),
        ("gpp", ["tidak", "apa"]),
        ("mksh", ["terima", "kasih"]),
        ("dr. Hana", ["dr", "hana"]),  # "dr" stays a title, not "dari"
    ],
)
def test_words_expands_more_slang(text: str, expanded: list[str]) -> None:
    assert guards.words(text) == expanded


@pytest.mark.parametrize(
    ("text", "skips"),
    [
        ("gk ada", True),
        ("gak ada kak", True),
        ("tidak ada saran", True),
        ("no comment", True),
        ("-", True),
        ("cukup kak", True),
        ("gak papa kak, cuma agak lama", False),  # a comment after all
        ("sudah cukup bagus", False),
        ("ada kak, tolong lebih cepat", False),
    ],
)
def test_is_skip_hears_the_usual_ways_of_not_commenting(text: str, skips: bool) -> None:
    assert guards.is_skip(text) is skips


@pytest.mark.parametrize(
    ("text", "yes", "no"),
    [
        ("okeh sipp", True, False),
        ("iyaa udah bener", True, False),
        ("ngk bisa", False, True),
        ("lom kak", False, True),
        ("mantul", True, False),
    ],
)
def test_more_slang_for_yes_and_no(text: str, yes: bool, no: bool) -> None:
    assert guards.is_yes(text) is yes
    assert guards.is_no(text) is no


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hari", "Hari"),  # a name, though "hari" is a day
        ("Bulan Purnama", "Bulan Purnama"),
        ("Ibu Ratna dari PT Maju", "Ibu Ratna dari PT Maju"),
        ("hari.erzap.id", None),  # the outlet's domain, answered too early
        ("rina@gmail.com", None),
        ("otp nya ******", None),  # a masked OTP is no name
        ("Sudah dari kemarin error", None),
        ("udah 2 hari", None),
    ],
)
def test_clean_name_tells_names_from_domains_secrets_and_days(text: str, name: str | None) -> None:
    assert guards.clean_name(text) == name


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("Grup Sate Pak Agus", True),
        ("depan toko, gak jauh dari masjid", True),  # "gak jauh" is an address, not a problem
        ("Toko Masih Jaya", True),  # capitalised: part of the shop's name
        ("acara nikahan di gedung Graha", True),
        ("lom bisa kak, email nya ngk masuk2", False),  # the problem, not the outlet
        ("gk tau kak", False),
        ("pass nya ******", False),
        ("-", False),
    ],
)
def test_clean_text_refuses_the_problem_given_as_an_answer(text: str, accepted: bool) -> None:
    assert (guards.clean_text(text) is not None) is accepted


@pytest.mark.parametrize("text", ["sugeng enjing", "punten", "hei kak", "oi min"])
def test_regional_greetings_are_no_story(text: str) -> None:
    assert guards.has_story(text) is False
    assert guards.is_greeting_only(text) is True


@pytest.mark.parametrize(
    ("text", "thanks"),
    [
        ("makasih kak", True),
        ("ok sip", True),
        ("terima kasih banyak min", True),
        ("👍", True),
        ("thank you", True),
        ("makasih, tapi stok saya masih minus", False),
        ("kak", False),
        ("P", False),
    ],
)
def test_is_thanks_only(text: str, thanks: bool) -> None:
    assert guards.is_thanks_only(text) is thanks


@pytest.mark.parametrize(
    "text",
    [
        "bagaimana cara reset password akun erzap",
        "password di aplikasi android tidak bisa",
        "saya ganti password tapi tetap gagal login",
        "password toko saya lupa",
        "pw nya ke reset sendiri",
        "password ga bisa dipake",
        "forgot my password again",
        "I changed my password but still cannot log in",
    ],
)
def test_a_sentence_about_the_password_is_stored_as_typed(text: str) -> None:
    """A plain word after a bare "password" is the sentence going on: masking it loses it."""
    assert guards.mask_secrets(text) == text


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("jam buka kapan ya?", True),
        ("CS nya buka jam brp kak", True),
        ("hari minggu buka gak kak", True),
        ("kak jam kerja cs jam berapa ya", True),
        ("what time do you open", True),
        ("what are your opening hours?", True),
        ("tidak bisa buka jam 8 pagi", False),  # a story about opening the app
        (
            "aplikasi error terus tiap jam buka toko, stok jadi minus semua dan laporan kosong",
            False,
        ),
        ("halo kak", False),
    ],
)
def test_a_short_question_about_the_hours_is_told_from_a_story(text: str, asks: bool) -> None:
    assert guards.asks_office_hours(text) is asks
