"""A worker killed at the worst moment loses nothing, and duplicates nothing it can avoid.

Every activity that commits to the record is killed once right after its commit, before Temporal
hears back: the first worker (Lotse's worker in a process of its own, started through
tests/workflow/crashing_worker.py) sends itself SIGKILL. A new worker (`python -m worker`)
retries the activity with the same command id, which must change nothing twice. A worker also
dies in the middle of an SMTP delivery, after the server took the message: that one is delivered
twice (at least once, never lost), and the record still holds it once.

Temporal notices a dead worker only when the activity's start-to-close timeout runs out (10 s for
store activities, 30 s for deliveries), so each case is mostly waiting. All cases therefore run at
once: the module fixture `outcomes` starts every case as a task, and each test awaits its own.
Every case waits until the workflow has settled (the expected state is reached and nothing is in
flight: no pending activity, no pending workflow task) before it counts anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.notify import mail_message_id
from cli.smtp_sink import Delivery, MailSink, read_deliveries, read_mailbox
from contracts.messages import (
    AcknowledgeAlert,
    Actor,
    AssignNeedCategory,
    CallOff,
    CloseAcutePhase,
    IncidentOutcome,
    IncidentStatus,
    NeedReport,
    PartnerAlertStatus,
    RecordReflection,
    ReportNeeds,
)
from contracts.vocabulary import (
    FINAL_PHASES,
    AlertState,
    EscalationStep,
    NeedCategory,
    NotificationPurpose,
    Phase,
    Region,
)
from domain.application import HistoryEntry, LotseApplication
from domain.errors import IncidentNotFoundError
from settings import Settings
from tests.workflow.support import (
    PARTNERS,
    REPO_ROOT,
    declaration,
    free_port,
    load_agreement,
    make_settings,
    with_codec,
)

pytestmark = pytest.mark.slow

LAST = PARTNERS[-1]

# The event each committing activity writes: it must be in the record when the worker has died.
EVENT_OF = {
    "record_declaration": "Declared",
    "record_notification": "AlertSent",
    "record_acknowledgement": "AlertAcknowledged",
    "record_escalation": "AlertEscalated",
    "record_unreachable": "PartnerUnreachable",
    "record_needs": "NeedsReported",
    "record_assignment": "NeedCategoryAssigned",
    "record_acute_phase_closed": "AcutePhaseClosed",
    "record_reflection_due": "ReflectionBecameDue",
    "record_reflection": "ReflectionRecorded",
    "record_call_off": "CalledOff",
}
# What one command writes. A command id on any other group of events was applied twice.
ONE_COMMAND = {
    *(
        (name,)
        for name in EVENT_OF.values()
        if name not in ("AcutePhaseClosed", "ReflectionRecorded")
    ),
    ("AcutePhaseClosed", "ReflectionScheduled"),
    ("ReflectionRecorded", "Closed"),
}

SHORT = {"ack": 1, "escalation_step": 1, "reflection_after": 3600}
LONG = {"ack": 60, "escalation_step": 60, "reflection_after": 3600}


def actor(partner_id: str) -> Actor:
    return Actor(partner_id=partner_id, staff_ref="dienst-1")


def ack(partner_id: str) -> tuple[str, BaseModel]:
    return "acknowledge_alert", AcknowledgeAlert(partner_id=partner_id, actor=actor(partner_id))


ACK_ALL = tuple(ack(p) for p in PARTNERS)
CLOSE = ("close_acute_phase", CloseAcutePhase(note="Akutphase beendet", actor=actor(PARTNERS[0])))
NEEDS = ReportNeeds(
    needs=[NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.DRESDEN, count=7)],
    actor=actor(PARTNERS[0]),
)


@dataclass
class Snapshot:
    """The workflow and the record at one moment of polling."""

    running: bool
    in_flight: int  # pending activities + a pending workflow task
    status: IncidentStatus | None  # only asked for when the workflow is running and idle


def alerted(s: Snapshot) -> bool:
    return s.status is not None and all(p.deadline_at is not None for p in s.status.partners)


def partner(s: Snapshot, partner_id: str) -> PartnerAlertStatus | None:
    if s.status is None:
        return None
    return next(p for p in s.status.partners if p.partner_id == partner_id)


def acknowledged(s: Snapshot) -> bool:
    alert = partner(s, LAST)
    return alert is not None and alert.state is AlertState.ACKNOWLEDGED


def escalated(s: Snapshot) -> bool:
    """Past the primary step: at the deputy (or beyond, if the deputy's message was lost)."""
    alert = partner(s, LAST)
    return alert is not None and alert.step is not EscalationStep.PRIMARY


def all_unreachable(s: Snapshot) -> bool:
    return s.status is not None and all(
        p.state is AlertState.UNREACHABLE for p in s.status.partners
    )


def needs_reported(s: Snapshot) -> bool:
    return s.status is not None and sum(n.count for n in s.status.needs) > 0


def assigned(s: Snapshot) -> bool:
    return s.status is not None and any(n.assigned_to for n in s.status.needs)


def in_phase(phase: Phase) -> Callable[[Snapshot], bool]:
    return lambda s: s.status is not None and s.status.phase is phase


def ended(s: Snapshot) -> bool:
    return not s.running


@dataclass(frozen=True)
class Case:
    """One kill point and the path to it."""

    kill_in: str  # the activity type that kills the first worker right after its commit
    settled: Callable[[Snapshot], bool]
    expected: dict[str, int]  # every event type in the record once settled
    phase: Phase
    deadlines: dict[str, int] = field(default_factory=lambda: dict(LONG))
    before: tuple[tuple[str, BaseModel], ...] = ()  # updates that complete on the first worker
    killing_update: tuple[str, BaseModel] | None = None  # None: the workflow runs the activity
    # Whether a message may be in the middle of its delivery when the worker dies: then it may
    # legitimately arrive twice (at least once); otherwise every message arrives exactly once.
    deliveries_in_flight: bool = False


ALERTS = {"Declared": 1, "AlertSent": 4}
CLOSED_ACUTE = {**ALERTS, "AlertAcknowledged": 4, "AcutePhaseClosed": 1, "ReflectionScheduled": 1}
LADDER = {"Declared": 1, "AlertSent": 12, "AlertEscalated": 8, "PartnerUnreachable": 4}

CASES = {
    case.kill_in: case
    for case in [
        Case("record_declaration", alerted, ALERTS, Phase.ALERTING),
        Case("record_notification", alerted, ALERTS, Phase.ALERTING, deliveries_in_flight=True),
        # The domain also ignores a second acknowledgement by the same partner, so this case
        # is protected twice: it stays green without the command id, and turns red only when
        # the domain's guard is gone as well.
        Case(
            "record_acknowledgement",
            acknowledged,
            {**ALERTS, "AlertAcknowledged": 1},
            Phase.ALERTING,
            killing_update=ack(LAST),
        ),
        Case(
            "record_escalation",
            all_unreachable,
            LADDER,
            Phase.COORDINATING,
            deadlines=SHORT,
            deliveries_in_flight=True,
        ),
        Case(
            "record_unreachable",
            all_unreachable,
            LADDER,
            Phase.COORDINATING,
            deadlines=SHORT,
            deliveries_in_flight=True,
        ),
        Case(
            "record_needs",
            needs_reported,
            {**ALERTS, "NeedsReported": 1},
            Phase.ALERTING,
            killing_update=("report_needs", NEEDS),
        ),
        # Protected twice as well: assigning a category to the partner that has it records
        # nothing.
        Case(
            "record_assignment",
            assigned,
            {**ALERTS, "NeedCategoryAssigned": 1},
            Phase.ALERTING,
            killing_update=(
                "assign_need_category",
                AssignNeedCategory(
                    category=NeedCategory.PSYCHOSOCIAL, partner_id=LAST, actor=actor(PARTNERS[0])
                ),
            ),
        ),
        Case(
            "record_acute_phase_closed",
            in_phase(Phase.AWAITING_REFLECTION),
            CLOSED_ACUTE,
            Phase.AWAITING_REFLECTION,
            before=ACK_ALL,
            killing_update=CLOSE,
        ),
        Case(
            "record_reflection_due",
            in_phase(Phase.REFLECTION_DUE),
            {**CLOSED_ACUTE, "ReflectionBecameDue": 1, "AlertSent": 8},
            Phase.REFLECTION_DUE,
            deadlines={**LONG, "reflection_after": 1},
            before=(*ACK_ALL, CLOSE),
        ),
        Case(
            "record_reflection",
            ended,
            {**CLOSED_ACUTE, "ReflectionRecorded": 1, "Closed": 1},
            Phase.CLOSED,
            before=(*ACK_ALL, CLOSE),
            killing_update=(
                "record_reflection",
                RecordReflection(
                    findings=["Die Alarmierung lief vollständig."], actor=actor(PARTNERS[0])
                ),
            ),
        ),
        Case(
            "record_call_off",
            ended,
            # The four alerts and, after the call-off, the four all-clear messages.
            {"Declared": 1, "AlertSent": 8, "CalledOff": 1},
            Phase.CALLED_OFF,
            killing_update=("call_off", CallOff(reason="Fehlalarm (Übung)", actor=actor(LAST))),
        ),
    ]
}
assert set(CASES) == set(EVENT_OF), "every committing activity has a kill point"

# The mid-delivery case: every partner but the last acknowledges in time; the last one's alert
# escalates to its deputy, and the worker dies inside that one SMTP transaction, so that no other
# message is in flight when it dies.
SMTP_ACK_SECONDS = 10
SMTP_CASE = "smtp"


@dataclass
class Outcome:
    """What one case observed; the tests judge it."""

    incident_id: str
    first_worker_exit: int | None = None
    committed_when_it_died: list[HistoryEntry] = field(default_factory=list)
    delivered_when_it_died: list[Delivery] = field(default_factory=list)
    update_error: str | None = None
    failure: str | None = None  # why the workflow failed, if it did
    workflow_status: str = ""
    phase: Phase | None = None
    events: list[HistoryEntry] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    mailbox: list[str] = field(default_factory=list)  # Message-IDs of the stored files
    attempts: dict[str, int] = field(default_factory=dict)  # highest attempt per activity type
    log_tail: str = ""

    def names(self) -> list[str]:
        return [e.event for e in self.events]

    def sent_message_ids(self) -> list[str]:
        return sent_message_ids(self.events)


def sent_message_ids(events: list[HistoryEntry]) -> list[str]:
    return [str(e.details["message_id"]) for e in events if e.event == "AlertSent"]


# --- running one case -------------------------------------------------------------------------


def spawn_worker(
    env: WorkflowEnvironment, settings: Settings, log: Path, kill_point: list[str]
) -> subprocess.Popen[bytes]:
    """A worker process: `python -m worker`, or with a `kill_point` (the arguments of
    tests/workflow/crashing_worker.py) one that dies there."""
    variables = {
        **os.environ,
        "LOTSE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "LOTSE_TASK_QUEUE": settings.task_queue,
        "LOTSE_DATA_DIR": str(settings.data_dir),
        "LOTSE_STORE": "sqlite",
        "LOTSE_AGREEMENT_FILE": str(settings.agreement_file),
        "LOTSE_SMTP_PORT": str(settings.smtp_port),
        "LOTSE_DELIVERY_MAX_ATTEMPTS": str(settings.delivery_max_attempts),
        "LOTSE_DELIVERY_INITIAL_INTERVAL_SECONDS": str(settings.delivery_initial_interval_seconds),
        "LOTSE_DELIVERY_MAXIMUM_INTERVAL_SECONDS": str(settings.delivery_maximum_interval_seconds),
    }
    module = "tests.workflow.crashing_worker" if kill_point else "worker"
    # A file, not a pipe: nobody reads a pipe while the case runs, and a full pipe blocks.
    with log.open("ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", module, *kill_point], cwd=REPO_ROOT, env=variables, stderr=stderr
        )


