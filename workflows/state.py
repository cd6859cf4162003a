"""The state of one incident as `IncidentResponse` keeps it.

One pydantic model, `IncidentState`, which is also exactly what a run hands to the next on
continue-as-new: nothing is copied field by field on the way out or back in. It exists once the
declaration is recorded; before that the workflow has only the declaration.

Pure: no Temporal calls, no clock (times are passed in), so every change is tested without a
server. The field names are those of the earlier carry-over model, so that an incident that
continued as new under an earlier version is read back unchanged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.agreement import PartnerId
from contracts.messages import (
    AcknowledgementResult,
    DeclarationRecorded,
    DeliveryTrouble,
    IncidentDeclaration,
    IncidentStatus,
    NeedReport,
    NeedTotal,
    PartnerAlertStatus,
    PartnerProcedure,
)
from contracts.vocabulary import (
    FINAL_PHASES,
    AlertState,
    ContactChannel,
    EscalationStep,
    NeedCategory,
    Phase,
)
from workflows import details

SETTLED = frozenset({AlertState.ACKNOWLEDGED, AlertState.UNREACHABLE})
DEFAULT_REFLECTION_AFTER = timedelta(weeks=6)
REMEMBERED_UPDATES = 500
"""Update ids kept for repeats across continue-as-new (Temporal deduplicates within one run)."""


class AlertTrack(PartnerAlertStatus):
    """One partner's alert: what the status query shows, and the changes the procedure makes."""

    model_config = ConfigDict(extra="ignore", frozen=False)

    @classmethod
    def pending(cls, partner: PartnerProcedure) -> AlertTrack:
        return cls(
            partner_id=partner.partner_id,
            name=partner.name,
            state=AlertState.PENDING,
            step=EscalationStep.PRIMARY,
        )

    @property
    def settled(self) -> bool:
        return self.state in SETTLED

    def acknowledgement(self, duplicate: bool) -> AcknowledgementResult:
        """What `acknowledge_alert` answers once this alert is acknowledged."""
        assert self.acknowledged_at is not None  # set with the state ACKNOWLEDGED
        assert self.seconds_to_acknowledge is not None
        return AcknowledgementResult(
            partner_id=self.partner_id,
            acknowledged_at=self.acknowledged_at,
            late=self.late,
            seconds_to_acknowledge=self.seconds_to_acknowledge,
            duplicate=duplicate,
        )

    def reset_to(self, earlier: AlertTrack) -> None:
        """Take back every value of `earlier` in place (the ladder holds this very object)."""
        for name in type(self).model_fields:
            setattr(self, name, getattr(earlier, name))

    def trouble_at(self, step: EscalationStep) -> DeliveryTrouble | None:
        return next((t for t in self.delivery_trouble if t.step is step), None)

    def escalate(self, step: EscalationStep) -> None:
        self.state, self.step = AlertState.ESCALATED, step

    def acknowledge(
        self, received_at: datetime, entered_at: datetime, late: bool, seconds: float
    ) -> None:
        """The partner answered: its ladder stops now, whatever the record is still doing."""
        self.state = AlertState.ACKNOWLEDGED
        self.acknowledged_at, self.entered_at = received_at, entered_at
        self.late, self.seconds_to_acknowledge = late, seconds
        self.delivery_trouble = []

    def delivery_failed(
        self, step: EscalationStep, channel: ContactChannel | None, at: datetime, detail: str
    ) -> None:
        """A delivery round for `step` failed; the first failure says since when."""
        self.delivery_failures += 1
        earlier = self.trouble_at(step)
        trouble = DeliveryTrouble(
            step=step, channel=channel, since=earlier.since if earlier else at, detail=detail
        )
        self.delivery_trouble = [*(t for t in self.delivery_trouble if t.step is not step), trouble]

    def delivered(self, step: EscalationStep, at: datetime) -> None:
        self.delivery_trouble = [t for t in self.delivery_trouble if t.step is not step]
        if step not in self.delivered_steps:
            self.delivered_steps.append(step)
        if self.alerted_at is None:
            self.alerted_at = at
        if self.state is AlertState.UNDELIVERABLE:
            primary = self.step is EscalationStep.PRIMARY
            self.state = AlertState.PENDING if primary else AlertState.ESCALATED

    def extend_deadline(self, until: datetime) -> None:
        """A contact reached later gets its own time to answer; a deadline never moves earlier."""
        if self.deadline_at is None or until > self.deadline_at:
            self.deadline_at = until


