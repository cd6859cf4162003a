"""Meetings and measures of the regular exchange in the record, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.agreement import AgreementTerms
from contracts.exchange import AgreedMeasure, RecordMinutes
from contracts.messages import Actor, CommandContext, IncidentDeclaration
from contracts.vocabulary import IncidentKind, Region
from domain.application import LotseApplication
from domain.errors import UnknownPartnerError
from domain.exchange import MeasureNotFoundError, MeasureRefusedError, MeetingRefusedError
from settings import Settings

MakeCtx = Callable[..., CommandContext]
MEETING = "exchange-20270112"
HELD_AT = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
INCIDENT = "20261128-1705-dresden"


@pytest.fixture
def app(store_settings: Settings) -> Iterator[LotseApplication]:
    application = LotseApplication(env=store_settings.event_store_env())
    yield application
    application.close()


@pytest.fixture
def scheduled(app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx) -> str:
    app.load_agreement(agreement_terms, make_ctx())
    app.schedule_meeting(MEETING, agreement_terms.agreement_id, HELD_AT, make_ctx())
    return MEETING


def minutes() -> RecordMinutes:
    return RecordMinutes(
        actor=Actor(partner_id="opferbeauftragte", staff_ref="OB-0042"),
        attendees=[
            Actor(partner_id="opferbeauftragte", staff_ref="OB-0042"),
            Actor(partner_id="weisser-ring", staff_ref="landesbuero-2"),
        ],
        topics=["Erreichbarkeit der Kontaktstellen am Wochenende"],
        measures=[
            AgreedMeasure(
                text="Vertretungsplan für Feiertage abstimmen",
                owner="weisser-ring",
                due_on=date(2027, 2, 1),
            ),
            AgreedMeasure(
                text="Alarmierungsübung vorbereiten",
                owner="opferhilfe-sachsen",
                due_on=date(2027, 3, 1),
            ),
        ],
    )


def test_minutes_make_each_agreed_measure_a_tracked_measure_once(
    app: LotseApplication, scheduled: str, make_ctx: MakeCtx
) -> None:
    ctx = make_ctx()
    keys = app.record_minutes(scheduled, minutes(), ctx)
    assert keys == [f"{MEETING}/m1", f"{MEETING}/m2"]
    assert app.record_minutes(scheduled, minutes(), ctx) == keys  # the same command: nothing
    with pytest.raises(MeetingRefusedError, match="already recorded"):
        app.record_minutes(scheduled, minutes(), make_ctx())
    listed = app.measures()
    assert [(m.measure_key, m.owner, m.due_on) for m in listed] == [
        (f"{MEETING}/m1", "weisser-ring", date(2027, 2, 1)),
        (f"{MEETING}/m2", "opferhilfe-sachsen", date(2027, 3, 1)),
    ]
    meeting = app.meeting(scheduled)
    assert meeting.measure_keys == keys
    assert [a.staff_ref for a in meeting.attendees] == ["OB-0042", "landesbuero-2"]
    assert app.meeting_keys() == [MEETING]


def test_a_meeting_key_taken_by_another_run_is_refused(
    app: LotseApplication, scheduled: str, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    with pytest.raises(MeetingRefusedError, match="already scheduled by wf-test"):
        app.schedule_meeting(scheduled, agreement_terms.agreement_id, HELD_AT, make_ctx())


def test_a_measure_is_done_by_its_owner_or_the_office_only_and_once(
    app: LotseApplication, scheduled: str, make_ctx: MakeCtx
) -> None:
    app.record_minutes(scheduled, minutes(), make_ctx())
    raa = make_ctx().model_copy(update={"actor": Actor(partner_id="raa-sachsen", staff_ref="k-1")})
    with pytest.raises(MeasureRefusedError, match=r"only the owner .* \(weisser-ring\) or"):
        app.complete_measure(f"{MEETING}/m1", None, raa)
    owner = make_ctx().model_copy(
        update={"actor": Actor(partner_id="weisser-ring", staff_ref="landesbuero-2")}
    )
    measure, newly = app.complete_measure(f"{MEETING}/m1", "Plan verteilt", owner)
    assert newly
    assert measure.done_by == owner.actor
    again, newly_again = app.complete_measure(f"{MEETING}/m1", None, make_ctx())
    assert not newly_again
    assert again.done_at == measure.done_at


def test_a_reminder_is_recorded_once_per_number(
    app: LotseApplication, scheduled: str, make_ctx: MakeCtx
) -> None:
    app.record_minutes(scheduled, minutes(), make_ctx())
    key = f"{MEETING}/m2"
    app.remind_measure(key, 1, ["opferhilfe-sachsen", "opferbeauftragte"], make_ctx())
    app.remind_measure(key, 1, ["opferhilfe-sachsen", "opferbeauftragte"], make_ctx())
    measure = app.remind_measure(key, 2, ["opferhilfe-sachsen"], make_ctx())
    assert measure.reminders == 2
    assert [n.topic.rsplit(".", 1)[-1] for n in app.recorder.select_notifications(1, 100)].count(
        "ReminderSent"
    ) == 2


def test_a_reflections_measures_are_listed_and_tracked_once_assigned(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    app.load_agreement(agreement_terms, make_ctx())
    declared = IncidentDeclaration(
        title="Anschlag auf den Weihnachtsmarkt (Übung)",
        kind=IncidentKind.TERRORIST,
        occurred_at=datetime(2026, 11, 28, 16, 5, tzinfo=UTC),
        location="Altmarkt",
        region=Region.DRESDEN,
        declared_by=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
    )
    app.declare_incident(INCIDENT, declared, agreement_terms.agreement_id, make_ctx())
    assert app.measures() == []  # no reflection yet
    start = datetime.now(UTC)
    other = INCIDENT  # declared, alerted, closed, reflected
    for partner in agreement_terms.partners:
        app.acknowledge_alert(other, partner.id, False, 60.0, make_ctx())
    app.close_acute_phase(other, None, start + timedelta(weeks=6), make_ctx())
    app.mark_reflection_due(other, make_ctx())
    app.record_reflection(other, ["Alarmierung lief"], ["Kontaktliste prüfen", "Übung"], make_ctx())

    listed = app.measures()
    assert [(m.measure_key, m.owner, m.tracked) for m in listed] == [
        (f"{other}/r1", None, False),
        (f"{other}/r2", None, False),
    ]
    with pytest.raises(UnknownPartnerError, match="'nobody' is not a partner"):
        app.assign_measure(f"{other}/r1", "nobody", date(2027, 1, 31), make_ctx())
    with pytest.raises(MeasureNotFoundError, match="no measure '20261128-1705-dresden/r3'"):
        app.assign_measure(f"{other}/r3", "weisser-ring", date(2027, 1, 31), make_ctx())
    ctx = make_ctx()
    assigned = app.assign_measure(f"{other}/r1", "weisser-ring", date(2027, 1, 31), ctx)
    assert (assigned.owner, assigned.due_on, assigned.text) == (
        "weisser-ring",
        "2027-01-31",
        "Kontaktliste prüfen",
    )
    app.assign_measure(f"{other}/r1", "weisser-ring", date(2027, 1, 31), make_ctx())
    assert next(h for h in app.measures() if h.measure_key == f"{other}/r1").tracked
    assert len(app.measures()) == 2  # tracked r1 and untracked r2, nothing twice
    assert app.incident(other).measures == ["Kontaktliste prüfen", "Übung"]  # unchanged
