"""Which contact receives which step of an alert: the agreement's routing table, no server needed.

The shipped agreement: every partner has a primary and a deputy contact point, the
Commissioner's office (`opferbeauftragte`) is every other partner's last step, and the
Lagezentrum is the final escalation contact when the office itself does not answer.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from contracts.agreement import AgreementTerms
from contracts.messages import Actor, CommandContext
from contracts.vocabulary import COMMISSIONER_PARTNER_ID, EscalationStep
from domain.agreement import Agreement
from domain.application import LotseApplication
from domain.errors import UnknownPartnerError

MakeCtx = Callable[..., CommandContext]

PRIMARY, DEPUTY, COMMISSIONER = (
    EscalationStep.PRIMARY,
    EscalationStep.DEPUTY,
    EscalationStep.COMMISSIONER,
)
OFFICE = COMMISSIONER_PARTNER_ID
OFFICE_DESK = "lagedienst@opferbeauftragte.example.org"
LAGEZENTRUM = "Lagezentrum des Sächsischen Staatsministeriums des Innern"
FINAL_CONTACT = "lagezentrum@smi.example.org"
DECLARER = Actor(partner_id="opferhilfe-sachsen", staff_ref="bereitschaft-7")


def recorded(terms: AgreementTerms, make_ctx: MakeCtx) -> Agreement:
    """The agreement as the record holds it after `lotse agreement load`."""
    app = LotseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.load_agreement(terms, make_ctx())
    return app.agreement(terms.agreement_id)


# (partner, step, office silent) → (address, addressed to)
ROUTES = [
    # A partner's own ladder: its contact points, then the office.
    ("weisser-ring", PRIMARY, False, "landesbuero@weisser-ring.example.org", None),
    ("weisser-ring", DEPUTY, False, "landesvorsitz@weisser-ring.example.org", None),
    ("weisser-ring", COMMISSIONER, False, OFFICE_DESK, None),
    # While the office has not answered its own alert, only the last step changes.
    ("weisser-ring", PRIMARY, True, "landesbuero@weisser-ring.example.org", None),
    ("weisser-ring", DEPUTY, True, "landesvorsitz@weisser-ring.example.org", None),
    ("weisser-ring", COMMISSIONER, True, FINAL_CONTACT, LAGEZENTRUM),
    # The office's own alert: its last step never goes back to its own desk.
    (OFFICE, PRIMARY, False, OFFICE_DESK, None),
    (OFFICE, DEPUTY, False, "vertretung@opferbeauftragte.example.org", None),
    (OFFICE, COMMISSIONER, False, FINAL_CONTACT, LAGEZENTRUM),
    (OFFICE, COMMISSIONER, True, FINAL_CONTACT, LAGEZENTRUM),
]


@pytest.mark.parametrize(
    ("partner_id", "step", "office_silent", "address", "addressed_to"),
    ROUTES,
    ids=[
        f"{p}-{s}-{'office-silent' if silent else 'office-answers'}" for p, s, silent, *_ in ROUTES
    ],
)
def test_each_step_reaches_the_contact_the_agreement_names(
    agreement_terms: AgreementTerms,
    make_ctx: MakeCtx,
    partner_id: str,
    step: EscalationStep,
    office_silent: bool,
    address: str,
    addressed_to: str | None,
) -> None:
    agreement = recorded(agreement_terms, make_ctx)

    recipient = agreement.recipient_for(
        partner_id, step, office_silent=office_silent, declared_by=DECLARER
    )

    assert (recipient.contact.address, recipient.addressed_to) == (address, addressed_to)


def test_every_partners_ladder_ends_at_the_office_or_the_final_contact(
    agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    agreement = recorded(agreement_terms, make_ctx)
    last_steps = {
        partner.id: agreement.recipient_for(
            partner.id, COMMISSIONER, office_silent=False, declared_by=DECLARER
        ).contact.address
        for partner in agreement_terms.partners
    }

    assert last_steps == {
        OFFICE: FINAL_CONTACT,
        "opferhilfe-sachsen": OFFICE_DESK,
        "weisser-ring": OFFICE_DESK,
        "raa-sachsen": OFFICE_DESK,
    }


def test_a_last_step_that_would_reach_the_partners_own_silent_mailbox_goes_to_the_final_contact(
    agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    # RAA's deputy is the office's duty desk (spelt differently): the office's step would
    # reach the mailbox that has just not answered.
    data = agreement_terms.model_dump(mode="json")
    for partner in data["partners"]:
        if partner["id"] == "raa-sachsen":
            partner["deputy"]["address"] = "Lagedienst@opferbeauftragte.example.org"
    agreement = recorded(AgreementTerms.model_validate(data), make_ctx)

    recipient = agreement.recipient_for(
        "raa-sachsen", COMMISSIONER, office_silent=False, declared_by=DECLARER
    )

    assert (recipient.contact.address, recipient.addressed_to) == (FINAL_CONTACT, LAGEZENTRUM)


def terms_from_before_the_final_contact(terms: AgreementTerms, make_ctx: MakeCtx) -> Agreement:
    """The events a load recorded before agreements named a final escalation contact."""
    ctx = make_ctx()
    legacy = Agreement(agreement_key=terms.agreement_id, title="alt", ctx=ctx)
    for partner in terms.partners:
        legacy._partner_joined(terms=partner, ctx=ctx)
    legacy._revised(title="alt", label="2021-01", digest="alt", escalation_step_minutes=30, ctx=ctx)
    return legacy


@pytest.mark.parametrize(
    ("partner_id", "address", "addressed_to"),
    [
        # The office's own last step went to the declaring partner, for the declarer's attention.
        (OFFICE, "bereitschaft@opferhilfe-sachsen.example.org", "bereitschaft-7"),
        ("weisser-ring", OFFICE_DESK, None),
    ],
)
def test_terms_recorded_before_the_final_contact_keep_the_last_step_they_ran_under(
    agreement_terms: AgreementTerms,
    make_ctx: MakeCtx,
    partner_id: str,
    address: str,
    addressed_to: str | None,
) -> None:
    legacy = terms_from_before_the_final_contact(agreement_terms, make_ctx)

    recipient = legacy.recipient_for(
        partner_id, COMMISSIONER, office_silent=True, declared_by=DECLARER
    )

    assert legacy.final_escalation is None
    assert (recipient.contact.address, recipient.addressed_to) == (address, addressed_to)


def test_a_partner_the_agreement_does_not_name_is_refused(
    agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    agreement = recorded(agreement_terms, make_ctx)

    with pytest.raises(UnknownPartnerError, match="'stadtwerke' is not a partner"):
        agreement.recipient_for("stadtwerke", PRIMARY, office_silent=False, declared_by=DECLARER)
