"""The hash chain on the real stores (SQLite and PostgreSQL): the record is changed with plain
SQL, as someone with write access to the database would, and `verify_chain` must name exactly
the event changed — its stream, version, notification and kind.

The record of each test: the agreement (notifications 1–7), an incident declared (8), two
people registered (9, 10), two needs reports on the incident (11, 12).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg import sql

from contracts.agreement import AgreementTerms
from domain import ids
from domain.application import LotseApplication
from domain.chain_checkpoint import CheckpointError, read_checkpoint, signed_checkpoint
from domain.chain_verify import Finding, Report, verify_chain
from domain.event_chain import GENESIS, ChainConflictError, link_hash
from settings import Settings
from tests import people_support
from tests.conftest import POSTGRES_CONNINFO, REPO_ROOT
from tests.integration.test_event_store import INCIDENT, declaration, needs

INCIDENT_STREAM = ids.incident_id(INCIDENT).hex
PERSON_A = ids.person_id(INCIDENT, "DD-0001").hex
PERSON_B = ids.person_id(INCIDENT, "DD-0002").hex
EVENTS = 12


class Raw:
    """Plain SQL on the store, beside Lotse: `{events}` is the events table, `{nid}` its
    notification id column, `{chain}` the chain table; `?` marks a parameter."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sqlite = settings.store == "sqlite"

    def run(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.sqlite:
            text = statement.format(events="stored_events", nid="rowid", chain="lotse_event_chain")
            with sqlite3.connect(self.settings.event_store_path) as conn:
                return conn.execute(text, params).fetchall()
        schema = self.settings.postgres_schema
        text = statement.replace("?", "%s").format(
            events=f'"{schema}".lotse_events',
            nid="notification_id",
            chain=f'"{schema}".lotse_event_chain',
        )
        with psycopg.connect(POSTGRES_CONNINFO, autocommit=True) as conn:
            cursor = conn.execute(sql.SQL(text), params)
            return cursor.fetchall() if cursor.description else []

    def event(self, nid: int) -> tuple[Any, ...]:
        return self.run("SELECT originator_id, originator_version, topic, state FROM {events} "
                        "WHERE {nid} = ?", nid)[0]  # fmt: skip

    def count(self) -> int:
        return int(self.run("SELECT COUNT(*) FROM {events}")[0][0])


OpenApp = Callable[..., LotseApplication]


@pytest.fixture
def open_app(store_settings: Settings) -> Iterator[OpenApp]:
    apps: list[LotseApplication] = []

    def open_one(env: dict[str, str] | None = None) -> LotseApplication:
        app = LotseApplication(env=env or store_settings.event_store_env())
        apps.append(app)
        return app

    yield open_one
    for app in apps:
        app.close()


def write_record(app: LotseApplication, terms: AgreementTerms) -> None:
    """The twelve events of the module docstring."""
    ctx = people_support.ctx
    app.load_agreement(terms, ctx())
    app.declare_incident(INCIDENT, declaration(), terms.agreement_id, ctx())
    app.register_person(INCIDENT, people_support.registration("DD-0001"), ctx())
    app.register_person(INCIDENT, people_support.registration("DD-0002"), ctx())
    app.report_needs(INCIDENT, needs(10), ctx())
    app.report_needs(INCIDENT, needs(20), ctx())


@pytest.fixture
def record(open_app: OpenApp, agreement_terms: AgreementTerms, store_settings: Settings) -> Raw:
    write_record(open_app(), agreement_terms)
    raw = Raw(store_settings)
    assert raw.count() == EVENTS
    return raw


def verify(app: LotseApplication, **options: Any) -> Report:
    with app.recorder.chain_snapshot() as snapshot:  # type: ignore[attr-defined]  # the chained recorders
        return verify_chain(snapshot, **options)


def where(findings: list[Finding]) -> list[tuple[str, int | None, str | None, int | None]]:
    return [(f.kind, f.notification_id, f.originator_id, f.version) for f in findings]


def test_an_untouched_record_verifies_with_its_head(record: Raw, open_app: OpenApp) -> None:
    report = verify(open_app())

    assert report.findings == []
    assert report.events == EVENTS
    assert report.head is not None
    assert report.head[0] == EVENTS
    stored = record.run("SELECT hash FROM {chain} WHERE notification_id = ?", EVENTS)[0][0]
    assert report.head[1] == bytes(stored)


def test_the_first_link_hashes_the_documented_encoding(record: Raw) -> None:
    oid, version, topic, state = record.event(1)
    oid_hex = oid if isinstance(oid, str) else oid.hex  # SQLite holds hex, PostgreSQL a uuid
    expected = link_hash(GENESIS, oid_hex, version, topic, bytes(state))
    previous, digest = record.run(
        "SELECT previous_hash, hash FROM {chain} WHERE notification_id = 1"
    )[0]
    assert bytes(previous) == GENESIS
    assert bytes(digest) == expected


def test_an_altered_state_is_named_by_stream_version_and_notification(
    record: Raw, open_app: OpenApp
) -> None:
    state = bytes(record.event(11)[3]).replace(b'"count":10', b'"count":99999')
    assert state != bytes(record.event(11)[3])
    record.run("UPDATE {events} SET state = ? WHERE {nid} = ?", state, 11)

    report = verify(open_app())

    assert where(report.findings) == [("altered", 11, INCIDENT_STREAM, 2)]
    assert report.findings[0].stream == f"incident {INCIDENT}"
    assert report.findings[0].incident == INCIDENT


def test_a_deleted_middle_event_is_named_from_its_link(record: Raw, open_app: OpenApp) -> None:
    record.run("DELETE FROM {events} WHERE {nid} = ?", 10)

    report = verify(open_app())

    assert where(report.findings) == [("deleted", 10, PERSON_B, 1)]


def test_an_event_deleted_with_its_link_is_named_by_the_gap_in_its_stream(
    record: Raw, open_app: OpenApp
) -> None:
    record.run("DELETE FROM {events} WHERE {nid} = ?", 11)
    record.run("DELETE FROM {chain} WHERE notification_id = ?", 11)

    report = verify(open_app())

    assert where(report.findings) == [("deleted", None, INCIDENT_STREAM, 2)]
    assert "between notifications 10 and 12" in report.findings[0].what


def test_an_inserted_event_without_a_link_is_named(record: Raw, open_app: OpenApp) -> None:
    oid, _, topic, state = record.event(12)
    record.run(
        "INSERT INTO {events} (originator_id, originator_version, topic, state) "
        "VALUES (?, ?, ?, ?)",
        oid, 4, topic, state,
    )  # fmt: skip

    report = verify(open_app())

    assert where(report.findings) == [("inserted", 13, INCIDENT_STREAM, 4)]


def test_an_event_inserted_with_a_forged_link_is_named(record: Raw, open_app: OpenApp) -> None:
    # Before the first event, linked as a first link: the real first link now skips it.
    oid, _, topic, state = record.event(12)
    record.run(
        "INSERT INTO {events} ({nid}, originator_id, originator_version, topic, state) "
        "VALUES (?, ?, ?, ?, ?)",
        0, oid, 9, topic, state,
    )  # fmt: skip
    forged = link_hash(GENESIS, INCIDENT_STREAM, 9, topic, bytes(state))
    record.run("INSERT INTO {chain} VALUES (?, ?, ?, ?, ?)", 0, INCIDENT_STREAM, 9, GENESIS, forged)

    report = verify(open_app())

    assert where(report.findings) == [("inserted", 0, INCIDENT_STREAM, 9)]


def test_an_event_replaced_with_a_recomputed_link_is_named_as_altered(
    record: Raw, open_app: OpenApp
) -> None:
    _, version, topic, state = record.event(11)
    forged_state = bytes(state).replace(b'"count":10', b'"count":99999')
    previous = bytes(record.run("SELECT hash FROM {chain} WHERE notification_id = 10")[0][0])
    record.run("UPDATE {events} SET state = ? WHERE {nid} = ?", forged_state, 11)
    record.run(
        "UPDATE {chain} SET hash = ? WHERE notification_id = ?",
        link_hash(previous, INCIDENT_STREAM, version, topic, forged_state), 11,
    )  # fmt: skip

    report = verify(open_app())

    assert where(report.findings) == [("altered", 11, None, None)]
    assert "link were rewritten" in report.findings[0].what


def test_swapped_states_are_named_as_reordered(record: Raw, open_app: OpenApp) -> None:
    first, second = bytes(record.event(11)[3]), bytes(record.event(12)[3])
    record.run("UPDATE {events} SET state = ? WHERE {nid} = ?", second, 11)
    record.run("UPDATE {events} SET state = ? WHERE {nid} = ?", first, 12)

    report = verify(open_app())

    assert where(report.findings) == [
        ("reordered", 11, INCIDENT_STREAM, 2),
        ("reordered", 12, INCIDENT_STREAM, 3),
    ]
    assert "recorded at notification 12" in report.findings[0].what


def test_a_cut_off_tail_is_caught_only_by_a_checkpoint(record: Raw, open_app: OpenApp) -> None:
    app = open_app()
    key = Ed25519PrivateKey.generate()
    checkpoint = signed_checkpoint(key, "test store", verify(app).head, datetime.now(UTC))
    claim = read_checkpoint(checkpoint, key.public_key())
    record.run("DELETE FROM {events} WHERE {nid} > ?", 10)
    record.run("DELETE FROM {chain} WHERE notification_id > ?", 10)

    assert verify(app).findings == []  # the chain alone cannot see it
    report = verify(app, checkpoint=claim)

    assert where(report.findings) == [("cut off", 10, None, None)]
    assert "events after notification 10 are missing" in report.findings[0].what
    assert f"saw up to {EVENTS}" in report.findings[0].what


def test_a_rebuilt_chain_differs_from_the_checkpoint(record: Raw, open_app: OpenApp) -> None:
    app = open_app()
    key = Ed25519PrivateKey.generate()
    claim = read_checkpoint(
        signed_checkpoint(key, "test store", verify(app).head, datetime.now(UTC)),
        key.public_key(),
    )
    record.run("DELETE FROM {chain}")
    state = bytes(record.event(12)[3]).replace(b'"count":20', b'"count":99999')
    record.run("UPDATE {events} SET state = ? WHERE {nid} = ?", state, 12)
    app.report_needs(INCIDENT, needs(5), people_support.ctx())  # the chain starts again

    report = verify(app, checkpoint=claim)

    assert where(report.findings) == [("cut off", EVENTS, None, None)]
    assert "not the one the checkpoint" in report.findings[0].what


def test_a_checkpoint_signed_with_another_key_or_edited_is_refused(
    record: Raw, open_app: OpenApp
) -> None:
    head = verify(open_app()).head
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    checkpoint = signed_checkpoint(key, "test store", head, datetime.now(UTC))

    with pytest.raises(CheckpointError, match="signature"):
        read_checkpoint(checkpoint, other.public_key())
    edited = {**checkpoint, "notification_id": EVENTS - 1}
    with pytest.raises(CheckpointError, match="signature"):
        read_checkpoint(edited, key.public_key())
    assert read_checkpoint(checkpoint, key.public_key()).notification_id == EVENTS


def test_a_version_the_chain_holds_is_not_written_again(record: Raw, open_app: OpenApp) -> None:
    record.run("DELETE FROM {events} WHERE {nid} = ?", EVENTS)  # the incident's version 3

    with pytest.raises(ChainConflictError, match="nothing was written"):
        open_app().report_needs(INCIDENT, needs(30), people_support.ctx())

    assert record.count() == EVENTS - 1
    assert where(verify(open_app()).findings) == [("deleted", EVENTS, INCIDENT_STREAM, 3)]


def test_a_store_written_without_the_chain_is_chained_once_at_the_next_write(
    open_app: OpenApp, agreement_terms: AgreementTerms, store_settings: Settings
) -> None:
    env = store_settings.event_store_env()
    library = (
        "eventsourcing.sqlite" if store_settings.store == "sqlite" else "eventsourcing.postgres"
    )
    unchained = open_app({**env, "LOTSE_PERSISTENCE_MODULE": library})
    write_record(unchained, agreement_terms)
    app = open_app()

    before = verify(app)
    started = datetime.now(UTC)
    app.report_needs(INCIDENT, needs(30), people_support.ctx())
    after = verify(app)

    assert where(before.findings) == [("unchained", None, None, None)]
    assert after.findings == []
    assert after.events == EVENTS + 1
    [introduction] = after.introductions
    assert (introduction.first_notification_id, introduction.last_notification_id) == (1, EVENTS)
    introduced = datetime.fromisoformat(introduction.introduced_at)
    assert started - timedelta(seconds=1) <= introduced <= datetime.now(UTC)


def test_findings_for_an_incident_leave_out_other_incidents_streams(
    record: Raw, open_app: OpenApp, agreement_terms: AgreementTerms
) -> None:
    app = open_app()
    other = "chemnitz-2026-12-01"
    app.declare_incident(other, declaration(), agreement_terms.agreement_id, people_support.ctx())
    record.run("UPDATE {events} SET state = ? WHERE {nid} = ?", b"{}", 11)

    mine = verify(app, incident=INCIDENT)
    theirs = verify(app, incident=other)

    assert where(mine.findings) == [("altered", 11, INCIDENT_STREAM, 2)]
    assert theirs.findings == []
    assert theirs.outside_incident == 1


@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)
def test_the_auditors_script_in_docs_record_recomputes_the_chain(
    record: Raw, store_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (REPO_ROOT / "docs" / "record.md").read_text(encoding="utf-8")
    [script] = re.findall(r"In Python, over a SQLite store.*?```python\n(.*?)```", text, re.S)
    auditor = store_settings.data_dir / "auditor"
    auditor.mkdir()
    (auditor / "data").symlink_to(store_settings.data_dir)  # the script opens data/events.sqlite
    monkeypatch.chdir(auditor)
    names: dict[str, Any] = {}

    exec(script, names)  # the documented script, run as an auditor would

    head = record.run("SELECT hash FROM {chain} WHERE notification_id = ?", EVENTS)[0][0]
    assert names["previous"] == bytes(head)


@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)
def test_a_state_stored_back_as_text_is_named_as_altered(record: Raw, open_app: OpenApp) -> None:
    # SQLite keeps the type a value is given: `sqlite3` shell edits with replace() store text.
    record.run("UPDATE {events} SET state = CAST(state AS TEXT) WHERE {nid} = ?", 11)

    report = verify(open_app())

    assert where(report.findings) == [("altered", 11, INCIDENT_STREAM, 2)]


@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)
def test_a_notification_id_the_chain_holds_is_not_given_to_another_stream(
    record: Raw, open_app: OpenApp
) -> None:
    # SQLite gives a new row the id after the highest left: that of the deleted last event.
    record.run("DELETE FROM {events} WHERE {nid} = ?", EVENTS)

    with pytest.raises(ChainConflictError, match=f"already runs to notification {EVENTS}"):
        open_app().register_person(INCIDENT, people_support.registration("DD-0003"),
                                   people_support.ctx())  # fmt: skip

    assert record.count() == EVENTS - 1


def test_erasing_a_person_leaves_the_chain_intact(record: Raw, open_app: OpenApp) -> None:
    app = open_app()
    app.record_contact(INCIDENT, "DD-0001", people_support.ERIKA, people_support.ctx())
    sealed = bytes(record.run("SELECT state FROM {events} WHERE {nid} = ?", EVENTS + 1)[0][0])
    assert b"Quellmalz" not in sealed  # the chain is over the ciphertext

    app.erase_person(INCIDENT, "DD-0001", people_support.ctx())

    report = verify(open_app())
    assert report.findings == []
    assert report.events > EVENTS + 1
    assert bytes(record.event(EVENTS + 1)[3]) == sealed
