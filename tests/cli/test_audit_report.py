"""`lotse audit report`: the report of the test incident on stdout in each format, and the exact
one-line errors for an unknown incident (exit 1) and an unknown format or language (exit 2).
Run in-process through `cli.main.run`, what the `lotse` script runs; no Temporal needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import run
from tests.integration.test_people_store import INCIDENT
from tests.reflection_support import build_test_incident

AUDITOR = ("--as", "opferbeauftragte", "--staff", "pruefung-1")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report-cli")
    build_test_incident(path)
    return path


@pytest.fixture(autouse=True)
def store(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOTSE_STORE", "sqlite")
    monkeypatch.setenv("LOTSE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("LOTSE_SQLITE_PATH", raising=False)


def test_the_report_is_german_markdown_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["audit", "report", *AUDITOR, INCIDENT])

    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert printed.out.startswith("# Reflexionsbericht: Angriff auf dem Altmarkt\n")
    assert "| weisser-ring | 60 | 90,0 | ja | 2 | 3 | 0 |" in printed.out
    # Its own read is recorded before it is built: the last row of its section of reads.
    table = printed.out.split("## Prüfende Zugriffe (Audit): ")[1].split("\n\n")[1]
    assert table.splitlines()[-1].endswith(
        "| opferbeauftragte/pruefung-1 | report --lang de [md] |"
    )
    assert "## Abgewiesene Handlungen\n" in printed.out
    assert printed.err == ""  # no progress bar when stderr is not a terminal


def test_the_english_html_report_has_its_charts(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["audit", "report", *AUDITOR, INCIDENT, "--format", "html", "--lang", "en"])

    page = capsys.readouterr().out
    assert code == 0
    assert page.startswith('<!DOCTYPE html><html lang="en">')
    assert page.count("<svg ") == 3
    assert "<h2>Actions refused</h2>" in page
    assert "<td>opferbeauftragte/pruefung-1</td><td>report --lang en [html]</td>" in page


def test_the_json_report_is_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["audit", "report", *AUDITOR, INCIDENT, "--format", "json"])

    figures = json.loads(capsys.readouterr().out)["figures"]
    assert code == 0
    assert figures["incident_id"] == INCIDENT
    assert figures["people_registered"] == 5


def test_an_unknown_incident_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["audit", "report", *AUDITOR, "leipzig-2027-01-01"])

    printed = capsys.readouterr()
    assert (code, printed.out) == (1, "")
    assert printed.err == "error: no incident 'leipzig-2027-01-01' is recorded\n"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "--format",
            "pdf",
            "error: Invalid value for '--format': Value error, 'pdf' is not one of 'md', "
            "'html', 'json'. — see `lotse audit report --help`",
        ),
        (
            "--lang",
            "fr",
            "error: Invalid value for '--lang': Value error, 'fr' is not one of 'de', 'en'. "
            "— see `lotse audit report --help`",
        ),
    ],
)
def test_an_unknown_format_or_language_is_a_usage_error(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["audit", "report", *AUDITOR, INCIDENT, option, value])

    printed = capsys.readouterr()
    assert (code, printed.out) == (2, "")
    assert printed.err == message + "\n"
