"""The shape of a desk profile; a malformed file fails at start naming the file and field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Category = Literal["easy", "normal", "hard"]
FieldKind = Literal["name", "text", "phone", "location", "proof"]


class ProfileError(Exception):
    """A profile file that cannot be used; the message names the file and the field."""


class Localized(BaseModel):
    """A text in Indonesian, with its English twin."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, locale: str) -> str:
        """The text in `locale`, falling back to Indonesian."""
        return self.en if locale == "en" else self.id


class VerificationField(BaseModel):
    """One datum the desk verifies; its question is the phrase `verification.ask_<key>`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: FieldKind
    label: Localized
    extract: str | None = None  # regex: prefill from the chronology when the client said it

    @field_validator("extract")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


class CategoryRule(BaseModel):
    """A category, its resolution SLA and the words that point to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sla_minutes: int = Field(gt=0)
    keywords: tuple[str, ...] = ()


class FaqEntry(BaseModel):
    """An Easy question the bot can answer itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    keywords: tuple[str, ...] = Field(min_length=1)
    answer: Localized


class TroubleshootingStep(BaseModel):
    """A fallback the procedure prescribes when a product fails (Ctera's ladder)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    when_all: tuple[tuple[str, ...], ...] = Field(min_length=1)  # each group: any of these
    advice: Localized
    category: Category | None = None


class Profile(BaseModel):
    """One business's desk: who it is, what it verifies, how it classifies and answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    business: str = Field(min_length=1)
    desk_name: str = Field(min_length=1)
    locale: Literal["id", "en"] = "id"
    welcome: Localized
    fields: tuple[VerificationField, ...] = Field(min_length=1)
    categories: dict[Category, CategoryRule]
    default_category: Category = "normal"
    faq: tuple[FaqEntry, ...] = ()
    troubleshooting: tuple[TroubleshootingStep, ...] = ()
    escalation_areas: tuple[str, ...] = ()
    max_field_failures: int = Field(default=3, ge=1)
    first_response_minutes: int = Field(default=2, gt=0)
    auto_close_minutes: int = Field(default=20, gt=0)
    backlog_limit: int = Field(default=15, gt=0)
    agent_capacity: int = Field(default=5, gt=0)

    @field_validator("categories")
    @classmethod
    def _all_categories(cls, value: dict[str, CategoryRule]) -> dict[str, CategoryRule]:
        missing = {"easy", "normal", "hard"} - set(value)
        if missing:
            raise ValueError(f"missing categories: {', '.join(sorted(missing))}")
        return value


def load_profile(path: Path) -> Profile:
    """Read and check one profile file.

    Raises:
        ProfileError: the file is missing, is not YAML, or a field is wrong (named).
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read profile ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a profile must be a mapping of fields")
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in exc.errors()
        )
        raise ProfileError(f"{path}: {problems}") from exc


def load_profiles(directory: Path) -> dict[str, Profile]:
    """Every profile in the folder, by name; the name must match the file name."""
    profiles: dict[str, Profile] = {}
    for path in sorted(directory.glob("*.yaml")):
        profile = load_profile(path)
        if profile.name != path.stem:
            raise ProfileError(f"{path}: field 'name': '{profile.name}' must match the file name")
        profiles[profile.name] = profile
    return profiles
