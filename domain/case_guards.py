"""The checks an affected person's case makes before it records anything: each raises the
domain error that names what is wrong. A mixin of `AffectedPerson`, which holds the state."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError

from contracts.case_rules import GivenConsent, ReferralAction, consent_problem
from contracts.people import CaseCloseReason, NeedStatus, PersonRegistration, ReferralTarget
from contracts.text import Remark
from contracts.vocabulary import NeedCategory
from domain.errors import (
    CaseClosedError,
    CaseStepRefusedError,
    ConsentMissingError,
    PersonErasedError,
    ReferralRefusedError,
)

if TYPE_CHECKING:
    from domain.case_parts import FollowUp, NeedState, ReferralState

_REMARK: TypeAdapter[str] = TypeAdapter(Remark)


def check_text(field: str, value: str | None) -> str:
    """Free text about the situation (an explanation, a reason): one line, 3–2,000
    characters, no e-mail address or phone number. The error names the field, not the value."""
    if value is None:
        raise CaseStepRefusedError(f"{field}: required")
    try:
        return _REMARK.validate_python(value)
    except ValidationError as error:
        raise CaseStepRefusedError(f"{field}: {error.errors()[0]['msg']}") from None


class CaseGuards:
    """Guards over the state of `AffectedPerson`."""

    registration: PersonRegistration
    erased: bool
    closed_reason: CaseCloseReason | None
    given: dict[str, GivenConsent]
    needs: dict[NeedCategory, NeedState]
    referrals: dict[str, ReferralState]
    follow_ups: dict[int, FollowUp]

    def check_not_erased(self) -> None:
        if self.erased:
            raise PersonErasedError(
                f"the personal data of person {self.registration.person_ref} was erased"
            )

    def check_open(self) -> None:
        self.check_not_erased()
        if self.closed_reason is not None:
            raise CaseClosedError(
                f"the case of person {self.registration.person_ref} is closed "
                f"({self.closed_reason})"
            )

    def open_need(self, category: NeedCategory) -> NeedState:
        need = self.needs.get(category)
        if need is None:
            assessed = ", ".join(sorted(self.needs)) or "none"
            raise ReferralRefusedError(
                f"person {self.registration.person_ref} has no assessed need {category} "
                f"(assessed: {assessed})"
            )
        if need.status is NeedStatus.MET:
            raise ReferralRefusedError(f"need {category} is met")
        return need

    def referral(self, referral_id: str) -> ReferralState:
        found = self.referrals.get(referral_id)
        if found is None:
            raise ReferralRefusedError(
                f"person {self.registration.person_ref} has no referral {referral_id}"
            )
        return found

    def check_consent(self, target: ReferralTarget, moment: datetime) -> None:
        problem = consent_problem(self.given.values(), target, moment)
        if problem is not None:
            raise ConsentMissingError(problem)

    @staticmethod
    def required_due(action: ReferralAction, referral_id: str, due_at: datetime | None) -> datetime:
        if due_at is None:
            raise ReferralRefusedError(
                f"due_at: say by when the next step of referral {referral_id} is due "
                f"(required to {action})"
            )
        return due_at

    def check_follow_up(
        self, number: int, met: list[NeedCategory], unmet: list[NeedCategory]
    ) -> None:
        if number < 1:
            raise CaseStepRefusedError(f"number: follow-ups are counted from 1, not {number}")
        if number in self.follow_ups:
            raise CaseStepRefusedError(f"number: follow-up {number} is already recorded")
        both = sorted(set(met) & set(unmet))
        if both:
            raise CaseStepRefusedError(f"met and unmet both name: {', '.join(both)}")
        unknown = sorted({*met, *unmet} - set(self.needs))
        if unknown:
            raise CaseStepRefusedError(
                f"met/unmet name needs that were not assessed: {', '.join(unknown)}"
            )