async def wait_for_exit(process: subprocess.Popen[bytes], within: float) -> int | None:
    """The exit code, or None if it still runs after `within` seconds."""
    # Polled, not `to_thread(process.wait)`: the default executor has only a few threads, and
    # thirteen cases waiting at once would queue behind each other.
    deadline = asyncio.get_running_loop().time() + within
    while True:
        code = process.poll()
        if code is not None or asyncio.get_running_loop().time() > deadline:
            return code
        await asyncio.sleep(0.05)


async def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        if await wait_for_exit(process, 15) is None:
            process.kill()
            await wait_for_exit(process, 5)


def recorded(app: LotseApplication, incident_id: str) -> list[HistoryEntry]:
    try:
        return app.history(incident_id)
    except IncidentNotFoundError:
        return []  # not declared yet


async def snapshot(handle: WorkflowHandle[Any, Any]) -> Snapshot:
    description = await handle.describe()
    raw = description.raw_description
    running = description.status is WorkflowExecutionStatus.RUNNING
    in_flight = len(raw.pending_activities) + int(raw.HasField("pending_workflow_task"))
    status: IncidentStatus | None = None
    if running and in_flight == 0:
        # Only then: a query needs a live worker, and right after a kill none may poll yet.
        # A refusal (e.g. the declaration is not read yet) leaves it None; the next poll asks.
        with contextlib.suppress(WorkflowQueryFailedError, RPCError):
            status = await handle.query("status", result_type=IncidentStatus)
    return Snapshot(running, in_flight, status)


