"""The record on the real stores: every test runs once on SQLite and once on PostgreSQL.

A second application instance on the same store stands for a restarted or second worker: what
it reads is what was really written.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from contracts.agreement import AgreementTerms
from contracts.messages import Actor, CommandContext, IncidentDeclaration, NeedReport
from contracts.vocabulary import (
    ActorChannel,
    EscalationStep,
    IncidentKind,
    NeedCategory,
    NotificationPurpose,
    Phase,
    Region,
)
from domain import ids
from domain.application import LotseApplication
from domain.incident import NotificationOutcome
from domain.reflection import read_record, reflection_figures
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


# --- what the stores already hold ---------------------------------------------------------------

# A delivered alert exactly as the record has stored it since `AlertSent` exists (topic and state
# bytes). Stores in use hold such events and no upcaster reads them differently, so the event's
# topic and fields may not change.
ALERT_SENT_TOPIC = "domain.incident:Incident.AlertSent"
ALERT_SENT_STATE = (
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-14T20:21:00.412000+00:00"},'
    b'"partner_id":"weisser-ring","purpose":"alert","step":"primary",'
    b'"message_id":"leipzig-2026-11-14.alert.primary.weisser-ring","channel":"email",'
    b'"contact":"landesbuero@weisser-ring.example.org","delivered":true,"detail":"",'
    b'"ctx":{"_type_":"pydantic:contracts.messages.CommandContext","_data_":{'
    b'"command_id":"notify","actor":{"partner_id":"opferbeauftragte","staff_ref":"lotse-system"},'
    b'"on_behalf_of":null,"channel":"system","business_time":"2026-11-14T20:21:00Z",'
    b'"workflow_id":"leipzig-2026-11-14","run_id":"run-1"}}}'
)
NOTIFIED_AT = datetime(2026, 11, 14, 20, 21, tzinfo=UTC)


def system_ctx(command_id: str) -> CommandContext:
    """The context the workflow gives a delivery it records (fixed, to compare stored bytes)."""
    return CommandContext(
        command_id=command_id,
        actor=Actor(partner_id="opferbeauftragte", staff_ref="lotse-system"),
        channel=ActorChannel.SYSTEM,
        business_time=NOTIFIED_AT,
        workflow_id=INCIDENT,
        run_id="run-1",
    )


def without_timestamp(state: bytes) -> dict[str, object]:
    fields: dict[str, object] = json.loads(state)
    del fields["timestamp"]  # when it was stored: the one value a new recording changes
    return fields


def test_a_recorded_notification_is_stored_with_the_topic_and_fields_it_always_had(
    open_app: OpenApp, agreement_key: str, make_ctx: MakeCtx
) -> None:
    app = open_app()
    app.declare_incident(INCIDENT, declaration(), agreement_key, make_ctx(OCCURRED_AT))
    contact = app.agreement(agreement_key).partner("weisser-ring").primary

    app.record_notification(
        INCIDENT,
        NotificationOutcome(
            partner_id="weisser-ring",
            purpose=NotificationPurpose.ALERT,
            step=EscalationStep.PRIMARY,
            message_id=f"{INCIDENT}.alert.primary.weisser-ring",
            contact=contact,
            delivered=True,
        ),
        system_ctx("notify"),
    )

    stored = app.recorder.select_events(ids.incident_id(INCIDENT))[-1]
    assert stored.topic == ALERT_SENT_TOPIC
    assert list(json.loads(stored.state)) == list(json.loads(ALERT_SENT_STATE))
    assert without_timestamp(stored.state) == without_timestamp(ALERT_SENT_STATE)


def test_an_alert_sent_event_as_stored_before_is_read_back_and_the_incident_goes_on(
    open_app: OpenApp, agreement_key: str, make_ctx: MakeCtx
) -> None:
    writer = open_app()
    writer.declare_incident(INCIDENT, declaration(), agreement_key, make_ctx(OCCURRED_AT))
    writer.recorder.insert_events(
        [
            StoredEvent(
                originator_id=ids.incident_id(INCIDENT),
                originator_version=2,
                topic=ALERT_SENT_TOPIC,
                state=ALERT_SENT_STATE,
            )
        ]
    )

    reader = open_app()

    assert reader.incident(INCIDENT).alerts["weisser-ring"].notifications_delivered == 1
    entry = reader.history(INCIDENT)[-1]
    assert (entry.event, entry.version, entry.ctx) == ("AlertSent", 2, system_ctx("notify"))
    assert entry.details == {
        "partner_id": "weisser-ring",
        "purpose": "alert",
        "step": "primary",
        "message_id": f"{INCIDENT}.alert.primary.weisser-ring",
        "channel": "email",
        "contact": "landesbuero@weisser-ring.example.org",
        "delivered": True,
        "detail": "",
    }
    reader.acknowledge_alert(INCIDENT, "weisser-ring", False, 60.0, make_ctx())
    assert [entry.event for entry in reader.history(INCIDENT)][1:] == [
        "AlertSent",
        "AlertAcknowledged",
    ]


def test_a_declaration_stored_before_exercises_existed_reads_as_a_real_incident(
    open_app: OpenApp, agreement_key: str, make_ctx: MakeCtx
) -> None:
    """`Declared` gained `exercise` with a default: the one predicate of KPIs
    (`Incident.counts_in_kpis`) counts an old declaration and leaves an exercise out."""
    app = open_app()
    exercise = declaration().model_copy(update={"exercise": True})
    app.declare_incident("uebung-1", exercise, agreement_key, make_ctx(OCCURRED_AT))
    (stored,) = app.recorder.select_events(ids.incident_id("uebung-1"))
    old_fields = json.loads(stored.state)
    assert old_fields.pop("exercise") is True
    old_fields["incident_key"] = INCIDENT
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=ids.incident_id(INCIDENT),
                originator_version=1,
                topic=stored.topic,
                state=json.dumps(old_fields).encode(),
            )
        ]
    )

    reader = open_app()

    old, drill = reader.incident(INCIDENT), reader.incident("uebung-1")
    assert (old.exercise, old.counts_in_kpis) == (False, True)
    assert (drill.exercise, drill.counts_in_kpis) == (True, False)
    assert "exercise" not in reader.history(INCIDENT)[0].details
    assert reader.history("uebung-1")[0].details["exercise"] is True
    # The reflection report takes the predicate: the exercise's figures say they are no KPIs.
    as_of = OCCURRED_AT + timedelta(days=1)
    assert not reflection_figures(read_record(reader, INCIDENT), as_of).exercise
    assert reflection_figures(read_record(reader, "uebung-1"), as_of).exercise


STARTING_TOGETHER = 8


@pytest.mark.postgres
def test_workers_starting_together_on_a_new_postgres_store_all_start(
    postgres_settings: Settings,
) -> None:
    """Every worker creates the store's tables, types and functions if they are missing; when
    several start at the same moment on a new store, PostgreSQL refuses all but one of the
    concurrent definitions (`tuple concurrently updated`), and those workers must still start."""
    env = postgres_settings.event_store_env()
    together = threading.Barrier(STARTING_TOGETHER)
    started: list[LotseApplication] = []
    failed: list[BaseException] = []

    def start() -> None:
        together.wait()
        try:
            started.append(LotseApplication(env=env))
        except BaseException as error:  # every failure is the finding
            failed.append(error)

    threads = [threading.Thread(target=start) for _ in range(STARTING_TOGETHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for app in started:
        app.close()
    assert failed == []
    assert len(started) == STARTING_TOGETHER


def test_the_worker_never_asks_the_sqlite_store_for_more_connections_than_its_pool_holds(
    sqlite_settings: Settings,
) -> None:
    """Issue #8: when the connection pool runs dry, requests wait, and eventsourcing 9.5.6's own
    pool then kept the writer lock of one that timed out ("Timed out waiting for return of
    writer" for every later write; Lotse's pool gives it back, tests/integration/
    test_sqlite_store.py). Still no request should have to wait for a connection: the worker's
    activity threads, the people view's catch-up thread and one spare reader fit into the pool."""
    from bootstrap import ACTIVITY_THREADS, build_application

    app = build_application(sqlite_settings)
    try:
        pool = app.recorder.datastore.pool  # type: ignore[attr-defined]  # the SQLite recorder's
        assert pool.pool_size + pool.max_overflow >= ACTIVITY_THREADS + 2
    finally:
        app.close()
