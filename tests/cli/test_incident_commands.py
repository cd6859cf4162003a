"""`lotse incident …` and `lotse history` against a real dev server, as an operator types them."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from typer.testing import Result

from contracts.messages import IncidentStatus
from contracts.people_counts import PeopleCounts
from contracts.vocabulary import AlertState, Phase, cli_time
from tests.cli.support import EXAMPLE_DECLARATION, Lotse, declare, status
from tests.people_view_support import (
    SHAPES,
    counted_from_record,
    overdue_from_record,
    populate,
)
from tests.workflow.support import PARTNERS, Stack, eventually


def new_id() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


async def history(lotse: Lotse, incident_id: str) -> list[dict[str, Any]]:
    result = await lotse("history", incident_id, "--json")
    assert result.exit_code == 0, result.output
    entries: list[dict[str, Any]] = json.loads(result.stdout)
    return entries


def one_error_line(result: Result) -> str:
    """The single line a failing command prints, after checking it failed cleanly (besides
    the update id an update announces before it is sent)."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if not line.startswith("update id ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


async def test_a_declared_incident_shows_alerting_in_its_status(lotse: Lotse, stack: Stack) -> None:
    incident_id = new_id()

    declared = await lotse("incident", "declare", str(EXAMPLE_DECLARATION), "--id", incident_id)

    assert declared.exit_code == 0, declared.output
    assert f"declared incident {incident_id}" in declared.stdout
    assert f"/namespaces/default/workflows/{incident_id}" in declared.stdout
    stack.handles.append(stack.client.get_workflow_handle(incident_id))
    table = await lotse("incident", "status", incident_id)
    assert table.exit_code == 0, table.output
    assert "phase alerting (Alarmierung läuft)" in table.stdout
    assert "Übung: Anschlag auf den Striezelmarkt" in table.stdout
    current = await eventually(
        lambda: status(lotse, incident_id),
        lambda s: len(s.partners) == 4 and all(p.alerted_at for p in s.partners),
        what="four alerted partners",
    )
    assert current.phase is Phase.ALERTING
    assert {p.state for p in current.partners} == {AlertState.PENDING}


async def test_the_declaration_is_recorded_as_typed_on_the_command_line(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)

    declared = (await history(lotse, incident_id))[0]

    assert declared["event"] == "Declared"
    assert declared["ctx"]["actor"] == {
        "partner_id": "opferbeauftragte",
        "staff_ref": "lagedienst-1",
    }
    assert declared["ctx"]["channel"] == "cli"


async def test_an_acknowledgement_by_phone_is_printed_and_recorded_with_its_actor(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)
    ack = (
        "incident", "ack", incident_id, "--partner", "weisser-ring", "--staff", "lagedienst-1",
        "--as", "opferbeauftragte", "--channel", "phone",
    )  # fmt: skip

    first = await lotse(*ack)
    again = await lotse(*ack)

    assert first.exit_code == 0, first.output
    assert "weisser-ring acknowledged at" in first.stdout
    assert "after the alert: in time" in first.stdout
    assert "recorded by opferbeauftragte/lagedienst-1 on behalf of weisser-ring via phone" in (
        first.stdout
    )
    assert again.exit_code == 0, again.output
    assert "weisser-ring had already acknowledged" in again.stdout
    acknowledged = [
        e for e in await history(lotse, incident_id) if e["event"] == "AlertAcknowledged"
    ]
    assert len(acknowledged) == 1
    assert acknowledged[0]["details"]["partner_id"] == "weisser-ring"
    assert acknowledged[0]["ctx"]["actor"] == {
        "partner_id": "opferbeauftragte",
        "staff_ref": "lagedienst-1",
    }
    assert acknowledged[0]["ctx"]["on_behalf_of"] == "weisser-ring"
    assert acknowledged[0]["ctx"]["channel"] == "phone"


