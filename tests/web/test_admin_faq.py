"""/admin/profile/faq over HTTP: add, edit, delete, preview, test questions, refusals as 422."""

from __future__ import annotations

import dataclasses
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.admin.faq import FaqDraft, FaqEditor, FaqRejected, answer_problem
from chatbot.frontdesk.desk import Desk
from flows import classify
from tests.web.auth_helpers import add_user, login

FAQ = "/admin/profile/faq?name=erzap"
GOOD = {
    "id": "loyalty_points",
    "keywords": "poin member\nloyalty points",
    "samples_id": "cara cek poin member gimana",
    "samples_en": "how do I see loyalty points",
    "answer_id": "Buka menu Pelanggan > Poin Member.",
    "answer_en": "Open Customers > Loyalty Points.",
}


def _faq(app: FastAPI) -> FaqEditor:
    editor: FaqEditor = app.state.faq_editor
    return editor


def test_the_page_lists_the_profile_faq_and_links_from_the_profile(admin: TestClient) -> None:
    page = admin.get(FAQ)
    assert page.status_code == 200
    assert 'data-entry="add_cashier"' in page.text
    assert 'id="faq-form-link"' in admin.get("/admin/profile").text


def test_an_agent_gets_403_and_a_stranger_the_login(app: FastAPI) -> None:
    add_user(app, "agus", "agent")
    with TestClient(app) as client:
        assert client.get(FAQ, follow_redirects=False).status_code == 303
        login(client, "agus")
        assert client.get(FAQ).status_code == 403
        assert client.post(FAQ, data=GOOD).status_code == 403


def test_a_new_entry_is_saved_as_a_profile_version_and_the_bot_answers_with_it(
    app: FastAPI, admin: TestClient
) -> None:
    saved = admin.post(FAQ, data=GOOD, follow_redirects=False)
    assert saved.status_code == 303
    page = admin.get(saved.headers["location"]).text
    assert "Saved &#39;loyalty_points&#39; as profile version" in page
    assert 'data-entry="loyalty_points"' in page
    assert "edited, version" in admin.get("/admin/profile").text
    # the desk runs with it: the flow's classifier finds it for a client's question
    desk: Desk = app.state.desk
    desk.load_overrides()  # what every step does first
    found = classify.faq_for("cara cek poin member gimana kak?", desk.profile("erzap"))
    assert found is not None
    assert found.answer.id == GOOD["answer_id"]


def test_editing_keeps_the_order_and_renaming_frees_the_old_id(
    app: FastAPI, admin: TestClient
) -> None:
    form = admin.get(f"{FAQ}&edit=reset_password").text
    assert 'name="original" value="reset_password"' in form
    entry = _faq(app).entry("erzap", "reset_password")
    assert entry is not None
    changed = {
        "original": "reset_password",
        "id": "password_reset",
        "keywords": "\n".join(entry.keywords),
        "samples_id": "\n".join(entry.samples),
        "answer_id": "Klik 'Lupa kata sandi' di halaman masuk.",
        "answer_en": entry.answer.en,
    }
    assert admin.post(FAQ, data=changed, follow_redirects=False).status_code == 303
    ids = [e.id for e in _faq(app).entries("erzap")]
    assert ids[1] == "password_reset"
    assert "reset_password" not in ids
    renamed = _faq(app).entry("erzap", "password_reset")
    assert renamed is not None
    assert renamed.answer.id.startswith("Klik")


def test_delete_removes_one_entry(app: FastAPI, admin: TestClient) -> None:
    before = len(_faq(app).entries("erzap"))
    done = admin.post(FAQ, data={"action": "delete", "original": "sync_data"})
    assert done.status_code == 200
    assert "Deleted" in done.text
    assert len(_faq(app).entries("erzap")) == before - 1
    assert _faq(app).entry("erzap", "sync_data") is None
    again = admin.post(FAQ, data={"action": "delete", "original": "sync_data"})
    assert again.status_code == 422
    assert "no FAQ entry" in again.text


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"answer_id": "  "}, "answer_id", "the answer is empty"),
        ({"answer_en": ""}, "answer_en", "the answer is empty"),
        ({"id": "add_cashier"}, "id", "another entry already has the id"),
        ({"id": ""}, "id", "the id is empty"),
        ({"id": "two words"}, "id", "no spaces"),
        ({"keywords": " \n "}, "keywords", "at least one keyword"),
        ({"answer_id": "Halo {{ nama "}, "answer_id", "template syntax error on line 1"),
        ({"answer_en": "Hi {% if x %}"}, "answer_en", "template syntax error"),
        ({"answer_id": "Halo {{ nama }}"}, "answer_id", "sent to the client as written"),
    ],
)
def test_refusals_are_shown_by_field_and_nothing_changes(
    app: FastAPI, admin: TestClient, change: dict[str, str], field: str, reason: str
) -> None:
    before = _faq(app).entries("erzap")
    for action in ("save", "preview"):
        page = admin.post(FAQ, data={**GOOD, **change, "action": action})
        assert page.status_code == 422, page.text
        assert f'id="error-{field}"' in page.text
        assert reason in page.text.replace("&#39;", "'")
        assert 'id="preview-id"' not in page.text
    assert _faq(app).entries("erzap") == before


