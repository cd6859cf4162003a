"""The SQLite event store's connection pool after a request timed out or a commit failed
(domain/sqlite_store.py): the next request must work. eventsourcing 9.5.6's own pool keeps the
writer lock, or hands out a connection still inside its failed transaction, and every later
write of the worker fails.

Real SQLite files in tmp_path (an in-memory store where only that has the behaviour), real
threads holding real connections; nothing is mocked."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from eventsourcing.persistence import (
    ConnectionUnavailableError,
    InfrastructureFactory,
    IntegrityError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore, SQLiteFactory
from eventsourcing.utils import Environment

from bootstrap import build_application
from domain.key_stores import build_key_store
from domain.keys_sqlite import SQLiteKeyStore
from domain.people_view_sqlite import SQLitePeopleView
from domain.people_view_stores import build_people_view
from domain.sqlite_store import (
    DEFAULT_POOL_TIMEOUT,
    LotseSQLiteConnectionPool,
    LotseSQLiteDatastore,
    LotseSQLiteFactory,
)
from domain.store_files import SQLITE_PERSISTENCE_MODULES
from settings import Settings

SHORT = 0.3  # seconds a request for a connection waits in these tests


def event(originator_id: uuid.UUID, version: int) -> StoredEvent:
    return StoredEvent(
        originator_id=originator_id, originator_version=version, topic="test", state=b"{}"
    )


def recorder_on(datastore: SQLiteDatastore) -> SQLiteApplicationRecorder:
    recorder = SQLiteApplicationRecorder(datastore)
    recorder.create_table()
    return recorder


@contextmanager
def readers_holding(datastore: SQLiteDatastore, count: int) -> Iterator[None]:
    """`count` threads, each inside a read transaction (holding one of the pool's connections)
    until the block ends, as busy activity threads of the worker do."""
    holding = threading.Barrier(count + 1, timeout=10)
    done = threading.Event()
    failures: list[BaseException] = []

    def hold() -> None:
        try:
            with datastore.transaction(commit=False) as cursor:
                cursor.execute("SELECT 1")
                holding.wait()
                done.wait(10)
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)
            holding.abort()

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        holding.wait()
        yield
    finally:
        done.set()
        for thread in threads:
            thread.join(10)
    assert failures == []


def test_a_writer_that_timed_out_waiting_for_a_connection_does_not_keep_the_writer_lock(
    tmp_path: Path,
) -> None:
    datastore = LotseSQLiteDatastore(
        str(tmp_path / "events.sqlite"), pool_size=1, max_overflow=1, pool_timeout=SHORT
    )
    recorder = recorder_on(datastore)
    person = uuid.uuid4()

    with (
        readers_holding(datastore, 2),
        pytest.raises(ConnectionUnavailableError, match="return of connection"),
    ):
        recorder.insert_events([event(person, 1)])

    recorder.insert_events([event(person, 1)])
    recorder.insert_events([event(person, 2)])
    assert [e.originator_version for e in recorder.select_events(person)] == [1, 2]
    datastore.close()


def test_a_reader_that_timed_out_waiting_for_a_connection_is_no_longer_counted(
    tmp_path: Path,
) -> None:
    """Only an in-memory store makes writers wait for readers; a reader still counted after
    its request failed would keep every writer waiting."""
    datastore = LotseSQLiteDatastore(
        f"file:{uuid.uuid4().hex}?mode=memory&cache=shared",
        pool_size=1,
        max_overflow=0,
        pool_timeout=SHORT,
    )
    recorder = recorder_on(datastore)
    person = uuid.uuid4()

    with (
        readers_holding(datastore, 1),
        pytest.raises(ConnectionUnavailableError, match="return of connection"),
    ):
        recorder.select_events(person)

    recorder.insert_events([event(person, 1)])
    assert [e.originator_version for e in recorder.select_events(person)] == [1]
    datastore.close()


def test_a_connection_whose_commit_failed_is_rolled_back_before_the_next_transaction(
    tmp_path: Path,
) -> None:
    """A deferred foreign key is checked at COMMIT; when it fails, SQLite keeps the transaction
    open. The pool's one connection must serve the next transaction, without the failed row."""
    path = tmp_path / "events.sqlite"
    datastore = LotseSQLiteDatastore(str(path), pool_size=1, max_overflow=0, pool_timeout=SHORT)
    with datastore.transaction(commit=True) as cursor:
        cursor.execute("CREATE TABLE place (id INTEGER PRIMARY KEY)")
        cursor.execute(
            "CREATE TABLE referral (id INTEGER PRIMARY KEY, place INTEGER "
            "REFERENCES place (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    with datastore.get_connection(commit=False) as conn:
        conn.cursor().execute("PRAGMA foreign_keys = ON")  # outside a transaction, as it must be

    with (
        pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"),
        datastore.transaction(commit=True) as cursor,
    ):
        cursor.execute("INSERT INTO referral (id, place) VALUES (1, 42)")

    with datastore.transaction(commit=True) as cursor:
        cursor.execute("INSERT INTO place (id) VALUES (7)")
        cursor.execute("INSERT INTO referral (id, place) VALUES (2, 7)")
    datastore.close()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT id, place FROM referral").fetchall() == [(2, 7)]


def test_a_connection_whose_commit_and_rollback_failed_is_closed_not_reused(
    tmp_path: Path,
) -> None:
    """An interrupt (here SQLite's progress handler, on until the connection is back in the
    pool) fails the COMMIT and the ROLLBACK after it; the pool must drop that connection."""
    datastore = LotseSQLiteDatastore(
        str(tmp_path / "events.sqlite"), pool_size=1, max_overflow=0, pool_timeout=SHORT
    )
    recorder = recorder_on(datastore)
    person = uuid.uuid4()
    interrupting = threading.Event()
    interrupting.set()

    with (
        pytest.raises(OperationalError, match="interrupted"),
        datastore.get_connection(commit=True) as failing,
        failing.transaction(commit=True),
    ):
        # The sqlite3 connection inside the library's SQLiteConnection (eventsourcing 9.5.6).
        failing._sqlite_conn.set_progress_handler(lambda: int(interrupting.is_set()), 1)
    interrupting.clear()

    recorder.insert_events([event(person, 1)])
    assert [e.originator_version for e in recorder.select_events(person)] == [1]
    assert failing.closed
    datastore.close()


def test_the_pool_timeout_comes_from_the_environment_and_defaults_to_30_seconds(
    tmp_path: Path,
) -> None:
    env = {"SQLITE_DBNAME": str(tmp_path / "events.sqlite")}

    default = LotseSQLiteFactory(env)
    given = LotseSQLiteFactory(env | {"SQLITE_POOL_TIMEOUT": " 45.5 "})

    assert isinstance(default.datastore.pool, LotseSQLiteConnectionPool)
    assert default.datastore.pool.pool_timeout == DEFAULT_POOL_TIMEOUT == 30.0
    assert given.datastore.pool.pool_timeout == 45.5
    default.close()
    given.close()


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "inf"])
def test_a_pool_timeout_that_is_not_seconds_above_zero_is_refused_naming_the_key(
    tmp_path: Path, value: str
) -> None:
    env = {"SQLITE_DBNAME": str(tmp_path / "events.sqlite"), "LOTSE_SQLITE_POOL_TIMEOUT": value}

    with pytest.raises(OSError, match=f"'LOTSE_SQLITE_POOL_TIMEOUT' is invalid: '{value}'"):
        LotseSQLiteFactory(Environment("Lotse", env))