async def test_a_phoned_acknowledgement_entered_later_keeps_its_received_time(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)
    alerted_at = (await status(lotse, incident_id)).partners[0].alerted_at
    assert alerted_at is not None
    received = (alerted_at + timedelta(seconds=1)).astimezone(UTC)
    await asyncio.sleep(1.5)

    result = await lotse(
        "incident", "ack", incident_id, "--partner", "raa-sachsen", "--staff", "lagedienst-1",
        "--as", "opferbeauftragte", "--channel", "phone", "--received-at", received.isoformat(),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "as received; entered now" in result.stdout
    raa = next(
        p for p in (await status(lotse, incident_id)).partners if p.partner_id == "raa-sachsen"
    )
    assert raa.acknowledged_at == received
    assert raa.entered_at is not None
    assert raa.entered_at > received
    shown = await lotse("incident", "status", incident_id)
    assert "entered " in shown.stdout  # the status names both times


async def test_a_declaration_hours_ahead_is_refused_before_anything_starts(
    lotse: Lotse, stack: Stack, temporal_env: WorkflowEnvironment, tmp_path: Any
) -> None:
    ahead = json.loads(EXAMPLE_DECLARATION.read_text(encoding="utf-8"))
    ahead["occurred_at"] = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    file = tmp_path / "ahead.json"
    file.write_text(json.dumps(ahead), encoding="utf-8")
    incident_id = new_id()

    result = await lotse("incident", "declare", str(file), "--id", incident_id)

    assert "lies more than an hour in the future" in one_error_line(result)
    with pytest.raises(RPCError, match="not found"):
        await temporal_env.client.get_workflow_handle(incident_id).describe()


async def test_an_acknowledgement_for_an_unknown_partner_is_one_error_line(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)

    result = await lotse(
        "incident", "ack", incident_id, "--partner", "nobody", "--staff", "lagedienst-1"
    )

    line = one_error_line(result)
    assert "unknown partner 'nobody'" in line
    assert "weisser-ring" in line  # names the partners there are


async def test_an_invalid_declaration_names_each_bad_field_and_starts_nothing(
    lotse: Lotse, stack: Stack, temporal_env: WorkflowEnvironment, tmp_path: Any
) -> None:
    bad = json.loads(EXAMPLE_DECLARATION.read_text(encoding="utf-8"))
    bad.update(kind="storm", region="atlantis", occurred_at="yesterday")
    del bad["title"]
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(bad), encoding="utf-8")
    incident_id = new_id()

    result = await lotse("incident", "declare", str(file), "--id", incident_id)

    line = one_error_line(result)
    assert line.startswith(f"error: invalid declaration in {file}: ")
    for field in ("title", "kind", "region", "occurred_at"):
        assert f"{field}: " in line
    with pytest.raises(RPCError, match="not found"):
        await temporal_env.client.get_workflow_handle(incident_id).describe()


async def test_a_declaration_read_from_stdin_gets_an_id_from_time_and_region(
    lotse: Lotse, stack: Stack
) -> None:
    data = json.loads(EXAMPLE_DECLARATION.read_text(encoding="utf-8"))
    data["occurred_at"] = "2025-07-04T09:15:00+02:00"
    expected_id = "20250704-0915-dresden"

    first = await lotse("incident", "declare", "-", stdin=json.dumps(data))
    second = await lotse("incident", "declare", "-", stdin=json.dumps(data))

    assert first.exit_code == 0, first.output
    stack.handles.append(stack.client.get_workflow_handle(expected_id))
    assert f"declared incident {expected_id}" in first.stdout
    assert "already in use" in one_error_line(second)
    # The summary Temporal shows (and stores unencrypted) is not the free-text title.
    described = await stack.client.get_workflow_handle(expected_id).describe()
    assert await described.static_summary() == "terrorist · dresden"


async def test_history_lists_the_declaration_and_four_alerts_with_their_actors(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)

    on_a_terminal = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1"}  # 250 columns: the whole table
    result = await lotse("history", incident_id, env_extra=on_a_terminal)

    assert result.exit_code == 0, result.output
    rows = [
        line for line in result.stdout.splitlines() if "Declared" in line or "AlertSent" in line
    ]
    assert len(rows) == 5
    assert "│ Declared " in rows[0]
    assert "│ opferbeauftragte/lagedienst-1 " in rows[0]
    assert "│ cli " in rows[0]
    for row in rows[1:]:
        assert "│ opferbeauftragte/lotse-system " in row
        assert "│ system " in row
        assert "delivered: yes" in row
    sent_to = {e["details"]["partner_id"] for e in (await history(lotse, incident_id))[1:]}
    assert sent_to == set(PARTNERS)


async def test_the_updates_move_the_incident_from_alerting_to_closed(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)
    office = ("--staff", "lagedienst-1", "--as", "opferbeauftragte")

    for partner in PARTNERS:
        acked = await lotse("incident", "ack", incident_id, "--partner", partner, "--staff", "b-1")
        assert acked.exit_code == 0, acked.output
    needs = await lotse(
        "incident", "needs", incident_id, "--need", "legal:dresden:12",
        "--need", "psychosocial:dresden:40", *office,
    )  # fmt: skip
    outside = await lotse(
        "incident", "assign", incident_id, "--category", "financial",
        "--partner", "opferhilfe-sachsen", *office,
    )  # fmt: skip
    assigned = await lotse(
        "incident", "assign", incident_id, "--category", "legal", "--partner", "weisser-ring",
        *office,
    )  # fmt: skip
    reassigned = await lotse(
        "incident", "assign", incident_id, "--category", "legal",
        "--partner", "opferhilfe-sachsen", *office,
    )  # fmt: skip
    closed = await lotse("incident", "close-acute", incident_id, "--note", "Lage beendet", *office)
    reflected = await lotse(
        "incident", "reflect", incident_id, "--finding", "Alarmierung kam an",
        "--measure", "Erreichbarkeit prüfen", *office,
    )  # fmt: skip

    assert f"{incident_id}: phase coordinating (Bedarfsabstimmung)" in needs.stdout
    assert "outside the remit of 'opferhilfe-sachsen'" in one_error_line(outside)
    assert f"{incident_id}: 'legal' assigned to weisser-ring\n" == assigned.stdout
    assert "'legal' assigned to opferhilfe-sachsen, replacing weisser-ring" in reassigned.stdout
    assert "phase awaiting-reflection" in closed.stdout
    assert "phase closed" in reflected.stdout
    shown = await lotse("incident", "status", incident_id)
    assert "reflection due" not in shown.stdout  # closed: nothing is due any more
    assert "agreement version 1" in shown.stdout
    events = [e["event"] for e in await history(lotse, incident_id)]
    assert events[-8:] == [
        "NeedsReported",
        "ActionRefused",  # the assignment outside the remit, refused on its substance
        "NeedCategoryAssigned",
        "NeedCategoryReassigned",
        "AcutePhaseClosed",
        "ReflectionScheduled",
        "ReflectionRecorded",
        "Closed",
    ]


