"""Every update the CLI sends has an id the operator sees and can reuse: a repeated command
never applies twice, a missing worker is named before anything is sent, and no wait is endless.
"""

from __future__ import annotations

import asyncio
import shlex
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from temporalio.testing import WorkflowEnvironment
from typer.testing import Result

from bootstrap import ACTIVITY_THREADS, build_application, build_worker
from cli.updates import POLLER_FRESHNESS
from tests.cli.support import Lotse, alerts_sent, declare, status
from tests.workflow.support import Stack, declaration, eventually

OFFICE = ("--staff", "lagedienst-1", "--as", "opferbeauftragte")


def new_id() -> str:
    return f"upd-{uuid.uuid4().hex[:10]}"


def needs_reported(stack: Stack, incident_id: str) -> int:
    return [e.event for e in stack.history(incident_id)].count("NeedsReported")


def printed_update_id(result: Result) -> tuple[str, list[str]]:
    """The update id a command announced on stderr, and the command it says to repeat."""
    line = next(line for line in result.stderr.splitlines() if line.startswith("update id "))
    update_id = line.split()[2]
    repeat = shlex.split(line.split("to repeat safely: ", 1)[1])
    return update_id, repeat


def lotse_arguments(words: list[str]) -> list[str]:
    """The arguments after the program in a printed command (`LOTSE_…=… /path/lotse ARGS`)."""
    program = next(i for i, word in enumerate(words) if word.endswith("lotse"))
    return words[program + 1 :]


async def test_a_needs_report_repeated_with_its_printed_update_id_is_counted_once(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)

    first = await lotse(
        "incident", "needs", incident_id, "--need", "psychosocial:dresden:40", *OFFICE
    )
    update_id, repeat = printed_update_id(first)
    again = await lotse(*lotse_arguments(repeat))
    once_more = await lotse(
        "incident", "needs", incident_id, "--need", "psychosocial:dresden:40", *OFFICE,
        "--update-id", update_id,
    )  # fmt: skip

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert once_more.exit_code == 0, once_more.output
    assert again.stdout == first.stdout  # the first result, answered again
    assert repeat[-2:] == ["--update-id", update_id]
    assert printed_update_id(again)[0] == update_id
    current = await status(lotse, incident_id)
    assert [(n.category, n.count) for n in current.needs] == [("psychosocial", 40)]
    assert needs_reported(stack, incident_id) == 1


async def test_commands_without_an_update_id_get_different_fresh_ones(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)

    first = await lotse("incident", "needs", incident_id, "--need", "legal:dresden:3", *OFFICE)
    second = await lotse("incident", "needs", incident_id, "--need", "legal:dresden:3", *OFFICE)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert printed_update_id(first)[0] != printed_update_id(second)[0]
    current = await status(lotse, incident_id)
    assert [(n.category, n.count) for n in current.needs] == [("legal", 6)]


async def test_a_malformed_update_id_is_one_error_line_naming_the_rule(
    lotse: Lotse, stack: Stack
) -> None:
    result = await lotse(
        "incident", "ack", "some-incident", "--partner", "weisser-ring", "--staff", "s-1",
        "--update-id", "no spaces please",
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert result.stderr == (
        "error: --update-id 'no spaces please': an update id has 1 to 128 letters, digits, "
        "'.', '_', ':' or '-' and starts with a letter or digit\n"
    )


async def test_without_a_worker_an_update_is_refused_at_once_and_never_applied_later(
    lotse: Lotse, stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    idle_queue = f"no-worker-{uuid.uuid4().hex}"
    incident_id = new_id()
    handle = await stack.client.start_workflow(
        "IncidentResponse", declaration(), id=incident_id, task_queue=idle_queue
    )
    stack.handles.append(handle)

    started = time.monotonic()
    refused = await lotse(
        "incident", "ack", incident_id, "--partner", "weisser-ring", "--staff", "s-1",
        "--update-id", "ack-without-worker",
    )  # fmt: skip
    took = time.monotonic() - started

    assert refused.exit_code == 1, refused.output
    assert refused.stdout == ""
    assert refused.stderr == (
        f"error: no worker polls task queue {idle_queue} (never seen) — nothing was sent; "
        "start the worker (`make run` or `python -m worker`) and run the command again\n"
    )
    assert took < 5, f"the refusal took {took:.1f}s"

    # A worker starts: the incident runs, and the refused acknowledgement is not in it.
    settings = stack.settings.model_copy(update={"task_queue": idle_queue})
    app = build_application(settings)
    try:
        with ThreadPoolExecutor(ACTIVITY_THREADS) as pool:
            async with build_worker(stack.client, settings, app, pool):
                await eventually(
                    lambda: alerts_sent(stack, incident_id),
                    lambda sent: sent == 4,
                    what="four alerts once a worker runs",
                )
                await asyncio.sleep(1.0)  # time for an update that had been queued to run
                current = await stack.status(handle)
                await handle.terminate(reason="test finished")
    finally:
        app.close()
    events = [e.event for e in stack.history(incident_id)]
    assert "AlertAcknowledged" not in events
    assert {p.partner_id: p.acknowledged_at for p in current.partners}["weisser-ring"] is None


def test_a_worker_counts_as_polling_for_longer_than_a_long_poll_lasts() -> None:
    # An idle live worker's last poll began up to ~60 s ago (a long poll's length); a shorter
    # freshness would call a live worker missing.
    assert POLLER_FRESHNESS.total_seconds() > 65


async def test_an_update_not_answered_in_time_names_its_id_and_its_repetition_applies_once(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)
    needs = ("incident", "needs", incident_id, "--need", "financial:leipzig:7", *OFFICE)

    # The store is down for writes: the worker's activity cannot record the needs.
    outage = sqlite3.connect(stack.settings.event_store_path, isolation_level=None, timeout=30)
    try:
        outage.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        waited = await lotse(*needs, "--timeout", "2")
        took = time.monotonic() - started
        outage.execute("ROLLBACK")
    finally:
        outage.close()
    update_id, _ = printed_update_id(waited)
    repeated = await lotse(*needs, "--update-id", update_id)

    assert waited.exit_code == 1, waited.output
    assert waited.stderr.splitlines()[-1] == (
        f"error: incident '{incident_id}' did not answer within 2s: the update with id "
        f"{update_id} was sent and may still be applied — check `lotse incident status "
        f"{incident_id}`; repeating it with --update-id {update_id} is safe (applied at most once)"
    )
    assert took < 6, f"the bounded wait of 2 s took {took:.1f}s"
    assert repeated.exit_code == 0, repeated.output
    current = await status(lotse, incident_id)
    assert [(n.category, n.count) for n in current.needs] == [("financial", 7)]
    assert needs_reported(stack, incident_id) == 1
