"""The timeline on both stores: every step of the invented incident (tests/timeline_support.py)
and of its person in record order, with actor, on whose behalf, channel, times and phase; the
filters by partner and phase; no contact data; and a catch-up stopped midway — by an exception
inside a batch, or by killing the process inside one — resumes with no gaps and no doubles."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from contracts.accountability import (
    AuditCommand,
    AuditReadRequest,
    RecordRefusalInput,
    RefusalKind,
)
from contracts.agreement import AgreementTerms
from domain.application import LotseApplication
from domain.errors import IncidentNotFoundError
from domain.timeline import TIMELINE_TOPICS, TimelineProjector, TimelineRow
from domain.timeline_sqlite import SQLiteTimeline
from settings import Settings
from tests.conftest import REPO_ROOT, MakeCtx
from tests.people_support import T0
from tests.timeline_support import (
    INCIDENT,
    MINUTE,
    OTHER_INCIDENT,
    PERSON,
    record_incident,
    step,
)

OB, OHS, WR, RAA = "opferbeauftragte", "opferhilfe-sachsen", "weisser-ring", "raa-sachsen"
EXPECTED = [
    # event, person, actor's partner, on behalf of, channel, phase, business minute
    ("Declared", None, OB, None, "ui", "alerting", 0),
    ("AlertAcknowledged", None, OB, WR, "phone", "alerting", 5),
    ("Registered", PERSON, OHS, None, "ui", "alerting", 10),
    ("ContactRecorded", PERSON, OHS, None, "ui", "alerting", 11),
    ("ConsentGiven", PERSON, OHS, None, "ui", "alerting", 12),
    ("NeedsAssessed", PERSON, OHS, None, "ui", "alerting", 13),
    ("AlertAcknowledged", None, OB, None, "ui", "alerting", 20),
    ("AlertAcknowledged", None, OHS, None, "ui", "alerting", 21),
    ("AlertAcknowledged", None, RAA, None, "ui", "coordinating", 22),
    ("NeedsReported", None, OHS, None, "ui", "coordinating", 30),
    ("NeedCategoryAssigned", None, OB, None, "ui", "coordinating", 31),
    ("ReferralProposed", PERSON, OHS, None, "ui", "coordinating", 50),
    ("ReferralSent", PERSON, OHS, None, "ui", "coordinating", 51),
    ("ConsentWithdrawn", PERSON, OHS, None, "ui", "coordinating", 52),
    ("ReferralWithdrawn", PERSON, OHS, None, "ui", "coordinating", 52),
    ("AcutePhaseClosed", None, OB, None, "ui", "awaiting-reflection", 70),
    ("ReflectionScheduled", None, OB, None, "ui", "awaiting-reflection", 70),
]


@pytest.fixture
def settings_recorded(store_settings: Settings, agreement_terms: AgreementTerms) -> Settings:
    writer = LotseApplication(env=store_settings.event_store_env())
    record_incident(writer, agreement_terms)
    writer.close()
    return store_settings


@pytest.fixture
def reader(settings_recorded: Settings) -> Iterator[LotseApplication]:
    app = LotseApplication(env=settings_recorded.event_store_env())
    yield app
    app.close()


def shape(row: TimelineRow) -> tuple[object, ...]:
    minute = int((row.business_time - T0) / MINUTE)
    return (
        row.event,
        row.person_ref,
        row.partner_id,
        row.on_behalf_of,
        row.channel,
        row.phase,
        minute,
    )


def test_every_step_of_the_incident_and_its_person_is_one_row_in_record_order(
    reader: LotseApplication,
) -> None:
    rows = reader.timeline(INCIDENT)
    assert [shape(row) for row in rows] == EXPECTED
    assert [row.seq for row in rows] == sorted(row.seq for row in rows)
    recorded = [row.recorded_at for row in rows]
    assert recorded == sorted(recorded)
    assert rows[2].staff_ref == "ohs-2"
    assert rows[1].facts() == {
        "partner_id": WR,
        "late": False,
        "seconds_to_acknowledge": 300.0,
        "received_at": (T0 + 5 * MINUTE).isoformat(),
    }
    assert rows[2].facts() == {
        "involvement": "injured",
        "source": "hotline",
        "region": "dresden",
        "language": "de",
    }
    assert rows[11].facts()["offer_id"] == "wr-aussenstelle-dd"
    other = reader.timeline(OTHER_INCIDENT)
    assert [(row.event, row.person_ref) for row in other] == [
        ("Declared", None),
        ("Registered", "LE-0001"),
    ]


def test_a_partner_sees_the_steps_its_staff_took_and_those_taken_on_its_behalf(
    reader: LotseApplication,
) -> None:
    assert [shape(row) for row in reader.timeline(INCIDENT, partner=WR)] == [EXPECTED[1]]
    assert [shape(row) for row in reader.timeline(INCIDENT, partner=RAA)] == [EXPECTED[8]]
    ohs = [row for row in EXPECTED if OHS in (row[2], row[3])]
    assert [shape(row) for row in reader.timeline(INCIDENT, partner=OHS)] == ohs
    assert reader.timeline(INCIDENT, partner="nobody") == []


def test_the_phase_filter_keeps_the_steps_recorded_in_that_phase(
    reader: LotseApplication,
) -> None:
    alerting = reader.timeline(INCIDENT, phase="alerting")
    assert [shape(row) for row in alerting] == EXPECTED[:8]
    later = reader.timeline(INCIDENT, partner=OB, phase="awaiting-reflection")
    assert [row.event for row in later] == ["AcutePhaseClosed", "ReflectionScheduled"]
    assert reader.timeline(INCIDENT, phase="closed") == []


def test_the_timeline_holds_no_contact_data_and_knows_only_declared_incidents(
    reader: LotseApplication,
) -> None:
    rows = reader.timeline(INCIDENT)
    stored = repr(rows)
    for plaintext in ("Quellmalz", "555 0100", "Beispielweg", "example.org", "sealed"):
        assert plaintext not in stored
    assert rows[3].facts() == {}  # ContactRecorded: that contact was recorded, nothing of it
    with pytest.raises(IncidentNotFoundError, match="no incident 'nowhere' is recorded"):
        reader.timeline("nowhere")


def test_a_second_read_applies_only_what_was_recorded_since(
    reader: LotseApplication, settings_recorded: Settings
) -> None:
    reader.timeline(INCIDENT)
    assert reader.catch_up_timeline() == 0
    writer = LotseApplication(env=settings_recorded.event_store_env())
    try:
        writer.mark_reflection_due(INCIDENT, step(OB, 90))
    finally:
        writer.close()
    assert reader.catch_up_timeline() == 1
    last = reader.timeline(INCIDENT)[-1]
    assert (last.event, last.phase) == ("ReflectionBecameDue", "reflection-due")


def test_an_exception_inside_a_batch_leaves_nothing_of_it_and_the_next_catch_up_resumes(
    reader: LotseApplication,
) -> None:
    projector = reader._timeline()
    store: Any = projector.store
    insert = store._insert
    batches: list[int] = []

    def insert_then_fail_in_the_third(*args: Any) -> None:
        insert(*args)  # the third batch's rows are in the open transaction …
        batches.append(len(args[-1]))
        if len(batches) == 3:
            raise RuntimeError("stopped inside the third batch")  # … and are rolled back

    store._insert = insert_then_fail_in_the_third
    with pytest.raises(RuntimeError, match="stopped inside the third batch"):
        projector.catch_up(batch_size=4)
    store._insert = insert
    written = every_row(store)
    assert len(written) == 8  # two whole batches, nothing of the third
    assert store.position() == written[-1].seq

    assert projector.catch_up(batch_size=4) == all_events(reader) - 8
    assert every_row(store) == rebuilt_from_scratch(reader)


def test_a_catch_up_killed_inside_a_batch_resumes_with_no_gaps_and_no_doubles(
    reader: LotseApplication, settings_recorded: Settings
) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.timeline_catch_up_slowly",
            json.dumps(settings_recorded.event_store_env()),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert process.stdout is not None
    inserted = [process.stdout.readline().split() for _ in range(3)]
    os.kill(process.pid, signal.SIGKILL)  # inside the third batch's transaction
    process.wait(timeout=10)
    assert [word for word, _ in inserted] == ["inserted"] * 3
    second_batch_end = int(inserted[1][1])

    store: Any = reader._timeline().store
    assert store.position() == second_batch_end
    assert len(every_row(store)) == 4  # two whole batches of two, nothing of the third

    assert reader.catch_up_timeline() == all_events(reader) - 4
    assert every_row(store) == rebuilt_from_scratch(reader)
    assert store.position() == reader.recorder.max_notification_id()


def every_row(store: Any) -> list[TimelineRow]:
    rows: list[TimelineRow] = store.rows(INCIDENT) + store.rows(OTHER_INCIDENT)
    return sorted(rows, key=lambda row: row.seq)


def rebuilt_from_scratch(app: LotseApplication) -> list[TimelineRow]:
    """The timeline of the whole record built in one go, in memory, by a new projector."""
    fresh = SQLiteTimeline(":memory:")
    try:
        TimelineProjector(fresh, app.recorder, app.mapper, app._incident_at).catch_up()
        return every_row(fresh)
    finally:
        fresh.close()


def all_events(app: LotseApplication) -> int:
    return len(app.recorder.select_notifications(1, 100_000, topics=TIMELINE_TOPICS))


def test_audit_reads_and_refusals_are_rows_of_their_incident_on_either_store(
    reader: LotseApplication, make_ctx: MakeCtx
) -> None:
    """A refusal of a case's action names its person; a read takes the phase of the incident's
    last step; a read of the whole record (verify) or of another incident is no row here."""
    reader.record_refusal(
        RecordRefusalInput(
            ctx=make_ctx(),
            incident_id=INCIDENT,
            action="refer_need",
            kind=RefusalKind.CONSENT_MISSING,
            reason="no consent covers offer 'ohs-dresden'",
            person_ref=PERSON,
        )
    )
    for incident in (INCIDENT, None, OTHER_INCIDENT):
        reader.record_audit_read(
            AuditReadRequest(
                command=AuditCommand.REPLAY if incident else AuditCommand.VERIFY,
                incident_key=incident,
                options={"--version": "3"} if incident else {},
                output_format="text",
            ),
            make_ctx(),
        )

    refused, read = [shape(row) for row in reader.timeline(INCIDENT)][-2:]
    assert refused[:6] == ("ActionRefused", PERSON, OB, None, "ui", "awaiting-reflection")
    assert read[:6] == ("AuditRead", None, OB, None, "ui", "awaiting-reflection")
    assert reader.timeline(INCIDENT)[-1].facts() == {
        "command": "replay",
        "options": "--version 3",
        "output_format": "text",
    }
    assert [(r.command, r.incident_key) for r in reader.audit_reads()] == [
        ("replay", INCIDENT),
        ("verify", None),
        ("replay", OTHER_INCIDENT),
    ]
    assert [r.command for r in reader.audit_reads(INCIDENT)] == ["replay"]
