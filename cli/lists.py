"""Reading the lists of affected people that arrive after an attack (issue #8, first step).

A list comes as a spreadsheet program exports it: CSV with `;` or `,`, in UTF-8 (with or
without a byte-order mark) or Windows-1252, or `.xlsx`/`.ods`. `read_list` turns a file into
one `ListRow` per line, numbered as the operator sees them (the header is line 1), and
`parse_row` turns a row into a `ListedPerson` or names every problem by line and field — never
the value, which is personal data.

The default columns (German headers, in any order; case, spaces and hyphens ignored):

- `Nachname` (required), `Vorname`: the name;
- `Geburtsdatum`: `05.12.1984` or `1984-12-05`;
- `Telefon`, `E-Mail`, `Anschrift`: how to reach the person;
- `Betroffenheit` (required): `verletzt`, `hinterblieben`, `Zeuge`/`Zeugin`/`anwesend`,
  `Ersthelfer`/`Ersthelferin`, `sucht Angehörige`, `nahestehend`, or the English values;
- `Kreis` (required): the district, as its German name (`Landkreis Meißen`) or its id;
- `Sprache`: an ISO 639 code, `de` when empty.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from contracts.agreement import describe_validation_error
from contracts.people import ContactData, Involvement
from contracts.vocabulary import REGION_LABELS_DE, Region

SPREADSHEETS = frozenset({".xlsx", ".ods", ".xls"})
_LANGUAGE = re.compile(r"[a-z]{2,3}")  # ISO 639-1 or -2, as the registration takes it

INVOLVEMENT_WORDS: dict[str, Involvement] = {
    **{value.value: value for value in Involvement},
    "verletzt": Involvement.INJURED,
    "hinterblieben": Involvement.BEREAVED,
    "hinterbliebene": Involvement.BEREAVED,
    "zeuge": Involvement.WITNESS,
    "zeugin": Involvement.WITNESS,
    "anwesend": Involvement.WITNESS,
    "ersthelfer": Involvement.FIRST_AIDER,
    "ersthelferin": Involvement.FIRST_AIDER,
    "sucht angehörige": Involvement.MISSING_PERSON_ENQUIRER,
    "nahestehend": Involvement.CLOSE_PERSON,
    "nahestehende person": Involvement.CLOSE_PERSON,
}
REGION_WORDS: dict[str, Region] = {
    **{region.value: region for region in Region},
    **{label.casefold(): region for region, label in REGION_LABELS_DE.items()},
}


class ListFileError(ValueError):
    """A file that cannot be read as a list at all (not a single row is taken from it)."""


@dataclass(frozen=True)
class ListRow:
    """One line of a list: its number as the operator sees it, and its cells by column."""

    line: int
    cells: dict[str, str]


@dataclass(frozen=True)
class RowProblem:
    line: int
    problems: list[str]

    def __str__(self) -> str:
        return f"line {self.line}: {'; '.join(self.problems)}"


class ListedPerson(BaseModel):
    """A person as a list names them: the registration's facts and the contact data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    involvement: Involvement
    region: Region
    language: str
    contact: ContactData


def read_list(path: Path, mapping: dict[str, str] | None = None) -> Iterator[ListRow]:
    """The rows of a CSV or spreadsheet file, header names normalised. `mapping` renames the
    list's headers to Lotse's columns (`{"Familienname": "Nachname"}`)."""
    renamed = {_column(theirs): _column(ours) for theirs, ours in (mapping or {}).items()}
    suffix = path.suffix.casefold()
    rows = _spreadsheet(path) if suffix in SPREADSHEETS else _csv(path)
    header: list[str] | None = None
    for line, values in enumerate(rows, start=1):
        if header is None:
            header = [_column(name) for name in values]
            header = [renamed.get(name, name) for name in header]
            if "nachname" not in header:
                raise ListFileError(
                    f"{path.name}: line 1 is not a header with the column Nachname "
                    f"(found: {', '.join(name for name in header if name) or 'nothing'})"
                )
            continue
        if not any(value.strip() for value in values):
            continue  # an empty line between blocks
        cells = {name: value.strip() for name, value in zip(header, values, strict=False)}
        yield ListRow(line=line, cells=cells)
    if header is None:
        raise ListFileError(f"{path.name}: the file is empty")


def _column(name: str) -> str:
    return "".join(name.casefold().split()).replace("-", "")


def _csv(path: Path) -> Iterator[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # what Excel writes on German Windows
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _spreadsheet(path: Path) -> Iterator[list[str]]:
    from python_calamine import CalamineWorkbook  # only for spreadsheets: a native library

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except Exception as error:
        raise ListFileError(f"{path.name}: cannot be read as a spreadsheet: {error}") from None
    for values in sheet.to_python():
        yield [_cell_text(value) for value in values]


def _cell_text(value: object) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def parse_row(row: ListRow) -> ListedPerson | RowProblem:
    """The person a row names, or every problem of the row by field (never the value)."""
    cells = row.cells
    problems: list[str] = []
    involvement = INVOLVEMENT_WORDS.get(cells.get("betroffenheit", "").casefold())
    if involvement is None:
        problems.append(
            "Betroffenheit: not one of verletzt, hinterblieben, Zeuge/Zeugin/anwesend, "
            "Ersthelfer/in, sucht Angehörige, nahestehend (or the English values)"
        )
    region = REGION_WORDS.get(cells.get("kreis", "").casefold())
    if region is None:
        problems.append("Kreis: not a Saxon district or district-free city")
    born: date | None = None
    if text := cells.get("geburtsdatum", ""):
        born = _date(text)
        if born is None:
            problems.append("Geburtsdatum: not a date (05.12.1984 or 1984-12-05)")
    language = (cells.get("sprache") or "de").casefold()
    if not _LANGUAGE.fullmatch(language):
        problems.append("Sprache: not a language code of two or three letters (de, en, uk, …)")
    given, family = cells.get("vorname", ""), cells.get("nachname", "")
    if not family:
        problems.append("Nachname: missing")
    contact_fields = {
        "name": f"{given} {family}".strip(),
        "date_of_birth": born,
        "phone": cells.get("telefon") or None,
        "email": cells.get("email") or None,
        "address": cells.get("anschrift") or None,
    }
    contact: ContactData | None = None
    try:
        contact = ContactData.model_validate(contact_fields)
    except ValidationError as error:
        problems += [_german_field(problem) for problem in describe_validation_error(error)]
    if problems or contact is None or involvement is None or region is None:
        return RowProblem(line=row.line, problems=problems)
    return ListedPerson(
        line=row.line,
        involvement=involvement,
        region=region,
        language=language,
        contact=contact,
    )


_FIELD_NAMES = {
    "name": "Nachname/Vorname",
    "phone": "Telefon",
    "email": "E-Mail",
    "address": "Anschrift",
    "date_of_birth": "Geburtsdatum",
}


_PATTERN_WORDS = {
    "phone": "not a phone number (digits, spaces and + ( ) / -)",
    "email": "not an e-mail address",
}


def _german_field(problem: str) -> str:
    field, _, message = problem.partition(": ")
    if field in _PATTERN_WORDS and "should match pattern" in message:
        message = _PATTERN_WORDS[field]  # a regular expression helps nobody at midnight
    return f"{_FIELD_NAMES.get(field, field)}: {message}"


def _date(text: str) -> date | None:
    for form in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y"):
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None
