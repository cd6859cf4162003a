"""The activities of `IncidentResponse` by name, with the message each takes and returns.

The workflow calls its activities by these names and the worker registers the implementations
(activities/incident.py) under the same names. So the workflow imports the contracts alone, not
the implementation and what that loads (the event store, the settings, SMTP, HTTP), and a change
there cannot reach the workflow's deterministic code.

The names are the activity types in every recorded history: renaming one breaks the replay of
the incidents that are running (tests/workflow/test_replay.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from contracts.accountability import RecordRefusalInput
from contracts.messages import (
    CloseAcutePhaseInput,
    DeclarationRecorded,
    DeliverNotificationInput,
    DeliveryReceipt,
    IncidentStepInput,
    RecordAcknowledgementInput,
    RecordAssignmentInput,
    RecordCallOffInput,
    RecordDeclarationInput,
    RecordEscalationInput,
    RecordNeedsInput,
    RecordNotificationInput,
    RecordReflectionInput,
    RecordUnreachableInput,
)
from contracts.people_counts import PeopleCountsRead, PeopleCountsRequest

InputT = TypeVar("InputT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class ActivitySpec(Generic[InputT, ResultT]):
    """One activity: its type name in Temporal, its input model, its result model.

    `result_type` is None for an activity that returns nothing. Called by name, Temporal knows
    no return annotation, so the caller passes `result_type` for the result to be decoded into
    its model rather than left a dict."""

    name: str
    input_type: type[InputT]
    result_type: type[ResultT] | None


RECORD_DECLARATION: ActivitySpec[RecordDeclarationInput, DeclarationRecorded] = ActivitySpec(
    "record_declaration", RecordDeclarationInput, DeclarationRecorded
)
DELIVER_NOTIFICATION: ActivitySpec[DeliverNotificationInput, DeliveryReceipt] = ActivitySpec(
    "deliver_notification", DeliverNotificationInput, DeliveryReceipt
)
RECORD_NOTIFICATION: ActivitySpec[RecordNotificationInput, None] = ActivitySpec(
    "record_notification", RecordNotificationInput, None
)
RECORD_ACKNOWLEDGEMENT: ActivitySpec[RecordAcknowledgementInput, None] = ActivitySpec(
    "record_acknowledgement", RecordAcknowledgementInput, None
)
RECORD_ESCALATION: ActivitySpec[RecordEscalationInput, None] = ActivitySpec(
    "record_escalation", RecordEscalationInput, None
)
RECORD_UNREACHABLE: ActivitySpec[RecordUnreachableInput, None] = ActivitySpec(
    "record_unreachable", RecordUnreachableInput, None
)
RECORD_NEEDS: ActivitySpec[RecordNeedsInput, None] = ActivitySpec(
    "record_needs", RecordNeedsInput, None
)
RECORD_ASSIGNMENT: ActivitySpec[RecordAssignmentInput, None] = ActivitySpec(
    "record_assignment", RecordAssignmentInput, None
)
RECORD_ACUTE_PHASE_CLOSED: ActivitySpec[CloseAcutePhaseInput, None] = ActivitySpec(
    "record_acute_phase_closed", CloseAcutePhaseInput, None
)
RECORD_REFLECTION_DUE: ActivitySpec[IncidentStepInput, None] = ActivitySpec(
    "record_reflection_due", IncidentStepInput, None
)
RECORD_REFLECTION: ActivitySpec[RecordReflectionInput, None] = ActivitySpec(
    "record_reflection", RecordReflectionInput, None
)
RECORD_CALL_OFF: ActivitySpec[RecordCallOffInput, None] = ActivitySpec(
    "record_call_off", RecordCallOffInput, None
)
RECORD_REFUSAL: ActivitySpec[RecordRefusalInput, None] = ActivitySpec(
    "record_refusal", RecordRefusalInput, None
)
"""An update refused on its substance (phase, remit, consent): `ActionRefused` on the incident.
The case workflow calls it too, for a referral without consent."""
READ_PEOPLE_COUNTS: ActivitySpec[PeopleCountsRequest, PeopleCountsRead] = ActivitySpec(
    "read_people_counts", PeopleCountsRequest, PeopleCountsRead
)

INCIDENT_ACTIVITIES: tuple[ActivitySpec[Any, Any], ...] = (
    RECORD_DECLARATION,
    DELIVER_NOTIFICATION,
    RECORD_NOTIFICATION,
    RECORD_ACKNOWLEDGEMENT,
    RECORD_ESCALATION,
    RECORD_UNREACHABLE,
    RECORD_NEEDS,
    RECORD_ASSIGNMENT,
    RECORD_ACUTE_PHASE_CLOSED,
    RECORD_REFLECTION_DUE,
    RECORD_REFLECTION,
    RECORD_CALL_OFF,
    RECORD_REFUSAL,
    READ_PEOPLE_COUNTS,
)
"""Every activity the workflow calls; the worker registers exactly these (tested)."""
