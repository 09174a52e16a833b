"""The machine itself, with no database: one Outcome per event."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from flows import phrase_keys as keys
from flows.events import CloseCase, FlowEvent, QueueCase, RecordSurvey, SetCategory
from flows.front_desk import MACHINE, Outcome, State, step
from flows.profiles.schema import Profile, load_profiles

PROFILES = load_profiles(Path(__file__).resolve().parents[2] / "flows" / "profiles")


def run(
    state: State,
    text: str = "",
    *,
    profile: str = "erzap",
    trigger: Any = "client_wrote",
    fields: dict[str, str] | None = None,
    context: dict[str, Any] | None = None,
    category: str | None = None,
    **event: Any,
) -> Outcome:
    return step(
        state,
        FlowEvent(trigger, text=text, **event),
        PROFILES[profile],
        locale="id",
        context=context or {},
        fields=fields or {},
        category=category,
    )


def said(turn: Outcome) -> list[str]:
    return [r.key for r in turn.replies]


def test_one_letter_opener_gets_the_salam_and_welcome() -> None:
    turn = run(State.NEW, "P")
    assert turn.state is State.CHRONOLOGY
    assert said(turn) == [keys.GREETING_SALAM, keys.GREETING_WELCOME]


def test_salam_is_answered_with_salam() -> None:
    turn = run(State.NEW, "Assalamualaikum kak")
    assert turn.replies[0].variables["salam"] is True


def test_a_story_in_the_first_message_skips_the_welcome() -> None:
    turn = run(State.NEW, "aplikasi POS error terus dari pagi")
    assert turn.state is State.VERIFICATION
    assert said(turn) == [keys.GREETING_SALAM, keys.CHRONOLOGY_RECEIVED, keys.ask_field("name")]


def test_a_photo_without_caption_asks_for_the_story() -> None:
    turn = run(State.CHRONOLOGY, "", kind="photo", has_attachment=True)
    assert turn.state is State.CHRONOLOGY
    assert said(turn) == [keys.CHRONOLOGY_MEDIA_RECEIVED]


@pytest.mark.parametrize(
    "caption", ["ini screenshotnya kak", "ss nya kak", "here is the screenshot"]
)
def test_a_caption_that_only_points_at_the_file_asks_for_the_story(caption: str) -> None:
    turn = run(State.NEW, caption, kind="photo", has_attachment=True)
    assert turn.state is State.CHRONOLOGY
    assert said(turn) == [keys.GREETING_SALAM, keys.CHRONOLOGY_MEDIA_RECEIVED]


def test_a_caption_with_the_story_is_the_story() -> None:
    turn = run(State.NEW, "ini ss nya, stok minus terus", kind="photo", has_attachment=True)
    assert turn.state is State.VERIFICATION
    assert keys.CHRONOLOGY_RECEIVED in said(turn)
    typed = run(State.NEW, "stok minus ini")  # without a file "ini" is part of the sentence
    assert typed.state is State.VERIFICATION


def test_a_request_for_a_person_that_tells_the_problem_keeps_it_as_the_story() -> None:
    told = "aplikasi crash terus saat transaksi, mau bicara dengan agen"
    turn = run(State.CHRONOLOGY, told, trigger="client_asked_for_human")
    assert turn.state is State.QUEUED
    assert turn.context["story"] == told  # the agents and the daily log read it
    short = run(State.CHRONOLOGY, "mau bicara dengan agen", trigger="client_asked_for_human")
    assert "story" not in short.context


def test_a_complaint_is_the_answer_to_a_question_about_the_service() -> None:
    """Telkom's caring asks how the service is: "tidak bisa connect" is how, not no answer."""
    story = run(
        State.CHRONOLOGY, "internet sy lemot bgt kak udh 3 hari gk bs buat zoom", profile="telkom"
    )
    assert story.fields["service_status"].startswith("lemot bgt")  # said already: not asked
    assert said(story)[-1] == keys.ask_field("satisfaction")
    asked = run(
        State.VERIFICATION,
        "tidak bisa connect sama sekali",
        profile="telkom",
        context={"story": "wifi tidak bisa connect dr kemarin"},
    )
    assert asked.fields["service_status"] == "tidak bisa connect sama sekali"
    assert said(asked)[-1] == keys.ask_field("satisfaction")
    rated = run(
        State.VERIFICATION,
        "gk puas lah",
        profile="telkom",
        context={"story": "wifi mati"},
        fields={"service_status": "mati"},
    )
    assert rated.fields["satisfaction"] == "gk puas lah"
    nothing = run(State.VERIFICATION, "ga", profile="telkom", context={"story": "wifi mati"})
    assert "service_status" not in nothing.fields  # a bare no says nothing of how it is


