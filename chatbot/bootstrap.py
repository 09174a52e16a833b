"""Assemble a working desk from plain values: engine (migrated), phrase book, profiles."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from chatbot.clock import Clock
from chatbot.desk import Desk
from chatbot.overrides import Overrides
from chatbot.phrases import PhraseBook
from db.engine import make_engine, migrate
from flows.profiles.schema import load_profiles


def open_desk(
    *,
    database_url: str,
    scripts_dir: Path,
    profiles_dir: Path,
    profile: str,
    locale: str,
    clock: Clock,
) -> tuple[Engine, Desk]:
    """Create and migrate the database, load and check the profiles, and build the desk.

    Raises:
        ProfileError: a profile file is malformed (the message names file and field).
    """
    engine = make_engine(database_url)
    migrate(engine)
    profiles = load_profiles(profiles_dir)
    overrides = Overrides(profiles)  # admin edits from the DB, checked once per message
    desk = Desk(
        engine,
        PhraseBook(scripts_dir, overrides),
        profiles,
        profile,
        clock,
        default_locale=locale,
        overrides=overrides,
    )
    return engine, desk
