"""The cooperation agreement as an aggregate: which terms were in force, and since when.

Each load of the agreement file that changes anything records one event per changed partner (and
one for a changed final escalation contact) and a closing `Revised`; a load of identical terms
records nothing. Two numbers follow from that:

- the *revision* (1 on the first load, +1 per load that changed anything) is what people call the
  agreement's version: `lotse agreement load|show` print it, incidents record it;
- the aggregate's version after a load is an internal detail that incidents also record, so the
  terms any incident ran under can be replayed with `repository.get(id, version=…)`.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event
from pydantic import BaseModel, ConfigDict

from contracts.agreement import AgreementTerms, ContactPoint, FinalEscalation, PartnerTerms
from contracts.messages import Actor, CommandContext
from contracts.vocabulary import COMMISSIONER_PARTNER_ID, EscalationStep
from domain import ids
from domain.errors import UnknownPartnerError


class Recipient(BaseModel):
    """Who receives one step of a partner's alert: a contact point, and, for a recipient that is
    not a partner's own contact point, the name the message is addressed to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact: ContactPoint
    addressed_to: str | None = None


class Agreement(Aggregate):
    """A versioned cooperation agreement between the Commissioner's office and its partners."""

    @staticmethod
    def create_id(agreement_key: str) -> Any:
        return ids.agreement_id(agreement_key)

    @event("Adopted")
    def __init__(self, agreement_key: str, title: str, ctx: CommandContext) -> None:
        self.agreement_key = agreement_key
        self.title = title
        self.label = ""
        self.digest = ""
        self.escalation_step_minutes = 0
        self.partners: dict[str, PartnerTerms] = {}
        self.revision = 0
        # None only for terms recorded before the agreement named a final escalation contact.
        self.final_escalation: FinalEscalation | None = None

    # --- commands -------------------------------------------------------------------------

    def revise(self, terms: AgreementTerms, ctx: CommandContext) -> list[str]:
        """Bring the record in line with `terms`; return what changed (empty: nothing)."""
        if terms.digest() == self.digest:
            return []
        changes: list[str] = []
        new_ids = [partner.id for partner in terms.partners]
        for partner in terms.partners:
            known = self.partners.get(partner.id)
            if known is None:
                self._partner_joined(terms=partner, ctx=ctx)
                changes.append(f"partner joined: {partner.id}")
            elif known != partner:
                self._partner_terms_changed(terms=partner, ctx=ctx)
                changes.append(f"partner terms changed: {partner.id}")
        for partner_id in [pid for pid in self.partners if pid not in new_ids]:
            self._partner_left(partner_id=partner_id, ctx=ctx)
            changes.append(f"partner left: {partner_id}")
        if terms.final_escalation != self.final_escalation:
            self._final_escalation_set(final_escalation=terms.final_escalation, ctx=ctx)
            contact = terms.final_escalation.contact
            changes.append(
                f"final escalation: {terms.final_escalation.name} ({contact.channel}: "
                f"{contact.address})"
            )
        self._revised(
            title=terms.title,
            label=terms.label,
            digest=terms.digest(),
            escalation_step_minutes=terms.escalation_step_minutes,
            ctx=ctx,
        )
        changes.append(f"revised: label {terms.label}")
        return changes

    # --- queries --------------------------------------------------------------------------

    def partner(self, partner_id: str) -> PartnerTerms:
        try:
            return self.partners[partner_id]
        except KeyError:
            known = ", ".join(sorted(self.partners))
            raise UnknownPartnerError(
                f"'{partner_id}' is not a partner of the agreement (partners: {known})"
            ) from None

    def recipient_for(
        self, partner_id: str, step: EscalationStep, *, office_silent: bool, declared_by: Actor
    ) -> Recipient:
        """Who receives `step` of `partner_id`'s alert (and its all-clear).

        The partner's own contact points, then the Commissioner's office. Where that last step
        would go to a contact point that has just not answered (always so for the office's own
        alert), it goes to the final escalation contact instead; so does a last step while the
        office itself has not acknowledged its own alert (`office_silent`, which the procedure
        decides). `declared_by` matters only under terms recorded before the final contact."""
        partner = self.partner(partner_id)
        if step is EscalationStep.PRIMARY:
            return Recipient(contact=partner.primary)
        if step is EscalationStep.DEPUTY:
            return Recipient(contact=partner.deputy)
        office = self.partner(COMMISSIONER_PARTNER_ID).primary
        final = self.final_escalation
        if final is None:
            # Terms recorded before the agreement named a final contact keep the rule they ran
            # under, so a retried step of an older incident reaches and records the same contact.
            if partner_id != COMMISSIONER_PARTNER_ID:
                return Recipient(contact=office)
            declarer = self.partner(declared_by.partner_id).primary
            return Recipient(contact=declarer, addressed_to=declared_by.staff_ref)
        unanswered = {partner.primary.address.casefold(), partner.deputy.address.casefold()}
        if office.address.casefold() in unanswered or office_silent:
            return Recipient(contact=final.contact, addressed_to=final.name)
        return Recipient(contact=office)

    # --- events ---------------------------------------------------------------------------

    @event("PartnerJoined")
    def _partner_joined(self, terms: PartnerTerms, ctx: CommandContext) -> None:
        self.partners[terms.id] = terms

    @event("PartnerTermsChanged")
    def _partner_terms_changed(self, terms: PartnerTerms, ctx: CommandContext) -> None:
        self.partners[terms.id] = terms

    @event("PartnerLeft")
    def _partner_left(self, partner_id: str, ctx: CommandContext) -> None:
        del self.partners[partner_id]

    @event("FinalEscalationSet")
    def _final_escalation_set(self, final_escalation: FinalEscalation, ctx: CommandContext) -> None:
        self.final_escalation = final_escalation

    @event("Revised")
    def _revised(
        self,
        title: str,
        label: str,
        digest: str,
        escalation_step_minutes: int,
        ctx: CommandContext,
    ) -> None:
        self.title = title
        self.label = label
        self.digest = digest
        self.escalation_step_minutes = escalation_step_minutes
        self.revision += 1
