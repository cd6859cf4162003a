"""The regular exchange ("regelmäßig fachlich austauschen") as aggregates: meetings and measures.

`ExchangeMeeting` is one meeting of the partners: scheduled under the agreement in force, its
invitations, its minutes (attendees as partner ids and staff references, topics, the keys of the
measures agreed). `Measure` is one tracked measure, agreed in a meeting or taken over from an
incident's reflection: its text, owner, due date, reminders and whether it is done.

Ids are uuid5 of natural keys (`exchange-20270112`, `exchange-20270112/m1`,
`20261128-1705-dresden/r1`); every event carries the `CommandContext` envelope and a command id
that was applied before changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from contracts.messages import Actor, CommandContext
from domain import ids
from domain.errors import DomainError, NotFoundError


class MeetingNotFoundError(NotFoundError):
    """A meeting key that was never recorded."""


class MeasureNotFoundError(NotFoundError):
    """A measure key that names no recorded measure (nor a reflection's measure)."""


class MeetingRefusedError(DomainError):
    """A step that does not fit the meeting: minutes twice, a key used by another run."""


class MeasureRefusedError(DomainError):
    """A step that does not fit the measure: done by someone else, assigned after it is done."""


class ExchangeMeeting(Aggregate):
    """One exchange meeting under one version of the agreement."""

    @staticmethod
    def create_id(meeting_key: str) -> Any:
        return ids.meeting_id(meeting_key)

    @event("Scheduled")
    def __init__(
        self,
        meeting_key: str,
        agreement_key: str,
        agreement_version: int,
        partner_ids: list[str],
        held_at: datetime,
        ctx: CommandContext,
    ) -> None:
        self.meeting_key = meeting_key
        self.agreement_key = agreement_key
        self.agreement_version = agreement_version
        self.partner_ids = list(partner_ids)
        self.held_at = held_at
        self.workflow_id = ctx.workflow_id
        self.invitations: dict[str, bool] = {}
        self.attendees: list[Actor] = []
        self.topics: list[str] = []
        self.measure_keys: list[str] = []
        self.minutes_at: datetime | None = None
        self.command_ids = {ctx.command_id}

    def has_applied(self, ctx: CommandContext) -> bool:
        return ctx.command_id in self.command_ids

    # --- commands -------------------------------------------------------------------------

    def record_invitation(
        self,
        partner_id: str,
        message_id: str,
        channel: str,
        delivered: bool,
        detail: str,
        ctx: CommandContext,
    ) -> None:
        self._check_partner(partner_id)
        self._invitation_sent(
            partner_id=partner_id,
            message_id=message_id,
            channel=channel,
            delivered=delivered,
            detail=detail,
            ctx=ctx,
        )

    def record_minutes(
        self,
        attendees: list[Actor],
        topics: list[str],
        measure_keys: list[str],
        ctx: CommandContext,
    ) -> None:
        """Minutes are recorded once; the checks of their content are `minutes_problems`'."""
        if self.minutes_at is not None:
            raise MeetingRefusedError(
                f"the minutes of {self.meeting_key} were already recorded; nothing recorded again"
            )
        for attendee in attendees:
            self._check_partner(attendee.partner_id)
        self._minutes_recorded(
            attendees=attendees, topics=topics, measure_keys=measure_keys, ctx=ctx
        )

    def _check_partner(self, partner_id: str) -> None:
        if partner_id not in self.partner_ids:
            known = ", ".join(sorted(self.partner_ids))
            raise MeetingRefusedError(
                f"'{partner_id}' is not a partner of this meeting's agreement ({known})"
            )

    # --- events ---------------------------------------------------------------------------

    @event("InvitationSent")
    def _invitation_sent(
        self,
        partner_id: str,
        message_id: str,
        channel: str,
        delivered: bool,
        detail: str,
        ctx: CommandContext,
    ) -> None:
        self.invitations[partner_id] = delivered
        self.command_ids.add(ctx.command_id)

    @event("MinutesRecorded")
    def _minutes_recorded(
        self,
        attendees: list[Actor],
        topics: list[str],
        measure_keys: list[str],
        ctx: CommandContext,
    ) -> None:
        self.attendees = list(attendees)
        self.topics = list(topics)
        self.measure_keys = list(measure_keys)
        self.minutes_at = ctx.business_time
        self.command_ids.add(ctx.command_id)


class Measure(Aggregate):
    """One tracked measure: open until its owner (or the Commissioner's office) marks it done.

    `due_on` is an ISO date (`2027-03-31`); owner and due date are None for a reflection's
    measure until `assign` gives them."""

    @staticmethod
    def create_id(measure_key: str) -> Any:
        return ids.measure_id(measure_key)

    @event("Agreed")
    def __init__(
        self,
        measure_key: str,
        text: str,
        source: str,
        source_key: str,
        owner: str | None,
        due_on: str | None,
        ctx: CommandContext,
    ) -> None:
        self.measure_key = measure_key
        self.text = text
        self.source = source
        self.source_key = source_key
        self.owner = owner
        self.due_on = due_on
        self.agreed_at = ctx.business_time
        self.done_at: datetime | None = None
        self.done_by: Actor | None = None
        self.reminders = 0
        self.last_reminded_at: datetime | None = None
        self.command_ids = {ctx.command_id}

    def has_applied(self, ctx: CommandContext) -> bool:
        return ctx.command_id in self.command_ids

    @property
    def due_date(self) -> date | None:
        return None if self.due_on is None else date.fromisoformat(self.due_on)

    @property
    def done(self) -> bool:
        return self.done_at is not None

    # --- commands -------------------------------------------------------------------------

    def assign(self, owner: str, due_on: date, ctx: CommandContext) -> None:
        """Give the measure an owner and a due date; the same again changes nothing."""
        self._check_open("assigned")
        if self.owner == owner and self.due_on == due_on.isoformat():
            return
        self._assigned(owner=owner, due_on=due_on.isoformat(), ctx=ctx)

    def remind(self, number: int, partner_ids: list[str], ctx: CommandContext) -> None:
        """Record the `number`-th reminder; one recorded before, or a done measure, is left."""
        if self.done or number <= self.reminders:
            return
        self._reminder_sent(number=number, partner_ids=partner_ids, ctx=ctx)

    def complete(self, note: str | None, ctx: CommandContext) -> None:
        """Mark the measure done; only its owner or the Commissioner's office may, and a
        measure done before stays as it was (the caller says so)."""
        if self.done:
            return
        self._completed(note=note, ctx=ctx)

    def _check_open(self, step: str) -> None:
        if self.done:
            raise MeasureRefusedError(
                f"measure {self.measure_key} is done; it cannot be {step} any more"
            )

    # --- events ---------------------------------------------------------------------------

    @event("Assigned")
    def _assigned(self, owner: str, due_on: str, ctx: CommandContext) -> None:
        self.owner = owner
        self.due_on = due_on
        self.command_ids.add(ctx.command_id)

    @event("ReminderSent")
    def _reminder_sent(self, number: int, partner_ids: list[str], ctx: CommandContext) -> None:
        self.reminders = number
        self.last_reminded_at = ctx.business_time
        self.command_ids.add(ctx.command_id)

    @event("Done")
    def _completed(self, note: str | None, ctx: CommandContext) -> None:
        self.done_at = ctx.business_time
        self.done_by = ctx.actor
        self.command_ids.add(ctx.command_id)
