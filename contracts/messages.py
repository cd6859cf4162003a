"""Message models: workflow input, updates, query results and activity inputs.

One pydantic model per message, so each can grow without changing a signature. Temporal payloads
carry pseudonymous references only: partner ids and staff references, never names or contact data.
How a command travels through them: docs/architecture.md, *How a command flows*.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from contracts.agreement import PartnerId
from contracts.checks import INCIDENT_ID_PATTERN
from contracts.people_counts import PeopleCounts
from contracts.text import (
    NO_PEOPLE,
    REFLECTION_CHARS_MAX,
    REFLECTION_ITEMS_MAX,
    STAFF_REF_RULE,
    Duration,
    Location,
    Paragraph,
    Remark,
    Title,
    check_operator_staff_ref,
)
from contracts.vocabulary import (
    ActorChannel,
    AlertState,
    ContactChannel,
    EscalationStep,
    IncidentKind,
    NeedCategory,
    NotificationPurpose,
    Phase,
    Region,
)

StaffRef = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
    Field(
        description=(
            "A role or staff number, never a person's name: letters, digits and . _ : - "
            "(e.g. `lagedienst-1`, `OB-0042`, `lagedienst-nord`). Words joined by '.', '_' or "
            "a space without a digit (`max.mustermann`) read as a name and are refused; "
            "`lotse-system` is Lotse's own."
        )
    ),
]
IncidentId = Annotated[str, StringConstraints(pattern=f"^{INCIDENT_ID_PATTERN.pattern}$")]


class Message(BaseModel):
    """Base of every message: unknown fields are refused, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Internal(Message):
    """Base of activity inputs and results (the workflow's `IncidentState` is as lenient).

    They live in the histories of incidents that run for weeks, across deployments: a field
    that a newer version no longer has is ignored instead of failing the replay."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Actor(Message):
    """Who acted: a partner and a staff reference or role (not a name)."""

    partner_id: PartnerId
    staff_ref: StaffRef


class CommandContext(Message):
    """The envelope every domain command and event carries (docs/record.md, *The envelope*).

    `command_id` is made deterministically in the workflow, so a retried activity applies the
    same command once. `on_behalf_of` is set when someone records for another partner.
    """

    command_id: str = Field(min_length=1, max_length=64)
    actor: Actor
    on_behalf_of: PartnerId | None = None
    channel: ActorChannel
    business_time: AwareDatetime
    workflow_id: str | None = None
    run_id: str | None = None


# --- who acts at the boundary ---------------------------------------------------------------


def _operator_staff_ref(raw: Any) -> Any:
    """Check the staff reference before `Actor` checks its characters, so that a name with a
    space is refused as a name, not as a pattern mismatch."""
    staff_ref = raw.staff_ref if isinstance(raw, Actor) else None
    if isinstance(raw, dict):
        staff_ref = raw.get("staff_ref")
    if isinstance(staff_ref, str):
        check_operator_staff_ref(staff_ref)
    return raw


def _not_system(channel: ActorChannel) -> ActorChannel:
    if channel is ActorChannel.SYSTEM:
        raise PydanticCustomError(
            "reserved_channel",
            "'system' is reserved for Lotse's own steps; use ui, cli or phone",
        )
    return channel


OperatorActor = Annotated[
    Actor,
    BeforeValidator(_operator_staff_ref),
    Field(
        description=(
            f"Who acts: your partner id and {STAFF_REF_RULE}. `lotse-system` is reserved for "
            "Lotse's own steps."
        )
    ),
]
"""A person acting through the UI, the CLI or the phone: an `Actor` whose staff reference
reads as no name and is not Lotse's own. The plain `Actor` stays as it was, so the record's
existing entries and the workflow's own system actor still read."""

OperatorChannel = Annotated[
    ActorChannel,
    AfterValidator(_not_system),
    Field(description="How it reached Lotse: ui, cli or phone (`system` is Lotse's own)."),
]


# --- workflow input -------------------------------------------------------------------------


class DeadlineOverrides(Message):
    """Deadlines for this incident that replace the agreement's (ISO 8601 or seconds)."""

    ack: Duration | None = Field(default=None, gt=timedelta(0), le=timedelta(hours=24))
    escalation_step: Duration | None = Field(default=None, gt=timedelta(0), le=timedelta(hours=24))
    reflection_after: Duration | None = Field(default=None, gt=timedelta(0), le=timedelta(days=366))


class IncidentDeclaration(Message):
    """The operator's declaration that starts `IncidentResponse`."""

    title: Title
    kind: IncidentKind
    occurred_at: AwareDatetime
    location: Location
    region: Region
    declared_by: OperatorActor
    estimated_affected: StrictInt | None = Field(default=None, ge=0, le=1_000_000)
    deadlines: DeadlineOverrides = Field(default_factory=DeadlineOverrides)
    channel: OperatorChannel = ActorChannel.UI
    exercise: StrictBool = Field(
        default=False,
        description='An exercise ("ÜBUNG"), not a real attack: every message and view says '
        "so, and the reflection's KPIs leave it out.",
    )