class IncidentState(BaseModel):
    """Everything the procedure knows of one incident once its declaration is recorded."""

    model_config = ConfigDict(extra="ignore")

    declaration: IncidentDeclaration
    recorded: DeclarationRecorded
    phase: Phase = Phase.ALERTING
    alerting_started_at: AwareDatetime
    partners: list[AlertTrack]
    needs: list[NeedTotal] = Field(
        default_factory=list,
        description="Per category: counts by region and the partner it is assigned to.",
    )
    reflection_due_at: AwareDatetime | None = None
    call_off_reason: str | None = None
    applied_update_ids: list[str] = Field(
        default_factory=list,
        description="Recent update ids (newest last): a repeat after continue-as-new, which "
        "Temporal no longer deduplicates, changes nothing.",
    )
    record_damage: str | None = Field(
        default=None,
        description="Why the incident's record could not be read, as the store said it when "
        "a step last met it (stream and version); None while the record is readable.",
    )

    @classmethod
    def declared(
        cls, declaration: IncidentDeclaration, recorded: DeclarationRecorded, at: datetime
    ) -> IncidentState:
        """The state right after the declaration is recorded: every partner about to be alerted."""
        return cls(
            declaration=declaration,
            recorded=recorded,
            alerting_started_at=at,
            partners=[AlertTrack.pending(p) for p in recorded.partners],
        )

    # --- what the procedure asks ------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.phase in FINAL_PHASES

    def done(self, track: AlertTrack) -> bool:
        """Nothing more to do for this alert: answered, given up, or the incident is over."""
        return track.settled or self.ended

    def track(self, partner_id: str) -> AlertTrack:
        return next(t for t in self.partners if t.partner_id == partner_id)

    def has_partner(self, partner_id: str) -> bool:
        return any(t.partner_id == partner_id for t in self.partners)

    @property
    def partner_ids(self) -> list[PartnerId]:
        return [t.partner_id for t in self.partners]

    def procedure(self, partner_id: str) -> PartnerProcedure:
        return next(p for p in self.recorded.partners if p.partner_id == partner_id)

    def ack_deadline(self, partner_id: str) -> timedelta:
        return self.declaration.deadlines.ack or self.procedure(partner_id).ack_deadline

    @property
    def escalation_step(self) -> timedelta:
        return self.declaration.deadlines.escalation_step or self.recorded.escalation_step

    @property
    def reflection_after(self) -> timedelta:
        return self.declaration.deadlines.reflection_after or DEFAULT_REFLECTION_AFTER

    def assigned_to(self, category: NeedCategory) -> str | None:
        total = self._total(category)
        return total.assigned_to if total else None

    @property
    def unreachable_partners(self) -> list[PartnerId]:
        return [t.partner_id for t in self.partners if t.state is AlertState.UNREACHABLE]

    def has_applied(self, update_id: str) -> bool:
        return update_id in self.applied_update_ids

    # --- what the procedure changes ---------------------------------------------------------

    def add_needs(self, reports: list[NeedReport]) -> None:
        for report in reports:
            total = self._total(report.category) or NeedTotal(
                category=report.category, count=0, by_region={}
            )
            by_region = dict(total.by_region)
            by_region[report.region] = by_region.get(report.region, 0) + report.count
            self._put(
                total.model_copy(update={"count": sum(by_region.values()), "by_region": by_region})
            )

    def assign(self, category: NeedCategory, partner_id: str) -> None:
        total = self._total(category) or NeedTotal(category=category, count=0, by_region={})
        self._put(total.model_copy(update={"assigned_to": partner_id}))

    def note_damage(self, message: str) -> None:
        """The record of the incident cannot be read: shown as an open item from now on."""
        self.record_damage = message

    def remember_update(self, update_id: str) -> None:
        self.applied_update_ids = [*self.applied_update_ids, update_id][-REMEMBERED_UPDATES:]

    # --- what people see --------------------------------------------------------------------

    def status(self, incident_id: str) -> IncidentStatus:
        partners = [PartnerAlertStatus(**t.model_dump()) for t in self.partners]
        # Categories with people first, then those only assigned so far.
        needs = sorted(self.needs, key=lambda total: total.count == 0)
        return IncidentStatus(
            incident_id=incident_id,
            title=self.declaration.title,
            kind=self.declaration.kind,
            region=self.declaration.region,
            phase=self.phase,
            agreement_version=self.recorded.agreement_version,
            agreement_revision=self.recorded.agreement_revision,
            partners=partners,
            needs=needs,
            open_items=details.open_items(
                self.phase, partners, needs, self.reflection_due_at, self.record_damage
            ),
            reflection_due_at=self.reflection_due_at,
            exercise=self.declaration.exercise,
        )

    def _total(self, category: NeedCategory) -> NeedTotal | None:
        return next((n for n in self.needs if n.category is category), None)

    def _put(self, total: NeedTotal) -> None:
        """Replace the category's total, keeping the order in which categories first came."""
        if self._total(total.category) is None:
            self.needs.append(total)
        else:
            self.needs = [total if n.category is total.category else n for n in self.needs]


def status_before_recorded(declaration: IncidentDeclaration, incident_id: str) -> IncidentStatus:
    """The status while the declaration is read but not yet recorded: no partners yet."""
    return IncidentStatus(
        incident_id=incident_id,
        title=declaration.title,
        kind=declaration.kind,
        region=declaration.region,
        phase=Phase.ALERTING,
        agreement_version=None,
        partners=[],
        needs=[],
        open_items=details.open_items(Phase.ALERTING, [], [], None),
        exercise=declaration.exercise,
    )
