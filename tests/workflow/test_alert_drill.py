"""The test alert on the real dev server with the real SMTP sink: every contact point gets its
test message over its own channel, answers are recorded with how fast they came, the silent
points (a webhook that does not answer among them) are marked and the office is told."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from cli.common import cli_context
from contracts.drill import AcknowledgeDrill, DrillAnswer, DrillInput, DrillStatus
from contracts.messages import Actor
from domain import ids
from domain.errors import DrillRefusedError
from tests.workflow.support import SHIPPED_AGREEMENT, Stack, eventually, free_port, keep_history

DEAD_WEBHOOK = "raa-sachsen/deputy"
ANSWERING = {
    "weisser-ring/primary": Actor(partner_id="weisser-ring", staff_ref="bereitschaft-1"),
    "opferbeauftragte/deputy": Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-2"),
}
POINTS = [
    f"{partner}/{step}"
    for partner in ("opferbeauftragte", "opferhilfe-sachsen", "weisser-ring", "raa-sachsen")
    for step in ("primary", "deputy")
]


@pytest.fixture(autouse=True)
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the stack's worker reads its settings: six seconds for every answer."""
    monkeypatch.setenv("LOTSE_DRILL_WAIT_MINUTES", "0.1")


@pytest.fixture
def agreement_path(tmp_path: Path) -> Path:
    """The shipped agreement, with RAA Sachsen's deputy reached by a webhook nobody serves."""
    text = SHIPPED_AGREEMENT.read_text(encoding="utf-8")
    dead = f'{{ channel = "webhook", address = "http://127.0.0.1:{free_port()}/hook" }}'
    text = text.replace(
        'deputy = { channel = "email", address = "koordination@raa-sachsen.example.org" }',
        f"deputy = {dead}",
    )
    assert dead in text
    path = tmp_path / "agreement-with-dead-webhook.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def start(stack: Stack, key: str) -> WorkflowHandle[object, DrillStatus]:
    handle = await stack.client.start_workflow(
        "AlertDrill",
        DrillInput(drill_key=key, agreement_key=stack.settings.agreement_id),
        id=f"drill-{key}",
        task_queue=stack.settings.task_queue,
        result_type=DrillStatus,
    )
    stack.handles.append(handle)
    return handle


async def answer(handle: WorkflowHandle[object, DrillStatus], point: str, actor: Actor) -> Any:
    return await handle.execute_update(
        "acknowledge",
        AcknowledgeDrill(actor=actor, channel="phone", point=point),
        result_type=DrillAnswer,
    )


async def test_a_drill_records_who_answered_how_fast_and_tells_the_office_who_did_not(
    stack: Stack,
) -> None:
    key = f"test-{uuid.uuid4().hex[:8]}"
    handle = await start(stack, key)
    waiting = await eventually(
        lambda: handle.query("status", result_type=DrillStatus),
        lambda s: s.stage == "waiting",
        what="the test messages",
    )
    assert {p.point: p.sent for p in waiting.points} == {
        **dict.fromkeys(POINTS, "delivered"),
        DEAD_WEBHOOK: "failed",
    }
    answers = {point: await answer(handle, point, actor) for point, actor in ANSWERING.items()}
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await answer(handle, "nobody/primary", ANSWERING["weisser-ring/primary"])
    assert getattr(refused.value.cause, "message", "") == (
        f"'nobody/primary' is not a contact point of drill '{key}' ({', '.join(POINTS)})"
    )

    done = await handle.result()

    silent = [p for p in POINTS if p not in ANSWERING]
    assert done.stage == "done"
    assert [p.point for p in done.points if p.not_answering] == silent
    drill = stack.app.drill(key)
    assert drill.finished
    for point, actor in ANSWERING.items():
        result = drill.points[point]
        assert result.delivered_at is not None
        assert result.answered_at is not None
        since_arrival = (result.answered_at - result.delivered_at).total_seconds()
        assert result.seconds_to_answer == answers[point].seconds_to_answer == since_arrival
        assert 0 < since_arrival < 6
        assert result.answered_by == f"{actor.partner_id}/{actor.staff_ref}"
    assert [p for p, r in drill.points.items() if r.not_answering] == silent
    assert drill.points[DEAD_WEBHOOK].failures == 1

    mails = stack.mails()
    alerts = [m for m in mails if "ÜBUNG — Testalarm, bitte bestätigen" in str(m["Subject"])]
    assert len(alerts) == len(POINTS) - 1  # the webhook's never arrived
    ack_line = f"lotse drill ack {key} --point weisser-ring/primary --as weisser-ring"
    assert any(ack_line in m.get_content() for m in alerts)
    [report] = [m for m in mails if "ohne Antwort" in str(m["Subject"])]
    assert str(report["To"]) == "lagedienst@opferbeauftragte.example.org"
    assert [
        line.removeprefix("   - ") for line in report.get_content().splitlines() if "   - " in line
    ] == (silent)

    events = [type(e).__name__ for e in stack.app.events.get(ids.drill_id(key))]
    assert events.count("TestAlertAnswered") == 2
    assert events.count("ContactPointNotAnswering") == 6
    assert events[-1] == "DrillFinished"
    with pytest.raises(DrillRefusedError, match=f"^drill '{key}' has ended; an answer now is too"):
        stack.app.answer_drill(
            key, "raa-sachsen/primary", cli_context(ANSWERING["weisser-ring/primary"])
        )
    with pytest.raises(RPCError, match="already completed"):
        await answer(handle, "raa-sachsen/primary", ANSWERING["weisser-ring/primary"])
    history = await keep_history(handle, "drill_full")
    accepted = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(accepted) == len(ANSWERING)  # the validator refused the unknown point: no trace
