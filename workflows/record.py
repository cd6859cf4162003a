"""How `IncidentResponse` writes to the record: the context of each command and the call of
the activity that stores it.

A command's context says who acted, on whose behalf, over which channel, at what business time,
caused by which workflow run, and carries the command id that makes a repeat change nothing.

Storing is local work (a few milliseconds against the worker's own store), so it runs as a
local activity: no round trip through the Temporal server and one history event instead of
three. Runs that began before this change keep ordinary activities until they end or continue
as new (`workflow.patched`), so their histories replay unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeGuard, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.accountability import RecordRefusalInput, RefusalKind
    from contracts.activities import RECORD_REFUSAL, ActivitySpec
    from contracts.messages import Actor, CommandContext
    from contracts.text import SYSTEM_STAFF_REF
    from contracts.vocabulary import DAMAGED_RECORD, ActorChannel

InputT = TypeVar("InputT")
ResultT = TypeVar("ResultT")

RECORD_TIMEOUT = timedelta(seconds=10)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
LOCAL_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=1),
    maximum_attempts=3,
)
"""Quick attempts of a local store activity before it waits for the store as an ordinary one."""
RECORD_LOCALLY = "record-as-local-activity"
"""Patch id: from this change on, the store activities run as local activities."""
WAIT_FOR_STORE = "record-waits-after-local-attempts"
"""Patch id: from this change on, a store that failed the local attempts with an error that is
not a refusal is waited for in an ordinary activity (before, the update failed)."""
UPDATE_COMMANDS = uuid.UUID("5f1d1c55-7c2b-4f7a-9a43-0b8f3c1d2e6a")
"""Namespace of the command ids made from Temporal update ids (uuid5): the same update id always
gives the same command id, so the record applies a repeated update once."""
REFUSAL_COMMANDS = uuid.UUID("a3c9e1f4-5b7d-4e2a-8c6f-1d0b9e7a4c25")
"""Namespace of the command ids of recorded refusals (uuid5 of the refused command's id): a
refusal never takes the command id of the update itself, which a later attempt may apply."""
RECORD_REFUSALS = "record-refusals"
"""Patch id: from this change on, an update refused on its substance in its handler is recorded
(`ActionRefused`) before it fails. Histories in which a handler refused without recording replay
unchanged."""
STEP_COMMANDS = uuid.UUID("0d6f3a8e-2b1c-4e57-8f0a-6c9d2e4b7a13")
"""Namespace of the command ids of the procedure's own steps (uuid5 of incident id and step)."""


async def record(spec: ActivitySpec[InputT, ResultT], data: InputT) -> ResultT | None:
    """Store one command; a domain refusal surfaces as a typed, final ApplicationError.

    First as a local activity with a few quick attempts. A store that does not answer them is
    then waited for in an ordinary activity, retried with growing pauses until it is back: its
    retries leave no trace in the history, where a local activity would keep the workflow task
    open and add events every few seconds for as long as the outage lasts."""
    options: dict[str, Any] = {
        "result_type": spec.result_type,
        "start_to_close_timeout": RECORD_TIMEOUT,
        "summary": _summary(data),
    }
    try:
        if workflow.patched(RECORD_LOCALLY):
            try:
                result: ResultT | None = await workflow.execute_local_activity(
                    spec.name, data, retry_policy=LOCAL_RETRY, **options
                )
                return result
            except ActivityError as error:
                if _refused(error):
                    raise
            except ApplicationError as error:
                # A local activity's last failure reaches the workflow as the activity's own
                # error, not wrapped in an ActivityError. Before WAIT_FOR_STORE it was raised,
                # so an outage of the store failed the update after the quick attempts.
                if error.non_retryable or not workflow.patched(WAIT_FOR_STORE):
                    raise
        result = await workflow.execute_activity(
            spec.name, data, retry_policy=RECORD_RETRY, **options
        )
    except ActivityError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError) and _refused(error):
            raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from None
        raise
    return result


