"""The activities of `VictimCase` by name, with the message each takes and returns.

As for the incident (contracts/activities.py): the workflow calls them by these names, the
worker registers activities/case.py under the same names, and the names are part of every
recorded history.
"""

from __future__ import annotations

from typing import Any

from contracts.activities import ActivitySpec
from contracts.case_messages import (
    CaseOpened,
    ChooseOfferInput,
    DeliverCaseMessageInput,
    OfferChoiceResult,
    RecordAssessmentInput,
    RecordCaseClosedInput,
    RecordConsentInput,
    RecordFollowUpInput,
    RecordNeedEscalatedInput,
    RecordReferralProposedInput,
    RecordReferralStepInput,
    RecordRegistrationInput,
    RecordWithdrawalInput,
)
from contracts.messages import DeliveryReceipt

RECORD_REGISTRATION: ActivitySpec[RecordRegistrationInput, CaseOpened] = ActivitySpec(
    "record_registration", RecordRegistrationInput, CaseOpened
)
RECORD_CONSENT: ActivitySpec[RecordConsentInput, None] = ActivitySpec(
    "record_consent", RecordConsentInput, None
)
RECORD_CONSENT_WITHDRAWAL: ActivitySpec[RecordWithdrawalInput, None] = ActivitySpec(
    "record_consent_withdrawal", RecordWithdrawalInput, None
)
RECORD_ASSESSMENT: ActivitySpec[RecordAssessmentInput, None] = ActivitySpec(
    "record_needs_assessment", RecordAssessmentInput, None
)
CHOOSE_OFFER: ActivitySpec[ChooseOfferInput, OfferChoiceResult] = ActivitySpec(
    "choose_offer", ChooseOfferInput, OfferChoiceResult
)
RECORD_REFERRAL_PROPOSED: ActivitySpec[RecordReferralProposedInput, None] = ActivitySpec(
    "record_referral_proposed", RecordReferralProposedInput, None
)
RECORD_REFERRAL_STEP: ActivitySpec[RecordReferralStepInput, None] = ActivitySpec(
    "record_referral_step", RecordReferralStepInput, None
)
RECORD_NEED_ESCALATED: ActivitySpec[RecordNeedEscalatedInput, None] = ActivitySpec(
    "record_need_escalated", RecordNeedEscalatedInput, None
)
RECORD_FOLLOW_UP: ActivitySpec[RecordFollowUpInput, None] = ActivitySpec(
    "record_follow_up", RecordFollowUpInput, None
)
RECORD_CASE_CLOSED: ActivitySpec[RecordCaseClosedInput, None] = ActivitySpec(
    "record_case_closed", RecordCaseClosedInput, None
)
DELIVER_CASE_MESSAGE: ActivitySpec[DeliverCaseMessageInput, DeliveryReceipt] = ActivitySpec(
    "deliver_case_message", DeliverCaseMessageInput, DeliveryReceipt
)

CASE_ACTIVITIES: tuple[ActivitySpec[Any, Any], ...] = (
    RECORD_REGISTRATION,
    RECORD_CONSENT,
    RECORD_CONSENT_WITHDRAWAL,
    RECORD_ASSESSMENT,
    CHOOSE_OFFER,
    RECORD_REFERRAL_PROPOSED,
    RECORD_REFERRAL_STEP,
    RECORD_NEED_ESCALATED,
    RECORD_FOLLOW_UP,
    RECORD_CASE_CLOSED,
    DELIVER_CASE_MESSAGE,
)
"""Every activity `VictimCase` calls; the worker registers exactly these (tested)."""