async def highest_attempts(handle: WorkflowHandle[Any, Any]) -> dict[str, int]:
    """How often Temporal ran each activity type, at most: 2 proves a retry ran.

    An ordinary activity's retry is its attempt number. A local activity (the store activities)
    leaves no trace of a run whose worker died: the proof of its retry is a workflow task lost
    with the dead worker (timed out or failed) followed by that activity's completion marker,
    counted here as attempt 2."""
    scheduled: dict[int, str] = {}
    attempts: dict[str, int] = {}
    lost_a_task = False
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = name
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            name = scheduled[started.scheduled_event_id]
            attempts[name] = max(attempts.get(name, 0), started.attempt)
        elif event.HasField("workflow_task_timed_out_event_attributes") or event.HasField(
            "workflow_task_failed_event_attributes"
        ):
            lost_a_task = True
        elif event.HasField("marker_recorded_event_attributes"):
            local = _local_activity_type(event.marker_recorded_event_attributes)
            if local is not None:
                attempts[local] = max(attempts.get(local, 0), 2 if lost_a_task else 1)
    return attempts


def _local_activity_type(marker: Any) -> str | None:
    """The activity type a local activity's marker records, or None for any other marker."""
    if marker.marker_name != "core_local_activity":
        return None
    for payload in marker.details["data"].payloads:
        data = json.loads(payload.data)
        if isinstance(data, dict) and "activity_type" in data:
            return str(data["activity_type"])
    return None