def test_a_sticker_in_chronology_asks_for_text() -> None:
    turn = run(State.CHRONOLOGY, "", kind="sticker")
    assert said(turn) == [keys.VERIFICATION_TEXT_ONLY]


def test_three_bad_answers_hand_the_case_to_an_agent() -> None:
    context: dict[str, Any] = {"story": "stok selisih"}
    for bad in (".", "🙏"):
        turn = run(State.VERIFICATION, bad, context=context)
        assert turn.state is State.VERIFICATION
        assert said(turn) == [keys.reask_field("name")]
        context = turn.context
    turn = run(State.VERIFICATION, "-", context=context)
    assert turn.state is State.QUEUED
    assert said(turn) == [keys.VERIFICATION_HANDOFF, keys.QUEUE_PLEASE_WAIT, keys.QUEUE_POSITION]
    assert QueueCase("verification_failed") in turn.effects


def test_a_wrong_phone_number_is_reasked() -> None:
    turn = run(
        State.VERIFICATION,
        "0812345",
        profile="panasea",
        fields={"identity": "Hana"},
        context={"story": "alat rusak"},
    )
    assert said(turn) == [keys.reask_field("phone")]
    assert "phone" not in turn.fields


def test_a_valid_phone_number_is_stored_in_e164() -> None:
    turn = run(
        State.VERIFICATION,
        "0812-9988-7766",
        profile="panasea",
        fields={"identity": "Hana"},
        context={"story": "infusion pump rusak"},
    )
    assert turn.fields["phone"] == "+6281299887766"
    assert turn.state is State.QUEUED


def test_a_shared_location_answers_the_location_field() -> None:
    turn = run(
        State.VERIFICATION,
        "",
        profile="intera",
        kind="location",
        location=(-6.2, 106.8),
        fields={"name": "Rudi"},
        context={"story": "voucher"},
    )
    assert turn.fields["location"] == "-6.200000,106.800000"
    assert said(turn) == [keys.ask_field("proof")]


def test_a_photo_answers_the_transaction_proof() -> None:
    turn = run(
        State.VERIFICATION,
        "",
        profile="intera",
        kind="photo",
        has_attachment=True,
        fields={"name": "Rudi", "location": "Warung Bu Tini"},
        context={"story": "koin masuk tapi voucher tidak keluar"},
    )
    assert turn.fields["proof"] == "attachment:photo"
    assert turn.state is State.QUEUED


def test_the_domain_in_the_story_prefills_the_outlet_field() -> None:
    turn = run(State.CHRONOLOGY, "tokobudi.erzap.id tidak bisa login dari pagi")
    assert turn.fields == {"outlet": "tokobudi.erzap.id", "domain": "tokobudi.erzap.id"}
    turn = run(State.VERIFICATION, "Budi", fields=turn.fields, context=turn.context)
    assert turn.state is State.QUEUED


def test_an_faq_question_is_answered_then_asked_if_solved() -> None:
    turn = run(
        State.VERIFICATION,
        "outlet Kedai Wulan",
        fields={"name": "Wulan"},
        context={"story": "cara tambah akun kasir baru gimana ya kak?"},
    )
    assert turn.state is State.SELF_SERVICE
    assert said(turn) == [keys.SELF_SERVICE_FAQ_ANSWER, keys.SELF_SERVICE_ASK_SOLVED]
    assert SetCategory("easy", 30) in turn.effects
    assert [b.payload for b in turn.replies[-1].buttons] == ["yes", "no"]