async def test_a_called_off_incident_takes_no_more_acknowledgements(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)

    called_off = await lotse(
        "incident", "call-off", incident_id, "--reason", "Fehlalarm",
        "--staff", "lagedienst-1", "--as", "opferbeauftragte",
    )  # fmt: skip
    await eventually(
        lambda: stack.client.get_workflow_handle(incident_id).describe(),
        lambda d: d.status is not None and d.status.name == "COMPLETED",
        what="the workflow to complete",
    )
    late_ack = await lotse(
        "incident", "ack", incident_id, "--partner", "raa-sachsen", "--staff", "s-1"
    )

    assert "phase called-off (abgebrochen)" in called_off.stdout
    assert f"incident '{incident_id}' has ended" in one_error_line(late_ack)


async def test_an_unknown_incident_is_one_error_line(lotse: Lotse, stack: Stack) -> None:
    missing = new_id()

    from_temporal = await lotse("incident", "status", missing)
    from_store = await lotse("history", missing)

    assert one_error_line(from_temporal) == f"error: incident '{missing}' not found"
    assert one_error_line(from_store) == f"error: no incident '{missing}' is recorded"


async def test_incident_list_shows_each_declared_incident(lotse: Lotse, stack: Stack) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)

    result = await lotse("incident", "list")

    assert result.exit_code == 0, result.output
    assert incident_id in result.stdout
    assert "Übung: Anschlag auf den Striezelmarkt" in result.stdout


async def test_the_status_counts_the_incidents_people_as_the_record_has_them(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)
    await asyncio.to_thread(populate, stack.app, incident_id, range(SHAPES))
    recorded = counted_from_record(stack.app, incident_id)
    overdue = overdue_from_record(stack.app, incident_id, datetime.now(UTC))

    as_json = await lotse("incident", "status", incident_id, "--json")
    shown = await lotse("incident", "status", incident_id)

    assert as_json.exit_code == 0, as_json.output
    people = IncidentStatus.model_validate_json(as_json.stdout).people
    assert people is not None
    assert counted(people) == recorded
    assert people.overdue == len(overdue) > 0
    assert shown.exit_code == 0, shown.output
    assert (
        f"{SHAPES} registered · 2 closed · 1 erased · {len(overdue)} overdue, oldest due "
        f"{cli_time(overdue[0].due_at)}" in shown.stdout
    )
    assert f"lotse cases overdue {incident_id}" in shown.stdout
    assert (
        "  need psychosocial: 9 open of 10 (awaiting-consent 1, awaiting-referral 5, referred 3, "
        "met 1)" in shown.stdout
    )
    assert (
        "  referrals: proposed 1, sent 1, acknowledged 1, accepted 1, declined 1, " in shown.stdout
    )


async def test_the_status_says_why_the_people_are_missing_when_the_record_cannot_be_read(
    lotse: Lotse, stack: Stack, tmp_path: Path
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)
    elsewhere = {"LOTSE_SQLITE_PATH": str(tmp_path / "no-record-here.sqlite")}

    shown = await lotse("incident", "status", incident_id, env_extra=elsewhere)
    as_json = await lotse("incident", "status", incident_id, "--json", env_extra=elsewhere)

    assert shown.exit_code == 0, shown.output
    assert "phase alerting" in shown.stdout
    assert "people: the record could not be read: no event store at " in shown.stdout
    assert as_json.exit_code == 0, as_json.output
    assert IncidentStatus.model_validate_json(as_json.stdout).people is None
    assert "warning: people not read from the record: no event store at" in as_json.stderr


def counted(people: PeopleCounts) -> dict[str, object]:
    counts = people.model_dump(mode="json")
    return {key: counts[key] for key in ("total", "closed", "erased", "by_involvement")} | {
        "needs": counts["needs"],
        "referrals": counts["referrals"],
    }