class Run:
    """The resources of one case: its own store, mail sink, task queue and workers."""

    def __init__(self, env: WorkflowEnvironment, base: Path, name: str) -> None:
        self.env = env
        self.base = base
        self.settings = make_settings(base, free_port(), f"crash-{name}-{uuid.uuid4().hex}")
        # The worker processes encrypt, as every Lotse worker does (keys in `base`): the test
        # reads their results and queries through a client with the same keys.
        self.client = with_codec(env.client, self.settings)
        self.incident_id = f"crash-{name}-{uuid.uuid4().hex[:8]}"
        self.outcome = Outcome(self.incident_id)
        self.log = base / "workers.log"
        self.workers: list[subprocess.Popen[bytes]] = []

    def spawn(self, *kill_point: str) -> subprocess.Popen[bytes]:
        process = spawn_worker(self.env, self.settings, self.log, list(kill_point))
        self.workers.append(process)
        return process

    async def start(self, deadlines: dict[str, int]) -> WorkflowHandle[Any, Any]:
        return await self.client.start_workflow(
            "IncidentResponse",
            declaration(deadlines=deadlines),
            id=self.incident_id,
            task_queue=self.settings.task_queue,
            result_type=IncidentOutcome,
        )

    async def died(self, first: subprocess.Popen[bytes], app: LotseApplication) -> None:
        self.outcome.first_worker_exit = await wait_for_exit(first, 60)
        if self.outcome.first_worker_exit is not None:
            self.outcome.committed_when_it_died = recorded(app, self.incident_id)
            self.outcome.delivered_when_it_died = read_deliveries(self.settings.mail_dir)

    async def settle(self, handle: WorkflowHandle[Any, Any], until: Callable[..., bool]) -> None:
        """Wait until the workflow has closed, or has nothing in flight and `until` holds."""
        deadline = asyncio.get_running_loop().time() + 90
        while True:
            found = await snapshot(handle)
            if not found.running or (found.in_flight == 0 and until(found)):
                return
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"{self.incident_id} did not settle within 90 s; last: {found!r}")
            # Not faster: thirteen cases poll the same dev server on a shared machine.
            await asyncio.sleep(0.3)

    async def observe(self, handle: WorkflowHandle[Any, Any], app: LotseApplication) -> None:
        found = self.outcome
        description = await handle.describe()
        found.workflow_status = description.status.name if description.status else ""
        if description.status is WorkflowExecutionStatus.RUNNING:
            status = await handle.query("status", result_type=IncidentStatus)
            found.phase = status.phase
        else:
            try:
                found.phase = (await handle.result()).phase
            except WorkflowFailureError as error:
                cause = error.cause
                found.failure = cause.message if isinstance(cause, ApplicationError) else str(cause)
        found.events = app.history(self.incident_id)
        found.deliveries = read_deliveries(self.settings.mail_dir)
        found.mailbox = [str(m["Message-ID"]).strip() for m in read_mailbox(self.settings.mail_dir)]
        found.attempts = await highest_attempts(handle)

    async def finish(self, handle: WorkflowHandle[Any, Any] | None) -> None:
        if handle is not None:
            description = await handle.describe()
            if description.status is WorkflowExecutionStatus.RUNNING:
                await handle.terminate(reason="test finished")
        for process in self.workers:
            await stop(process)
        if self.log.exists():
            self.outcome.log_tail = self.log.read_text("utf-8", "replace")[-3000:]