@pytest.mark.parametrize(
    ("answer", "state"),
    [("belum", State.QUEUED), ("tidak", State.QUEUED), ("sudah kak", State.SURVEY_RATING)],
)
def test_self_service_answer_decides_queue_or_survey(answer: str, state: State) -> None:
    assert run(State.SELF_SERVICE, answer, category="easy").state is state


def test_the_yes_button_closes_easy_with_its_phrase_and_asks_the_rating() -> None:
    turn = run(State.SELF_SERVICE, "Sudah", button="yes", category="easy")
    assert said(turn) == [keys.CLOSING_EASY, keys.SURVEY_ASK_RATING]
    assert len(turn.replies[-1].buttons) == 5


@pytest.mark.parametrize("word", ["agen", "mau bicara dengan manusia", "human", "admin"])
def test_asking_for_a_human_queues_from_any_bot_state(word: str) -> None:
    for state in (State.CHRONOLOGY, State.VERIFICATION, State.SELF_SERVICE):
        turn = run(state, word, context={"story": "stok beda"})
        assert turn.state is State.QUEUED
        assert QueueCase("client_asked") in turn.effects


def test_batal_cancels_politely() -> None:
    turn = run(State.VERIFICATION, "batal aja kak")
    assert turn.state is State.CLOSED
    assert said(turn) == [keys.CANCEL_DONE]
    assert CloseCase("cancelled_by_client", "client") in turn.effects


def test_unknown_input_in_self_service_is_reasked() -> None:
    turn = run(State.SELF_SERVICE, "hmm", category="easy")
    assert said(turn) == [keys.SELF_SERVICE_REASK_SOLVED]


def test_invalid_ratings_are_reasked_then_a_valid_one_asks_for_a_comment() -> None:
    turn = run(State.SURVEY_RATING, "sangat puas")
    assert said(turn) == [keys.SURVEY_REASK_RATING]
    turn = run(State.SURVEY_RATING, "5", context=turn.context)
    assert turn.state is State.SURVEY_COMMENT
    assert RecordSurvey(rating=5) in turn.effects


def test_comment_closes_the_case_and_a_skip_records_none() -> None:
    turn = run(State.SURVEY_COMMENT, "cepat responnya, cs nya ramah")
    assert turn.state is State.CLOSED
    assert RecordSurvey(comment="cepat responnya, cs nya ramah") in turn.effects
    assert CloseCase("resolved", "client") in turn.effects
    skipped = run(State.SURVEY_COMMENT, "tidak")
    assert not [e for e in skipped.effects if isinstance(e, RecordSurvey)]


def test_a_second_tap_on_the_rating_changes_the_rating_and_asks_again_for_the_comment() -> None:
    turn = run(State.SURVEY_COMMENT, "3 ⭐⭐⭐", button="rating:3")
    assert turn.state is State.SURVEY_COMMENT
    assert RecordSurvey(rating=3) in turn.effects
    assert not [e for e in turn.effects if isinstance(e, RecordSurvey) and e.comment]
    assert said(turn) == [keys.SURVEY_ASK_COMMENT]


def test_agent_resolution_differs_for_easy_and_normal_hard() -> None:
    easy = run(State.WITH_AGENT, trigger="agent_resolved", category="easy")
    assert easy.state is State.SURVEY_RATING
    assert said(easy)[0] == keys.CLOSING_EASY
    hard = run(State.WITH_AGENT, trigger="agent_resolved", category="hard")
    assert hard.state is State.AWAITING_CONFIRMATION
    assert said(hard) == [keys.CLOSING_NORMAL_HARD]


