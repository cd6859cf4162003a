"""The domain through its application service, on the in-memory store: no server needed.

Each test states one rule of the agreed procedure (docs/procedure.md, docs/record.md) as a sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from contracts.agreement import AgreementTerms, ContactPoint
from contracts.messages import Actor, CommandContext, IncidentDeclaration, NeedReport
from contracts.vocabulary import (
    ActorChannel,
    AlertState,
    ContactChannel,
    EscalationStep,
    IncidentKind,
    NeedCategory,
    NotificationPurpose,
    Phase,
    Region,
)
from domain.application import LotseApplication
from domain.errors import (
    AgreementNotFoundError,
    IncidentAlreadyDeclaredError,
    OutsideRemitError,
    PhaseNotAllowedError,
    UnknownPartnerError,
)
from domain.incident import NotificationOutcome
from tests.workflow.support import PARTNERS

MakeCtx = Callable[..., CommandContext]
Step = Callable[[LotseApplication, str, CommandContext], object]

INCIDENT = "dresden-2026-11-07"
OCCURRED_AT = datetime(2026, 11, 7, 17, 40, tzinfo=UTC)
DECLARED_AT = OCCURRED_AT + timedelta(minutes=12)


def declaration(title: str = "Anschlag auf den Striezelmarkt") -> IncidentDeclaration:
    return IncidentDeclaration(
        title=title,
        kind=IncidentKind.TERRORIST,
        occurred_at=OCCURRED_AT,
        location="Altmarkt, Dresden",
        region=Region.DRESDEN,
        declared_by=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
        estimated_affected=400,
    )


def with_partner_changed(
    terms: AgreementTerms, partner_id: str, **changes: object
) -> AgreementTerms:
    data = terms.model_dump(mode="json")
    for partner in data["partners"]:
        if partner["id"] == partner_id:
            partner.update(changes)
    return AgreementTerms.model_validate(data)


def without_partner(terms: AgreementTerms, partner_id: str) -> AgreementTerms:
    data = terms.model_dump(mode="json")
    data["partners"] = [p for p in data["partners"] if p["id"] != partner_id]
    return AgreementTerms.model_validate(data)


def event_names(app: LotseApplication, aggregate_id: UUID, after_version: int = 0) -> list[str]:
    return [type(e).__name__ for e in app.events.get(aggregate_id, gt=after_version)]


def acknowledge_all(app: LotseApplication, incident_key: str, make_ctx: MakeCtx) -> None:
    for partner_id in PARTNERS:
        app.acknowledge_alert(incident_key, partner_id, False, 600.0, make_ctx())


@pytest.fixture
def app() -> LotseApplication:
    return LotseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@pytest.fixture
def agreement_key(app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx) -> str:
    app.load_agreement(agreement_terms, make_ctx())
    return agreement_terms.agreement_id


@pytest.fixture
def incident_key(app: LotseApplication, agreement_key: str, make_ctx: MakeCtx) -> str:
    app.declare_incident(INCIDENT, declaration(), agreement_key, make_ctx(DECLARED_AT))
    return INCIDENT


@pytest.fixture
def coordinating(app: LotseApplication, incident_key: str, make_ctx: MakeCtx) -> str:
    acknowledge_all(app, incident_key, make_ctx)
    return incident_key


@pytest.fixture
def closed(app: LotseApplication, coordinating: str, make_ctx: MakeCtx) -> str:
    app.close_acute_phase(coordinating, None, DECLARED_AT + timedelta(weeks=6), make_ctx())
    app.mark_reflection_due(coordinating, make_ctx())
    app.record_reflection(coordinating, ["Alarmierung dauerte zu lange"], [], make_ctx())
    return coordinating


# --- the agreement ----------------------------------------------------------------------------


def test_loading_the_agreement_records_each_partner_the_final_contact_and_a_revision(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    loaded = app.load_agreement(agreement_terms, make_ctx())

    agreement = app.agreement(agreement_terms.agreement_id)
    assert event_names(app, agreement.id) == [
        "Adopted",
        *["PartnerJoined"] * 4,
        "FinalEscalationSet",
        "Revised",
    ]
    assert loaded.aggregate_version == agreement.version == 7
    assert list(agreement.partners) == PARTNERS
    assert agreement.label == "2021-01"
    assert agreement.escalation_step_minutes == 30
    assert agreement.final_escalation == agreement_terms.final_escalation
    assert loaded.changes[-2:] == [
        "final escalation: Lagezentrum des Sächsischen Staatsministeriums des Innern "
        "(email: lagezentrum@smi.example.org)",
        "revised: label 2021-01",
    ]


def test_a_newly_loaded_agreement_is_its_version_1(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    loaded = app.load_agreement(agreement_terms, make_ctx())

    assert loaded.revision == app.agreement(agreement_terms.agreement_id).revision == 1


def test_loading_the_same_terms_again_records_nothing(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    first = app.load_agreement(agreement_terms, make_ctx())

    again = app.load_agreement(agreement_terms, make_ctx())

    assert again.changes == []
    assert (again.revision, again.aggregate_version) == (1, first.aggregate_version)
    assert app.agreement(agreement_terms.agreement_id).version == first.aggregate_version


def test_a_changed_deadline_records_changed_terms_for_that_partner_only(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    first = app.load_agreement(agreement_terms, make_ctx())
    revised = with_partner_changed(agreement_terms, "weisser-ring", ack_deadline_minutes=45)

    loaded = app.load_agreement(revised, make_ctx())

    agreement = app.agreement(agreement_terms.agreement_id)
    assert event_names(app, agreement.id, after_version=first.aggregate_version) == [
        "PartnerTermsChanged",
        "Revised",
    ]
    assert loaded.changes == ["partner terms changed: weisser-ring", "revised: label 2021-01"]
    assert loaded.revision == agreement.revision == 2
    assert agreement.partner("weisser-ring").ack_deadline_minutes == 45
    assert agreement.partner("opferhilfe-sachsen").ack_deadline_minutes == 60


def test_a_removed_partner_records_that_it_left(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    first = app.load_agreement(agreement_terms, make_ctx())

    loaded = app.load_agreement(without_partner(agreement_terms, "raa-sachsen"), make_ctx())

    agreement = app.agreement(agreement_terms.agreement_id)
    assert event_names(app, agreement.id, after_version=first.aggregate_version) == [
        "PartnerLeft",
        "Revised",
    ]
    assert loaded.changes[0] == "partner left: raa-sachsen"
    with pytest.raises(UnknownPartnerError, match="'raa-sachsen' is not a partner"):
        agreement.partner("raa-sachsen")


def test_an_earlier_agreement_version_replays_the_terms_in_force_then(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    first = app.load_agreement(agreement_terms, make_ctx())
    app.load_agreement(
        with_partner_changed(agreement_terms, "opferhilfe-sachsen", ack_deadline_minutes=20),
        make_ctx(),
    )

    then = app.agreement(agreement_terms.agreement_id, version=first.aggregate_version)
    now = app.agreement(agreement_terms.agreement_id)

    assert then.partner("opferhilfe-sachsen").ack_deadline_minutes == 60
    assert now.partner("opferhilfe-sachsen").ack_deadline_minutes == 20


def test_each_revision_of_the_agreement_can_be_shown_by_its_number(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    key = agreement_terms.agreement_id
    app.load_agreement(agreement_terms, make_ctx())
    app.load_agreement(agreement_terms, make_ctx())  # unchanged: no new revision
    second = with_partner_changed(agreement_terms, "weisser-ring", ack_deadline_minutes=45)
    app.load_agreement(second, make_ctx())
    app.load_agreement(without_partner(second, "raa-sachsen"), make_ctx())

    revisions = [app.agreement_at_revision(key, number) for number in (1, 2, 3)]

    assert [agreement.revision for agreement in revisions] == [1, 2, 3]
    assert [a.partner("weisser-ring").ack_deadline_minutes for a in revisions] == [60, 45, 45]
    assert ["raa-sachsen" in a.partners for a in revisions] == [True, True, False]
    assert revisions[2].version == app.agreement(key).version


@pytest.mark.parametrize("revision", [0, 4])
def test_a_revision_that_was_never_loaded_is_refused_naming_the_known_ones(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx, revision: int
) -> None:
    app.load_agreement(agreement_terms, make_ctx())
    app.load_agreement(
        with_partner_changed(agreement_terms, "weisser-ring", ack_deadline_minutes=45), make_ctx()
    )
    app.load_agreement(agreement_terms, make_ctx())

    with pytest.raises(
        AgreementNotFoundError,
        match=rf"agreement 'kooperation-opferhilfe-sachsen' has no version {revision} "
        r"\(versions: 1 to 3\)",
    ):
        app.agreement_at_revision(agreement_terms.agreement_id, revision)


def test_a_changed_final_escalation_contact_is_recorded_and_the_earlier_one_replays(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    first = app.load_agreement(agreement_terms, make_ctx())
    data = agreement_terms.model_dump(mode="json")
    data["final_escalation"]["contact"]["address"] = "lagezentrum-2@smi.example.org"

    loaded = app.load_agreement(AgreementTerms.model_validate(data), make_ctx())

    key = agreement_terms.agreement_id
    agreement = app.agreement(key)
    assert event_names(app, agreement.id, after_version=first.aggregate_version) == [
        "FinalEscalationSet",
        "Revised",
    ]
    assert loaded.changes[0].endswith("(email: lagezentrum-2@smi.example.org)")
    assert agreement.final_escalation is not None
    assert agreement.final_escalation.contact.address == "lagezentrum-2@smi.example.org"
    earlier = app.agreement_at_revision(key, 1).final_escalation
    assert earlier is not None
    assert earlier.contact.address == "lagezentrum@smi.example.org"


# --- declaration --------------------------------------------------------------------------------


def test_a_declaration_records_the_agreement_version_in_force(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    loaded = app.load_agreement(agreement_terms, make_ctx())

    incident = app.declare_incident(
        INCIDENT, declaration(), agreement_terms.agreement_id, make_ctx(DECLARED_AT)
    )
    app.load_agreement(
        with_partner_changed(agreement_terms, "weisser-ring", ack_deadline_minutes=45), make_ctx()
    )

    recorded = app.incident(INCIDENT)
    assert incident.agreement_version == recorded.agreement_version == loaded.aggregate_version
    assert incident.agreement_revision == recorded.agreement_revision == 1
    assert app.agreement(agreement_terms.agreement_id).revision == 2
    assert recorded.phase == Phase.ALERTING
    assert list(recorded.alerts) == PARTNERS
    assert app.agreement_of(recorded).partner("weisser-ring").ack_deadline_minutes == 60


def test_declaring_under_an_agreement_that_was_never_loaded_is_refused(
    app: LotseApplication, make_ctx: MakeCtx
) -> None:
    with pytest.raises(AgreementNotFoundError, match="agreement 'nirgends' has not been loaded"):
        app.declare_incident(INCIDENT, declaration(), "nirgends", make_ctx())


def test_a_declaration_by_someone_outside_the_agreement_is_refused_and_records_nothing(
    app: LotseApplication, agreement_key: str, make_ctx: MakeCtx
) -> None:
    stranger = declaration().model_copy(
        update={"declared_by": Actor(partner_id="feuerwehr-dresden", staff_ref="elw-1")}
    )

    with pytest.raises(UnknownPartnerError, match="'feuerwehr-dresden' is not a partner"):
        app.declare_incident(INCIDENT, stranger, agreement_key, make_ctx())
    assert app.incident_keys() == []


def test_a_repeated_declaration_with_the_same_command_id_returns_the_first_and_records_nothing(
    app: LotseApplication, agreement_key: str, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx(DECLARED_AT)
    first = app.declare_incident(INCIDENT, declaration(), agreement_key, ctx)

    repeat = app.declare_incident(INCIDENT, declaration("Wiederholung"), agreement_key, ctx)

    assert repeat.id == first.id
    assert repeat.title == first.title
    assert [entry.event for entry in app.history(INCIDENT)] == ["Declared"]


def test_a_second_declaration_with_a_new_command_id_is_refused(
    app: LotseApplication, incident_key: str, agreement_key: str, make_ctx: MakeCtx
) -> None:
    with pytest.raises(
        IncidentAlreadyDeclaredError, match=f"'{incident_key}' was already declared"
    ):
        app.declare_incident(incident_key, declaration(), agreement_key, make_ctx())

    assert len(app.history(incident_key)) == 1


# --- the envelope -------------------------------------------------------------------------------


def test_every_event_carries_actor_channel_business_time_command_and_workflow(
    app: LotseApplication, agreement_key: str, make_ctx: MakeCtx
) -> None:
    declared = make_ctx(DECLARED_AT)
    acknowledged = make_ctx(DECLARED_AT + timedelta(minutes=7), on_behalf_of="weisser-ring")
    reported = make_ctx(DECLARED_AT + timedelta(hours=2))
    app.declare_incident(INCIDENT, declaration(), agreement_key, declared)
    app.acknowledge_alert(INCIDENT, "weisser-ring", False, 420.0, acknowledged)
    needs = [NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.DRESDEN, count=30)]
    app.report_needs(INCIDENT, needs, reported)

    history = app.history(INCIDENT)

    assert [entry.event for entry in history] == ["Declared", "AlertAcknowledged", "NeedsReported"]
    assert [entry.ctx for entry in history] == [declared, acknowledged, reported]
    assert [entry.version for entry in history] == [1, 2, 3]
    on_behalf = history[1].ctx
    assert on_behalf.actor == Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1")
    assert on_behalf.on_behalf_of == "weisser-ring"
    assert on_behalf.channel is ActorChannel.UI
    assert on_behalf.business_time == DECLARED_AT + timedelta(minutes=7)
    assert on_behalf.command_id == acknowledged.command_id
    assert (on_behalf.workflow_id, on_behalf.run_id) == ("wf-test", "run-test")
    assert history[1].details == {
        "partner_id": "weisser-ring",
        "late": False,
        "seconds_to_acknowledge": 420.0,
        "received_at": (DECLARED_AT + timedelta(minutes=7)).isoformat(),
    }


def test_an_acknowledgement_taken_by_phone_keeps_when_it_arrived_and_when_it_was_entered(
    app: LotseApplication, agreement_key: str, make_ctx: MakeCtx
) -> None:
    app.declare_incident(INCIDENT, declaration(), agreement_key, make_ctx(DECLARED_AT))
    phoned_at = DECLARED_AT + timedelta(minutes=5)
    entered = make_ctx(DECLARED_AT + timedelta(minutes=40), on_behalf_of="weisser-ring")

    app.acknowledge_alert(INCIDENT, "weisser-ring", False, 300.0, entered, received_at=phoned_at)

    alert = app.incident(INCIDENT).alerts["weisser-ring"]
    assert (alert.acknowledged_at, alert.entered_at) == (phoned_at, entered.business_time)
    recorded = app.history(INCIDENT)[-1]
    assert recorded.details["received_at"] == phoned_at.isoformat()
    assert recorded.ctx.business_time == entered.business_time


# --- acknowledgements ---------------------------------------------------------------------------


def test_an_acknowledgement_applied_twice_with_the_same_command_id_records_one_event(
    app: LotseApplication, incident_key: str, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx()

    app.acknowledge_alert(incident_key, "opferhilfe-sachsen", False, 300.0, ctx)
    app.acknowledge_alert(incident_key, "opferhilfe-sachsen", False, 300.0, ctx)

    events = [entry.event for entry in app.history(incident_key)]
    assert events == ["Declared", "AlertAcknowledged"]


@pytest.mark.parametrize("command", ["report_needs", "record_notification", "call_off"])
def test_a_command_retried_with_the_same_command_id_records_once(
    app: LotseApplication, incident_key: str, make_ctx: MakeCtx, command: str
) -> None:
    """Commands whose second application would otherwise add to the record (counts add up,
    notifications repeat, a call-off is refused): only the command id keeps them single."""
    ctx = make_ctx()
    apply: Callable[[], object] = {
        "report_needs": lambda: app.report_needs(
            incident_key,
            [NeedReport(category=NeedCategory.LEGAL, region=Region.LEIPZIG, count=3)],
            ctx,
        ),
        "record_notification": lambda: app.record_notification(
            incident_key,
            NotificationOutcome(
                partner_id="weisser-ring",
                purpose=NotificationPurpose.ALERT,
                step=EscalationStep.PRIMARY,
                message_id="m-1",
                contact=ContactPoint(
                    channel=ContactChannel.EMAIL, address="landesbuero@weisser-ring.example.org"
                ),
                delivered=True,
            ),
            ctx,
        ),
        "call_off": lambda: app.call_off(incident_key, "Fehlalarm", ctx),
    }[command]

    apply()
    apply()  # the activity's retry after a lost response

    events = [entry.event for entry in app.history(incident_key)]
    assert len(events) == 2
    assert app.incident(incident_key).needs.get("legal", {}).get("leipzig", 3) == 3


def test_a_second_acknowledgement_of_an_acknowledged_partner_records_nothing(
    app: LotseApplication, incident_key: str, make_ctx: MakeCtx
) -> None:
    app.acknowledge_alert(incident_key, "opferhilfe-sachsen", False, 300.0, make_ctx())

    app.acknowledge_alert(incident_key, "opferhilfe-sachsen", True, 9000.0, make_ctx())

    incident = app.incident(incident_key)
    assert incident.version == 2
    alert = incident.alerts["opferhilfe-sachsen"]
    assert (alert.state, alert.late, alert.seconds_to_acknowledge) == (
        AlertState.ACKNOWLEDGED,
        False,
        300.0,
    )


def test_an_acknowledgement_for_an_unknown_partner_is_refused_naming_the_partner(
    app: LotseApplication, incident_key: str, make_ctx: MakeCtx
) -> None:
    with pytest.raises(UnknownPartnerError, match="'polizei-sachsen' is not a partner"):
        app.acknowledge_alert(incident_key, "polizei-sachsen", False, 60.0, make_ctx())

    assert app.incident(incident_key).version == 1


def test_the_incident_coordinates_once_every_partner_acknowledged_or_is_unreachable(
    app: LotseApplication, incident_key: str, make_ctx: MakeCtx
) -> None:
    for partner_id in PARTNERS[:-1]:
        app.acknowledge_alert(incident_key, partner_id, False, 600.0, make_ctx())
    assert app.incident(incident_key).phase == Phase.ALERTING

    app.mark_unreachable(incident_key, "raa-sachsen", make_ctx())

    incident = app.incident(incident_key)
    assert incident.phase == Phase.COORDINATING
    assert incident.alerts["raa-sachsen"].state == AlertState.UNREACHABLE


def test_a_late_acknowledgement_after_unreachable_is_recorded_as_acknowledged_and_late(
    app: LotseApplication, incident_key: str, make_ctx: MakeCtx
) -> None:
    app.mark_unreachable(incident_key, "raa-sachsen", make_ctx())
    answered_at = DECLARED_AT + timedelta(hours=3)

    app.acknowledge_alert(incident_key, "raa-sachsen", True, 10800.0, make_ctx(answered_at))

    alert = app.incident(incident_key).alerts["raa-sachsen"]
    assert alert.state == AlertState.ACKNOWLEDGED
    assert alert.late is True
    assert alert.acknowledged_at == answered_at
    assert alert.seconds_to_acknowledge == 10800.0


# --- remits -------------------------------------------------------------------------------------


def test_assigning_a_need_category_outside_the_partners_remit_is_refused_and_records_nothing(
    app: LotseApplication, coordinating: str, make_ctx: MakeCtx
) -> None:
    version = app.incident(coordinating).version

    with pytest.raises(
        OutsideRemitError, match="'financial' is outside the remit of 'raa-sachsen'"
    ):
        app.assign_need_category(coordinating, NeedCategory.FINANCIAL, "raa-sachsen", make_ctx())

    incident = app.incident(coordinating)
    assert incident.version == version
    assert incident.assignments == {}


def test_assigning_a_need_category_inside_the_partners_remit_is_recorded(
    app: LotseApplication, coordinating: str, make_ctx: MakeCtx
) -> None:
    app.assign_need_category(coordinating, NeedCategory.FINANCIAL, "weisser-ring", make_ctx())

    assert app.incident(coordinating).assignments == {"financial": "weisser-ring"}
    assert app.history(coordinating)[-1].event == "NeedCategoryAssigned"


def test_giving_a_need_category_to_another_partner_records_whom_it_replaces(
    app: LotseApplication, coordinating: str, make_ctx: MakeCtx
) -> None:
    app.assign_need_category(coordinating, NeedCategory.LEGAL, "weisser-ring", make_ctx())

    incident = app.assign_need_category(
        coordinating, NeedCategory.LEGAL, "opferhilfe-sachsen", make_ctx()
    )

    assert incident.assignments == {"legal": "opferhilfe-sachsen"}
    last = app.history(coordinating)[-1]
    assert last.event == "NeedCategoryReassigned"
    assert last.details == {
        "category": "legal",
        "from_partner_id": "weisser-ring",
        "to_partner_id": "opferhilfe-sachsen",
    }
    assert app.incident(coordinating).assignments == incident.assignments  # replayed


def test_giving_a_need_category_again_to_the_partner_that_has_it_records_nothing(
    app: LotseApplication, coordinating: str, make_ctx: MakeCtx
) -> None:
    app.assign_need_category(coordinating, NeedCategory.LEGAL, "weisser-ring", make_ctx())
    version = app.incident(coordinating).version

    incident = app.assign_need_category(
        coordinating, NeedCategory.LEGAL, "weisser-ring", make_ctx()
    )

    assert incident.version == app.incident(coordinating).version == version
    assert incident.assignments == {"legal": "weisser-ring"}
    assert [e.event for e in app.history(coordinating)].count("NeedCategoryAssigned") == 1


def test_a_reassignment_outside_the_new_partners_remit_is_refused_and_keeps_the_first(
    app: LotseApplication, coordinating: str, make_ctx: MakeCtx
) -> None:
    app.assign_need_category(coordinating, NeedCategory.FINANCIAL, "weisser-ring", make_ctx())

    with pytest.raises(OutsideRemitError, match="'financial' is outside the remit of 'raa"):
        app.assign_need_category(coordinating, NeedCategory.FINANCIAL, "raa-sachsen", make_ctx())

    assert app.incident(coordinating).assignments == {"financial": "weisser-ring"}


def test_assigning_a_need_category_to_a_stranger_is_refused(
    app: LotseApplication, coordinating: str, make_ctx: MakeCtx
) -> None:
    with pytest.raises(UnknownPartnerError, match="'polizei-sachsen' is not a partner"):
        app.assign_need_category(coordinating, NeedCategory.LEGAL, "polizei-sachsen", make_ctx())


# --- phases -------------------------------------------------------------------------------------


def test_needs_cannot_be_reported_after_the_acute_phase_is_closed(
    app: LotseApplication, coordinating: str, make_ctx: MakeCtx
) -> None:
    app.close_acute_phase(coordinating, "Lage stabil", DECLARED_AT + timedelta(weeks=6), make_ctx())
    needs = [NeedReport(category=NeedCategory.LEGAL, region=Region.DRESDEN, count=3)]

    with pytest.raises(PhaseNotAllowedError, match=r"cannot report needs.*'awaiting-reflection'"):
        app.report_needs(coordinating, needs, make_ctx())


def test_the_acute_phase_cannot_be_closed_while_partners_are_being_alerted(
    app: LotseApplication, incident_key: str, make_ctx: MakeCtx
) -> None:
    with pytest.raises(PhaseNotAllowedError, match=r"cannot close the acute phase.*'alerting'"):
        app.close_acute_phase(incident_key, None, DECLARED_AT + timedelta(weeks=6), make_ctx())


def test_recording_the_reflection_closes_the_incident(
    app: LotseApplication, coordinating: str, make_ctx: MakeCtx
) -> None:
    due_at = DECLARED_AT + timedelta(weeks=6)
    app.close_acute_phase(coordinating, None, due_at, make_ctx())
    assert app.incident(coordinating).phase == Phase.AWAITING_REFLECTION
    app.mark_reflection_due(coordinating, make_ctx(due_at))

    app.record_reflection(
        coordinating, ["Alarmierung der Stellvertretung zu spät"], ["Rufbereitschaft"], make_ctx()
    )

    incident = app.incident(coordinating)
    assert incident.phase == Phase.CLOSED
    assert incident.reflection_due_at == due_at
    assert incident.findings == ["Alarmierung der Stellvertretung zu spät"]
    assert incident.measures == ["Rufbereitschaft"]
    assert [entry.event for entry in app.history(coordinating)][-2:] == [
        "ReflectionRecorded",
        "Closed",
    ]


def test_an_incident_can_be_called_off_from_coordinating_but_only_once(
    app: LotseApplication, coordinating: str, make_ctx: MakeCtx
) -> None:
    app.call_off(coordinating, "Fehlalarm", make_ctx())
    incident = app.incident(coordinating)
    assert (incident.phase, incident.call_off_reason) == (Phase.CALLED_OFF, "Fehlalarm")

    with pytest.raises(PhaseNotAllowedError, match=r"cannot call off the incident.*'called-off'"):
        app.call_off(coordinating, "doppelt gemeldet", make_ctx())


STEPS_AFTER_CLOSING: dict[str, Step] = {
    "acknowledge": lambda app, key, ctx: app.acknowledge_alert(key, "weisser-ring", True, 1.0, ctx),
    "report needs": lambda app, key, ctx: app.report_needs(
        key, [NeedReport(category=NeedCategory.LEGAL, region=Region.DRESDEN, count=1)], ctx
    ),
    "assign": lambda app, key, ctx: app.assign_need_category(
        key, NeedCategory.LEGAL, "weisser-ring", ctx
    ),
    "close acute phase": lambda app, key, ctx: app.close_acute_phase(
        key, None, DECLARED_AT + timedelta(weeks=8), ctx
    ),
    "mark reflection due": lambda app, key, ctx: app.mark_reflection_due(key, ctx),
    "record reflection": lambda app, key, ctx: app.record_reflection(key, ["nochmal"], [], ctx),
    "call off": lambda app, key, ctx: app.call_off(key, "zu spät", ctx),
}


@pytest.mark.parametrize("step", STEPS_AFTER_CLOSING.values(), ids=STEPS_AFTER_CLOSING.keys())
def test_nothing_is_possible_after_the_incident_is_closed(
    app: LotseApplication, closed: str, make_ctx: MakeCtx, step: Step
) -> None:
    version = app.incident(closed).version

    with pytest.raises(PhaseNotAllowedError, match="in phase 'closed'"):
        step(app, closed, make_ctx())

    assert app.incident(closed).version == version


# --- replay -------------------------------------------------------------------------------------


def test_an_incident_rebuilt_from_the_store_equals_the_state_before(
    app: LotseApplication, incident_key: str, make_ctx: MakeCtx
) -> None:
    for partner_id in PARTNERS[:-1]:
        app.acknowledge_alert(incident_key, partner_id, False, 900.0, make_ctx())
    app.mark_unreachable(incident_key, "raa-sachsen", make_ctx())
    app.report_needs(
        incident_key,
        [
            NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.DRESDEN, count=40),
            NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.MEISSEN, count=5),
        ],
        make_ctx(),
    )
    app.report_needs(
        incident_key,
        [NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.DRESDEN, count=2)],
        make_ctx(),
    )
    before = app.assign_need_category(
        incident_key, NeedCategory.PSYCHOSOCIAL, "opferhilfe-sachsen", make_ctx()
    )

    rebuilt = app.incident(incident_key)

    assert rebuilt is not before
    assert rebuilt.version == before.version
    assert rebuilt.phase == before.phase == Phase.COORDINATING
    assert rebuilt.needs == before.needs == {"psychosocial": {"dresden": 42, "meissen": 5}}
    assert rebuilt.assignments == before.assignments
    assert {p: vars(a) for p, a in rebuilt.alerts.items()} == {
        p: vars(a) for p, a in before.alerts.items()
    }
    assert rebuilt.command_ids == before.command_ids


def test_an_earlier_version_of_an_incident_gives_the_state_at_that_version(
    app: LotseApplication, incident_key: str, make_ctx: MakeCtx
) -> None:
    acknowledge_all(app, incident_key, make_ctx)
    needs = [NeedReport(category=NeedCategory.LEGAL, region=Region.LEIPZIG, count=7)]
    at_coordination = app.report_needs(incident_key, needs, make_ctx()).version
    app.call_off(incident_key, "Fehlalarm", make_ctx())

    declared = app.incident(incident_key, version=1)
    coordinating = app.incident(incident_key, version=at_coordination)

    assert declared.phase == Phase.ALERTING
    assert all(alert.state == AlertState.PENDING for alert in declared.alerts.values())
    assert coordinating.phase == Phase.COORDINATING
    assert coordinating.needs == {"legal": {"leipzig": 7}}
    assert app.incident(incident_key).phase == Phase.CALLED_OFF


def test_incident_keys_lists_declared_incidents_in_order(
    app: LotseApplication, agreement_key: str, make_ctx: MakeCtx
) -> None:
    assert app.incident_keys() == []
    keys = ["leipzig-2026-03-01", "chemnitz-2026-05-17", "goerlitz-2026-09-30"]

    for key in keys:
        app.declare_incident(key, declaration(), agreement_key, make_ctx())
        app.acknowledge_alert(key, "weisser-ring", False, 60.0, make_ctx())

    assert app.incident_keys() == keys


def test_incident_keys_reads_past_one_page_of_the_log(
    app: LotseApplication, agreement_key: str, make_ctx: MakeCtx
) -> None:
    keys = [f"probe-{number:04d}" for number in range(501)]  # the log is read 500 at a time

    for key in keys:
        app.declare_incident(key, declaration(), agreement_key, make_ctx())

    assert app.incident_keys() == keys