async def update_error(update: WorkflowUpdateHandle[Any]) -> str | None:
    """None when the update succeeded, else its failure as the operator would read it."""
    try:
        await asyncio.wait_for(update.result(), 90)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        return cause.message if isinstance(cause, ApplicationError) else str(cause)
    return None


async def run_case(env: WorkflowEnvironment, base: Path, case: Case) -> Outcome:
    run = Run(env, base, case.kill_in.removeprefix("record_").replace("_", "-"))
    load_agreement(run.settings)
    app = LotseApplication(env=run.settings.event_store_env())
    handle: WorkflowHandle[Any, Any] | None = None
    try:
        with MailSink(run.settings.mail_dir, port=run.settings.smtp_port):
            first = run.spawn("--after-commit-in", case.kill_in)
            handle = await run.start(case.deadlines)
            sending: asyncio.Task[WorkflowUpdateHandle[Any]] | None = None
            if case.before or case.killing_update:
                await run.settle(handle, alerted)
            for name, request in case.before:
                if name == "close_acute_phase":  # allowed once alerting has ended
                    await run.settle(handle, in_phase(Phase.COORDINATING))
                await handle.execute_update(name, request)
            if case.killing_update:
                name, request = case.killing_update
                # Not awaited before the kill: the store activities run as local activities
                # within the workflow task that would accept the update, so the update is
                # accepted only by the worker that comes after the one that dies.
                sending = asyncio.create_task(
                    handle.start_update(name, request, wait_for_stage=WorkflowUpdateStage.ACCEPTED)
                )
            await run.died(first, app)
            if run.outcome.first_worker_exit is None:
                if sending is not None:
                    sending.cancel()
                return run.outcome  # the test reports that the kill point was never reached
            run.spawn()
            if sending is not None:
                run.outcome.update_error = await update_error(await asyncio.wait_for(sending, 90))
            if run.outcome.update_error is None:  # a refused update never reaches the state
                await run.settle(handle, case.settled)
            await run.observe(handle, app)
    finally:
        await run.finish(handle)
        app.close()
    return run.outcome


async def run_smtp_case(env: WorkflowEnvironment, base: Path) -> Outcome:
    run = Run(env, base, SMTP_CASE)
    target = f"{run.incident_id}.{NotificationPurpose.ESCALATION}.{EscalationStep.DEPUTY}.{LAST}"
    load_agreement(run.settings)
    app = LotseApplication(env=run.settings.event_store_env())
    handle: WorkflowHandle[Any, Any] | None = None
    try:
        with MailSink(run.settings.mail_dir, port=run.settings.smtp_port):
            first = run.spawn("--in-smtp-data-of", target)
            handle = await run.start({**LONG, "ack": SMTP_ACK_SECONDS})
            # At once, not after the alerts: the deadline runs from the start of alerting.
            await asyncio.gather(*(handle.execute_update(*ack(p)) for p in PARTNERS[:-1]))
            await run.died(first, app)
            if run.outcome.first_worker_exit is None:
                return run.outcome
            run.spawn()
            await run.settle(handle, escalated)
            await run.observe(handle, app)
    finally:
        await run.finish(handle)
        app.close()
    return run.outcome


@pytest.fixture(scope="module")
async def outcomes(
    request: pytest.FixtureRequest,
    temporal_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, asyncio.Task[Outcome]]]:
    """Every selected case, started at once; a test awaits the one it judges."""
    selected = {
        item.callspec.params.get("kill_in", SMTP_CASE) if hasattr(item, "callspec") else SMTP_CASE
        for item in request.session.items
        if item.path == request.path
    }
    # The mid-delivery case first: it waits longest (its deadline, then a 30 s timeout).
    tasks: dict[str, asyncio.Task[Outcome]] = {}
    if SMTP_CASE in selected:
        tasks[SMTP_CASE] = asyncio.create_task(
            run_smtp_case(temporal_env, tmp_path_factory.mktemp(SMTP_CASE))
        )
    for name, case in CASES.items():
        if name in selected:
            tasks[name] = asyncio.create_task(
                run_case(temporal_env, tmp_path_factory.mktemp(name), case)
            )
    yield tasks
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)