def test_the_library_settings_of_the_sqlite_store_reach_lotse_datastore(tmp_path: Path) -> None:
    factory = LotseSQLiteFactory(
        {
            "SQLITE_DBNAME": str(tmp_path / "events.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "2",
            "SINGLE_ROW_TRACKING": "f",
            "ORIGINATOR_ID_TYPE": "text",
        }
    )

    assert isinstance(factory.datastore, LotseSQLiteDatastore)
    assert factory.datastore.pool.db_name == str(tmp_path / "events.sqlite")
    assert factory.datastore.pool.lock_timeout == 2
    assert factory.datastore.single_row_tracking is False
    assert factory.datastore.originator_id_type == "text"
    factory.close()
    with pytest.raises(OSError, match="'SQLITE_LOCK_TIMEOUT' is invalid"):
        LotseSQLiteFactory(
            {"SQLITE_DBNAME": str(tmp_path / "events.sqlite"), "SQLITE_LOCK_TIMEOUT": "x"}
        )


def test_an_application_built_from_the_sqlite_settings_runs_on_lotse_pool(
    sqlite_settings: Settings,
) -> None:
    slower = sqlite_settings.model_copy(update={"sqlite_pool_timeout_seconds": 12.5})
    for settings, timeout in ((sqlite_settings, 30.0), (slower, 12.5)):
        app = build_application(settings)
        try:
            pool = app.recorder.datastore.pool  # type: ignore[attr-defined]  # the SQLite recorder's
            assert type(pool) is LotseSQLiteConnectionPool
            assert pool.pool_timeout == timeout
            assert pool.db_name == str(settings.event_store_path)
        finally:
            app.close()


@pytest.mark.parametrize("module", sorted(SQLITE_PERSISTENCE_MODULES))
def test_each_name_of_the_sqlite_store_finds_its_key_and_view_files_beside_it(
    tmp_path: Path, module: str
) -> None:
    env = Environment(
        "Lotse", {"PERSISTENCE_MODULE": module, "SQLITE_DBNAME": str(tmp_path / "events.sqlite")}
    )
    factory = InfrastructureFactory.construct(env)
    keys = build_key_store(env)
    view = build_people_view(env)
    try:
        assert isinstance(factory, SQLiteFactory)
        assert isinstance(keys, SQLiteKeyStore)
        assert isinstance(view, SQLitePeopleView)
        assert keys.path == str(tmp_path / "person-keys.sqlite")
        assert view.path == str(tmp_path / "people-view.sqlite")
    finally:
        factory.close()
        keys.close()
        view.close()
