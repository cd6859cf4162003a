"""The activities of `AlertDrill` by name, with the message each takes and returns.

As for the exchange (contracts/exchange_activities.py): the workflow calls them by these names,
the worker registers activities/drill.py under the same names, and the names are the activity
types in the recorded history (tests/histories/drill_full.json).
"""

from __future__ import annotations

from typing import Any

from contracts.activities import ActivitySpec
from contracts.drill import (
    DeliverTestAlertInput,
    DrillAnswer,
    DrillPointInput,
    DrillRecorded,
    FinishDrillInput,
    RecordTestAlertInput,
    StartDrillInput,
    TellOfficeInput,
)
from contracts.messages import DeliveryReceipt

START_DRILL: ActivitySpec[StartDrillInput, DrillRecorded] = ActivitySpec(
    "start_drill", StartDrillInput, DrillRecorded
)
DELIVER_TEST_ALERT: ActivitySpec[DeliverTestAlertInput, DeliveryReceipt] = ActivitySpec(
    "deliver_test_alert", DeliverTestAlertInput, DeliveryReceipt
)
RECORD_TEST_ALERT: ActivitySpec[RecordTestAlertInput, None] = ActivitySpec(
    "record_test_alert", RecordTestAlertInput, None
)
ANSWER_TEST_ALERT: ActivitySpec[DrillPointInput, DrillAnswer] = ActivitySpec(
    "answer_test_alert", DrillPointInput, DrillAnswer
)
MARK_NOT_ANSWERING: ActivitySpec[DrillPointInput, None] = ActivitySpec(
    "mark_not_answering", DrillPointInput, None
)
TELL_OFFICE_OF_DRILL: ActivitySpec[TellOfficeInput, DeliveryReceipt] = ActivitySpec(
    "tell_office_of_drill", TellOfficeInput, DeliveryReceipt
)
FINISH_DRILL: ActivitySpec[FinishDrillInput, None] = ActivitySpec(
    "finish_drill", FinishDrillInput, None
)

DRILL_ACTIVITIES: tuple[ActivitySpec[Any, Any], ...] = (
    START_DRILL,
    DELIVER_TEST_ALERT,
    RECORD_TEST_ALERT,
    ANSWER_TEST_ALERT,
    MARK_NOT_ANSWERING,
    TELL_OFFICE_OF_DRILL,
    FINISH_DRILL,
)
"""Every activity the drill workflow calls; the worker registers exactly these."""
