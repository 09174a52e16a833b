"""`loket phrases export/import` as a subprocess, and the desk's next message after it."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from chatbot.domain import Inbound
from chatbot.runtime.bootstrap import open_desk
from settings import Settings
from tests.clock import FrozenClock
from tests.loket_cli import loket

ROOT = Path(__file__).resolve().parent.parent


def test_exported_phrases_edited_and_imported_are_said_next(tmp_path: Path) -> None:
    exported = loket(tmp_path, "phrases", "export", "phrases.json")
    assert exported.returncode == 0, exported.stderr
    data = json.loads((tmp_path / "phrases.json").read_text(encoding="utf-8"))
    assert data["id"]["greeting.salam"].startswith("{% if salam %}")
    data["id"]["greeting.salam"] = "Halo dari {{ desk_name }}, siap membantu!"
    (tmp_path / "phrases.json").write_text(json.dumps(data), encoding="utf-8")

    imported = loket(tmp_path, "phrases", "import", "phrases.json")
    assert imported.returncode == 0, imported.stderr
    assert "1 phrases changed" in imported.stdout
    assert "id/greeting.salam" in imported.stdout

    chat = loket(tmp_path, "chat", stdin="halo kak\n")
    assert chat.returncode == 0, chat.stderr
    assert "bot> Halo dari HaloERZAP, siap membantu!" in chat.stdout

    settings = Settings(database_url=f"sqlite:///{tmp_path}/loket.db", _env_file=None)  # type: ignore[call-arg]
    engine, desk = open_desk(
        database_url=settings.database_url,
        scripts_dir=settings.scripts_dir,
        profiles_dir=settings.profiles_dir,
        profile="erzap",
        locale="id",
        clock=FrozenClock(),
    )
    try:
        receipt = desk.receive(
            Inbound(channel="web", chat_id="w1", message_id="w1:1", text="halo")
        )
    finally:
        engine.dispose()
    assert receipt.replies[0] == "Halo dari HaloERZAP, siap membantu!"


def test_invalid_import_changes_nothing_and_names_key_and_reason(tmp_path: Path) -> None:
    assert loket(tmp_path, "phrases", "export", "before.yaml").returncode == 0
    phrases = {
        "id": {
            "greeting.salam": "Ini valid, {{ desk_name }}",
            "greeting.welcome": "Selamat datang\n{{ nama_toko }}",
        },
        "en": {"survey.thanks": "{{ ''.__class__.__mro__ }}"},
    }
    (tmp_path / "bad.yml").write_text(yaml.safe_dump(phrases), encoding="utf-8")

    imported = loket(tmp_path, "phrases", "import", "bad.yml")
    assert imported.returncode == 1
    assert "nothing imported, nothing changed" in imported.stderr
    assert "id/greeting.welcome: line 2: unknown variable 'nama_toko'" in imported.stderr
    assert "en/survey.thanks: line 1: '__mro__' is not allowed" in imported.stderr
    assert "greeting.salam" not in imported.stderr

    assert loket(tmp_path, "phrases", "export", "after.yaml").returncode == 0
    before = yaml.safe_load((tmp_path / "before.yaml").read_text(encoding="utf-8"))
    after = yaml.safe_load((tmp_path / "after.yaml").read_text(encoding="utf-8"))
    assert after == before


def test_yaml_round_trip_changes_nothing(tmp_path: Path) -> None:
    assert loket(tmp_path, "phrases", "export", "set.yaml").returncode == 0
    imported = loket(tmp_path, "phrases", "import", "set.yaml")
    assert imported.returncode == 0, imported.stderr
    assert "0 phrases changed" in imported.stdout


def test_unknown_file_kind_is_refused(tmp_path: Path) -> None:
    done = loket(tmp_path, "phrases", "export", "phrases.txt")
    assert done.returncode == 2
    assert "must end in .json, .yaml or .yml" in done.stderr
    (tmp_path / "broken.json").write_text("{nope", encoding="utf-8")
    done = loket(tmp_path, "phrases", "import", "broken.json")
    assert done.returncode == 1
    assert "not valid JSON" in done.stderr