async def record_step(
    spec: ActivitySpec[InputT, ResultT], data: InputT, noted: Callable[[str], None]
) -> ResultT | None:
    """Store a step the procedure takes by itself (an alert sent, an escalation). When the
    record cannot be read (`DamagedRecord`), `noted` gets the store's message and the
    procedure goes on without this entry: the alerts must still reach people, and waiting
    would not repair the record."""
    try:
        return await record(spec, data)
    except ApplicationError as error:
        if not damaged(error):
            raise
        noted(error.message)
        return None


async def record_refusal(
    incident_id: str,
    kind: RefusalKind,
    reason: str,
    ctx: CommandContext,
    noted: Callable[[str], None],
    person_ref: str | None = None,
) -> None:
    """Record that the current update was refused on its substance, with its actor and reason,
    before the handler fails it. A damaged record is `noted` and the refusal goes on."""
    info = workflow.current_update_info()
    assert info is not None  # only called from update handlers
    if not workflow.patched(RECORD_REFUSALS):
        return
    command_id = f"refused-{uuid.uuid5(REFUSAL_COMMANDS, ctx.command_id)}"
    await record_step(
        RECORD_REFUSAL,
        RecordRefusalInput(
            ctx=ctx.model_copy(update={"command_id": command_id}),
            incident_id=incident_id,
            action=info.name,
            kind=kind,
            reason=reason,
            person_ref=person_ref,
        ),
        noted,
    )


def damaged(error: BaseException | None) -> TypeGuard[ApplicationError]:
    """Whether `error` says the record cannot be read (final; the message names where)."""
    return isinstance(error, ApplicationError) and error.type == DAMAGED_RECORD


def _refused(error: ActivityError) -> bool:
    """Whether the record refused the command (a domain error, final) rather than failed."""
    return isinstance(error.cause, ApplicationError) and error.cause.non_retryable


def context(
    actor: Actor, channel: ActorChannel, command_id: str, for_partner: str | None = None
) -> CommandContext:
    """The context of a command taken now, in this run."""
    info = workflow.info()
    return CommandContext(
        command_id=command_id,
        actor=actor,
        on_behalf_of=for_partner if for_partner and for_partner != actor.partner_id else None,
        channel=channel,
        business_time=workflow.now(),
        workflow_id=info.workflow_id,
        run_id=info.run_id,
    )


def update_context(
    actor: Actor, channel: ActorChannel, for_partner: str | None = None
) -> CommandContext:
    """The context of an update, taken when it is accepted: its time is the time it arrived,
    and its command id follows from the update id, so a repeat is applied once."""
    info = workflow.current_update_info()
    assert info is not None  # only called from update handlers
    command_id = f"update-{uuid.uuid5(UPDATE_COMMANDS, info.id)}"
    return context(actor, channel, command_id, for_partner)


def step_context(actor: Actor, channel: ActorChannel, step: str) -> CommandContext:
    """The context of a step of the procedure itself (`escalation/weisser-ring/deputy`).

    Its command id follows from the step, not from the order in which the workflow's coroutines
    happened to run: a store activity run again after its worker died — a local activity is run
    again by the workflow task that follows, which may see more timers fired — carries the same
    id, so the record applies it once."""
    key = f"{workflow.info().workflow_id}/{step}"
    return context(actor, channel, f"step-{uuid.uuid5(STEP_COMMANDS, key)}")


def system_context(declarer: Actor, step: str) -> CommandContext:
    """A step Lotse takes by itself, in the name of the declaring partner."""
    system = Actor(partner_id=declarer.partner_id, staff_ref=SYSTEM_STAFF_REF)
    return step_context(system, ActorChannel.SYSTEM, step)


def _summary(data: Any) -> str | None:
    """What the UI's timeline shows beside a store activity's name: the partner, if any."""
    partner_id = getattr(data, "partner_id", None)
    return str(partner_id) if partner_id else None
