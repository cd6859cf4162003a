"""1,000 people in one incident, in the regular suite (issue #8; 5,000 are in bench/): one
list imported on the real dev server registers each once, every case runs on its own (none
through the incident's workflow), and a second import of the same list changes nothing."""

from __future__ import annotations

import time
from pathlib import Path

from temporalio.client import WorkflowExecutionStatus

from contracts.vocabulary import VICTIM_CASE_WORKFLOW_TYPE
from tests.cli.support import Lotse
from tests.cli.test_case_commands import incident, ok
from tests.cli.test_import_commands import HEADER, OFFICE, invented
from tests.workflow.support import Stack, eventually

PEOPLE = 1_000
DISTRICTS = ("Dresden", "Leipzig", "Chemnitz", "Landkreis Meißen", "Vogtlandkreis")
INVOLVEMENTS = ("verletzt", "Zeugin", "Ersthelfer", "hinterblieben")


def big_list(path: Path) -> Path:
    rows = [
        ";".join(
            (
                f"Zyx{invented(n)}",
                "Eva" if n % 2 else "Jörg",
                f"{(n % 28) + 1:02d}.{(n % 12) + 1:02d}.19{50 + n % 50}",
                f"+49 351 555 {n:04d}",
                f"person-{n}@example.org",
                "",
                INVOLVEMENTS[n % len(INVOLVEMENTS)],
                DISTRICTS[n % len(DISTRICTS)],
                "de",
            )
        )
        for n in range(PEOPLE)
    ]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


async def test_a_thousand_people_on_one_list_each_get_one_running_case(
    lotse: Lotse, stack: Stack, tmp_path: Path
) -> None:
    incident_id = await incident(lotse, stack)
    listing = big_list(tmp_path / "thousand.csv")
    command = ("cases", "import", str(listing), "--incident", incident_id, "--source", "police")

    started = time.monotonic()
    first = await ok(lotse, *command, *OFFICE)
    seconds = time.monotonic() - started
    assert f"registered:            {PEOPLE}" in first, first
    assert "rejected:              0" in first
    print(f"imported {PEOPLE} rows in {seconds:.1f} s")

    people = stack.app.people_of(incident_id)
    assert len(people) == PEOPLE
    assert len({person.person_ref for person in people}) == PEOPLE
    assert sum(1 for person in people if person.sealed_contact is not None) == PEOPLE
    # Every case is its own workflow, started directly: the incident's history holds none.
    query = f'WorkflowType = "{VICTIM_CASE_WORKFLOW_TYPE}" AND CaseIncident = "{incident_id}"'
    counted = await eventually(
        lambda: stack.client.count_workflows(query),
        lambda count: count.count == PEOPLE,
        within=60.0,
        what=f"{PEOPLE} cases in Temporal's visibility",
    )
    assert counted.count == PEOPLE
    sample = stack.client.get_workflow_handle(f"{incident_id}--PL-00500")
    assert (await sample.describe()).status is WorkflowExecutionStatus.RUNNING
    incident_events = [
        event
        async for event in stack.client.get_workflow_handle(incident_id).fetch_history_events()
    ]
    assert len(incident_events) < 200

    again = await ok(lotse, *command, *OFFICE)
    assert "registered:            0" in again
    assert f"already imported:      {PEOPLE}" in again
    assert len(stack.app.people_of(incident_id)) == PEOPLE
