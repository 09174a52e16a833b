"""Admin pages: phrases (edit, preview, history, revert, reset), profile, users, vocabulary.

Server-rendered Jinja2 with autoescape on; the only script is a small inline one for the live
preview, and every form works without it. Every route sits behind `AdminOnly` (the admin
role, from chatbot/web/auth.py) and the CSRF check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from chatbot.admin.accounts import ROLES
from chatbot.admin.calendar import OfficeCalendar, parse_day
from chatbot.admin.editor import (
    PhraseEditor,
    ProfileEditor,
    settings_form,
    settings_from_form,
    settings_text,
)
from chatbot.admin.users import UserDirectory
from chatbot.errors import LoketError, PhraseRejected, SettingsRejected, UnknownPhrase
from chatbot.frontdesk.phrases import LOCALES
from chatbot.web.auth import AdminUser, page_templates, verify_csrf
from chatbot.web.deps import (
    CalendarDep,
    ClockDep,
    PhraseEditorDep,
    ProfileEditorDep,
    RowId,
    SettingsDep,
    UsersDep,
    WebSettings,
)
from flows import guards, vocabulary


@dataclass(frozen=True, slots=True)
class Admin:
    """Who is editing; the name is written as the author of every version."""

    name: str


def AdminOnly(user: AdminUser) -> Admin:  # CapWords: used as a dependency, like a type
    """Let admins through (`require_role("admin")`), refuse everyone else with 403."""
    return Admin(user.name)


def same_origin(request: Request) -> None:
    """Refuse a form posted from another site (a browser always sends Origin on POST)."""
    origin = request.headers.get("origin")
    if request.method == "POST" and origin and urlsplit(origin).netloc != request.url.netloc:
        raise HTTPException(status_code=403, detail="cross-site form post refused")


AdminDep = Annotated[Admin, Depends(AdminOnly)]
router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(AdminOnly), Depends(same_origin), Depends(verify_csrf)],
)
templates = page_templates()  # every text here is admin- or client-written, escaped


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status)


@router.get("", response_class=HTMLResponse)
def admin_home(request: Request) -> Response:
    """The admin's start page."""
    return _page(request, "admin/index.html", {})


@router.get("/openapi.json", include_in_schema=False)
def api_description(request: Request) -> JSONResponse:
    """The OpenAPI description of every route, for admins only: it maps the attack surface."""
    return JSONResponse(request.app.openapi())


@router.get("/phrases", response_class=HTMLResponse)
def phrase_list(request: Request, editor: PhraseEditorDep) -> Response:
    """Every phrase per locale: text in force, file default, the variables it may use."""
    states = editor.states()
    rows: dict[str, dict[str, Any]] = {}
    for state in states:
        rows.setdefault(state.key, {"key": state.key, "variables": state.variables})
        rows[state.key][state.locale] = state
    return _page(request, "admin/phrases.html", {"rows": list(rows.values()), "locales": LOCALES})


