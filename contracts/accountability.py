"""What makes auditors and refused actors accountable (issue #9, point 6): the messages of a
refusal recorded by a workflow and of an audit read recorded by the CLI.

A refusal on substance — an action the procedure does not allow in the incident's phase, a need
category outside the partner's remit, a referral without the person's consent — is recorded as
`ActionRefused` with who tried what and why. A refusal of form (a field that does not parse, a
time in the future, an unknown partner) stays an early refusal that writes nothing.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from contracts.messages import CommandContext, IncidentId, Internal, Message


class RefusalKind(StrEnum):
    """Why the domain refused an action on its substance."""

    WRONG_PHASE = "wrong-phase"
    OUTSIDE_REMIT = "outside-remit"
    CONSENT_MISSING = "consent-missing"


class RecordRefusalInput(Internal):
    """Record that `action` (the update's name) was refused; `person_ref` for a case's action."""

    ctx: CommandContext
    incident_id: IncidentId
    action: str
    kind: RefusalKind
    reason: str
    person_ref: str | None = None


class AuditCommand(StrEnum):
    """The audit commands whose reads are recorded."""

    VERIFY = "verify"
    REPLAY = "replay"
    TIMELINE = "timeline"
    REPORT = "report"


class AuditReadRequest(Message):
    """What an auditor reads: the command, the incident (None for the whole record, as
    `lotse audit verify` reads it), the options that narrow it, the output format."""

    command: AuditCommand
    incident_key: str | None = None
    options: dict[str, str] = Field(default_factory=dict)
    output_format: str
