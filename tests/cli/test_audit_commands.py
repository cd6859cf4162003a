"""`lotse audit replay` and `lotse audit timeline` on a SQLite record of the invented incident
(tests/timeline_support.py), with Temporal pointed at a port where nothing listens: both read
the record only. Errors are one exact line; output reads whole at 80 columns and in a file."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import Result

from cli.main import run
from contracts.agreement import AgreementTerms
from contracts.vocabulary import BERLIN, cli_time
from domain.application import LotseApplication
from domain.replay import IncidentReplay
from settings import Settings
from tests.cli.support import cli_environment, invoke
from tests.timeline_support import INCIDENT, PERSON, Moments, record_incident

NOBODY_LISTENS = "127.0.0.1:9"  # the discard port: no Temporal there
AUDITOR = ("--as", "opferbeauftragte", "--staff", "pruefung-1")


@pytest.fixture
def moments(tmp_path: Path, agreement_terms: AgreementTerms) -> Moments:
    settings = Settings(store="sqlite", data_dir=tmp_path, sqlite_path=None)
    app = LotseApplication(env=settings.event_store_env())
    try:
        return record_incident(app, agreement_terms)
    finally:
        app.close()


def lotse(tmp_path: Path, *args: str, **env: str) -> Result:
    environment = cli_environment(tmp_path, LOTSE_TEMPORAL_ADDRESS=NOBODY_LISTENS, **env)
    return invoke(environment, *args)


def audit(tmp_path: Path, command: str, *args: str, **env: str) -> Result:
    """`lotse audit COMMAND ARGS` by the invented auditor (every audit read names its reader)."""
    return lotse(tmp_path, "audit", command, *args, *AUDITOR, **env)


def german(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")


def test_replay_at_a_version_as_json_is_the_incident_then(tmp_path: Path, moments: Moments) -> None:
    result = audit(tmp_path, "replay", INCIDENT, "--version", "2", "--json")
    assert result.exit_code == 0, result.output
    replay = IncidentReplay.model_validate_json(result.stdout)
    assert (replay.version, replay.phase, replay.asked) == (2, "alerting", None)
    assert [a.partner_id for a in replay.alerts if a.state == "acknowledged"] == ["weisser-ring"]


def test_replay_at_a_german_time_after_everything_shows_each_section(
    tmp_path: Path, moments: Moments
) -> None:
    later = german(moments.acute_closed + timedelta(minutes=1))
    result = audit(tmp_path, "replay", INCIDENT, "--at", later)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"incident {INCIDENT}: Angriff auf dem Altmarkt — as recorded at {later[6:10]}-"
        f"{later[3:5]}-{later[0:2]} {later[11:]}:00"
    )
    assert lines[2].startswith("phase awaiting-reflection (")
    assert "people: 1 registered by then" in lines
    [person] = [line for line in lines if line.startswith(f"person: {PERSON}")]
    assert "consents: weisser-ring (withdrawn " in person
    assert "referrals: r1 psychosocial → wr-aussenstelle-dd: withdrawn" in person
    assert any(
        line.startswith("agreement in force: kooperation-opferhilfe-sachsen version 2 (")
        for line in lines
    )
    assert any(
        line.startswith("directory of support offers in force: hilfsangebote-sachsen version 2 (")
        for line in lines
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere", "--version", "1"], "error: no incident 'nowhere' is recorded"),
        (["nowhere", "--at", "2026-12-05T14:30"], "error: no incident 'nowhere' is recorded"),
        (
            [INCIDENT, "--at", "morgen früh"],
            "error: --at 'morgen früh' is not a time: write it as ISO 8601 (e.g. "
            "2026-12-05T17:52 or 2026-12-05T17:52+01:00) or as 05.12.2026 17:52",
        ),
        (
            [INCIDENT, "--version", "99"],
            f"error: incident '{INCIDENT}' has no version 99 (versions: 1 to 9)",
        ),
    ],
    ids=["unknown incident by version", "unknown incident by time", "bad time", "no such version"],
)
def test_replay_refuses_with_one_line_naming_the_problem(
    tmp_path: Path, moments: Moments, args: list[str], message: str
) -> None:
    result = audit(tmp_path, "replay", *args)
    assert (result.exit_code, result.stderr.strip(), result.stdout) == (1, message, "")


def test_replay_before_the_declaration_says_when_it_was_declared(
    tmp_path: Path, moments: Moments
) -> None:
    app = LotseApplication(env=Settings(store="sqlite", data_dir=tmp_path).event_store_env())
    declared = app.history(INCIDENT)[0].recorded_at
    app.close()
    before = moments.declared - timedelta(hours=1)
    result = audit(tmp_path, "replay", INCIDENT, "--at", before.isoformat())
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: incident '{INCIDENT}' was declared at {cli_time(declared)} (Europe/Berlin, "
        f"recorded time); nothing of it is recorded at or before {cli_time(before)}"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["replay", INCIDENT],
            "error: Invalid value for '--at': give either --at TIME or --version N "
            "— see `lotse audit replay --help`",
        ),
        (
            ["replay", INCIDENT, "--at", "05.12.2026 14:30", "--version", "2"],
            "error: Invalid value for '--at': give either --at TIME or --version N "
            "— see `lotse audit replay --help`",
        ),
        (
            ["replay", INCIDENT, "--version", "0"],
            "error: Invalid value for '--version': Input should be greater than or equal to 1 "
            "— see `lotse audit replay --help`",
        ),
        (
            ["timeline", INCIDENT, "--format", "xlsx"],
            "error: Invalid value for '--format': Value error, 'xlsx' is not one of 'table', "
            "'json', 'csv'. — see `lotse audit timeline --help`",
        ),
        (
            ["timeline", INCIDENT, "--phase", "acute"],
            "error: Invalid value for '--phase': Value error, 'acute' is not one of "
            "'alerting', 'coordinating', 'awaiting-reflection', 'reflection-due', 'closed', "
            "'called-off'. — see `lotse audit timeline --help`",
        ),
    ],
    ids=["replay: neither", "replay: both", "replay: version 0", "timeline: format", "phase"],
)
def test_a_command_line_that_does_not_parse_is_one_line_and_exit_code_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the `lotse` script runs; settings are never read.
    code = run(["audit", *args, *AUDITOR])
    printed = capsys.readouterr()
    assert (code, printed.err, printed.out) == (2, message + "\n", "")


def test_replay_without_a_store_creates_none(tmp_path: Path) -> None:
    result = audit(tmp_path, "replay", INCIDENT, "--version", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: no event store at {tmp_path / 'events.sqlite'}")
    assert list(tmp_path.iterdir()) == []


def test_timeline_as_json_lists_every_step_in_record_order(
    tmp_path: Path, moments: Moments
) -> None:
    result = audit(tmp_path, "timeline", INCIDENT, "--format", "json")
    assert result.exit_code == 0, result.output
    steps = json.loads(result.stdout)
    assert len(steps) == 18  # the record's 17 steps, then this read itself
    read = steps[-1]
    assert (read["event"], read["actor"], read["channel"], read["details"]) == (
        "AuditRead",
        {"partner_id": "opferbeauftragte", "staff_ref": "pruefung-1"},
        "cli",
        {"command": "timeline", "output_format": "json"},
    )
    assert [step["seq"] for step in steps] == sorted(step["seq"] for step in steps)
    phone = steps[1]
    assert (phone["event"], phone["actor"], phone["on_behalf_of"], phone["channel"]) == (
        "AlertAcknowledged",
        {"partner_id": "opferbeauftragte", "staff_ref": "lagedienst-1"},
        "weisser-ring",
        "phone",
    )
    assert phone["details"]["seconds_to_acknowledge"] == 300.0


def test_timeline_as_csv_has_a_header_and_one_row_per_step_split_by_semicolons(
    tmp_path: Path, moments: Moments
) -> None:
    result = audit(tmp_path, "timeline", INCIDENT, "--format", "csv", "--partner", "raa-sachsen")
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(io.StringIO(result.stdout), delimiter=";"))
    assert header[:4] == ["seq", "recorded_at", "business_time", "phase"]
    [row] = rows
    record = dict(zip(header, row, strict=True))
    assert (record["event"], record["partner"], record["phase"], record["business_time"]) == (
        "AlertAcknowledged",
        "raa-sachsen",
        "coordinating",
        "2026-11-14 22:22:00",
    )


def test_timeline_table_filtered_by_phase_reads_whole_at_80_columns_and_in_a_file(
    tmp_path: Path, moments: Moments
) -> None:
    terminals = ({"COLUMNS": "80", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}, {"COLUMNS": "80"})
    for reads, env in enumerate(terminals, start=1):
        result = audit(tmp_path, "timeline", INCIDENT, "--phase", "awaiting-reflection", **env)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0] == f"timeline of incident {INCIDENT} (times Europe/Berlin)"
        assert len(lines) == 3 + reads  # the reads are steps of this phase too
        assert all("event: AuditRead" in line for line in lines[3:])
        assert "options: --phase awaiting-reflection" in lines[-1]
        assert "event: AcutePhaseClosed" in lines[1]
        assert "actor: opferbeauftragte/lagedienst-1" in lines[1]
        assert "…" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [INCIDENT, "--partner", "weiser-ring"],
            f"error: --partner 'weiser-ring' is not a partner of incident '{INCIDENT}' "
            "(partners: opferbeauftragte, opferhilfe-sachsen, weisser-ring, raa-sachsen)",
        ),
        (["nowhere"], "error: no incident 'nowhere' is recorded"),
    ],
    ids=["misspelt partner", "unknown incident"],
)
def test_timeline_refuses_with_one_line_naming_the_problem(
    tmp_path: Path, moments: Moments, args: list[str], message: str
) -> None:
    result = audit(tmp_path, "timeline", *args)
    assert (result.exit_code, result.stderr.strip(), result.stdout) == (1, message, "")
