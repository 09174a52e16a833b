"""What a report cell may hold: text a spreadsheet keeps as text, never a formula.

Every workbook and CSV file Loket writes (chatbot/supervision/reports.py) passes its rows
through `cell()`, because clients choose much of what lands in them (their name, outlet,
story, survey comment) and supervisors open those files in Excel or LibreOffice:

- Characters a workbook cannot hold are removed: the C0 controls other than tab, line feed
  and carriage return (XML 1.0 forbids them; openpyxl raises IllegalCharacterError), lone
  surrogates and U+FFFE/U+FFFF. One such character in a web-chat message must not cost a
  day's report.
- Text is cut at 32,767 characters, the most a spreadsheet cell holds.
- Text starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`, as
  OWASP's "CSV Injection" page advises, so no spreadsheet reads it as a formula; in a
  workbook such a value also stays a string cell (openpyxl stores text starting with `=` as a
  formula). CSV fields are all quoted too (`CSV_QUOTING`), so a `;` or `,` inside a value can
  never start a new cell in a spreadsheet that splits on another separator.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Final, TextIO

MAX_CELL = 32_767  # characters in one cell: Excel's limit
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_QUOTING: Final = csv.QUOTE_ALL
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def cell_text(text: str) -> str:
    """Text that a spreadsheet stores as it is and shows as text."""
    text = _UNSTORABLE.sub("", text)[:MAX_CELL]
    if text.startswith(FORMULA_STARTS):
        text = "'" + text[: MAX_CELL - 1]
    return text


def cell(value: object) -> object:
    """A value ready for a cell: text made safe (`cell_text`), anything else unchanged."""
    return cell_text(value) if isinstance(value, str) else value


def cells(values: Iterable[object]) -> list[object]:
    """A row of values, each made safe for a cell."""
    return [cell(value) for value in values]


def append_row(sheet: Any, values: Iterable[object]) -> None:
    """Add a row to an openpyxl worksheet, every value made safe first."""
    sheet.append(cells(values))


class CsvRows:
    """A CSV writer whose every field is made safe and quoted."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, quoting=CSV_QUOTING)

    def write(self, values: Iterable[object]) -> None:
        """Write one row."""
        self._writer.writerow(cells(values))
