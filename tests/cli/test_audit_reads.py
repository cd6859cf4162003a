"""Every audit read is recorded before anything is shown: who (`--as`, `--staff`), when, what
(command, incident, options, format), listed by `lotse audit reads`, counted in the report. A
read without its reader is a usage error, a store that takes no write refuses the read; neither
shows nor records anything. SQLite record of the invented incident (tests/timeline_support.py),
no Temporal needed."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from cli.main import run
from contracts.agreement import AgreementTerms
from domain.application import LotseApplication
from settings import Settings
from tests.cli.support import cli_environment, invoke
from tests.timeline_support import INCIDENT, record_incident

NOBODY_LISTENS = "127.0.0.1:9"
READER = ("--as", "weisser-ring", "--staff", "pruefung-7")


@pytest.fixture
def recorded(tmp_path: Path, agreement_terms: AgreementTerms) -> Path:
    app = LotseApplication(env=Settings(store="sqlite", data_dir=tmp_path).event_store_env())
    try:
        record_incident(app, agreement_terms)
    finally:
        app.close()
    return tmp_path


def lotse(data_dir: Path, *args: str) -> Result:
    return invoke(cli_environment(data_dir, LOTSE_TEMPORAL_ADDRESS=NOBODY_LISTENS), *args)


def reads(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    result = lotse(data_dir, "audit", "reads", "--json", *args)
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def test_each_audit_command_records_who_read_what_before_it_prints(recorded: Path) -> None:
    commands = [
        ["replay", INCIDENT, "--version", "2", "--json"],
        ["timeline", INCIDENT, "--partner", "raa-sachsen", "--format", "csv"],
        ["report", INCIDENT, "--format", "json", "--lang", "en"],
    ]
    for command in commands:
        result = lotse(recorded, "audit", *command, *READER)
        assert result.exit_code == 0, result.output

    found = reads(recorded, "--incident", INCIDENT)
    assert [
        {k: v for k, v in read.items() if k not in ("seq", "recorded_at")} for read in found
    ] == [
        {
            "actor": {"partner_id": "weisser-ring", "staff_ref": "pruefung-7"},
            "channel": "cli",
            "command": command,
            "incident": INCIDENT,
            "options": options,
            "format": output,
        }
        for command, options, output in (
            ("replay", {"--version": "2"}, "json"),
            ("timeline", {"--partner": "raa-sachsen"}, "csv"),
            ("report", {"--lang": "en"}, "json"),
        )
    ]
    assert reads(recorded, "--incident", "leipzig-2027-01-01") == []
    # The report was read after the two others, and its read is recorded before it was built:
    # it lists all three, its own last.
    report = json.loads(
        lotse(recorded, "audit", "report", INCIDENT, "--format", "json", *READER).stdout
    )
    assert [(r["staff_ref"], r["what"]) for r in report["figures"]["audit_reads"]] == [
        ("pruefung-7", "replay --version 2 [json]"),
        ("pruefung-7", "timeline --partner raa-sachsen [csv]"),
        ("pruefung-7", "report --lang en [json]"),
        ("pruefung-7", "report --lang de [json]"),
    ]


def test_the_reads_list_reads_whole_at_80_columns(recorded: Path) -> None:
    assert lotse(recorded, "audit", "replay", INCIDENT, "--version", "1", *READER).exit_code == 0
    result = invoke(
        cli_environment(recorded, LOTSE_TEMPORAL_ADDRESS=NOBODY_LISTENS, COLUMNS="80"),
        "audit",
        "reads",
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "audit reads (times Europe/Berlin)"
    assert "auditor: weisser-ring/pruefung-7" in lines[1]
    assert f"incident: {INCIDENT}" in lines[1]
    assert "…" not in result.stdout


@pytest.mark.parametrize(
    ("command", "reader", "message"),
    [
        (
            ["report", INCIDENT],
            ["--staff", "pruefung-7"],
            "error: Missing option '--as'. — see `lotse audit report --help`",
        ),
        (
            ["timeline", INCIDENT],
            ["--as", "weisser-ring"],
            "error: Missing option '--staff'. — see `lotse audit timeline --help`",
        ),
        (
            ["replay", INCIDENT, "--version", "1"],
            [],
            "error: Missing option '--as'. — see `lotse audit replay --help`",
        ),
        (
            ["verify"],
            ["--as", "weisser-ring"],
            "error: Missing option '--staff'. — see `lotse audit verify --help`",
        ),
    ],
    ids=[
        "report without --as",
        "timeline without --staff",
        "replay without either",
        "verify without --staff",
    ],
)
def test_a_read_without_its_reader_is_a_usage_error_and_records_nothing(
    recorded: Path,
    command: list[str],
    reader: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOTSE_STORE", "sqlite")
    monkeypatch.setenv("LOTSE_DATA_DIR", str(recorded))
    code = run(["audit", *command, *reader])  # what the `lotse` script runs
    printed = capsys.readouterr()
    assert (code, printed.err, printed.out) == (2, message + "\n", "")
    assert reads(recorded) == []


def test_a_reader_named_by_name_is_refused_and_nothing_is_recorded(recorded: Path) -> None:
    result = lotse(
        recorded, "audit", "timeline", INCIDENT, "--as", "weisser-ring", "--staff", "max.mustermann"
    )
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(
        "error: invalid auditor: actor: staff_ref must be a role or staff number such as "
        "lagedienst-1 — never a person's name;"
    )
    assert reads(recorded) == []


@pytest.fixture
def unwritable(recorded: Path) -> Iterator[Path]:
    """The store file made immutable (root ignores permission bits; not the immutable flag)."""
    store = recorded / "events.sqlite"
    subprocess.run(["chattr", "+i", str(store)], check=True)
    try:
        yield recorded
    finally:
        subprocess.run(["chattr", "-i", str(store)], check=True)


def test_a_store_that_takes_no_write_refuses_the_read(unwritable: Path) -> None:
    result = lotse(unwritable, "audit", "replay", INCIDENT, "--version", "1", *READER)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(
        "error: this audit read cannot be recorded, so nothing is shown: the event store cannot "
        "be written ("
    )
    assert len(result.stderr.splitlines()) == 1


def test_a_verify_read_of_the_whole_record_is_listed_but_is_no_step_of_an_incident(
    recorded: Path,
) -> None:
    """`lotse audit verify` records its read before it verifies, so the verification checks
    its own read too; a read of the whole record names no incident."""
    settings = Settings(store="sqlite", data_dir=recorded, sqlite_path=None)
    verified = lotse(
        recorded, "audit", "verify", "--json", "--as", "opferbeauftragte", "--staff", "pruefung-2"
    )
    assert verified.exit_code == 0, verified.output
    head = json.loads(verified.stdout)["head"]["notification_id"]

    [read] = reads(recorded)
    assert (read["command"], read["incident"], read["actor"]["staff_ref"], read["format"]) == (
        "verify",
        None,
        "pruefung-2",
        "json",
    )
    assert read["seq"] == head  # the read is the newest event the verification covered
    listing = lotse(recorded, "audit", "reads").stdout
    assert "incident: (whole record)" in listing
    app = LotseApplication(env=settings.event_store_env())
    try:
        assert [row.event for row in app.timeline(INCIDENT) if row.event == "AuditRead"] == []
    finally:
        app.close()
