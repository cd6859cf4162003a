"""Messages of the regular exchange (`RegularExchange`) and the rules its minutes must meet.

The rules of the minutes live here, once: the workflow's update validator and `lotse exchange
minutes` both call `minutes_problems`, so the UI and the command line refuse the same minutes
with the same words. Minutes name partners and staff references (roles, numbers), never people.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from pydantic import AwareDatetime, ConfigDict, Field

from contracts.agreement import PartnerId
from contracts.messages import CommandContext, DeliveryPolicy, Internal, Message, OperatorAction
from contracts.messages import OperatorActor as Attendee
from contracts.text import NO_PEOPLE, Paragraph, Remark
from contracts.vocabulary import BERLIN

EXCHANGE_WORKFLOW_TYPE = "RegularExchange"
MEASURE_REMINDERS_WORKFLOW_TYPE = "MeasureReminders"
MEASURE_ASSIGNED_SIGNAL = "assigned"
MEETING_KEY = re.compile(r"exchange-\d{8}")
"""A meeting's key: `exchange-` and the Berlin date it is held on (`exchange-20270112`)."""
MEASURE_KEY = re.compile(r"(?P<source>[A-Za-z0-9][A-Za-z0-9-]{0,63})/(?P<kind>[mr])(?P<n>[1-9]\d*)")
"""A measure's key: its meeting and `m<n>` (`exchange-20270112/m2`), or its incident and
`r<n>` for the n-th measure of the incident's reflection (`20261128-1705-dresden/r1`)."""
MINUTES_ITEMS_MAX = 30


class ExchangeInput(Message):
    """What the Schedule starts every run with: the agreement whose partners meet. A run that
    continues an earlier one (continue-as-new) gets that run's state as `carry_over`."""

    agreement_key: PartnerId
    carry_over: ExchangeState | None = None


class AgreedMeasure(Message):
    """A measure agreed in a meeting: what, by whom (a partner), by when.

    Owner and due date are optional here so that their absence is refused by
    `minutes_problems` with the measure's number, not by the decoder."""

    text: Paragraph = Field(description=f"What is to be done. {NO_PEOPLE}")
    owner: PartnerId | None = Field(default=None, description="The partner that sees to it.")
    due_on: date | None = Field(default=None, description="By when (a date, YYYY-MM-DD).")


class RecordMinutes(OperatorAction):
    """The minutes of one exchange meeting: who attended, what was discussed, what was agreed."""

    attendees: list[Attendee] = Field(
        default_factory=list,
        max_length=MINUTES_ITEMS_MAX * 4,
        description="Who attended: partner id and staff reference (a role or number) each.",
    )
    topics: list[Remark] = Field(
        default_factory=list,
        max_length=MINUTES_ITEMS_MAX,
        description=f"What was discussed, one line each. {NO_PEOPLE}",
    )
    measures: list[AgreedMeasure] = Field(default_factory=list, max_length=MINUTES_ITEMS_MAX)


def minutes_problems(
    minutes: RecordMinutes, partners: list[str], held_at: datetime, now: datetime
) -> list[str]:
    """What is wrong with `minutes` for a meeting of `partners` held at `held_at`, asked at
    `now`, in order; empty when they may be recorded."""
    known = set(partners)
    listed = ", ".join(sorted(known))
    held_on = held_at.astimezone(BERLIN).date()
    problems: list[str] = []
    if now < held_at:
        problems.append(
            f"the meeting is held on {held_on}; its minutes can be recorded from then on"
        )
    if not minutes.attendees:
        problems.append("no attendees: name at least one partner and staff reference")
    for attendee in minutes.attendees:
        if attendee.partner_id not in known:
            problems.append(f"attendee '{attendee.partner_id}' is not a partner ({listed})")
    if not minutes.topics:
        problems.append("no topics: name at least one topic that was discussed")
    for number, measure in enumerate(minutes.measures, start=1):
        problems += _measure_problems(number, measure, known, listed, held_on)
    return problems


