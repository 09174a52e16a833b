"""/admin/profile/faq: the profile's FAQ as a form (add, edit, delete, preview, test a question).

Kept apart from chatbot/web/admin.py so the raw settings page stays as it was; the same
guards apply (admin role, same origin, CSRF). Every refusal is shown on the page with a 422,
field by field; the service is chatbot/admin/faq.py.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from chatbot.admin.faq import MAX_QUESTION, FaqDraft, FaqEditor, FaqPreview, FaqRejected
from chatbot.errors import LoketError
from chatbot.frontdesk.phrases import LOCALES
from chatbot.web.admin import AdminDep, AdminOnly, same_origin, templates
from chatbot.web.auth import verify_csrf
from chatbot.web.deps import FaqEditorDep, ProfileEditorDep, SettingsDep

router = APIRouter(
    prefix="/admin/profile/faq",
    tags=["admin"],
    dependencies=[Depends(AdminOnly), Depends(same_origin), Depends(verify_csrf)],
)

Text = Annotated[str, Form(max_length=20_000)]


def _name(names: list[str], default: str, name: str | None) -> str:
    chosen = name or default
    if chosen not in names:
        raise HTTPException(status_code=404, detail=f"no profile '{chosen}'")
    return chosen


def _faq_page(
    request: Request,
    faq: FaqEditor,
    name: str,
    *,
    draft: FaqDraft | None = None,
    original: str | None = None,
    problems: dict[str, str] | None = None,
    preview: FaqPreview | None = None,
    question: str = "",
    message: str = "",
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "name": name,
        "entries": faq.entries(name),
        "draft": draft or FaqDraft(),
        "original": original,
        "problems": problems or {},
        "preview": preview,
        "match": preview.match if preview else None,
        "question": question,
        "message": message,
        "locales": LOCALES,
        "max_question": MAX_QUESTION,
    }
    if preview is None and question:
        context["match"] = faq.match(name, question)
    return templates.TemplateResponse(request, "admin/faq.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def faq_page(
    request: Request,
    faq: FaqEditorDep,
    profiles: ProfileEditorDep,
    settings: SettingsDep,
    name: str | None = None,
    edit: str = "",
    question: str = "",
    done: str = "",
) -> Response:
    """The entries, a form for a new one (or for `edit`), and a test question's match."""
    chosen = _name(profiles.names(), settings.profile, name)
    draft, original = None, None
    if edit:
        entry = faq.entry(chosen, edit)
        if entry is None:
            raise HTTPException(status_code=404, detail=f"no FAQ entry '{edit}'")
        draft, original = FaqDraft.of(entry), entry.id
    return _faq_page(
        request,
        faq,
        chosen,
        draft=draft,
        original=original,
        question=question[:MAX_QUESTION],
        message=done,
    )


@router.post("", response_class=HTMLResponse)
def faq_change(
    request: Request,
    faq: FaqEditorDep,
    profiles: ProfileEditorDep,
    settings: SettingsDep,
    admin: AdminDep,
    name: str | None = None,
    action: Annotated[str, Form(max_length=16)] = "save",
    original: Annotated[str, Form(max_length=200)] = "",
    id: Annotated[str, Form(max_length=200)] = "",  # the form field's name
    keywords: Text = "",
    samples_id: Text = "",
    samples_en: Text = "",
    answer_id: Text = "",
    answer_en: Text = "",
    question: Annotated[str, Form(max_length=MAX_QUESTION)] = "",
) -> Response:
    """Save, preview or delete one entry; a refusal comes back with each field's reason."""
    chosen = _name(profiles.names(), settings.profile, name)
    draft = FaqDraft(id, keywords, samples_id, samples_en, answer_id, answer_en)
    was = original or None
    try:
        if action == "delete":
            made = faq.delete(chosen, original, admin.name)
            done = f"Deleted '{original}' (profile version {made})."
        elif action == "preview":
            shown = faq.preview(chosen, draft, was, question)
            return _faq_page(
                request, faq, chosen, draft=draft, original=was, preview=shown, question=question
            )
        elif action == "save":
            made = faq.save(chosen, draft, admin.name, was)
            entry = draft.data()["id"]
            done = f"Saved '{entry}' as profile version {made}." if made else "No change."
        else:
            raise LoketError(f"unknown action '{action}'")
    except FaqRejected as exc:
        return _faq_page(
            request,
            faq,
            chosen,
            draft=draft,
            original=was,
            problems=exc.problems,
            question=question,
            status=422,
        )
    except LoketError as exc:
        return _faq_page(
            request,
            faq,
            chosen,
            draft=None if action == "delete" else draft,
            original=None if action == "delete" else was,
            problems={"entry": str(exc)},
            status=422,
        )
    url = f"/admin/profile/faq?name={quote(chosen)}&done={quote(done)}"
    return RedirectResponse(url, status_code=303)