def by_command(events: list[HistoryEntry]) -> dict[str, tuple[str, ...]]:
    groups: dict[str, list[str]] = {}
    for entry in events:
        groups.setdefault(entry.ctx.command_id, []).append(entry.event)
    return {command_id: tuple(names) for command_id, names in groups.items()}


def deliveries_per_message(found: Outcome) -> Counter[str]:
    return Counter(d.message_id for d in found.deliveries)


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("kill_in", list(CASES))
async def test_a_worker_killed_right_after_a_commit_is_resumed_by_a_new_one_without_duplicates(
    outcomes: dict[str, asyncio.Task[Outcome]], kill_in: str
) -> None:
    case = CASES[kill_in]
    found = await outcomes[kill_in]
    assert found.first_worker_exit == -signal.SIGKILL, (
        f"the first worker did not die in {kill_in}:\n{found.log_tail}"
    )
    # The commit happened before the kill, and Temporal ran the activity again on the new worker.
    assert EVENT_OF[kill_in] in [e.event for e in found.committed_when_it_died]
    assert found.attempts.get(kill_in, 0) >= 2, found.attempts
    refusal, failure = found.update_error, found.failure
    assert refusal is None
    assert failure is None
    assert found.workflow_status == ("COMPLETED" if case.phase in FINAL_PHASES else "RUNNING")
    assert found.phase is case.phase

    # The record: exactly the events of the path, and no command applied twice. A duplicate
    # shows here even where the workflow's own view (the status query) stays right.
    assert Counter(found.names()) == Counter(case.expected)
    twice = {
        cid: names for cid, names in by_command(found.events).items() if names not in ONE_COMMAND
    }
    assert twice == {}

    # The mail: one file per message, and every delivery accounted for by the sink.
    sent = found.sent_message_ids()
    assert sorted(found.mailbox) == sorted(mail_message_id(m) for m in sent)
    deliveries = deliveries_per_message(found)
    assert set(deliveries) == {mail_message_id(m) for m in sent}
    allowed = {1, 2} if case.deliveries_in_flight else {1}
    assert set(deliveries.values()) <= allowed, deliveries


async def test_a_worker_killed_mid_smtp_delivery_delivers_the_message_twice_and_records_it_once(
    outcomes: dict[str, asyncio.Task[Outcome]],
) -> None:
    found = await outcomes[SMTP_CASE]
    target = f"{found.incident_id}.{NotificationPurpose.ESCALATION}.{EscalationStep.DEPUTY}.{LAST}"
    assert found.first_worker_exit == -signal.SIGKILL, (
        f"the first worker did not die:\n{found.log_tail}"
    )
    # Precondition: the other partners acknowledged before their deadline, so the escalation's
    # message was the only one in flight when the worker died.
    late = [e.details["late"] for e in found.events if e.event == "AlertAcknowledged"]
    assert late == [False] * (len(PARTNERS) - 1), (
        f"the acknowledgements took longer than the {SMTP_ACK_SECONDS} s deadline on this machine"
    )
    # When the worker died, the server had the message and the record did not.
    at_death = Counter(d.message_id for d in found.delivered_when_it_died)
    assert at_death[mail_message_id(target)] == 1
    assert target not in sent_message_ids(found.committed_when_it_died)
    assert found.attempts["deliver_notification"] >= 2

    # The retry on the new worker delivered it again: at least once, and here exactly twice.
    # The receiver keeps one copy (same Message-ID), and the record holds one AlertSent for it.
    deliveries = deliveries_per_message(found)
    assert deliveries[mail_message_id(target)] == 2
    assert found.mailbox.count(mail_message_id(target)) == 1
    assert found.sent_message_ids().count(target) == 1
    others = {m: n for m, n in deliveries.items() if m != mail_message_id(target)}
    assert sorted(others) == sorted(
        mail_message_id(m) for m in found.sent_message_ids() if m != target
    )
    assert set(others.values()) == {1}
    assert Counter(found.names()) == Counter(
        {"Declared": 1, "AlertSent": 5, "AlertAcknowledged": 3, "AlertEscalated": 1}
    )
