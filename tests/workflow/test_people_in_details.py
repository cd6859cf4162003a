"""A coordinating incident shows its people in numbers in the UI's current details, read from the
record's people view by a local activity every `people_counts_refresh_seconds` — one marker
and a timer per read in its history, never a signal per person."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from bootstrap import ACTIVITY_THREADS, build_application, build_worker
from cli.smtp_sink import MailSink
from contracts.messages import CloseAcutePhase, IncidentOutcome, IncidentStatus
from contracts.vocabulary import Phase
from tests.people_view_support import SHAPES, counted_from_record, populate
from tests.workflow.support import (
    PARTNERS,
    ack,
    declaration,
    eventually,
    free_port,
    keep_history,
    load_agreement,
    make_settings,
    staff,
    update,
)

REFRESH_SECONDS = 5


WORKFLOW_TASK_AND_TIMER_FIRED = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_TIMER_FIRED,
}
"""History events that are no command of the workflow's own."""


def people_reads(history: WorkflowHistory) -> list[int]:
    """The positions in the history of the local activity that reads the counts."""
    return [
        index
        for index, event in enumerate(history.events)
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and b"read_people_counts"
        in json.dumps(str(event.marker_recorded_event_attributes)).encode()
    ]


async def test_a_coordinating_incident_shows_its_people_counted_in_the_record(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = temporal_env.client
    settings = make_settings(
        tmp_path,
        free_port(),
        f"victim-support-people-{uuid.uuid4().hex}",
        people_counts_refresh_seconds=REFRESH_SECONDS,
    )
    app = build_application(settings)
    load_agreement(settings)
    with (
        MailSink(settings.mail_dir, port=settings.smtp_port),
        ThreadPoolExecutor(ACTIVITY_THREADS) as pool,
    ):
        async with build_worker(client, settings, app, pool):
            handle = await client.start_workflow(
                "IncidentResponse",
                declaration(),
                id=f"people-{uuid.uuid4().hex[:8]}",
                task_queue=settings.task_queue,
                result_type=IncidentOutcome,
            )
            await eventually(app.incident_keys, lambda keys: handle.id in keys, what="declared")
            await asyncio.to_thread(populate, app, handle.id, range(SHAPES))
            for partner_id in PARTNERS:
                await ack(handle, partner_id)

            async def details() -> str:
                metadata = await handle.query("__temporal_workflow_metadata")
                return str(metadata.current_details)

            shown = await eventually(details, lambda d: "**Betroffene**" in d, what="people")
            assert f"- registriert: {SHAPES} (Fall abgeschlossen: 2, Daten gelöscht: 1)" in shown
            assert "- Betroffenheit: verletzt 2 · hinterblieben 2 · " in shown
            assert "- Bedarfe (offen/alle): psychosoziale Unterstützung 9/10 · " in shown
            assert "- überfällig: " in shown
            status = await handle.query("status", result_type=IncidentStatus)
            assert status.people is not None
            counts = status.people.model_dump(mode="json")
            recorded = counted_from_record(app, handle.id)
            assert {key: counts[key] for key in recorded} == recorded

            # One more person: shown at the next read, without anything sent to the workflow.
            await asyncio.to_thread(populate, app, handle.id, range(SHAPES, SHAPES + 1))
            shown = await eventually(
                details,
                lambda d: f"- registriert: {SHAPES + 1} " in d,
                within=REFRESH_SECONDS * 4 + 10,  # quiet reads before it may have doubled
                what="the next read",
            )

            # Nothing changes now: the next pause is twice as long (down to one read an hour).
            async def timer_seconds() -> list[float]:
                events = (await handle.fetch_history()).events
                return [
                    e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().seconds
                    for e in events
                    if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
                ]

            paused = await eventually(
                timer_seconds,
                lambda found: found[-1] == 2 * REFRESH_SECONDS,
                within=REFRESH_SECONDS + 10,
                what="a quiet read to double the pause",
            )
            assert paused[-2] == REFRESH_SECONDS  # after the change, back to the setting
            await update(handle, "close_acute_phase", CloseAcutePhase(actor=staff(PARTNERS[0])))
            history = await keep_history(handle, "incident_people_counts")
    app.close()

    reads = people_reads(history)
    assert len(reads) >= 2
    # Between two reads while nothing else happens, the workflow commands only the read (its
    # marker) and the next pause (a timer). Not counted: the timer firing and the workflow
    # task's own events, which a loaded server repeats when a task times out on the worker.
    between = [e.event_type for e in history.events[reads[0] : reads[1]]]
    commanded = [kind for kind in between if kind not in WORKFLOW_TASK_AND_TIMER_FIRED]
    assert commanded == [
        EventType.EVENT_TYPE_MARKER_RECORDED,
        EventType.EVENT_TYPE_TIMER_STARTED,
    ], between
    assert status.phase is Phase.COORDINATING
