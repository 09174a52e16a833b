"""Assemble a working desk from plain values: engine (migrated), phrase book, profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine

from chatbot.clock import Clock
from chatbot.frontdesk.desk import Desk
from chatbot.frontdesk.overrides import Overrides
from chatbot.frontdesk.phrases import PhraseBook
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
    try:
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
    except BaseException:
        engine.dispose()  # a refused start leaves no connection open behind it
        raise
    return engine, desk


class DeskConfig(Protocol):
    """What a desk is built from; `settings.Settings` fits, without this module reading it."""

    @property
    def database_url(self) -> str: ...  # noqa: D102
    @property
    def scripts_dir(self) -> Path: ...  # noqa: D102
    @property
    def profiles_dir(self) -> Path: ...  # noqa: D102
    @property
    def profile(self) -> str: ...  # noqa: D102
    @property
    def locale(self) -> str: ...  # noqa: D102


def open_desk_for(config: DeskConfig, clock: Clock) -> tuple[Engine, Desk]:
    """`open_desk` with the values of a configuration (the composition roots' settings)."""
    return open_desk(
        database_url=config.database_url,
        scripts_dir=config.scripts_dir,
        profiles_dir=config.profiles_dir,
        profile=config.profile,
        locale=config.locale,
        clock=clock,
    )
