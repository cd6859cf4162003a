"""A store that cannot be written for a while is waited for; a damaged one is not (issue #9,
point 2, the "hangs for ever" report).

On the real dev server: an exclusive lock held on the SQLite event store by another connection
makes every write of the worker fail with `database is locked` (after the lock timeout, set to
one second here) for longer than the store activity's quick local attempts last. The update must
wait for the store and succeed once the lock is released, as `workflows/record.py` promises; an
update on a damaged stream must come back refused within seconds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts.messages import PhaseResult
from contracts.vocabulary import DAMAGED_RECORD, Phase
from domain import ids
from domain.application import LotseApplication
from settings import Settings
from tests.damage_support import Damage
from tests.workflow.support import terminate_if_running
from tests.workflow.test_damaged_record import NEEDS, coordinating, settings, worker

__all__ = ["settings"]  # the fixture, shared with the damaged-record tests

OUTAGE_SECONDS = 6.0
"""Longer than the local activity's three attempts take with a one-second lock timeout
(about 3.6 s), so that the ordinary activity's retries must carry the update through."""
REFUSED_WITHIN = 5.0
"""Seconds a refusal for a damaged stream may take: the local attempts, no retries after."""


@pytest.fixture(autouse=True)
def short_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write waits one second for a lock, not the library's five (the process environment,
    read by eventsourcing as `LOTSE_SQLITE_LOCK_TIMEOUT`)."""
    monkeypatch.setenv("LOTSE_SQLITE_LOCK_TIMEOUT", "1")


def locked(path: str) -> Iterator[None]:
    """Hold an exclusive lock on the SQLite file until the generator is resumed."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


async def test_an_update_waits_for_a_locked_store_and_succeeds_once_it_is_free(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = temporal_env.client
    async with worker(client, settings):
        handle = await coordinating(client, settings)
        lock = locked(str(settings.event_store_path))
        next(lock)
        try:
            update = asyncio.create_task(
                handle.execute_update("report_needs", NEEDS, result_type=PhaseResult)
            )
            await asyncio.sleep(OUTAGE_SECONDS)
            waited = not update.done()
        finally:
            next(lock, None)
        try:
            answered = await asyncio.wait_for(update, 60)
        finally:
            await terminate_if_running(handle)

    assert waited  # the update did not fail while the store was locked
    assert answered.phase is Phase.COORDINATING
    app = LotseApplication(env=settings.event_store_env())
    try:
        assert app.incident(handle.id).needs  # the report is in the record
    finally:
        app.close()


async def test_an_update_on_a_damaged_stream_is_refused_within_seconds(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = temporal_env.client
    async with worker(client, settings):
        handle = await coordinating(client, settings)
    Damage(settings).delete(ids.incident_id(handle.id), 2)
    try:
        async with worker(client, settings):
            started = time.monotonic()
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update("report_needs", NEEDS, result_type=PhaseResult)
            took = time.monotonic() - started
    finally:
        await terminate_if_running(handle)

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == DAMAGED_RECORD
    assert took < REFUSED_WITHIN, took
