"""One partner's alert as `IncidentResponse` tracks it: state, deadlines and deliveries.

Pure state, no Temporal calls: the workflow changes it, `status()` shows it, `restored()` reads it
back after continue-as-new.
"""

from __future__ import annotations

from datetime import datetime

from contracts.messages import DeliveryTrouble, PartnerAlertStatus, PartnerProcedure
from contracts.vocabulary import AlertState, ContactChannel, EscalationStep

SETTLED = frozenset({AlertState.ACKNOWLEDGED, AlertState.UNREACHABLE})


class AlertTrack:
    """The workflow's view of one partner's alert."""

    def __init__(self, partner: PartnerProcedure) -> None:
        self.partner = partner
        self.state = AlertState.PENDING
        self.step = EscalationStep.PRIMARY
        self.alerted_at: datetime | None = None
        self.deadline_at: datetime | None = None
        self.acknowledged_at: datetime | None = None
        self.entered_at: datetime | None = None
        self.late = False
        self.seconds_to_acknowledge: float | None = None
        self.delivery_failures = 0
        self.delivered_steps: list[EscalationStep] = []
        self.trouble: dict[EscalationStep, DeliveryTrouble] = {}
        self.office_silent_steps: list[EscalationStep] = []

    @classmethod
    def restored(cls, partner: PartnerProcedure, status: PartnerAlertStatus) -> AlertTrack:
        track = cls(partner)
        track.reset_to(status)
        return track

    def reset_to(self, status: PartnerAlertStatus) -> None:
        """Take every value from `status` (after continue-as-new, or to undo a change)."""
        self.state, self.step = status.state, status.step
        self.alerted_at, self.deadline_at = status.alerted_at, status.deadline_at
        self.acknowledged_at, self.entered_at = status.acknowledged_at, status.entered_at
        self.late = status.late
        self.seconds_to_acknowledge = status.seconds_to_acknowledge
        self.delivery_failures = status.delivery_failures
        self.delivered_steps = list(status.delivered_steps)
        self.trouble = {t.step: t for t in status.delivery_trouble}
        self.office_silent_steps = list(status.office_silent_steps)

    def status(self) -> PartnerAlertStatus:
        """The query's view of this alert; `restored` reads it back after continue-as-new."""
        return PartnerAlertStatus(
            partner_id=self.partner.partner_id,
            name=self.partner.name,
            state=self.state,
            step=self.step,
            alerted_at=self.alerted_at,
            deadline_at=self.deadline_at,
            acknowledged_at=self.acknowledged_at,
            entered_at=self.entered_at,
            late=self.late,
            seconds_to_acknowledge=self.seconds_to_acknowledge,
            delivery_failures=self.delivery_failures,
            delivered_steps=list(self.delivered_steps),
            delivery_trouble=list(self.trouble.values()),
            office_silent_steps=list(self.office_silent_steps),
        )

    @property
    def settled(self) -> bool:
        return self.state in SETTLED

    def acknowledge(
        self, received_at: datetime, entered_at: datetime, late: bool, seconds: float
    ) -> None:
        """The partner answered: its ladder stops now, whatever the record is still doing."""
        self.state = AlertState.ACKNOWLEDGED
        self.acknowledged_at, self.entered_at = received_at, entered_at
        self.late, self.seconds_to_acknowledge = late, seconds
        self.trouble.clear()

    def delivery_failed(
        self, step: EscalationStep, channel: ContactChannel | None, at: datetime, detail: str
    ) -> None:
        """A delivery round for `step` failed; the first failure says since when."""
        self.delivery_failures += 1
        since = self.trouble[step].since if step in self.trouble else at
        self.trouble[step] = DeliveryTrouble(step=step, channel=channel, since=since, detail=detail)

    def delivered(self, step: EscalationStep, at: datetime) -> None:
        self.trouble.pop(step, None)
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
