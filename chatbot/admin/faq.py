"""The FAQ of a desk profile as a form: entry by entry, validated, previewed as clients see it.

The FAQ is part of a profile's editable settings (flows/profiles/schema.py `EditableSettings`),
so every change here is saved through `ProfileEditor` as a new profile version, like the rest
of /admin/profile, and the desk picks it up the same way (chatbot/frontdesk/overrides.py).

An answer reaches the client as the variable `answer` of the phrase `self_service.faq_answer`:
it is sent as written, never rendered as a template. So template markup in an answer (a
forgotten `{{ nama }}`) is refused instead of reaching the client raw, and a broken one is
reported with the template parser's own message. The preview renders the phrase through the
same `PhraseBook` the desk uses (admin overrides and sandbox included), and the test question
runs through the same classifier the flow calls (flows/classify.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateSyntaxError, nodes

from chatbot.admin.editor import ProfileEditor, normalize
from chatbot.errors import LoketError, SettingsRejected
from chatbot.frontdesk.phrases import LOCALES, PhraseBook
from chatbot.frontdesk.sandbox import MAX_SOURCE, SANDBOX
from flows import classify, guards
from flows import phrase_keys as keys
from flows.profiles.schema import EditableSettings, FaqEntry

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_QUESTION = 500  # characters of a test question


class FaqRejected(SettingsRejected):
    """An FAQ entry that may not be saved; `problems` maps each form field to its reason."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in problems.items()))
        self.problems = dict(problems)


@dataclass(frozen=True, slots=True)
class FaqDraft:
    """An entry as typed in the form: keywords and sample questions one per line.

    The profile keeps one `samples` list in either language (the matcher does not care which);
    the form shows it split by the desk's own language guess (`guards.detect_language`) and
    saves both boxes back as that one list.
    """

    id: str = ""
    keywords: str = ""
    samples_id: str = ""
    samples_en: str = ""
    answer_id: str = ""
    answer_en: str = ""

    @classmethod
    def of(cls, entry: FaqEntry) -> FaqDraft:
        """A saved entry as the form shows it."""
        return cls(
            id=entry.id,
            keywords="\n".join(entry.keywords),
            samples_id="\n".join(s for s in entry.samples if guards.detect_language(s) != "en"),
            samples_en="\n".join(s for s in entry.samples if guards.detect_language(s) == "en"),
            answer_id=entry.answer.id,
            answer_en=entry.answer.en,
        )

    def data(self) -> dict[str, Any]:
        """The entry as profile data (not yet validated)."""
        return {
            "id": self.id.strip(),
            "keywords": _lines(self.keywords),
            "samples": _lines(f"{self.samples_id}\n{self.samples_en}"),
            "answer": {"id": normalize(self.answer_id), "en": normalize(self.answer_en)},
        }


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What the bot would do with a test question: the entry it answers with, if any."""

    question: str
    entry_id: str | None
    category: str


@dataclass(frozen=True, slots=True)
class FaqPreview:
    """The answer as a client reads it, per locale, and the test question's match."""

    answers: dict[str, str] = field(default_factory=dict)
    match: MatchResult | None = None


def _lines(text: str) -> list[str]:
    seen: list[str] = []
    for line in text.splitlines():
        cleaned = " ".join(line.split())
        if cleaned and cleaned not in seen:
            seen.append(cleaned)
    return seen


def answer_problem(text: str) -> str | None:
    """Why an answer cannot be sent as written, or None when it can."""
    if not text.strip():
        return "the answer is empty"
    if len(text) > MAX_SOURCE:
        return f"the answer is longer than {MAX_SOURCE} characters"
    try:
        tree = SANDBOX.parse(text)
    except TemplateSyntaxError as exc:
        return f"template syntax error on line {exc.lineno}: {exc.message or exc}"
    except RecursionError:
        return "template syntax error: nested too deeply"
    plain = all(
        isinstance(node, nodes.Output)
        and all(isinstance(n, nodes.TemplateData) for n in node.nodes)
        for node in tree.body
    )
    if not plain:
        return (
            "template markup ({{ }}, {% %}, {# #}) is not filled in here: "
            "an answer is sent to the client as written"
        )
    return None


