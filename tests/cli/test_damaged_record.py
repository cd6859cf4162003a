"""What an operator sees of a damaged record (issue #9, point 2): one `error: …` line naming the
stream and version for the damaged incident or person, and every other incident as before.

The record is written through the application, then damaged with plain SQL in the SQLite
file, then read by `lotse` as typed (no Temporal needed: these commands read the store).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import Result

from contracts.agreement import load_agreement_file
from contracts.vocabulary import case_workflow_id
from domain import ids
from domain.application import LotseApplication
from settings import Settings
from tests.cli.support import AGREEMENT_FILE, cli_environment, invoke
from tests.damage_support import Damage
from tests.integration.test_event_store import declaration
from tests.people_support import consent, ctx, registration

DAMAGED = "leipzig-2026-11-14"
OTHER = "chemnitz-2026-11-20"
PERSON = "LE-0001"
HINT = " — see `lotse audit verify`"

AUDITOR = ("--as", "opferbeauftragte", "--staff", "pruefung-1")  # every audit read is recorded


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    """A store with two declared incidents and a person given consent twice in the first; the
    first incident's version 2 (an alert acknowledged) and the person's version 2 (the first
    consent) deleted."""
    settings = Settings(store="sqlite", data_dir=tmp_path, sqlite_path=None)
    app = LotseApplication(env=settings.event_store_env())
    terms = load_agreement_file(AGREEMENT_FILE)
    app.load_agreement(terms, ctx())
    for key in (DAMAGED, OTHER):
        app.declare_incident(key, declaration(), terms.agreement_id, ctx())
        app.acknowledge_alert(key, "weisser-ring", False, 60.0, ctx())
    app.register_person(DAMAGED, registration(PERSON), ctx())
    app.give_consent(DAMAGED, PERSON, consent(), ctx())
    app.give_consent(DAMAGED, PERSON, consent("raa-sachsen"), ctx())
    app.acknowledge_alert(DAMAGED, "raa-sachsen", False, 60.0, ctx())
    app.close()
    Damage(settings).delete(ids.incident_id(DAMAGED), 2)
    Damage(settings).delete(ids.person_id(DAMAGED, PERSON), 2)
    return cli_environment(tmp_path)


def error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_history_of_a_damaged_incident_is_one_error_naming_it_and_the_version(
    env: dict[str, str | None],
) -> None:
    result = invoke(env, "history", DAMAGED)

    assert error_line(result) == (
        f"error: the record of incident '{DAMAGED}' (stream {ids.incident_id(DAMAGED)}) is "
        f"damaged at version 2: version 2 is missing (the next one stored is version 3){HINT}"
    )


def test_the_incident_list_shows_the_damaged_incident_beside_the_others(
    env: dict[str, str | None],
) -> None:
    result = invoke(env, "incident", "list")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"incident: {DAMAGED}  ·  declared (Europe/Berlin): —  ·  phase: record damaged  ·  "
        "kind: —  ·  region: —  ·  exercise: —  ·  title: record damaged at version 2: version 2 "
        "is missing "
        f"(the next one stored is version 3){HINT}"
    )
    assert lines[1].startswith(f"incident: {OTHER}  ·  declared (Europe/Berlin): 20")
    assert "phase: alerting" in lines[1]
    assert len(lines) == 2
    assert invoke(env, "history", OTHER, "--json").exit_code == 0


def test_a_damaged_person_is_one_error_naming_the_person_and_the_version(
    env: dict[str, str | None],
) -> None:
    result = invoke(env, "person", "show", case_workflow_id(DAMAGED, PERSON))

    assert error_line(result) == (
        f"error: the record of person {PERSON} of incident '{DAMAGED}' (stream "
        f"{ids.person_id(DAMAGED, PERSON)}) is damaged at version 2: version 2 is missing "
        f"(the next one stored is version 3){HINT}"
    )


def test_the_timeline_of_a_damaged_incident_shows_what_reads_and_warns_where_it_stops(
    env: dict[str, str | None],
) -> None:
    result = invoke(env, "audit", "timeline", DAMAGED, "--format", "csv", *AUDITOR)

    assert result.exit_code == 0, result.output
    events = [line.split(";")[10] for line in result.stdout.splitlines()[1:]]
    # The rest of each stream follows a gap; the read itself is recorded and shown last.
    assert events == ["Declared", "Registered", "AuditRead"]
    assert result.stderr.splitlines() == [  # in record order: where each gap was met
        f"warning: the record of person {PERSON} of incident '{DAMAGED}' (stream "
        f"{ids.person_id(DAMAGED, PERSON)}) is damaged at version 2: version 2 is missing "
        f"(the next one stored is version 3){HINT}; the timeline shows this stream only up to "
        "version 1",
        f"warning: the record of incident '{DAMAGED}' (stream {ids.incident_id(DAMAGED)}) is "
        f"damaged at version 2: version 2 is missing (the next one stored is version 3){HINT}; "
        "the timeline shows this stream only up to version 1",
    ]
    other = invoke(env, "audit", "timeline", OTHER, "--format", "csv", *AUDITOR)
    assert (other.exit_code, other.stderr) == (0, "")
    assert len(other.stdout.splitlines()) == 4  # header, Declared, AlertAcknowledged, AuditRead