def _phrase_page(
    request: Request,
    editor: PhraseEditor,
    key: str,
    locale: str,
    *,
    text: str | None = None,
    preview: str | None = None,
    error: PhraseRejected | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    try:
        state = editor.state(key, locale)
    except UnknownPhrase as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    if text is None:
        text = state.text
    if preview is None and error is None:
        try:
            preview = editor.check(key, locale, text)
        except PhraseRejected as exc:  # e.g. an old version no longer fits the flows
            error = exc
    return _page(
        request,
        "admin/phrase.html",
        {
            "state": state,
            "text": text,
            "preview": preview,
            "error": error,
            "message": message,
            "history": editor.history(key, locale),
            "base": f"/admin/phrases/{quote(locale)}/{quote(key)}",
        },
        status,
    )


@router.get("/phrases/{locale}/{key}", response_class=HTMLResponse)
def phrase_page(
    request: Request, editor: PhraseEditorDep, locale: str, key: str, done: str = ""
) -> Response:
    """One phrase: the editor with its preview, the default text, and the history."""
    return _phrase_page(request, editor, key, locale, message=done)


@router.post("/phrases/{locale}/{key}", response_class=HTMLResponse)
def phrase_save(
    request: Request,
    editor: PhraseEditorDep,
    locale: str,
    key: str,
    admin: AdminDep,
    text: Annotated[str, Form()],
    action: Annotated[str, Form()] = "save",
) -> Response:
    """Preview or save; a refused text comes back with the reason, the old text stays."""
    try:
        if action == "preview":
            preview = editor.check(key, locale, text)
            return _phrase_page(request, editor, key, locale, text=text, preview=preview)
        version = editor.save(key, locale, text, admin.name)
    except UnknownPhrase as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except PhraseRejected as exc:
        return _phrase_page(request, editor, key, locale, text=text, error=exc, status=422)
    done = f"Saved as version {version}." if version else "No change: that text is in force."
    return _back(locale, key, done)


def _back(locale: str, key: str, done: str) -> Response:
    url = f"/admin/phrases/{quote(locale)}/{quote(key)}?done={quote(done)}"
    return RedirectResponse(url, status_code=303)


@router.post("/phrases/{locale}/{key}/preview")
def phrase_preview(
    editor: PhraseEditorDep,
    locale: str,
    key: str,
    text: Annotated[str, Form()],
) -> JSONResponse:
    """The live preview: the text rendered with sample values, or why it would be refused."""
    try:
        preview = editor.check(key, locale, text)
    except UnknownPhrase as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except PhraseRejected as exc:
        _, _, line, reason = exc.problems[0]
        return JSONResponse({"ok": False, "error": str(exc), "line": line, "reason": reason})
    return JSONResponse({"ok": True, "preview": preview})


@router.post("/phrases/{locale}/{key}/revert/{version}")
def phrase_revert(
    request: Request,
    editor: PhraseEditorDep,
    locale: str,
    key: str,
    version: RowId,
    admin: AdminDep,
) -> Response:
    """Bring back an earlier version's text as a new version."""
    try:
        made = editor.revert(key, locale, version, admin.name)
    except UnknownPhrase as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except PhraseRejected as exc:
        return _phrase_page(request, editor, key, locale, error=exc, status=422)
    done = f"Version {version} is back, as version {made}." if made else "That text is in force."
    return _back(locale, key, done)


@router.post("/phrases/{locale}/{key}/reset")
def phrase_reset(editor: PhraseEditorDep, locale: str, key: str, admin: AdminDep) -> Response:
    """Return to the text of the file."""
    try:
        made = editor.reset(key, locale, admin.name)
    except UnknownPhrase as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    return _back(locale, key, "Back to the default text." if made else "The default is in force.")


def _profile_name(editor: ProfileEditor, settings: WebSettings, name: str | None) -> str:
    chosen = name or settings.profile
    if chosen not in editor.names():
        raise HTTPException(status_code=404, detail=f"no profile '{chosen}'")
    return str(chosen)


def _profile_page(
    request: Request,
    editor: ProfileEditor,
    name: str,
    *,
    form: dict[str, str] | None = None,
    error: str = "",
    message: str = "",
    status: int = 200,
) -> Response:
    settings, version = editor.current(name)
    return _page(
        request,
        "admin/profile.html",
        {
            "name": name,
            "names": editor.names(),
            "form": form or settings_form(settings),
            "version": version,
            "current": settings_text(settings),
            "error": error,
            "message": message,
            "history": editor.history(name),
        },
        status,
    )


@router.get("/profile", response_class=HTMLResponse)
def profile_page(
    request: Request,
    editor: ProfileEditorDep,
    settings: SettingsDep,
    name: str | None = None,
    done: str = "",
) -> Response:
    """The active profile's editable settings (another profile with ?name=)."""
    return _profile_page(request, editor, _profile_name(editor, settings, name), message=done)


@router.post("/profile", response_class=HTMLResponse)
async def profile_save(
    request: Request,
    editor: ProfileEditorDep,
    settings: SettingsDep,
    admin: AdminDep,
    name: str | None = None,
) -> Response:
    """Validate with the profile schema and save as a new version, or show what is wrong."""
    chosen = _profile_name(editor, settings, name)
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        if form.get("action") == "reset":
            made = editor.reset(chosen, admin.name)
            done = "Back to the profile file." if made else "The profile file is in force."
        else:
            made = editor.save(chosen, settings_from_form(form), admin.name)
            done = f"Saved as version {made}." if made else "No change."
    except SettingsRejected as exc:
        return _profile_page(request, editor, chosen, form=form, error=str(exc), status=422)
    url = f"/admin/profile?name={quote(chosen)}&done={quote(done)}"
    return RedirectResponse(url, status_code=303)


def _users_page(
    request: Request,
    directory: UserDirectory | None,
    *,
    error: str = "",
    message: str = "",
    status: int = 200,
) -> Response:
    users = directory.list_users() if directory else []
    context = {
        "directory": directory,
        "users": users,
        "roles": ROLES,
        "error": error,
        "message": message,
    }
    return _page(request, "admin/users.html", context, status)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, directory: UsersDep, done: str = "") -> Response:
    """Agents, supervisors and admins: add, disable, set roles."""
    return _users_page(request, directory, message=done)


