"""The application's commands and queries of the regular exchange (a mixin of `LotseApplication`).

Meetings and measures are small aggregates; each command is get → command → save under a lock
of its own (`_run_command`), so a repeated command id changes nothing and a lost race is tried
again. The measures of a meeting are written with its minutes in one transaction.

A reflection's measures (the `measures` of an incident's `ReflectionRecorded`, which stays as it
was recorded) are listed as `<incident>/r<n>` from the moment the reflection is recorded, without
owner or due date; `assign_measure` (`lotse measures assign`) makes one a tracked `Measure` with
both. Only a measure with both is reminded of.

A damaged stream (domain/damage.py) of a meeting, a measure or an incident is named where it is
read (`DamagedRecordError`); the lists read on past it: `measure_listing` gives the measures it
could read and the damage it met, and an event that names no key (its state does not decode) is
left out of `meeting_keys` (`lotse audit verify` names its stream).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import EventStore
from eventsourcing.utils import get_topic
from pydantic import BaseModel, ConfigDict

from contracts.exchange import MEASURE_KEY, RecordMinutes
from contracts.messages import Actor, CommandContext
from contracts.vocabulary import COMMISSIONER_PARTNER_ID
from domain import ids
from domain.damage import in_order, naming
from domain.errors import DamagedRecordError
from domain.exchange import (
    ExchangeMeeting,
    Measure,
    MeasureNotFoundError,
    MeasureRefusedError,
    MeetingNotFoundError,
    MeetingRefusedError,
)
from domain.history import HistoryEntry, history_entry
from domain.incident import Incident

if TYPE_CHECKING:
    from domain.agreement import Agreement

MEETING = "meeting"
REFLECTION = "reflection"


class MeasureView(BaseModel):
    """One measure as `lotse measures list` shows it: tracked, or a reflection's not yet
    assigned (`tracked` False: no owner, no due date)."""

    model_config = ConfigDict(frozen=True)

    measure_key: str
    text: str
    source: str
    source_key: str
    owner: str | None
    due_on: date | None
    done_at: datetime | None
    reminders: int
    tracked: bool

    def overdue(self, today: date) -> bool:
        return self.done_at is None and self.due_on is not None and self.due_on < today


class ExchangeMixin:
    """Meetings and measures. Needs the application's repository, lock table, notifications,
    `_run_command` and the incident and agreement queries."""

    if TYPE_CHECKING:
        repository: Repository[UUID]
        events: EventStore[UUID]

        def save(self, *objs: Any) -> Any: ...
        def agreement(self, agreement_key: str, version: int | None = None) -> Agreement: ...
        def incident(self, incident_key: str, version: int | None = None) -> Incident: ...
        def agreement_of(self, incident: Incident) -> Agreement: ...
        def incident_keys(self) -> list[str]: ...
        def _notifications(self, topics: list[str]) -> Iterator[Any]: ...
        def _incident_lock(self, incident_key: str) -> threading.Lock: ...
        def _run_command(
            self,
            lock: threading.Lock,
            kept: Callable[[], Any],
            ctx: CommandContext,
            command: Callable[[Any], None],
        ) -> Any: ...

        @property
        def mapper(self) -> Any: ...

    # --- meetings -------------------------------------------------------------------------

    def schedule_meeting(
        self, meeting_key: str, agreement_key: str, held_at: datetime, ctx: CommandContext
    ) -> ExchangeMeeting:
        """Record a meeting with the partners of the agreement in force; a repeat of the same
        command returns the first, another run under the same key is refused."""
        try:
            existing = self.meeting(meeting_key)
        except MeetingNotFoundError:
            pass
        else:
            if existing.has_applied(ctx):
                return existing
            raise MeetingRefusedError(
                f"meeting {meeting_key} was already scheduled by {existing.workflow_id}"
            )
        agreement = self.agreement(agreement_key)
        meeting = ExchangeMeeting(
            meeting_key=meeting_key,
            agreement_key=agreement_key,
            agreement_version=agreement.version,
            partner_ids=list(agreement.partners),
            held_at=held_at,
            ctx=ctx,
        )
        self.save(meeting)
        return meeting

    def meeting(self, meeting_key: str) -> ExchangeMeeting:
        """The meeting now (a copy)."""
        try:
            with naming(f"exchange meeting '{meeting_key}'"):
                found: object = self.repository.get(ids.meeting_id(meeting_key))
        except AggregateNotFoundError:
            raise MeetingNotFoundError(f"no exchange meeting '{meeting_key}' is recorded") from None
        if not isinstance(found, ExchangeMeeting):
            raise TypeError(f"aggregate for meeting '{meeting_key}' is a {type(found)}")
        return found

    def meeting_keys(self) -> list[str]:
        """The keys of every recorded meeting, oldest first."""
        topic = get_topic(ExchangeMeeting.Scheduled)  # type: ignore[attr-defined]  # made by @event
        return self._keys(topic, "meeting_key")[0]

    def meeting_agreement(self, meeting: ExchangeMeeting) -> Agreement:
        """The agreement as it was when the meeting was scheduled."""
        return self.agreement(meeting.agreement_key, meeting.agreement_version)

    def record_invitation(
        self,
        meeting_key: str,
        partner_id: str,
        message_id: str,
        channel: str,
        delivered: bool,
        detail: str,
        ctx: CommandContext,
    ) -> ExchangeMeeting:
        def invite(meeting: ExchangeMeeting) -> None:
            meeting.record_invitation(partner_id, message_id, channel, delivered, detail, ctx)

        return self._on_meeting(meeting_key, ctx, invite)

    def record_minutes(
        self, meeting_key: str, minutes: RecordMinutes, ctx: CommandContext
    ) -> list[str]:
        """Record the minutes and make each agreed measure a tracked `Measure`, all in one
        transaction; return the measures' keys. A repeated command returns the first keys."""
        meeting = self.meeting(meeting_key)
        if meeting.has_applied(ctx):
            return meeting.measure_keys
        keys = [f"{meeting_key}/m{n}" for n in range(1, len(minutes.measures) + 1)]
        attendees = [
            Actor(partner_id=a.partner_id, staff_ref=a.staff_ref) for a in minutes.attendees
        ]
        meeting.record_minutes(attendees, list(minutes.topics), keys, ctx)
        measures = [
            Measure(
                measure_key=key,
                text=agreed.text,
                source=MEETING,
                source_key=meeting_key,
                owner=agreed.owner,
                due_on=None if agreed.due_on is None else agreed.due_on.isoformat(),
                ctx=ctx,
            )
            for key, agreed in zip(keys, minutes.measures, strict=True)
        ]
        self.save(meeting, *measures)
        return keys

    def _on_meeting(
        self, meeting_key: str, ctx: CommandContext, command: Callable[[ExchangeMeeting], None]
    ) -> ExchangeMeeting:
        lock = self._incident_lock(f"meeting/{meeting_key}")
        meeting: ExchangeMeeting = self._run_command(
            lock, lambda: self.meeting(meeting_key), ctx, command
        )
        return meeting

    # --- measures -------------------------------------------------------------------------

    def measure(self, measure_key: str) -> Measure:
        """The tracked measure now (a copy); `MeasureNotFoundError` for an untracked key."""
        try:
            with naming(f"measure '{measure_key}'"):
                found: object = self.repository.get(ids.measure_id(measure_key))
        except AggregateNotFoundError:
            raise MeasureNotFoundError(_unknown_measure(measure_key)) from None
        if not isinstance(found, Measure):
            raise TypeError(f"aggregate for measure '{measure_key}' is a {type(found)}")
        return found

    def measure_history(self, measure_key: str) -> list[HistoryEntry]:
        """Every recorded event of the measure, in order, with its envelope."""
        with naming(f"measure '{measure_key}'"):
            events = in_order(self.events.get(ids.measure_id(measure_key)))
            entries = [history_entry(event) for event in events]
        if not entries:
            raise MeasureNotFoundError(_unknown_measure(measure_key))
        return entries

    def measures(self) -> list[MeasureView]:
        """Every measure that can be read (see `measure_listing`)."""
        return self.measure_listing()[0]

    def measure_listing(self) -> tuple[list[MeasureView], list[DamagedRecordError]]:
        """Every measure: the tracked ones in the order agreed, then each reflection's measures
        that are not tracked yet, in the order of the reflections; and the damage met on the
        way (a measure, or an incident's reflection, whose record cannot be read), each named,
        in place of what it hides."""
        damages: list[DamagedRecordError] = []
        tracked = []
        keys, unreadable = self._measure_keys()
        for key in keys:
            try:
                tracked.append(_view(self.measure(key)))
            except DamagedRecordError as damage:
                damages.append(damage)
        pending = []
        for view in self._reflection_measures(damages=damages):
            if view.measure_key in keys:
                continue
            if ids.measure_id(view.measure_key) in unreadable:  # tracked, but not readable
                try:
                    self.measure(view.measure_key)
                except DamagedRecordError as damage:
                    damages.append(damage)
                    continue
            pending.append(view)
        return tracked + pending, damages

    def assign_measure(
        self, measure_key: str, owner: str, due_on: date, ctx: CommandContext
    ) -> Measure:
        """Give a measure its owner and due date (a reflection's measure becomes tracked with
        them, in one transaction); the same again changes nothing."""
        self._check_owner(measure_key, owner)
        return self._on_measure(measure_key, ctx, lambda m: m.assign(owner, due_on, ctx))

    def complete_measure(
        self, measure_key: str, note: str | None, ctx: CommandContext
    ) -> tuple[Measure, bool]:
        """Mark a measure done; return it and whether this command did (False: it was done
        before). Only its owner or the Commissioner's office may."""
        completed: list[bool] = []

        def complete(measure: Measure) -> None:
            actor = ctx.actor.partner_id
            if actor not in (measure.owner, COMMISSIONER_PARTNER_ID):
                raise MeasureRefusedError(
                    f"only the owner of measure {measure_key} ({measure.owner or 'none yet'}) "
                    f"or the Commissioner's office ({COMMISSIONER_PARTNER_ID}) may mark it "
                    f"done, not {actor}"
                )
            completed.append(not measure.done)
            measure.complete(note, ctx)

        measure = self._on_measure(measure_key, ctx, complete)
        return measure, bool(completed) and completed[-1]

    def remind_measure(
        self, measure_key: str, number: int, partner_ids: list[str], ctx: CommandContext
    ) -> Measure:
        return self._on_measure(measure_key, ctx, lambda m: m.remind(number, partner_ids, ctx))

    def _on_measure(
        self, measure_key: str, ctx: CommandContext, command: Callable[[Measure], None]
    ) -> Measure:
        """`command` on the measure; a reflection's measure not tracked yet is made a `Measure`
        first and saved with what the command did."""

        def kept() -> Measure:
            try:
                return self.measure(measure_key)
            except MeasureNotFoundError:
                return self._from_reflection(measure_key, ctx)

        lock = self._incident_lock(f"measure/{measure_key}")
        measure: Measure = self._run_command(lock, kept, ctx, command)
        return measure

    def _from_reflection(self, measure_key: str, ctx: CommandContext) -> Measure:
        """A new, unsaved `Measure` (no owner yet) of a reflection's measure. Its `Agreed`
        carries a command id of its own, so the command that made it is still applied."""
        view = self._reflection_measure(measure_key)
        agreed = ctx.model_copy(update={"command_id": f"{ctx.command_id[:55]}-tracking"})
        return Measure(
            measure_key=measure_key,
            text=view.text,
            source=REFLECTION,
            source_key=view.source_key,
            owner=None,
            due_on=None,
            ctx=agreed,
        )

    def measure_agreement(self, measure: Measure) -> Agreement:
        """The agreement the measure's meeting, or its incident, ran under."""
        if measure.source == MEETING:
            return self.meeting_agreement(self.meeting(measure.source_key))
        return self.agreement_of(self.incident(measure.source_key))

    def _check_owner(self, measure_key: str, owner: str) -> None:
        """The owner must be a partner of the agreement the measure's source ran under."""
        source, kind = _parsed(measure_key)
        if kind == "m":
            self.meeting_agreement(self.meeting(source)).partner(owner)
        else:
            self.agreement_of(self.incident(source)).partner(owner)

    def _measure_keys(self) -> tuple[list[str], set[UUID]]:
        topic = get_topic(Measure.Agreed)  # type: ignore[attr-defined]  # made by @event
        return self._keys(topic, "measure_key")

    def _keys(self, topic: str, field: str) -> tuple[list[str], set[UUID]]:
        """`field` of every event of `topic` (a meeting's or measure's first), in record
        order; and the streams whose such event does not decode, so names no key."""
        keys = []
        unreadable = set()
        for notification in self._notifications(topics=[topic]):
            try:
                event = self.mapper.to_domain_event(notification)
            except DamagedRecordError:
                unreadable.add(notification.originator_id)
                continue
            keys.append(str(event.__dict__[field]))
        return keys, unreadable

    def _reflection_measure(self, measure_key: str) -> MeasureView:
        source, kind = _parsed(measure_key)
        if kind == "r":
            for view in self._reflection_measures(only=source):
                if view.measure_key == measure_key:
                    return view
        raise MeasureNotFoundError(_unknown_measure(measure_key))

    def _reflection_measures(
        self, only: str | None = None, damages: list[DamagedRecordError] | None = None
    ) -> list[MeasureView]:
        """The measures of every recorded reflection (of incident `only`), as recorded. Only
        the reflections of those incidents are decoded; one that cannot be read is a
        `DamagedRecordError` naming its incident, or, given `damages`, added to them."""
        topic = get_topic(Incident.ReflectionRecorded)  # type: ignore[attr-defined]  # made by @event
        keys = {ids.incident_id(key): key for key in ([only] if only else self.incident_keys())}
        views: list[MeasureView] = []
        for notification in self._notifications(topics=[topic]):
            incident_key = keys.get(notification.originator_id)
            if incident_key is None:
                continue
            try:
                with naming(f"incident '{incident_key}'"):
                    event = self.mapper.to_domain_event(notification)
            except DamagedRecordError as damage:
                if damages is None:
                    raise
                damages.append(damage)
                continue
            for n, text in enumerate(event.__dict__["measures"], start=1):
                views.append(_untracked(f"{incident_key}/r{n}", text, incident_key))
        return views


def _parsed(measure_key: str) -> tuple[str, str]:
    match = MEASURE_KEY.fullmatch(measure_key)
    if match is None:
        raise MeasureNotFoundError(_unknown_measure(measure_key))
    return match["source"], match["kind"]


def _unknown_measure(measure_key: str) -> str:
    return (
        f"no measure '{measure_key}' is recorded (a measure is MEETING/m<n> or INCIDENT/r<n>; "
        "see `lotse measures list`)"
    )


def _view(measure: Measure) -> MeasureView:
    return MeasureView(
        measure_key=measure.measure_key,
        text=measure.text,
        source=measure.source,
        source_key=measure.source_key,
        owner=measure.owner,
        due_on=measure.due_date,
        done_at=measure.done_at,
        reminders=measure.reminders,
        tracked=True,
    )


def _untracked(measure_key: str, text: str, incident_key: str) -> MeasureView:
    return MeasureView(
        measure_key=measure_key,
        text=text,
        source=REFLECTION,
        source_key=incident_key,
        owner=None,
        due_on=None,
        done_at=None,
        reminders=0,
        tracked=False,
    )