# --- updates --------------------------------------------------------------------------------


class OperatorAction(Message):
    """Who performs an update and through which channel."""

    actor: OperatorActor
    channel: OperatorChannel = ActorChannel.UI


class AcknowledgeAlert(OperatorAction):
    """A partner acknowledges its alert; an operator may record it on the partner's behalf."""

    partner_id: PartnerId
    received_at: AwareDatetime | None = Field(
        default=None, description="When the acknowledgement arrived, if earlier than now."
    )


class NeedReport(Message):
    """A count of people with one need in one region."""

    category: NeedCategory
    region: Region
    count: StrictInt = Field(ge=1, le=100_000, description="How many people: a whole number.")


class ReportNeeds(OperatorAction):
    """Needs reported by the actor's partner."""

    needs: list[NeedReport] = Field(min_length=1, max_length=100)


class AssignNeedCategory(OperatorAction):
    """Give a need category to a partner whose remit covers it."""

    category: NeedCategory
    partner_id: PartnerId


class CloseAcutePhase(OperatorAction):
    """End the acute phase; the reflection is scheduled."""

    note: Remark | None = Field(default=None, description=f"Why it ends, in one line. {NO_PEOPLE}")


class RecordReflection(OperatorAction):
    """The reflection's findings and agreed measures; closes the incident."""

    findings: list[Paragraph] = Field(
        min_length=1,
        max_length=REFLECTION_ITEMS_MAX,
        description=(
            f"What the reflection found, one paragraph each (at most {REFLECTION_ITEMS_MAX}; "
            f"with the measures at most {REFLECTION_CHARS_MAX:,} characters). {NO_PEOPLE}"
        ),
    )
    measures: list[Paragraph] = Field(
        default_factory=list,
        max_length=REFLECTION_ITEMS_MAX,
        validate_default=True,
        description=(
            f"The measures agreed, one paragraph each (at most {REFLECTION_ITEMS_MAX}). {NO_PEOPLE}"
        ),
    )

    @field_validator("measures")
    @classmethod
    def _findings_and_measures_fit(cls, measures: list[str], info: ValidationInfo) -> list[str]:
        # One bound on both lists keeps the whole update far below Temporal's payload limit.
        total = sum(map(len, [*info.data.get("findings", []), *measures]))
        if total > REFLECTION_CHARS_MAX:
            raise PydanticCustomError(
                "too_long",
                "findings and measures together may hold at most {limit} characters, not {total}",
                {"limit": f"{REFLECTION_CHARS_MAX:,}", "total": f"{total:,}"},
            )
        return measures


class CallOff(OperatorAction):
    """End the incident early: a false alarm or a duplicate declaration."""

    reason: Remark = Field(description=f"Why, in one line. {NO_PEOPLE}")


class AcknowledgementResult(Message):
    partner_id: PartnerId
    acknowledged_at: datetime
    late: bool
    seconds_to_acknowledge: float
    duplicate: bool = Field(description="True when the partner had already acknowledged.")


