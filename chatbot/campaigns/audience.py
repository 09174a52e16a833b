"""Reading a campaign audience from CSV: numbers to E.164, bad and repeated rows reported.

A CSV is what the supervisors export from their tools (MS Excel, TAMARA): a `phone`
column, an optional `name`, and any other columns as the template's variables.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import phonenumbers

DEFAULT_REGION = "ID"  # numbers written without +62 are Indonesian
MAX_ROWS = 500_000
MAX_VALUE = 1000  # characters kept of one CSV cell


class AudienceError(ValueError):
    """The file cannot be an audience at all (no `phone` column, not CSV, too big)."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """One valid, first-seen audience row."""

    line: int
    phone: str  # E.164
    name: str | None
    values: dict[str, str]  # every column of the row, by header


SHOWN_SKIPPED = 10  # skipped audience lines listed each kind; the rest are counted


@dataclass(slots=True)
class Audience:
    """What an audience file holds: the recipients, and the rows skipped with why."""

    columns: tuple[str, ...]
    recipients: list[Recipient] = field(default_factory=list)
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (line, what was written)
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (line, E.164)

    def skipped(self, shown: int = SHOWN_SKIPPED) -> list[str]:
        """Why rows were left out, the first `shown` of each kind: what an admin fixes."""
        reasons = [
            *(
                (line, f"line {line}: not a phone number: {raw!r}")
                for line, raw in self.invalid[:shown]
            ),
            *(
                (line, f"line {line}: {phone} is already in the audience")
                for line, phone in self.duplicates[:shown]
            ),
        ]
        return [reason for _line, reason in sorted(reasons)]  # in the file's order


def normalise(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """A phone number in E.164, or None when it is not a valid number.

    "0812-3456-7890", "+62 812 3456 7890", "6281234567890" and "812 3456 7890" are all
    +6281234567890; a number too short or too long for its country is None.
    """
    value = raw.strip().removeprefix("whatsapp:")
    candidates: list[tuple[str, str | None]] = [(value, region)]
    if value.isdigit() and not value.startswith("0"):
        candidates.append((f"+{value}", None))  # 14155550100: a country code without the +
    for text, default_region in candidates:
        try:
            number = phonenumbers.parse(text, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return None


def read_audience(text: str, region: str = DEFAULT_REGION) -> Audience:
    """Parse an audience CSV (comma, semicolon or tab separated, UTF-8, BOM allowed).

    Raises:
        AudienceError: the header has no `phone` column, or the file is over MAX_ROWS rows.
    """
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        raise AudienceError("the audience file is empty") from None
    if "phone" not in header:
        raise AudienceError("the audience file has no 'phone' column in its first line")
    audience = Audience(columns=tuple(header))
    phone_at = header.index("phone")
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if line > MAX_ROWS + 1:
            raise AudienceError(f"the audience file is over {MAX_ROWS} rows")
        values = {
            column: (row[i].strip()[:MAX_VALUE] if i < len(row) else "")
            for i, column in enumerate(header)
            if column
        }
        raw = row[phone_at] if phone_at < len(row) else ""
        phone = normalise(raw, region)
        if phone is None:
            audience.invalid.append((line, raw.strip()[:40]))
            continue
        if phone in seen:
            audience.duplicates.append((line, phone))
            continue
        seen.add(phone)
        audience.recipients.append(Recipient(line, phone, values.get("name") or None, values))
    return audience