def test_silence_after_resolution_sends_the_survey_and_closes_as_no_reply() -> None:
    turn = run(State.AWAITING_CONFIRMATION, trigger="timer_expired", category="hard")
    assert turn.state is State.SURVEY_RATING
    end = run(State.SURVEY_RATING, trigger="timer_expired", context=turn.context)
    assert CloseCase("resolved_no_reply", "timer") in end.effects


def test_a_queued_client_is_reassured_once_then_waits_for_the_agent() -> None:
    turn = run(State.QUEUED, "ok kak")
    assert turn.state is State.QUEUED
    assert said(turn) == [keys.QUEUE_ALREADY_QUEUED]
    turn = run(State.QUEUED, "ss nanti nyusul ya", context=turn.context)
    assert turn.replies == []


def test_queueing_again_allows_one_more_reassurance() -> None:
    turn = run(State.SELF_SERVICE, "belum kak", context={"reassured": True})
    assert turn.state is State.QUEUED
    assert turn.context["reassured"] is False


def test_small_talk_before_the_story_hands_nothing_off() -> None:
    context: dict[str, Any] = {}
    for text in ["P", "kak", "halo kak 🙏"]:
        turn = run(State.CHRONOLOGY, text, context=context)
        assert turn.state is State.CHRONOLOGY
        assert said(turn) == [keys.CHRONOLOGY_REASK]
        context = turn.context
    turn = run(State.CHRONOLOGY, "printer struk gk bisa print dari kemarin", context=context)
    assert turn.state is State.VERIFICATION


def test_endless_small_talk_still_reaches_a_person() -> None:
    context: dict[str, Any] = {}
    state = State.CHRONOLOGY
    for _ in range(6):
        turn = run(state, "P", context=context)
        state, context = turn.state, turn.context
    assert state is State.QUEUED


def test_a_value_found_in_the_story_is_stored_normalised() -> None:
    turn = run(
        State.CHRONOLOGY,
        "alat USG kami mati total sejak kemarin, hubungi 0812-1111-2222",
        profile="panasea",
    )
    assert turn.fields.get("phone") == "+6281211112222"


def test_english_clients_get_english() -> None:
    turn = run(State.NEW, "Hello, I want to file a complaint", profile="panasea")
    assert turn.locale == "en"


def test_the_shared_machine_keeps_one_turn_per_concurrent_step_not_per_message() -> None:
    before = len(MACHINE.models)
    for _ in range(50):
        run(State.CHRONOLOGY, "kak")
    assert len(MACHINE.models) <= max(before, 1)


def test_a_reused_turn_carries_nothing_from_the_previous_event() -> None:
    first = run(State.VERIFICATION, "Budi", context={"fails": 1, "noted": 1})
    second = run(State.CHRONOLOGY, "halo kak")
    assert first.state is State.VERIFICATION
    assert second.state is State.CHRONOLOGY
    assert "fails" not in second.context
    assert "noted" not in second.context
    assert said(first) != said(second)  # the first outcome is not overwritten by the second
    assert said(first) == said(run(State.VERIFICATION, "Budi", context={"fails": 1, "noted": 1}))


def test_steps_in_many_threads_at_once_give_the_same_answers_as_one_by_one() -> None:
    texts = ["halo kak", "stok di POS beda dengan backoffice", "P", "batal", "mau ke cs"]
    alone = [said(run(State.CHRONOLOGY, text)) for text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda t: said(run(State.CHRONOLOGY, t)), texts * 40))
    assert together == alone * 40


def test_every_profile_field_has_a_known_phrase() -> None:
    profile: Profile
    for profile in PROFILES.values():
        for datum in profile.fields:
            assert keys.ask_field(datum.key) in keys.ALL
            assert keys.reask_field(datum.kind) in keys.ALL