@router.post("/users", response_class=HTMLResponse)
def users_change(
    request: Request,
    directory: UsersDep,
    admin: AdminDep,
    action: Annotated[str, Form()],
    name: Annotated[str, Form()],
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """One change to one user: add, set_role, disable or enable."""
    if directory is None:
        raise HTTPException(status_code=503, detail="user accounts arrive with the login")
    name = name.strip()
    try:
        if action in {"add", "set_role"} and role not in ROLES:
            raise LoketError(f"unknown role '{role}'; known: {', '.join(ROLES)}")
        if action in {"set_role", "disable"} and name == admin.name:
            raise LoketError("you cannot demote or disable yourself")
        if action == "add":
            directory.add_user(name, role, password)
            done = f"Added {name} as {role}."
        elif action == "set_role":
            directory.set_role(name, role)
            done = f"{name} is now {role}."
        elif action in {"disable", "enable"}:
            directory.set_active(name, action == "enable")
            done = f"{name} is {action}d."
        else:
            raise LoketError(f"unknown action '{action}'")
    except LoketError as exc:
        return _users_page(request, directory, error=str(exc), status=422)
    return RedirectResponse(f"/admin/users?done={quote(done)}", status_code=303)


@router.get("/vocabulary", response_class=HTMLResponse)
def vocabulary_page(request: Request) -> Response:
    """The words the bot listens for, read-only: they are data in flows/vocabulary/*.yaml."""
    lexicon = guards.LEXICON  # what the guards of this process match against
    lists = [
        ("words", name, field.description, {n: f.words for n, f in lexicon.files.items()})
        for name, field in vocabulary.WordLists.model_fields.items()
    ] + [
        ("phrases", name, field.description, {n: f.phrases for n, f in lexicon.files.items()})
        for name, field in vocabulary.PhraseLists.model_fields.items()
    ]
    rows = [
        {
            "name": f"{section}.{name}",
            "about": about,
            "by_file": {file: getattr(part, name) for file, part in parts.items()},
        }
        for section, name, about, parts in lists
    ]
    return _page(
        request,
        "admin/vocabulary.html",
        {"rows": rows, "files": list(lexicon.files), "slang": sorted(lexicon.slang.items())},
    )


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    calendar: CalendarDep,
    settings: SettingsDep,
    clock: ClockDep,
    profile: str = "",
    year: int | None = None,
    done: str = "",
) -> Response:
    """A profile's office calendar for a year: holidays, cuti bersama, the admin's dates."""
    return _calendar_page(
        request, calendar, profile or settings.profile, year or clock.now().year, message=done
    )


def _calendar_page(
    request: Request,
    calendar: OfficeCalendar,
    name: str,
    year: int,
    *,
    error: str = "",
    message: str = "",
    status: int = 200,
) -> Response:
    names = calendar.names()
    if name not in names:
        if not names:
            return _page(request, "admin/calendar.html", {"names": []}, status)
        name = names[0]
    profile = calendar.profile(name)
    return _page(
        request,
        "admin/calendar.html",
        {
            "name": name,
            "names": names,
            "year": year,
            "hours": profile.office_hours,
            "days": calendar.year(name, year),
            "error": error,
            "message": message,
        },
        status,
    )


@router.post("/calendar", response_class=HTMLResponse)
def calendar_change(
    request: Request,
    calendar: CalendarDep,
    admin: AdminDep,
    clock: ClockDep,
    action: Annotated[str, Form()],
    profile: Annotated[str, Form()],
    day: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    """Close a day, open a holiday, or forget an admin's date."""
    year = clock.now().year  # the page shown with an error when the date is unreadable
    try:
        when = parse_day(day)
        year = when.year
        if action in {"close", "open"}:
            calendar.set_day(profile, when, is_open=action == "open", note=note, author=admin.name)
            state = "a working day" if action == "open" else "closed"
            done = f"{when.isoformat()} is now {state}."
        elif action == "forget":
            found = calendar.forget_day(profile, when)
            done = f"{when.isoformat()}: " + (
                "back to the usual rules." if found else "nothing was set."
            )
        else:
            raise LoketError(f"unknown action '{action}'")
    except LoketError as exc:
        return _calendar_page(request, calendar, profile, year, error=str(exc), status=422)
    query = f"profile={quote(profile)}&year={year}&done={quote(done)}"
    return RedirectResponse(f"/admin/calendar?{query}", status_code=303)
