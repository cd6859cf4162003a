"""`lotse audit verify` on a 100,000-event record against an auditor's own script (issue #9,
point 10).

The record is built once, fast, through the chained recorder: the events of one real incident
(the agreement, a declaration, needs reports, people registered) are written by the application,
then their topics and states are repeated under new streams in batches of 500 until the store
holds N events, each batch chained as Lotse chains it.

Each run then times, on the same store:

- Lotse: what `lotse audit verify` does once it has read its settings — the store's chained
  recorder, one read transaction, `verify_chain` over every event;
- the floor: a plain `sqlite3` connection, one `SELECT` of every event with its link, and
  `hashlib.sha256` over the same length-prefixed bytes, compared with the stored hash — the
  script an auditor would write from docs/record.md.

Goal: verify's speed ≥ 0.8 of the floor's, i.e. it takes at most 1.25 × the floor's time.

    .venv/bin/python -m bench.audit_verify [--events 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import struct
import time
import uuid
from collections.abc import Sequence

from eventsourcing.persistence import InfrastructureFactory, Notification, StoredEvent
from eventsourcing.utils import Environment

from bench.common import (
    INCIDENT,
    NEED,
    Figure,
    Store,
    at_least,
    ctx,
    declared_application,
    fresh_store,
    print_figures,
)
from bench.floor import time_figure
from contracts.people import Involvement, PersonRegistration, RegistrationSource
from domain.chain_sqlite import ChainedSQLiteApplicationRecorder
from domain.chain_verify import verify_chain

GOAL = 0.8
BATCH = 500
STREAM_LENGTH = 50
"""Events per stream when the record is grown (a person's case has tens)."""
BENCH_STREAMS = uuid.UUID("0b6f4a52-9a3e-4c1e-8d7a-2f5b6c9e1a30")


def build(store: Store, events: int) -> int:
    """Fill the store to `events` events; the number written."""
    app = declared_application(store.settings)
    try:
        for number in range(20):
            app.report_needs(INCIDENT, NEED, ctx())
            registration = PersonRegistration(
                person_ref=f"LE-{number:04d}",
                involvement=Involvement.INJURED,
                source=RegistrationSource.HOTLINE,
                region="leipzig",
            )
            app.register_person(INCIDENT, registration, ctx())
        samples = app.recorder.select_notifications(start=None, limit=1_000)
    finally:
        app.close()
    recorder = chained_recorder(store)
    written = len(samples)
    while written < events:
        count = min(BATCH, events - written)
        recorder.insert_events([grown_event(samples, written + i) for i in range(count)])
        written += count
    recorder.datastore.close()
    return written


def grown_event(samples: Sequence[Notification], position: int) -> StoredEvent:
    """The event at `position` of the grown record: a sample's topic and state, in streams of
    STREAM_LENGTH versions each."""
    sample = samples[position % len(samples)]
    return StoredEvent(
        originator_id=uuid.uuid5(BENCH_STREAMS, str(position // STREAM_LENGTH)),
        originator_version=position % STREAM_LENGTH + 1,
        topic=sample.topic,
        state=sample.state,
    )


def chained_recorder(store: Store) -> ChainedSQLiteApplicationRecorder:
    factory = InfrastructureFactory.construct(
        Environment("Lotse", store.settings.event_store_env())
    )
    recorder = factory.application_recorder()
    assert isinstance(recorder, ChainedSQLiteApplicationRecorder)
    return recorder


def lotse_verify(store: Store) -> tuple[float, int]:
    """Seconds `lotse audit verify` spends once its settings are read; events it verified."""
    recorder = chained_recorder(store)
    try:
        started = time.perf_counter()
        with recorder.chain_snapshot() as snapshot:
            report = verify_chain(snapshot)
        seconds = time.perf_counter() - started
    finally:
        recorder.datastore.close()
    if not report.intact:
        raise SystemExit(f"the bench record is not intact: {report.findings[:3]}")
    return seconds, report.events


_LENGTH = struct.Struct(">Q").pack
_VERSION = struct.Struct(">q").pack


def floor_verify(store: Store) -> tuple[float, int]:
    """Seconds a plain sqlite3 script takes to recompute every link (docs/record.md)."""
    conn = sqlite3.connect(store.settings.event_store_path)
    try:
        started = time.perf_counter()
        rows = conn.execute(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state, "
            "l.previous_hash, l.hash FROM stored_events e "
            "JOIN lotse_event_chain l ON l.notification_id = e.rowid ORDER BY e.rowid"
        )
        previous, checked = bytes(32), 0
        for originator_id, version, topic, state, stored_previous, stored_hash in rows:
            oid, top = originator_id.encode(), topic.encode()
            digest = hashlib.sha256(
                previous + _LENGTH(len(oid)) + oid + _LENGTH(8) + _VERSION(version)
                + _LENGTH(len(top)) + top + _LENGTH(len(state)) + state
            ).digest()  # fmt: skip
            if stored_previous != previous or digest != stored_hash:
                raise SystemExit(f"the floor found a broken link after {checked} events")
            previous, checked = digest, checked + 1
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    return seconds, checked


def measure(events: int, runs: int) -> list[Figure]:
    with fresh_store("sqlite") as store:
        written = build(store, events)
        lotse_seconds: list[float] = []
        floor_seconds: list[float] = []
        for _ in range(runs):
            seconds, verified = lotse_verify(store)
            floor, checked = floor_verify(store)
            if verified != written or checked != written:
                raise SystemExit(f"verified {verified}, floor {checked}, written {written}")
            lotse_seconds.append(seconds)
            floor_seconds.append(floor)
    return [
        time_figure(
            f"audit verify of {written:,} events, SQLite",
            lotse_seconds,
            floor_seconds,
            "sqlite3 SELECT + hashlib.sha256",
            GOAL,
            f"python -m bench.audit_verify --events {events}",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=at_least(100), default=100_000)
    parser.add_argument("--runs", type=at_least(1), default=3)
    arguments = parser.parse_args()
    print(f"store sqlite, {arguments.events} events, median of {arguments.runs}")
    print_figures(measure(arguments.events, arguments.runs))


if __name__ == "__main__":
    main()