def test_story_instead_of_an_answer_is_noted_twice_then_counts_as_a_failure() -> None:
    context: dict[str, Any] = {"story": "stok selisih"}
    for _ in range(2):
        turn = run(State.VERIFICATION, "udh dari kemarin sore kak", context=context)
        assert said(turn) == [keys.VERIFICATION_NOTED, keys.ask_field("name")]
        context = turn.context
    turn = run(State.VERIFICATION, "udh dari kemarin sore kak", context=context)
    assert said(turn) == [keys.reask_field("name")]


# --- understanding clients: people, English, FAQ first, ladder, queue ---


def test_a_request_for_a_person_without_a_report_gets_the_fitting_phrase() -> None:
    turn = run(State.NEW, "bisa sambungkan ke orang aja?")
    assert turn.state is State.QUEUED
    assert said(turn) == [keys.GREETING_SALAM, keys.QUEUE_HUMAN_REQUESTED, keys.QUEUE_POSITION]
    told = run(State.NEW, "stok minus terus dari kemarin padahal udh opname, mau bicara dengan cs")
    assert said(told)[1] == keys.QUEUE_PLEASE_WAIT  # a report was given: "checking your report"
    assert told.context["story"]


def test_an_english_opening_is_answered_in_english_and_waits_for_the_story() -> None:
    turn = run(State.NEW, "Hello, can you help me?")
    assert (turn.state, turn.locale) == (State.CHRONOLOGY, "en")
    assert said(turn) == [keys.GREETING_SALAM, keys.GREETING_WELCOME]
    back = run(State.CHRONOLOGY, "stok di pos sama backoffice beda kak", context=turn.context)
    assert back.locale == "id"  # the client switched: so does the bot


def test_an_faq_question_first_is_answered_before_verification_where_allowed() -> None:
    turn = run(State.NEW, "wifi connected tapi gk ada internet", profile="intera")
    assert turn.state is State.SELF_SERVICE
    assert said(turn) == [
        keys.GREETING_SALAM,
        keys.SELF_SERVICE_FAQ_ANSWER,
        keys.SELF_SERVICE_ASK_SOLVED,
    ]
    no = run(State.SELF_SERVICE, "belum kak", profile="intera", context=turn.context)
    assert no.state is State.VERIFICATION  # verified first, then an agent
    assert said(no) == [keys.CHRONOLOGY_RECEIVED, keys.ask_field("name")]
    erzap = run(State.NEW, "cara tambah kasir baru gmn?")  # ERZAP verifies first
    assert erzap.state is State.VERIFICATION


def test_the_fallback_ladder_goes_on_while_queued() -> None:
    context = {"story": "search by name gk nemu tamunya", "advised": ["search_by_name_fails"]}
    turn = run(
        State.QUEUED,
        "scan qr nya juga gk kebaca",
        profile="ctera",
        context=context,
        category="normal",
    )
    assert turn.state is State.QUEUED
    assert said(turn) == [keys.CHRONOLOGY_TROUBLESHOOTING]
    assert SetCategory("hard", 720) in turn.effects  # both products down: Hard now
    done = run(State.QUEUED, "udah bisa pake search by name", profile="ctera", context=context)
    assert keys.CHRONOLOGY_TROUBLESHOOTING not in said(done)
    again = run(State.QUEUED, "scan qr tetep gk bisa", profile="ctera", context=turn.context)
    assert said(again) == [keys.QUEUE_ALREADY_QUEUED]  # once per step


def test_the_queue_position_is_said_when_asked() -> None:
    turn = run(State.QUEUED, "masih lama ya kak?", context={"reassured": True})
    assert said(turn) == [keys.QUEUE_POSITION]


def test_answers_are_extracted_from_sentences() -> None:
    turn = run(State.VERIFICATION, "sy rina kak", context={"story": "stok minus"})
    assert turn.fields == {"name": "Rina"}
    line = "outletnya toko berkah jaya, domainnya berkahjaya.erzap.id"
    turn = run(State.VERIFICATION, line, fields={"name": "Rina"}, context={"story": "stok"})
    assert turn.fields == {
        "name": "Rina",
        "outlet": "toko berkah jaya",
        "domain": "berkahjaya.erzap.id",
    }