def test_preview_renders_the_client_phrase_and_matches_a_test_question(
    app: FastAPI, admin: TestClient
) -> None:
    page = admin.post(
        FAQ, data={**GOOD, "action": "preview", "question": "gimana cara cek poin member?"}
    )
    assert page.status_code == 200
    # the phrase self_service.faq_answer around the answer, as the bot sends it
    assert "Baik kak, berikut caranya:\nBuka menu Pelanggan &gt; Poin Member." in page.text
    assert "Open Customers &gt; Loyalty Points." in page.text
    assert '<code id="match-entry">loyalty_points</code>' in page.text
    assert _faq(app).entry("erzap", "loyalty_points") is None  # a preview saves nothing


def test_the_preview_follows_an_admin_edit_of_the_phrase(admin: TestClient) -> None:
    admin.post(
        "/admin/phrases/id/self_service.faq_answer",
        data={"text": "Begini kak:\n{{ answer }}"},
        follow_redirects=False,
    )
    page = admin.post(FAQ, data={**GOOD, "action": "preview"}).text
    assert "Begini kak:\nBuka menu Pelanggan" in page


def test_try_a_question_on_the_faq_in_force(admin: TestClient) -> None:
    hit = admin.get(FAQ, params={"question": "cara tambah akun kasir baru gimana"}).text
    assert '<code id="match-entry">add_cashier</code>' in hit
    miss = admin.get(FAQ, params={"question": "selamat pagi"}).text
    assert 'id="match-none"' in miss


def test_unknown_profile_entry_and_action_are_4xx(admin: TestClient) -> None:
    assert admin.get("/admin/profile/faq?name=nope").status_code == 404
    assert admin.get(f"{FAQ}&edit=nope").status_code == 404
    unknown = admin.post(FAQ, data={**GOOD, "action": "explode"})
    assert unknown.status_code == 422
    assert 'value="loyalty_points"' in unknown.text  # the draft is kept
    assert admin.post(FAQ, data={**GOOD, "original": "nope"}).status_code == 422
    assert admin.post(FAQ, data={**GOOD, "id": "x" * 300}).status_code == 422


def test_answer_problem_accepts_plain_text_with_braces_apart() -> None:
    assert answer_problem("Harga { promo } berlaku s/d 31/12, 100% aman") is None
    assert answer_problem("a" * 5000) is not None


def test_the_service_refuses_without_touching_the_profile(app: FastAPI) -> None:
    faq = _faq(app)
    with pytest.raises(FaqRejected) as refused:
        faq.save("erzap", FaqDraft(**{**GOOD, "keywords": ""}), "ani")
    assert set(refused.value.problems) == {"keywords"}
    assert faq.entry("erzap", "loyalty_points") is None


def test_samples_show_split_by_language_and_are_saved_as_one_list(
    app: FastAPI, admin: TestClient
) -> None:
    form = admin.get(f"{FAQ}&edit=reset_password").text
    english = re.search(r'<textarea id="samples_en"[^>]*>([^<]*)</textarea>', form)
    indonesian = re.search(r'<textarea id="samples_id"[^>]*>([^<]*)</textarea>', form)
    assert english is not None
    assert indonesian is not None
    assert english.group(1) == "i forgot my password how do i reset it"
    assert "cara reset password akun kasir gimana" in indonesian.group(1)
    entry = _faq(app).entry("erzap", "reset_password")
    assert entry is not None
    same = FaqDraft.of(entry)
    # saving the form unchanged is no change, although the boxes reorder the list
    assert _faq(app).save("erzap", same, "ani", original="reset_password") is None
    added = dataclasses.replace(same, samples_en="how to reset a password")
    assert _faq(app).save("erzap", added, "ani", original="reset_password") is not None
    saved = _faq(app).entry("erzap", "reset_password")
    assert saved is not None
    assert "how to reset a password" in saved.samples
    assert "i forgot my password how do i reset it" not in saved.samples