def _measure_problems(
    number: int, measure: AgreedMeasure, known: set[str], listed: str, held_on: date
) -> list[str]:
    label = f"measure {number}"
    problems: list[str] = []
    if measure.owner is None:
        problems.append(f"{label} has no owner: name the partner that sees to it")
    elif measure.owner not in known:
        problems.append(f"{label}: owner '{measure.owner}' is not a partner ({listed})")
    if measure.due_on is None:
        problems.append(f"{label} has no due date: give due_on as YYYY-MM-DD")
    elif measure.due_on <= held_on:
        problems.append(f"{label}: due on {measure.due_on} is not after the meeting ({held_on})")
    return problems


class MinutesResult(Message):
    """What recording the minutes did: the keys of the measures now tracked."""

    meeting_key: str
    measure_keys: list[str]
    duplicate: bool = False


class MeetingPartner(Internal):
    partner_id: str
    name: str


class MeetingRecorded(Internal):
    """The meeting as recorded: its key and date, who is invited, and the worker's settings
    for the deliveries and reminders of this run."""

    meeting_key: str
    held_at: AwareDatetime
    partners: list[MeetingPartner]
    delivery: DeliveryPolicy
    reminder_interval: timedelta


class RecordMeetingInput(Internal):
    ctx: CommandContext
    agreement_key: str


class DeliverInvitationInput(Internal):
    meeting_key: str
    partner_id: str
    message_id: str
    sent_at: AwareDatetime


class RecordInvitationInput(Internal):
    ctx: CommandContext
    meeting_key: str
    partner_id: str
    message_id: str
    delivered: bool
    detail: str = ""


class RecordMinutesInput(Internal):
    ctx: CommandContext
    meeting_key: str
    minutes: RecordMinutes


class ReadMeasuresInput(Internal):
    measure_keys: list[str]


class TrackedMeasure(Internal):
    """Where one measure stands in the record, as the workflow needs it for reminders."""

    measure_key: str
    owner: str | None
    due_on: date | None
    done: bool
    reminders: int
    last_reminded_at: datetime | None = None


class MeasuresRead(Internal):
    measures: list[TrackedMeasure]


class RemindMeasureInput(Internal):
    """Remind the owner (and the office) of an overdue measure, the `number`-th time."""

    ctx: CommandContext
    measure_key: str
    number: int = Field(ge=1)
    message_id: str
    sent_at: AwareDatetime


class ExchangeState(Internal):
    """The whole state of a meeting's run: what its `status` query shows and what it hands to
    the run that continues it. Mutable: the workflow changes it as the meeting goes on."""

    model_config = ConfigDict(extra="ignore", frozen=False)

    agreement_key: str
    stage: str = "recording"
    meeting: MeetingRecorded | None = None
    invitations: dict[str, str] = Field(default_factory=dict)
    minutes_recorded: bool = False
    measure_keys: list[str] = Field(default_factory=list)
    open_measures: list[str] = Field(default_factory=list)

    def status(self) -> ExchangeStatus:
        meeting = self.meeting
        return ExchangeStatus(
            meeting_key=None if meeting is None else meeting.meeting_key,
            stage=self.stage,
            held_at=None if meeting is None else meeting.held_at,
            invitations=[
                InvitationStatus(partner_id=partner, state=state)
                for partner, state in self.invitations.items()
            ],
            minutes_recorded=self.minutes_recorded,
            open_measures=list(self.open_measures),
        )


class InvitationStatus(Message):
    partner_id: str
    state: str = Field(description="pending, delivered or failed")


class ExchangeStatus(Message):
    """What the `status` query of a meeting's run answers."""

    meeting_key: str | None
    stage: str = Field(description="recording, inviting, awaiting-minutes, tracking, done")
    held_at: AwareDatetime | None = None
    invitations: list[InvitationStatus] = Field(default_factory=list)
    minutes_recorded: bool = False
    open_measures: list[str] = Field(default_factory=list)


class MeasureRemindersInput(Message):
    """What `lotse measures assign` starts a reflection's measure's reminders with: the measure
    and the pace (`LOTSE_MEASURE_REMINDER_DAYS`; the delivery retry's first pause)."""

    measure_key: str
    reminder_interval: timedelta
    retry_initial_interval: timedelta


def measure_reminders_id(measure_key: str) -> str:
    """The workflow id of a reflection's measure's reminders: one per measure."""
    return f"measure-{measure_key}"


ExchangeInput.model_rebuild()
