"""The activities of `RegularExchange` by name, with the message each takes and returns.

As for the incident (contracts/activities.py): the workflow calls them by these names, the
worker registers activities/exchange.py under the same names, and the names are the activity
types in every recorded history (tests/histories/exchange_full.json).
"""

from __future__ import annotations

from typing import Any

from contracts.activities import ActivitySpec
from contracts.exchange import (
    DeliverInvitationInput,
    MeasuresRead,
    MeetingRecorded,
    MinutesResult,
    ReadMeasuresInput,
    RecordInvitationInput,
    RecordMeetingInput,
    RecordMinutesInput,
    RemindMeasureInput,
)
from contracts.messages import DeliveryReceipt

RECORD_MEETING: ActivitySpec[RecordMeetingInput, MeetingRecorded] = ActivitySpec(
    "record_meeting", RecordMeetingInput, MeetingRecorded
)
DELIVER_INVITATION: ActivitySpec[DeliverInvitationInput, DeliveryReceipt] = ActivitySpec(
    "deliver_invitation", DeliverInvitationInput, DeliveryReceipt
)
RECORD_INVITATION: ActivitySpec[RecordInvitationInput, None] = ActivitySpec(
    "record_invitation", RecordInvitationInput, None
)
RECORD_MINUTES: ActivitySpec[RecordMinutesInput, MinutesResult] = ActivitySpec(
    "record_minutes", RecordMinutesInput, MinutesResult
)
READ_MEASURES: ActivitySpec[ReadMeasuresInput, MeasuresRead] = ActivitySpec(
    "read_measures", ReadMeasuresInput, MeasuresRead
)
REMIND_MEASURE: ActivitySpec[RemindMeasureInput, None] = ActivitySpec(
    "remind_measure", RemindMeasureInput, None
)

EXCHANGE_ACTIVITIES: tuple[ActivitySpec[Any, Any], ...] = (
    RECORD_MEETING,
    DELIVER_INVITATION,
    RECORD_INVITATION,
    RECORD_MINUTES,
    READ_MEASURES,
    REMIND_MEASURE,
)
"""Every activity the exchange workflow calls; the worker registers exactly these."""
