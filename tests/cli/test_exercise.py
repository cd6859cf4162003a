"""An incident declared as an exercise ("ÜBUNG"), end to end on the real dev server with the real
SMTP sink: every message it sends and every view of it says so, and the record keeps it."""

from __future__ import annotations

import uuid

from tests.cli.support import Lotse, alerts_sent
from tests.cli.test_case_commands import HOTLINE, case_status, register
from tests.workflow.support import REPO_ROOT, Stack, eventually

EXERCISE_DECLARATION = REPO_ROOT / "examples" / "declaration-exercise.json"
MARK = "(ÜBUNG / exercise: not a real incident, left out of KPIs)"


async def test_an_exercise_is_marked_in_every_message_and_every_view(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = f"uebung-{uuid.uuid4().hex[:10]}"
    declared = await lotse("incident", "declare", str(EXERCISE_DECLARATION), "--id", incident_id)
    assert declared.exit_code == 0, declared.output
    stack.handles.append(stack.client.get_workflow_handle(incident_id))
    await eventually(lambda: alerts_sent(stack, incident_id), lambda n: n == 4, what="4 alerts")
    case_id = await register(lotse, stack, incident_id)
    consent = await lotse(
        "case", "consent", case_id, "--recipient", "opferhilfe-sachsen", "--data", "needs",
        "--method", "oral", *HOTLINE,
    )  # fmt: skip
    needs = await lotse("case", "needs", case_id, "--need", "psychosocial:immediate", *HOTLINE)
    assert consent.exit_code == 0, consent.output
    assert needs.exit_code == 0, needs.output
    mails = await eventually(stack.mails, lambda m: len(m) >= 5, what="4 alerts and a referral")

    for mail in mails:
        assert str(mail["Subject"]).startswith("[ÜBUNG / EXERCISE] [Lotse] "), mail["Subject"]
        body = mail.get_body()
        assert body is not None
        first_line = body.get_content().splitlines()[0]
        assert first_line.startswith("ÜBUNG / EXERCISE – Dies ist eine Übung"), first_line
    assert any("DD-0042" in str(mail["Subject"]) for mail in mails)  # the case's referral
    status = await lotse("incident", "status", incident_id)
    listed = await lotse("incident", "list", env_extra={"COLUMNS": "80"})
    history = await lotse("history", incident_id, env_extra={"COLUMNS": "80"})
    assert status.stdout.splitlines()[0] == (
        f"incident {incident_id} {MARK}: Probealarm: Anschlag auf den Striezelmarkt"
    )
    (row,) = [line for line in listed.stdout.splitlines() if incident_id in line]
    assert "exercise: ÜBUNG" in row
    assert history.stdout.splitlines()[0] == f"history of incident {incident_id} {MARK}"
    assert "exercise: yes" in history.stdout.splitlines()[1]
    assert (await case_status(lotse, case_id)).exercise
    case_text = await lotse("case", "status", case_id)
    assert case_text.stdout.splitlines()[0] == f"case {case_id} {MARK}"
    metadata = await stack.client.get_workflow_handle(incident_id).query(
        "__temporal_workflow_metadata"
    )
    assert metadata.current_details.startswith("**Lage:** ÜBUNG – keine echte Lage · ")
    description = await stack.client.get_workflow_handle(incident_id).describe()
    assert await description.static_summary() == "ÜBUNG · terrorist · dresden"