class FaqEditor:
    """Add, change, delete and preview the FAQ entries of a profile."""

    def __init__(
        self,
        profiles: ProfileEditor,
        phrases: PhraseBook,
        load_overrides: Callable[[], None] = lambda: None,
    ) -> None:
        """Args: `load_overrides` brings admin phrase edits into `phrases` before a preview."""
        self._profiles = profiles
        self._phrases = phrases
        self._load_overrides = load_overrides

    def entries(self, name: str) -> list[FaqEntry]:
        """The FAQ in force for the profile, in order."""
        return list(self._profiles.current(name)[0].faq)

    def entry(self, name: str, entry_id: str) -> FaqEntry | None:
        """One entry by id, or None."""
        return next((e for e in self.entries(name) if e.id == entry_id), None)

    def _with(self, name: str, faq: list[dict[str, object]]) -> dict[str, object]:
        current: EditableSettings = self._profiles.current(name)[0]
        data = current.model_dump(mode="json")
        data["faq"] = faq
        return data

    def _merged(self, name: str, draft: FaqDraft, original: str | None) -> dict[str, object]:
        """The profile's settings with the draft in place of `original` (or appended)."""
        problems: dict[str, str] = {}
        entry = draft.data()
        entry_id = str(entry["id"])
        if not entry_id:
            problems["id"] = "the id is empty"
        elif not _ID.match(entry_id):
            problems["id"] = "letters, digits, '_', '.' and '-', at most 64, no spaces"
        existing = [e.model_dump(mode="json") for e in self.entries(name)]
        if original is not None and all(e["id"] != original for e in existing):
            problems["id"] = f"no entry '{original}' (deleted meanwhile?)"
        elif entry_id and any(e["id"] == entry_id and e["id"] != original for e in existing):
            problems["id"] = f"another entry already has the id '{entry_id}'"
        if not entry["keywords"]:
            problems["keywords"] = "give at least one keyword"
        answers = entry["answer"]
        assert isinstance(answers, dict)
        for locale in LOCALES:
            problem = answer_problem(str(answers.get(locale, "")))
            if problem:
                problems[f"answer_{locale}"] = problem
        if problems:
            raise FaqRejected(problems)
        if original is None:
            faq = [*existing, entry]
        else:
            was = next(e for e in existing if e["id"] == original)
            if set(was["samples"]) == set(entry["samples"]):  # the split alone is no change
                entry["samples"] = was["samples"]
            faq = [entry if e["id"] == original else e for e in existing]
        data = self._with(name, faq)
        try:
            self._profiles.validate(name, data)
        except SettingsRejected as exc:  # anything the profile schema refuses besides
            raise FaqRejected({"entry": str(exc)}) from exc
        return data

    def check(self, name: str, draft: FaqDraft, original: str | None = None) -> None:
        """Validate as saving would.

        Raises:
            FaqRejected: each form field at fault, with the reason.
        """
        self._merged(name, draft, original)

    def save(
        self, name: str, draft: FaqDraft, author: str, original: str | None = None
    ) -> int | None:
        """Add the entry (original None) or replace `original`; the new profile version or None.

        Raises:
            FaqRejected: each form field at fault, with the reason; nothing changed.
        """
        return self._profiles.save(name, self._merged(name, draft, original), author)

    def delete(self, name: str, entry_id: str, author: str) -> int | None:
        """Remove one entry; the new profile version.

        Raises:
            LoketError: no entry with that id.
        """
        existing = [e.model_dump(mode="json") for e in self.entries(name)]
        kept = [e for e in existing if e["id"] != entry_id]
        if len(kept) == len(existing):
            raise LoketError(f"no FAQ entry '{entry_id}'")
        return self._profiles.save(name, self._with(name, kept), author)

    def render_answer(self, locale: str, answer: str) -> str:
        """The answer as the client reads it: the phrase the flow sends, with this answer."""
        self._load_overrides()
        return self._phrases.render(keys.SELF_SERVICE_FAQ_ANSWER, locale, {"answer": answer})

    def preview(
        self, name: str, draft: FaqDraft, original: str | None = None, question: str = ""
    ) -> FaqPreview:
        """The draft's answers as clients read them, and what a test question would match.

        The question is matched against the FAQ with the draft in place.

        Raises:
            FaqRejected: the draft's problems (`match` still tries a question on the FAQ in
                force).
        """
        settings = self._profiles.validate(name, self._merged(name, draft, original))
        mine = next(e for e in settings.faq if e.id == draft.data()["id"])
        answers = {
            locale: self.render_answer(locale, mine.answer.get(locale)) for locale in LOCALES
        }
        return FaqPreview(answers, self._match(name, question, settings))

    def match(self, name: str, question: str) -> MatchResult | None:
        """What the FAQ in force answers a test question with (None for an empty question)."""
        return self._match(name, question, self._profiles.current(name)[0])

    def _match(self, name: str, question: str, settings: EditableSettings) -> MatchResult | None:
        question = " ".join(question.split())[:MAX_QUESTION]
        if not question:
            return None
        profile = self._profiles.with_settings(name, settings)
        found = classify.classify(question, profile)
        return MatchResult(question, found.faq.id if found.faq else None, found.category)