class PhaseResult(Message):
    """What an update answers. Extra fields are ignored, so a client reading a richer result
    (an `AssignmentResult`) as a plain `PhaseResult` still works."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    phase: Phase
    duplicate: bool = Field(
        default=False,
        description="True when this update id was applied before; nothing was recorded again.",
    )


class AssignmentResult(PhaseResult):
    """What an assignment did: `replaced` is the partner that held the category before."""

    category: NeedCategory
    partner_id: PartnerId
    replaced: PartnerId | None = None


class IncidentOutcome(Message):
    """What `IncidentResponse` returns when it ends."""

    incident_id: str
    phase: Phase
    unreachable_partners: list[PartnerId]
    reason: str | None = None


# --- query ----------------------------------------------------------------------------------


class DeliveryTrouble(Message):
    """A message of one escalation step that has not reached its contact yet; Lotse keeps
    retrying it with growing pauses until it arrives or the partner answers."""

    step: EscalationStep
    channel: ContactChannel | None = None
    since: datetime
    detail: str = ""


class PartnerAlertStatus(Message):
    partner_id: PartnerId
    name: str
    state: AlertState
    step: EscalationStep
    alerted_at: datetime | None = Field(
        default=None, description="When the first message reached one of its contacts."
    )
    deadline_at: datetime | None = None
    acknowledged_at: datetime | None = Field(
        default=None, description="When the acknowledgement arrived (as received, e.g. by phone)."
    )
    entered_at: datetime | None = Field(
        default=None, description="When the acknowledgement was entered into Lotse."
    )
    late: bool = False
    seconds_to_acknowledge: float | None = None
    delivery_failures: int = Field(default=0, description="Failed delivery rounds, all steps.")
    delivered_steps: list[EscalationStep] = Field(default_factory=list)
    delivery_trouble: list[DeliveryTrouble] = Field(default_factory=list)
    office_silent_steps: list[EscalationStep] = Field(
        default_factory=list,
        description="Steps that went to the final escalation contact because the "
        "Commissioner's office was silent itself; their retries and all-clear go there too.",
    )


class NeedTotal(Message):
    category: NeedCategory
    count: int
    by_region: dict[Region, int]
    assigned_to: PartnerId | None = None


class IncidentStatus(Message):
    """What the `status` query returns."""

    incident_id: str
    title: str
    kind: IncidentKind
    region: Region
    phase: Phase
    agreement_version: int | None = Field(
        description="Internal: the record's version of the agreement aggregate (for replay)."
    )
    agreement_revision: int | None = Field(
        default=None, description="The agreement's version as people count it (1, 2, …)."
    )
    partners: list[PartnerAlertStatus]
    needs: list[NeedTotal]
    open_items: list[str]
    reflection_due_at: datetime | None = None
    exercise: bool = Field(default=False, description="An exercise (ÜBUNG), not a real attack.")
    people: PeopleCounts | None = Field(
        default=None,
        description="The incident's people as the workflow last read them from the record "
        "(while coordinating); `lotse incident status` reads them afresh.",
    )


# --- activities -----------------------------------------------------------------------------


class PartnerProcedure(Internal):
    """What the workflow needs to know of a partner (no contact data)."""

    partner_id: PartnerId
    name: str
    categories: list[NeedCategory]
    ack_deadline: timedelta


class DeliveryPolicy(Internal):
    """How hard a notification is retried before its failure is recorded."""

    max_attempts: int = Field(ge=1, le=20)
    initial_interval: timedelta
    maximum_interval: timedelta


class RecordDeclarationInput(Internal):
    ctx: CommandContext
    incident_id: IncidentId
    declaration: IncidentDeclaration


class DeclarationRecorded(Internal):
    agreement_version: int
    agreement_revision: int | None = Field(
        default=None, description="The agreement's version as people count it (1, 2, …)."
    )
    partners: list[PartnerProcedure]
    escalation_step: timedelta
    delivery: DeliveryPolicy


class DeliverNotificationInput(Internal):
    """Send one message about one incident to one partner's contact point at one step."""

    incident_id: IncidentId
    partner_id: PartnerId
    purpose: NotificationPurpose
    step: EscalationStep
    message_id: str
    sent_at: AwareDatetime
    unanswered_since: AwareDatetime | None = Field(
        default=None,
        description="For an escalation: since when the partner's alert has gone unanswered.",
    )
    office_silent: bool = Field(
        default=False,
        description="The Commissioner's office has not acknowledged its own alert: a last step "
        "that would go to it goes to the agreement's final escalation contact instead.",
    )


class DeliveryReceipt(Internal):
    """That a message went out, over which channel (the address stays out of Temporal)."""

    channel: ContactChannel
    message_id: str


class RecordNotificationInput(Internal):
    ctx: CommandContext
    incident_id: IncidentId
    partner_id: PartnerId
    purpose: NotificationPurpose
    step: EscalationStep
    message_id: str
    channel: ContactChannel | None
    delivered: bool
    detail: str = ""
    office_silent: bool = False


class RecordAcknowledgementInput(Internal):
    ctx: CommandContext
    incident_id: IncidentId
    partner_id: PartnerId
    late: bool
    seconds_to_acknowledge: float
    received_at: AwareDatetime | None = Field(
        default=None, description="When it arrived; the context's business time is when entered."
    )


class RecordEscalationInput(Internal):
    ctx: CommandContext
    incident_id: IncidentId
    partner_id: PartnerId
    to_step: EscalationStep


class RecordUnreachableInput(Internal):
    ctx: CommandContext
    incident_id: IncidentId
    partner_id: PartnerId


class RecordNeedsInput(Internal):
    ctx: CommandContext
    incident_id: IncidentId
    needs: list[NeedReport]


class RecordAssignmentInput(Internal):
    ctx: CommandContext
    incident_id: IncidentId
    category: NeedCategory
    partner_id: PartnerId


class CloseAcutePhaseInput(Internal):
    ctx: CommandContext
    incident_id: IncidentId
    note: str | None = None
    reflection_due_at: AwareDatetime


class IncidentStepInput(Internal):
    """A step that needs nothing but its context: the reflection has become due."""

    ctx: CommandContext
    incident_id: IncidentId


class RecordReflectionInput(Internal):
    ctx: CommandContext
    incident_id: IncidentId
    findings: list[str]
    measures: list[str]


class RecordCallOffInput(Internal):
    ctx: CommandContext
    incident_id: IncidentId
    reason: str
