"""The shape of a desk profile; a malformed file fails at start naming the file and field."""

from __future__ import annotations

import itertools
import re
from datetime import date
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.yaml_files import read_yaml

Category = Literal["easy", "normal", "hard"]
# "description": the client's own account ("tidak bisa connect dr kemarin", "gk puas"),
# where "text" (an outlet, a venue) refuses a complaint as no answer.
FieldKind = Literal["name", "text", "description", "phone", "location", "proof"]


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
    # Kept on the contact and reused next time; None: all but a transaction proof (per case).
    remember: bool | None = None
    # False: never asked, only kept when the client says it (ERZAP's domain beside the outlet)
    required: bool = True

    @property
    def is_remembered(self) -> bool:
        """Whether a returning client's earlier answer stands for this field."""
        return self.remember if self.remember is not None else self.kind != "proof"

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
    # Questions as clients ask them, in either language; matched fuzzily (flows/understanding).
    samples: tuple[str, ...] = ()
    answer: Localized


class TroubleshootingStep(BaseModel):
    """A fallback the procedure prescribes when a product fails (Ctera's ladder)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    when_all: tuple[tuple[str, ...], ...] = Field(min_length=1)  # each group: any of these
    advice: Localized
    category: Category | None = None


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def shift_minutes(shift: str) -> tuple[int, int]:
    """A shift "08:00-12:00" as minutes since local midnight, (start, end); end may be 24:00.

    Raises:
        ValueError: not HH:MM-HH:MM, or it does not end after it starts.
    """
    found = _SHIFT.match(shift.strip())
    if found is None:
        raise ValueError(f"shift '{shift}' must read HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start or end > 24 * 60:
        raise ValueError(f"shift '{shift}' must end after it starts, by 24:00")
    return start, end


class OfficeHours(BaseModel):
    """When people work the queue: shifts per weekday, minus holidays, plus admin dates.

    The calendar itself is chatbot/frontdesk/office_hours.py; an admin's added or removed
    dates (stored in the database) arrive in `closed_dates` / `open_dates` at run time.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    week: dict[Weekday, tuple[str, ...]] = Field(default_factory=dict)  # a missing day: closed
    public_holidays: bool = True  # Indonesian public holidays (the `holidays` package)
    collective_leave: bool = True  # the government's cuti bersama days too
    working_time_clocks: bool = False  # FRT and SLA count working time only
    closed_dates: tuple[date, ...] = ()  # extra days off
    open_dates: tuple[date, ...] = ()  # holidays the desk works anyway

    def weekly(self) -> list[dict[str, object]]:
        """The week as runs of days with the same shifts, for the office-hours phrase.

        `[{"first": 0, "last": 3, "shifts": ["08.00-12.00", "13.00-17.00"]}, ...]`, days
        counted from Monday (0) as the phrases name them; closed days are left out.
        """
        runs: list[dict[str, object]] = []
        for index, day in enumerate(WEEKDAYS):
            shifts = [shift.replace(":", ".") for shift in sorted(self.week.get(day, ()))]
            if not shifts:
                continue
            if runs and runs[-1]["last"] == index - 1 and runs[-1]["shifts"] == shifts:
                runs[-1]["last"] = index
            else:
                runs.append({"first": index, "last": index, "shifts": shifts})
        return runs

    @field_validator("week")
    @classmethod
    def _shifts(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for day, shifts in value.items():
            spans = sorted(shift_minutes(s) for s in shifts)
            for (_, end), (start, _) in itertools.pairwise(spans):
                if start < end:
                    raise ValueError(f"{day}: shifts overlap")
        return value


QaAuto = Literal[
    "frt_met", "sla_met", "survey_sent", "greeting_phrase", "closing_phrase", "standard_phrases"
]


class KpiTargets(BaseModel):
    """The supervisors' targets (ERZAP section 6); FRT minutes and backlog live on the profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    frt_within_percent: float = Field(default=90, ge=0, le=100)
    sla_met_percent: float = Field(default=90, ge=0, le=100)
    csat_average: float = Field(default=4.0, ge=1, le=5)
    csat_good_percent: float = Field(default=80, ge=0, le=100)
    escalation_rate_percent: float = Field(default=25, ge=0, le=100)  # a ceiling
    qa_score: float = Field(default=90, ge=0, le=100)


class QaItem(BaseModel):
    """One rubric line of the quality review; `auto` names what the record can decide."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    weight: float = Field(gt=0)
    auto: QaAuto | None = None


class RemoteStepPhrase(BaseModel):
    """One step-by-step instruction of a remote fix; its text is the phrase `key`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
    label: str = Field(min_length=1, max_length=80)


class Routing(BaseModel):
    """Operations routing (docs/visits.md).

    After verification a case waits for the Operations decision, remote fix or technician
    visit, with the bot's suggestion.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    hardware_words: tuple[str, ...] = Field(min_length=1)  # they suggest a visit
    tried_words: tuple[str, ...] = ()  # the client says the remote steps were tried already
    remote_steps: tuple[RemoteStepPhrase, ...] = Field(min_length=1)
    technical_area: str = Field(min_length=1)  # the escalation area when remote steps fail


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
    # An FAQ question in the first message is answered before the verification questions.
    faq_before_verification: bool = False
    first_response_minutes: int = Field(default=2, gt=0)
    auto_close_minutes: int = Field(default=20, gt=0)
    backlog_limit: int = Field(default=15, gt=0)
    agent_capacity: int = Field(default=5, gt=0)
    # An unanswered survey stops waiting after this long; the case closes without it.
    survey_expiry_minutes: int = Field(default=60, gt=0)
    # --- supervision (docs/kpi.md): targets, quality review, reports, retention ---
    timezone: str = "Asia/Jakarta"  # what "today" and "this month" mean for the reports
    kpi: KpiTargets = KpiTargets()
    qa_rubric: tuple[QaItem, ...] = ()
    qa_sample_size: int = Field(default=5, ge=1, le=1000)  # closed cases per agent and period
    qa_period_days: int = Field(default=30, ge=1, le=366)
    retention_days: int | None = Field(default=None, ge=1)  # transcripts and personal data
    report_retention_days: int = Field(default=730, ge=1)  # Telkom: reports are kept two years
    daily_report_hour: int | None = Field(default=None, ge=0, le=23)  # local hour; None: off
    routing: Routing | None = None  # #17: Operations decides remote fix or technician visit
    # --- office hours and returning clients (docs/office-hours.md) ---
    office_hours: OfficeHours | None = None  # None: the desk never closes
    # A returning client's verified fields are reused; older than this, they are confirmed.
    verified_fields_valid_days: int = Field(default=90, ge=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}'") from exc
        return value

    @field_validator("qa_rubric")
    @classmethod
    def _unique_items(cls, value: tuple[QaItem, ...]) -> tuple[QaItem, ...]:
        keys = [item.key for item in value]
        doubled = sorted({k for k in keys if keys.count(k) > 1})
        if doubled:
            raise ValueError(f"rubric keys must be unique: {', '.join(doubled)}")
        return value

    @field_validator("categories")
    @classmethod
    def _all_categories(cls, value: dict[str, CategoryRule]) -> dict[str, CategoryRule]:
        missing = {"easy", "normal", "hard"} - set(value)
        if missing:
            raise ValueError(f"missing categories: {', '.join(sorted(missing))}")
        return value


MAX_MINUTES = 30 * 24 * 60  # a month: anything longer is a typo in an admin form


class EditableSettings(BaseModel):
    """What an admin may change of a profile at run time (/admin/profile); the rest is code."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    welcome: Localized
    sla_minutes: dict[Category, int]
    first_response_minutes: int = Field(gt=0, le=MAX_MINUTES)
    auto_close_minutes: int = Field(gt=0, le=MAX_MINUTES)
    backlog_limit: int = Field(gt=0, le=100_000)
    faq: tuple[FaqEntry, ...] = ()
    escalation_areas: tuple[str, ...] = ()

    @field_validator("sla_minutes")
    @classmethod
    def _every_category(cls, value: dict[str, int]) -> dict[str, int]:
        missing = {"easy", "normal", "hard"} - set(value)
        if missing:
            raise ValueError(f"missing categories: {', '.join(sorted(missing))}")
        wrong = [name for name, minutes in value.items() if not 0 < minutes <= MAX_MINUTES]
        if wrong:
            raise ValueError(f"minutes must be between 1 and {MAX_MINUTES}: {', '.join(wrong)}")
        return value

    @field_validator("faq")
    @classmethod
    def _unique_faq_ids(cls, value: tuple[FaqEntry, ...]) -> tuple[FaqEntry, ...]:
        ids = [entry.id for entry in value]
        doubled = sorted({i for i in ids if ids.count(i) > 1})
        if doubled:
            raise ValueError(f"FAQ ids must be unique: {', '.join(doubled)}")
        return value

    @field_validator("escalation_areas")
    @classmethod
    def _named_areas(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(area.strip() for area in value)
        if any(not area for area in cleaned):
            raise ValueError("an escalation area needs a name")
        return cleaned


def editable_settings(profile: Profile) -> EditableSettings:
    """The editable part of a profile, as the admin form shows it."""
    return EditableSettings(
        welcome=profile.welcome,
        sla_minutes={name: rule.sla_minutes for name, rule in profile.categories.items()},
        first_response_minutes=profile.first_response_minutes,
        auto_close_minutes=profile.auto_close_minutes,
        backlog_limit=profile.backlog_limit,
        faq=profile.faq,
        escalation_areas=profile.escalation_areas,
    )


def apply_settings(profile: Profile, settings: EditableSettings) -> Profile:
    """The profile with an admin's settings in force, validated again as a whole.

    Raises:
        ValidationError: the combination is not a valid profile.
    """
    data = profile.model_dump()
    data.update(
        welcome=settings.welcome.model_dump(),
        categories={
            name: {**rule, "sla_minutes": settings.sla_minutes[name]}
            for name, rule in data["categories"].items()
        },
        first_response_minutes=settings.first_response_minutes,
        auto_close_minutes=settings.auto_close_minutes,
        backlog_limit=settings.backlog_limit,
        faq=[entry.model_dump() for entry in settings.faq],
        escalation_areas=list(settings.escalation_areas),
    )
    return Profile.model_validate(data)


def describe_errors(exc: ValidationError) -> str:
    """A validation error as one line naming each field, for people."""
    return "; ".join(
        f"field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in exc.errors()
    )


def load_profile(path: Path) -> Profile:
    """Read and check one profile file.

    Raises:
        ProfileError: the file is missing, is not YAML, or a field is wrong (named).
    """
    try:
        data = read_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read profile ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a profile must be a mapping of fields")
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"{path}: {describe_errors(exc)}") from exc


def load_profiles(directory: Path) -> dict[str, Profile]:
    """Every profile in the folder, by name; the name must match the file name."""
    profiles: dict[str, Profile] = {}
    for path in sorted(directory.glob("*.yaml")):
        profile = load_profile(path)
        if profile.name != path.stem:
            raise ProfileError(f"{path}: field 'name': '{profile.name}' must match the file name")
        profiles[profile.name] = profile
    return profiles
