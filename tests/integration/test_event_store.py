"""The record on the real stores: every test runs once on SQLite and once on PostgreSQL.

A second application instance on the same store stands for a restarted or second worker: what
it reads is what was really written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import IntegrityError

from contracts.agreement import AgreementTerms
from contracts.messages import Actor, CommandContext, IncidentDeclaration, NeedReport
from contracts.vocabulary import IncidentKind, NeedCategory, Phase, Region
from domain.application import LotseApplication
from settings import Settings
from tests.workflow.support import PARTNERS

MakeCtx = Callable[..., CommandContext]
OpenApp = Callable[[], LotseApplication]

INCIDENT = "leipzig-2026-11-14"
OCCURRED_AT = datetime(2026, 11, 14, 20, 15, tzinfo=UTC)


def declaration() -> IncidentDeclaration:
    return IncidentDeclaration(
        title="Angriff vor dem Hauptbahnhof",
        kind=IncidentKind.EXTREMIST,
        occurred_at=OCCURRED_AT,
        location="Willy-Brandt-Platz, Leipzig",
        region=Region.LEIPZIG,
        declared_by=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
    )


def needs(count: int) -> list[NeedReport]:
    return [NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.LEIPZIG, count=count)]


@pytest.fixture
def open_app(store_settings: Settings) -> Iterator[OpenApp]:
    """Opens application instances on the one store; all are closed before the store goes."""
    apps: list[LotseApplication] = []

    def open_one() -> LotseApplication:
        app = LotseApplication(env=store_settings.event_store_env())
        apps.append(app)
        return app

    yield open_one
    for app in apps:
        app.close()


@pytest.fixture
def agreement_key(open_app: OpenApp, agreement_terms: AgreementTerms, make_ctx: MakeCtx) -> str:
    open_app().load_agreement(agreement_terms, make_ctx())
    return agreement_terms.agreement_id


def test_a_full_incident_is_read_back_by_a_new_application_instance(
    open_app: OpenApp, agreement_key: str, make_ctx: MakeCtx
) -> None:
    # One context per command, each a minute later; partners acknowledge through the office.
    ctx = [make_ctx(OCCURRED_AT + timedelta(minutes=minute)) for minute in range(7)]
    ctx[1:4] = [
        make_ctx(OCCURRED_AT + timedelta(minutes=minute), on_behalf_of=partner_id)
        for minute, partner_id in enumerate(PARTNERS[1:], start=1)
    ]
    due_at = OCCURRED_AT + timedelta(weeks=6)
    closing, due, reflected = make_ctx(), make_ctx(due_at), make_ctx(due_at + timedelta(days=2))
    writer = open_app()
    writer.declare_incident(INCIDENT, declaration(), agreement_key, ctx[0])
    for partner_id, acknowledged in zip(PARTNERS[1:], ctx[1:4], strict=True):
        writer.acknowledge_alert(INCIDENT, partner_id, False, 480.0, acknowledged)
    writer.mark_unreachable(INCIDENT, "opferbeauftragte", ctx[4])
    writer.report_needs(INCIDENT, needs(25), ctx[5])
    writer.assign_need_category(INCIDENT, NeedCategory.PSYCHOSOCIAL, "weisser-ring", ctx[6])
    writer.close_acute_phase(INCIDENT, "Lage stabil", due_at, closing)
    writer.mark_reflection_due(INCIDENT, due)
    writer.record_reflection(INCIDENT, ["Erreichbarkeit klären"], ["Rufkette"], reflected)
    written = writer.history(INCIDENT)

    reader = open_app()

    read = reader.history(INCIDENT)
    assert read == written
    assert [entry.event for entry in read] == [
        "Declared",
        *["AlertAcknowledged"] * 3,
        "PartnerUnreachable",
        "NeedsReported",
        "NeedCategoryAssigned",
        "AcutePhaseClosed",
        "ReflectionScheduled",
        "ReflectionBecameDue",
        "ReflectionRecorded",
        "Closed",
    ]
    assert [entry.version for entry in read] == list(range(1, 13))
    assert [entry.ctx for entry in read] == [*ctx, closing, closing, due, reflected, reflected]
    assert read[1].ctx.on_behalf_of == "opferhilfe-sachsen"
    assert read[1].details == {
        "partner_id": "opferhilfe-sachsen",
        "late": False,
        "seconds_to_acknowledge": 480.0,
        "received_at": read[1].ctx.business_time.isoformat(),  # not phoned: received = entered
    }
    incident = reader.incident(INCIDENT)
    assert incident.phase == Phase.CLOSED
    assert incident.needs == {"psychosocial": {"leipzig": 25}}
    assert incident.reflection_due_at == due_at
    assert incident.agreement_version == reader.agreement(agreement_key).version


def test_a_command_id_applied_on_one_instance_changes_nothing_on_another(
    open_app: OpenApp, agreement_key: str, make_ctx: MakeCtx
) -> None:
    declared, acknowledged = make_ctx(OCCURRED_AT), make_ctx()
    first = open_app()
    first.declare_incident(INCIDENT, declaration(), agreement_key, declared)
    first.acknowledge_alert(INCIDENT, "weisser-ring", False, 120.0, acknowledged)

    retry = open_app()
    retry.declare_incident(INCIDENT, declaration(), agreement_key, declared)
    retry.acknowledge_alert(INCIDENT, "weisser-ring", False, 120.0, acknowledged)

    assert [entry.event for entry in retry.history(INCIDENT)] == ["Declared", "AlertAcknowledged"]


def test_a_conflicting_save_writes_nothing_and_succeeds_when_retried(
    open_app: OpenApp, agreement_key: str, make_ctx: MakeCtx
) -> None:
    first, second = open_app(), open_app()
    first.declare_incident(INCIDENT, declaration(), agreement_key, make_ctx(OCCURRED_AT))
    mine, theirs = first.incident(INCIDENT), second.incident(INCIDENT)
    acknowledged, reported = make_ctx(), make_ctx()
    mine.acknowledge_alert("opferhilfe-sachsen", False, 300.0, make_ctx())
    theirs.acknowledge_alert("weisser-ring", False, 360.0, acknowledged)
    theirs.report_needs(needs(12), reported)
    first.save(mine)

    with pytest.raises(IntegrityError):
        second.save(theirs)

    assert [entry.event for entry in second.history(INCIDENT)] == ["Declared", "AlertAcknowledged"]
    # An activity retried after the conflict runs the same commands on the fresh state.
    second.acknowledge_alert(INCIDENT, "weisser-ring", False, 360.0, acknowledged)
    second.report_needs(INCIDENT, needs(12), reported)
    history = first.history(INCIDENT)
    assert [entry.event for entry in history] == [
        "Declared",
        "AlertAcknowledged",
        "AlertAcknowledged",
        "NeedsReported",
    ]
    assert [entry.ctx for entry in history[2:]] == [acknowledged, reported]


def test_incident_keys_lists_the_incidents_on_the_store_in_order(
    open_app: OpenApp, agreement_key: str, make_ctx: MakeCtx
) -> None:
    keys = ["bautzen-2026-02-02", "zwickau-2026-06-21", "leipzig-2026-11-14"]
    writers = [open_app(), open_app()]
    for number, key in enumerate(keys):
        writer = writers[number % 2]
        writer.declare_incident(key, declaration(), agreement_key, make_ctx())
        writer.acknowledge_alert(key, "opferbeauftragte", False, 30.0, make_ctx())

    assert open_app().incident_keys() == keys
