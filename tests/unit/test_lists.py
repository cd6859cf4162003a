"""Reading the lists that arrive (issue #8, first step): CSV in Windows-1252 with `;`, UTF-8 with
a byte-order mark and `,`, and `.xlsx`; each bad row named by line and field, never by value,
and never stopping the rows around it. The files under examples/ name invented people."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.lists import ListedPerson, ListFileError, RowProblem, parse_row, read_list
from contracts.people import Involvement
from contracts.vocabulary import Region

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def parsed(path: Path) -> list[ListedPerson | RowProblem]:
    return [parse_row(row) for row in read_list(path)]


def test_a_windows_1252_list_with_semicolons_reads_its_umlauts_and_reports_bad_rows() -> None:
    results = parsed(EXAMPLES / "people-police.csv")
    people = [r for r in results if isinstance(r, ListedPerson)]
    problems = {r.line: r.problems for r in results if isinstance(r, RowProblem)}

    assert [(p.line, p.contact.name) for p in people] == [
        (2, "Jörg Zyxmüller"),
        (3, "Anna-Lena Qwertzweiß"),
        (7, "Jonas Meier"),
    ]
    assert people[0].involvement is Involvement.INJURED
    assert people[1].region is Region.MEISSEN
    assert people[0].contact.date_of_birth is not None
    assert people[0].contact.date_of_birth.isoformat() == "1984-03-07"
    assert problems[4] == ["Geburtsdatum: not a date (05.12.1984 or 1984-12-05)"]
    assert problems[5] == ["Nachname: missing"]
    assert [p.split(":")[0] for p in problems[6]] == ["Betroffenheit", "Kreis", "Telefon"]


def test_a_utf8_list_with_a_byte_order_mark_and_commas_reads_its_first_column() -> None:
    results = parsed(EXAMPLES / "people-red-cross.csv")
    people = [r for r in results if isinstance(r, ListedPerson)]
    assert [(p.line, p.contact.name) for p in people] == [
        (2, "Jörg Zyxmueller"),
        (3, "Lena Beispielsen"),
        (5, "Jörg Zyxmüller"),
    ]
    (problem,) = [r for r in results if isinstance(r, RowProblem)]
    assert str(problem) == "line 4: Geburtsdatum: not a date (05.12.1984 or 1984-12-05)"


def test_a_spreadsheet_reads_dates_as_dates_and_reports_its_bad_row() -> None:
    results = parsed(EXAMPLES / "people-hotline.xlsx")
    people = [r for r in results if isinstance(r, ListedPerson)]
    assert [(p.line, p.contact.name, p.language) for p in people] == [
        (2, "Jonas Mayer", "de"),
        (3, "Anna Lena Qwertzweiss", "uk"),
    ]
    assert people[0].contact.date_of_birth is not None
    assert people[0].involvement is Involvement.FIRST_AIDER
    (problem,) = [r for r in results if isinstance(r, RowProblem)]
    assert problem.line == 4
    assert problem.problems == ["Kreis: not a Saxon district or district-free city"]


def test_a_problem_never_repeats_the_value_it_refuses() -> None:
    results = parsed(EXAMPLES / "people-police.csv")
    text = " ".join(str(r) for r in results if isinstance(r, RowProblem))
    for value in ("ruf an", "irgendwie", "Berlin", "31.02.1975", "Musterfrau"):
        assert value not in text


def test_a_file_without_the_header_is_refused_before_any_row(tmp_path: Path) -> None:
    headless = tmp_path / "liste.csv"
    headless.write_text("Zyxmüller;Jörg;07.03.1984\n", encoding="utf-8")
    with pytest.raises(ListFileError, match="line 1 is not a header with the column Nachname"):
        list(read_list(headless))
    empty = tmp_path / "leer.csv"
    empty.write_bytes(b"")
    with pytest.raises(ListFileError, match="empty"):
        list(read_list(empty))


def test_a_language_that_is_no_code_is_named_by_its_column(tmp_path: Path) -> None:
    listing = tmp_path / "odd.csv"
    header = "Nachname;Vorname;Geburtsdatum;Betroffenheit;Kreis;Sprache"
    listing.write_text(f"{header}\nZyxbeispiel;Ève;29.02.2001;verletzt;Dresden;deutsch\n")
    (problem,) = parsed(listing)
    assert problem == RowProblem(
        line=2,
        problems=[
            "Geburtsdatum: not a date (05.12.1984 or 1984-12-05)",
            "Sprache: not a language code of two or three letters (de, en, uk, …)",
        ],
    )
