"""Likely duplicates of an incident's lists: show them, confirm or reject them (issue #8).

The import registers a person whose name *sounds* like someone's with the same date of birth
(`Meier`/`Mayer`), or who has no date of birth, as a case of their own and puts the pair to an
operator here. The list shows both people's names and dates of birth from the record — for the
office, as `lotse person show` does — because only a person can tell.

Confirming merges the later case into the earlier one: the roll records the decision first,
then the later person's contact fields the earlier one lacks, their valid consents and their
open needs go to the earlier case, and the later case is closed as a duplicate. Each step has
its own update id, so a confirm run again after an interruption finishes what is left and
changes nothing twice. Rejecting records that they are two people; the pair is not shown again.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from cli.common import open_application
from cli.importing import merged_contact
from cli.person import contact_context
from cli.updates import DEFAULT_TIMEOUT, send_update
from contracts.case_messages import AssessNeeds, CaseResult, CloseCase, GiveConsent
from contracts.messages import Actor, CommandContext
from contracts.people import AssessedNeed, CaseCloseReason, ContactData, NeedStatus
from contracts.vocabulary import ActorChannel, case_workflow_id
from domain.application import LotseApplication
from domain.errors import PersonErasedError
from domain.roll import LikelyPair, PairStatus, PeopleRoll
from settings import Settings

DONE_NEEDS = (NeedStatus.MET,)


def pending_table(store: LotseApplication, roll: PeopleRoll) -> Table:
    """The pairs still to decide, with both people as the record knows them."""
    incident_id = roll.incident_key
    table = Table(title=f"likely the same person, incident {incident_id}")
    for heading in ("no.", "earlier", "later"):
        table.add_column(heading, overflow="fold")
    for pair in roll.pending():
        table.add_row(
            str(pair.pair_id),
            _who(store, roll, incident_id, pair.earlier),
            _who(store, roll, incident_id, pair.later),
        )
    return table


def _who(store: LotseApplication, roll: PeopleRoll, incident_id: str, ref: str) -> str:
    sources = ", ".join(roll.sources.get(ref, []))
    try:
        contact = store.contact_of(incident_id, ref)
    except PersonErasedError:
        return f"{ref} ({sources}): erased"
    if contact is None:
        return f"{ref} ({sources}): no contact data yet"
    born = contact.date_of_birth.isoformat() if contact.date_of_birth else "born ?"
    return f"{ref} ({sources}): {contact.name}, {born}"


async def confirm(
    ctx: typer.Context, settings: Settings, incident_id: str, pair_id: int, actor: Actor
) -> LikelyPair:
    """Record that the pair is one person and merge the later case into the earlier one."""
    with open_application(settings) as store:
        pair = store.settle_duplicate(incident_id, pair_id, True, _context(actor, pair_id))
        if pair.status is not PairStatus.CONFIRMED:
            return pair  # rejected before: answered as it stands
        later = store.person(incident_id, pair.later)
        if later.erased:
            return pair
        _merge_contact(store, incident_id, pair, actor)
        now = datetime.now(UTC)
        consents = [given.scope for given in later.consents if given.valid_at(now)]
        needs = [
            AssessedNeed(category=need.category, urgency=need.urgency)
            for need in later.needs.values()
            if need.status not in DONE_NEEDS
        ]
        later_open = later.closed_reason is None
    earlier_case = case_workflow_id(incident_id, pair.earlier)
    for number, scope in enumerate(consents, start=1):
        request = GiveConsent(
            actor=actor,
            channel=ActorChannel.CLI,
            recipient=scope.recipient,
            data_categories=scope.data_categories,
            purpose=scope.purpose,
            method=scope.method,
            given_at=scope.given_at,
            expires_at=scope.expires_at,
        )
        await _update(ctx, earlier_case, "give_consent", request, f"{pair_id}-consent-{number}")
    if needs:
        request_needs = AssessNeeds(actor=actor, channel=ActorChannel.CLI, needs=needs)
        await _update(ctx, earlier_case, "assess_needs", request_needs, f"{pair_id}-needs")
    if later_open:
        closing = CloseCase(actor=actor, channel=ActorChannel.CLI, reason=CaseCloseReason.DUPLICATE)
        later_case = case_workflow_id(incident_id, pair.later)
        await _update(ctx, later_case, "close_case", closing, f"{pair_id}-close")
    return pair


def reject(settings: Settings, incident_id: str, pair_id: int, actor: Actor) -> LikelyPair:
    with open_application(settings) as store:
        return store.settle_duplicate(incident_id, pair_id, False, _context(actor, pair_id))


async def _update(
    ctx: typer.Context,
    case_id: str,
    name: str,
    request: GiveConsent | AssessNeeds | CloseCase,
    step: str,
) -> None:
    incident_id = case_id.split("--")[0]
    update_id = f"merge-{incident_id}-{step}"
    await send_update(
        ctx,
        case_id,
        name,
        request,
        CaseResult,
        (update_id, DEFAULT_TIMEOUT),
        "case",
        announce=False,
    )


def _merge_contact(
    store: LotseApplication, incident_id: str, pair: LikelyPair, actor: Actor
) -> None:
    later = store.contact_of(incident_id, pair.later)
    if later is None:
        return
    earlier = store.contact_of(incident_id, pair.earlier)
    contact: ContactData = later if earlier is None else merged_contact(earlier, later)
    if contact == earlier:
        return
    ctx = contact_context(incident_id, pair.earlier, actor, contact, ActorChannel.CLI)
    store.record_contact(incident_id, pair.earlier, contact, ctx)


def _context(actor: Actor, pair_id: int) -> CommandContext:
    return CommandContext(
        command_id=f"duplicate-{pair_id}-{datetime.now(UTC).timestamp()}",
        actor=actor,
        channel=ActorChannel.CLI,
        business_time=datetime.now(UTC),
    )
