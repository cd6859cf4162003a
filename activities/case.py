"""Temporal activities of `VictimCase`: each translates one message into one domain command, or
sends one message.

The referral message is the one place where a person's contact data leaves the record: it is
read here, decrypted with the person's key, limited to what the person's consent allows for that
recipient, and handed to the notifier. Temporal sees the pseudonymous input and the receipt only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.case_messages import CaseNotice, render_case_message
from activities.incident import answer_route, domain_refusals_are_final
from activities.notify import DeliveryError, Notifier, delivery_policy
from contracts.agreement import ContactPoint
from contracts.case_activities import (
    CHOOSE_OFFER,
    DELIVER_CASE_MESSAGE,
    RECORD_ASSESSMENT,
    RECORD_CASE_CLOSED,
    RECORD_CONSENT,
    RECORD_CONSENT_WITHDRAWAL,
    RECORD_FOLLOW_UP,
    RECORD_NEED_ESCALATED,
    RECORD_REFERRAL_PROPOSED,
    RECORD_REFERRAL_STEP,
    RECORD_REGISTRATION,
)
from contracts.case_messages import (
    CaseMessagePurpose,
    CaseOpened,
    ChooseOfferInput,
    DeliverCaseMessageInput,
    OfferCandidate,
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
from contracts.case_rules import consented_categories
from contracts.messages import DeliveryReceipt
from contracts.offers import match_offers
from contracts.people import DataCategory, ReferralTarget, Urgency
from contracts.vocabulary import COMMISSIONER_PARTNER_ID, case_workflow_id
from domain.application import LotseApplication, place_key
from domain.errors import DomainError, PersonErasedError
from settings import Settings

log = logging.getLogger("lotse.activities")


class CaseActivities:
    """The side effects of one person's case, built once in `bootstrap.py`."""

    def __init__(self, app: LotseApplication, notifier: Notifier, settings: Settings) -> None:
        self._app = app
        self._notifier = notifier
        self._settings = settings

    @activity.defn(name=RECORD_REGISTRATION.name)
    def record_registration(self, data: RecordRegistrationInput) -> CaseOpened:
        with domain_refusals_are_final():
            person = self._app.register_person(data.incident_id, data.registration, data.ctx)
            exercise = self._app.incident(data.incident_id).exercise
        settings = self._settings
        return CaseOpened(
            registered_at=person.registered_at,
            office_id=COMMISSIONER_PARTNER_ID,
            exercise=exercise,
            delivery=delivery_policy(settings),
        )

    @activity.defn(name=RECORD_CONSENT.name)
    def record_consent(self, data: RecordConsentInput) -> None:
        with domain_refusals_are_final():
            self._app.give_consent(data.incident_id, data.person_ref, data.scope, data.ctx)

    @activity.defn(name=RECORD_CONSENT_WITHDRAWAL.name)
    def record_consent_withdrawal(self, data: RecordWithdrawalInput) -> None:
        with domain_refusals_are_final():
            self._app.withdraw_consent(data.incident_id, data.person_ref, data.recipient, data.ctx)
            self._app.release_ended_places(data.incident_id, data.person_ref, data.ctx)

    @activity.defn(name=RECORD_ASSESSMENT.name)
    def record_needs_assessment(self, data: RecordAssessmentInput) -> None:
        with domain_refusals_are_final():
            self._app.assess_needs(
                data.incident_id, data.person_ref, list(data.needs), data.due_at, data.ctx
            )

    @activity.defn(name=CHOOSE_OFFER.name)
    def choose_offer(self, data: ChooseOfferInput) -> OfferChoiceResult:
        """The offers that fit the need, best first, from the directory and the places taken."""
        with domain_refusals_are_final():
            terms = self._app.directory(self._settings.directory_id, to_change=False).terms
        offers = list(terms.offers)
        if data.offer_id is not None:
            offers = [offer for offer in offers if offer.id == data.offer_id]
            if not offers:
                raise ApplicationError(
                    f"the directory has no offer '{data.offer_id}'",
                    type="UnknownOffer",
                    non_retryable=True,
                )
        with domain_refusals_are_final():  # a damaged record of an offer's places
            taken = self._app.places_taken([offer.id for offer in offers])
        choice = match_offers(
            terms.model_copy(update={"offers": offers}),
            data.category,
            data.region,
            data.language,
            taken,
            data.exclude,
        )
        by_id = {offer.id: offer for offer in offers}
        return OfferChoiceResult(
            ranked=[
                OfferCandidate(
                    target=ReferralTarget(offer_id=match.offer_id, provider_id=match.provider_id),
                    offer_name=match.name,
                    remaining=match.remaining,
                    channel=by_id[match.offer_id].contact.channel,
                )
                for match in choice.ranked
            ],
            explanation=choice.explanation(),
        )

    @activity.defn(name=RECORD_REFERRAL_PROPOSED.name)
    def record_referral_proposed(self, data: RecordReferralProposedInput) -> None:
        """Hold a place at the offer, then propose; a proposal the record refuses gives the
        place back. Both are idempotent, so a retry changes nothing twice."""
        key = place_key(data.incident_id, data.person_ref, data.referral_id)
        with domain_refusals_are_final():
            offer = self._offer(data.target.offer_id)
            capacity = offer.capacity if data.within_capacity else None
            self._app.take_place(offer.id, key, data.ctx, capacity=capacity)
            try:
                self._app.propose_referral(
                    data.incident_id,
                    data.person_ref,
                    data.referral_id,
                    data.category,
                    data.target,
                    data.explanation,
                    data.ctx,
                )
            except DomainError:
                self._app.release_place(offer.id, key, data.ctx)
                raise

    @activity.defn(name=RECORD_REFERRAL_STEP.name)
    def record_referral_step(self, data: RecordReferralStepInput) -> None:
        """Record the step; a referral that ends gives its place back."""
        with domain_refusals_are_final():
            self._app.advance_referral(
                data.incident_id,
                data.person_ref,
                data.referral_id,
                data.action,
                data.ctx,
                due_at=data.due_at,
                reason=data.reason,
                at=data.at,
                why=data.why,
            )
            self._app.release_ended_places(data.incident_id, data.person_ref, data.ctx)

    @activity.defn(name=RECORD_NEED_ESCALATED.name)
    def record_need_escalated(self, data: RecordNeedEscalatedInput) -> None:
        with domain_refusals_are_final():
            self._app.escalate_need(
                data.incident_id, data.person_ref, data.category, data.why, data.due_at, data.ctx
            )

    @activity.defn(name=RECORD_FOLLOW_UP.name)
    def record_follow_up(self, data: RecordFollowUpInput) -> None:
        with domain_refusals_are_final():
            self._app.record_follow_up(
                data.incident_id,
                data.person_ref,
                data.number,
                list(data.met),
                list(data.unmet),
                data.ctx,
            )

    @activity.defn(name=RECORD_CASE_CLOSED.name)
    def record_case_closed(self, data: RecordCaseClosedInput) -> None:
        with domain_refusals_are_final():
            self._app.close_case(data.incident_id, data.person_ref, data.reason, data.ctx)

    @activity.defn(name=DELIVER_CASE_MESSAGE.name)
    def deliver_case_message(self, data: DeliverCaseMessageInput) -> DeliveryReceipt:
        """Send one message of a case; a failure raises and Temporal retries it."""
        with domain_refusals_are_final():
            notice, contact = self._notice(data)
        try:
            self._notifier.deliver(contact, render_case_message(notice))
        except DeliveryError as error:
            log.warning("delivery of %s failed: %s", data.message_id, error)
            raise ApplicationError(
                f"{contact.channel}: {error.problem.replace(contact.address, '<address>')}",
                contact.channel.value,
                type="DeliveryFailed",
            ) from None
        return DeliveryReceipt(channel=contact.channel, message_id=data.message_id)

    def _notice(self, data: DeliverCaseMessageInput) -> tuple[CaseNotice, ContactPoint]:
        incident = self._app.incident(data.incident_id)
        person = self._app.person(data.incident_id, data.person_ref)
        reach: dict[DataCategory, str] = {}
        if data.target is not None:
            offer = self._offer(data.target.offer_id)
            recipient_id, recipient_name, contact = (
                data.target.provider_id,
                offer.name,
                offer.contact,
            )
            if data.purpose is CaseMessagePurpose.REFERRAL:
                reach = self._reach(data, person.consents)
        else:
            office = self._app.agreement_of(incident).partner(COMMISSIONER_PARTNER_ID)
            recipient_id, recipient_name, contact = office.id, office.name, office.primary
        need = person.needs.get(data.category) if data.category is not None else None
        notice = CaseNotice(
            purpose=data.purpose,
            message_id=data.message_id,
            sent_at=data.sent_at,
            case_id=case_workflow_id(data.incident_id, data.person_ref),
            incident_id=data.incident_id,
            incident_title=incident.title,
            exercise=incident.exercise,
            person_ref=data.person_ref,
            recipient_id=recipient_id,
            recipient_name=recipient_name,
            category=data.category,
            urgency=Urgency(need.urgency) if need is not None else None,
            referral_id=data.referral_id,
            due_at=data.due_at,
            language=person.registration.language,
            reach=reach,
            detail=data.detail,
            answers=answer_route(self._settings),
        )
        return notice, contact

    def _reach(self, data: DeliverCaseMessageInput, consents: Any) -> dict[DataCategory, str]:
        """The contact fields that consent for this recipient allows, now; none once erased."""
        assert data.target is not None  # a referral names its offer
        allowed = consented_categories(consents, data.target, data.sent_at)
        try:
            contact = self._app.contact_of(data.incident_id, data.person_ref)
        except PersonErasedError:
            return {}
        return contact.shared_with(allowed) if contact is not None else {}

    def _offer(self, offer_id: str) -> Any:
        terms = self._app.directory(self._settings.directory_id, to_change=False).terms
        for offer in terms.offers:
            if offer.id == offer_id:
                return offer
        raise ApplicationError(
            f"the directory has no offer '{offer_id}'", type="UnknownOffer", non_retryable=True
        )

    def all(self) -> list[Callable[..., Any]]:
        """Every activity of this class, for registration with the worker."""
        return [
            self.record_registration,
            self.record_consent,
            self.record_consent_withdrawal,
            self.record_needs_assessment,
            self.choose_offer,
            self.record_referral_proposed,
            self.record_referral_step,
            self.record_need_escalated,
            self.record_follow_up,
            self.record_case_closed,
            self.deliver_case_message,
        ]
