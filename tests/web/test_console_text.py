"""The console's own words: the Indonesian catalogue is complete, English is a user's choice."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chatbot.web.console_text import catalogue_path
from tests.web.auth_helpers import add_user, login
from tests.web.test_desk_console import queued_case

TEMPLATES = Path(__file__).parents[2] / "chatbot" / "web" / "templates" / "desk"
# ids built at run time (a presence, a filter, a tab, an empty list, "Done: ...")
DYNAMIC_IDS = {
    *("away", "offline", "online"),
    *("state", "category", "channel", "source", "owner"),
    *("Waiting", "Mine", "All open", "Closed"),
    *("Nobody is waiting.", "You own no open case.", "No open case.", "No closed case."),
    "No case matches.",
    *("taken", "sent", "resent", "note", "handed back", "transferred", "reassigned"),
    *("resolved", "escalated", "report", "reposted", "compensation", "opened", "saved"),
    # a case's state, category and source, and the owner filter's "none"
    *("new", "chronology", "verification", "self service", "queued", "with agent"),
    *("awaiting confirmation", "survey rating", "survey comment", "closed"),
    *("easy", "normal", "hard", "chat", "phone", "walk in", "suggestion box", "email", "none"),
}


def test_every_console_text_has_its_indonesian_translation() -> None:
    written = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(TEMPLATES), method_map=[("**.html", "jinja2.ext:babel_extract")]
        )
    }
    assert len(written) > 60  # the extractor found the templates' texts
    with open(catalogue_path("id"), "rb") as source:
        catalog = read_po(source)
    translated = {m.id for m in catalog if m.id and m.string}
    assert written | DYNAMIC_IDS <= translated, sorted((written | DYNAMIC_IDS) - translated)


def test_indonesian_by_default_english_by_choice(app: FastAPI) -> None:
    with TestClient(app) as client:
        case_id = queued_case(app)
        add_user(app, "sari", "agent")
        login(client, "sari")
        page = client.get(f"/desk/cases/{case_id}").text
        assert '<html lang="id">' in page
        assert ">Ambil dan kirim</button>" in page
        assert ">Kotak masuk</a>" in page
        assert "Take and send" not in page
        client.post("/desk/account", data={"display_name": "", "ui_locale": "en"})
        page = client.get(f"/desk/cases/{case_id}").text
        assert '<html lang="en">' in page
        assert ">Take and send</button>" in page
        assert ">Inbox</a>" in page
        # client text is not console text: the standard phrases keep the case's language
        assert "terima kasih" in page.lower()
