"""Helpers for the tests of `VictimCase`: a declared incident, a registered person, the updates.

No real person: the names are invented, phone numbers in the 555 range, addresses example.org.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle

from contracts.case_messages import CaseOutcome, CaseResult, CaseStatus
from contracts.messages import Actor, CommandContext
from contracts.people import ContactData
from contracts.vocabulary import VICTIM_CASE_WORKFLOW_TYPE, ActorChannel, case_workflow_id
from domain.errors import NotFoundError
from tests.workflow.support import Stack, declaration, eventually

TWO_OFFERS = Path(__file__).resolve().parent / "offers_two_in_dresden.toml"
"""A directory with two offers for psychosocial help in Dresden (Opferhilfe, WEISSER RING)."""
OFFICE = Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1")
HOTLINE = Actor(partner_id="opferhilfe-sachsen", staff_ref="hotline-3")
ERIKA = ContactData(
    name="Erika Zyxbeispiel",
    phone="+49 351 555 0142",
    email="erika.zyxbeispiel@example.org",
    address="Qwertzgasse 17, 01067 Dresden",
)
"""Invented; the name and street are unusual on purpose, so that a scan finds only them."""


def service(provider_id: str) -> Actor:
    return Actor(partner_id=provider_id, staff_ref="aufnahme-1")


async def declared_incident(stack: Stack) -> str:
    """An incident declared and recorded, to register people for."""
    handle = await stack.declare(declaration())

    def recorded() -> bool:
        try:
            stack.app.incident(handle.id)
        except NotFoundError:
            return False
        return True

    await eventually(recorded, bool, what="the declaration in the record")
    return handle.id


def registration(incident_id: str, person_ref: str = "DD-0042", **deadlines: Any) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "person_ref": person_ref,
        "involvement": "injured",
        "source": "hotline",
        "region": "dresden",
        "language": "de",
        "registered_by": HOTLINE.model_dump(),
        "deadlines": {"follow_ups": [3600], **deadlines},
    }


async def register(
    stack: Stack, incident_id: str, person_ref: str = "DD-0042", **deadlines: Any
) -> WorkflowHandle[Any, CaseOutcome]:
    handle = await stack.client.start_workflow(
        VICTIM_CASE_WORKFLOW_TYPE,
        registration(incident_id, person_ref, **deadlines),
        id=case_workflow_id(incident_id, person_ref),
        task_queue=stack.settings.task_queue,
        result_type=CaseOutcome,
    )
    stack.handles.append(handle)
    await eventually(
        lambda: _registered(stack, incident_id, person_ref), bool, what="the registration"
    )
    return handle


def _registered(stack: Stack, incident_id: str, person_ref: str) -> bool:
    try:
        stack.app.person(incident_id, person_ref)
    except NotFoundError:
        return False
    return True


def record_contact(stack: Stack, incident_id: str, person_ref: str = "DD-0042") -> None:
    """As `lotse person contact` does: straight into the record, never through Temporal."""
    stack.app.record_contact(
        incident_id,
        person_ref,
        ERIKA,
        CommandContext(
            command_id=f"contact-{uuid.uuid4()}",
            actor=HOTLINE,
            channel=ActorChannel.CLI,
            business_time=datetime.now(UTC),
        ),
    )


async def send(handle: WorkflowHandle[Any, Any], name: str, **request: Any) -> CaseResult:
    request.setdefault("actor", OFFICE.model_dump())
    result: CaseResult = await handle.execute_update(name, request, result_type=CaseResult)
    return result


async def status(handle: WorkflowHandle[Any, Any]) -> CaseStatus:
    result: CaseStatus = await handle.query("status", result_type=CaseStatus)
    return result


async def consent(handle: WorkflowHandle[Any, Any], recipient: str, *categories: str) -> CaseResult:
    return await send(
        handle,
        "give_consent",
        recipient=recipient,
        data_categories=list(categories or ("needs", "name", "phone")),
        method="oral",
    )


async def referral_in(
    handle: WorkflowHandle[Any, Any], referral_id: str, wanted: str
) -> CaseStatus:
    """Wait until the case's referral `referral_id` has status `wanted`."""

    def reached(case: CaseStatus) -> bool:
        return any(r.referral_id == referral_id and r.status == wanted for r in case.referrals)

    found: CaseStatus = await eventually(
        lambda: status(handle), reached, what=f"referral {referral_id} {wanted}"
    )
    return found
