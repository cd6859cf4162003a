"""Lotse's SQLite event store: eventsourcing's SQLite persistence with a connection pool that
survives an overloaded worker.

Chosen by `PERSISTENCE_MODULE=domain.sqlite_store:LotseSQLiteFactory` (`Settings` sets it for
`LOTSE_STORE=sqlite`). Everything but the pool and the hash chain is the library's: the same
tables, recorders and environment keys (`SQLITE_DBNAME`, `SQLITE_LOCK_TIMEOUT`, …), plus
`SQLITE_POOL_TIMEOUT`. The application recorder is the library's with the chain
(domain/chain_sqlite.py, `lotse_event_chain` in the same file).

It works around what eventsourcing 9.5.6 does when the pool runs dry or a commit fails
(`eventsourcing.persistence.ConnectionPool`, `eventsourcing.sqlite`); with 5,000 people in one
incident on two starved cores the worker met 1 and 2, and then wrote nothing more:

1. `ConnectionPool.get_connection(is_writer=True)` takes the pool's writer lock, then waits for
   a free connection; when that wait times out ("Timed out waiting for return of connection")
   the lock is never released, so every later write fails with "Timed out waiting for return
   of writer" (and, while one waits for it, everyone else with "… connection pool semaphore").
   A reader that times out there stays counted, which blocks writers of an in-memory store.
2. When a commit (or rollback) fails, `SQLiteDatastore` puts the sqlite3 connection back into
   the pool still inside its transaction; the next `BEGIN` on it fails with "cannot start a
   transaction within a transaction". So would one left open by an exception that arrives
   after `BEGIN` but before the `with` block is entered, where no `__exit__` rolls back
   (Temporal cancels a threaded activity by raising an exception into its thread).
3. `SQLiteFactory` leaves the pool's timeout at `SQLiteDatastore`'s 5 s; on starved cores a
   writer waits longer than that for its turn. Here it is 30 s unless `SQLITE_POOL_TIMEOUT` says
   otherwise; a write that still times out fails its activity, which Temporal retries.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any, Literal

# The module, not `SQLiteFactory` by name: `PERSISTENCE_MODULE=domain.sqlite_store` must find
# exactly one factory class here (`InfrastructureFactory.construct`).
from eventsourcing import sqlite as library
from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteDatastore
from eventsourcing.utils import Environment, EnvType, get_topic

from domain.chain_sqlite import ChainedSQLiteApplicationRecorder

log = logging.getLogger("lotse.store")

DEFAULT_POOL_TIMEOUT = 30.0
"""Seconds a request for a connection may wait (the library's SQLite default is 5)."""


class LotseSQLiteConnectionPool(SQLiteConnectionPool):
    """The library's SQLite pool, except that a failed request gives back what it took, and a
    connection comes back into the pool only outside a transaction."""

    def __init__(self, *, db_name: str, **options: Any) -> None:
        # The options as `SQLiteConnectionPool` takes them; `LotseSQLiteDatastore` gives them.
        super().__init__(db_name=db_name, **options)
        # Per thread: has this thread's current request taken the writer lock or a reader's
        # place (see `_get_connection`)?
        self._request = threading.local()

    def get_connection(
        self, timeout: float | None = None, *, is_writer: bool | None = None
    ) -> SQLiteConnection:
        """The library's `get_connection`; if it fails after taking the writer lock (writer) or
        counting a reader, that is given back here, once, as `put_connection` would."""
        self._request.claimed = False
        try:
            return super().get_connection(timeout, is_writer=is_writer)
        except BaseException:
            if self._request.claimed:
                self._give_back_claim(is_writer)
            raise
        finally:
            self._request.claimed = False

    def _get_connection(self, timeout: float = 0.0) -> SQLiteConnection:
        # The library's `get_connection` calls this only once it holds the writer lock (for a
        # writer) or has counted the reader (for a reader). `_get_connection` calls itself again
        # while it waits; that only sets the mark again, and the claim is given back once, by
        # `get_connection` above.
        self._request.claimed = True
        return super()._get_connection(timeout)

    def _give_back_claim(self, is_writer: bool | None) -> None:
        """What `put_connection` undoes for a returned connection, for one never issued."""
        if is_writer is True:
            self._num_writers -= 1
            self._writer_lock.release()
        elif is_writer is False:
            with self._no_readers:
                self._num_readers -= 1
                if self._num_readers == 0 and self._mutually_exclusive_read_write:
                    self._no_readers.notify()

    def put_connection(self, conn: SQLiteConnection) -> None:
        """Returns `conn`; one still inside a transaction is rolled back first, or closed
        (which makes the library's `put_connection` drop it) if the rollback fails too."""
        try:
            _end_open_transaction(conn)
        finally:
            super().put_connection(conn)


def _end_open_transaction(conn: SQLiteConnection) -> None:
    if conn.closed or not _in_transaction(conn):
        return
    try:
        conn.rollback()
    except BaseException:
        conn.close()
        log.warning("closed an SQLite connection whose rollback failed", exc_info=True)
        return
    if _in_transaction(conn):
        conn.close()
        log.warning("closed an SQLite connection still inside a transaction after a rollback")
    else:
        log.warning("rolled back an SQLite connection returned inside a transaction")


def _in_transaction(conn: SQLiteConnection) -> bool:
    # `_sqlite_conn` is the sqlite3 connection SQLiteConnection wraps (eventsourcing 9.5.6);
    # `in_transaction` is false in autocommit mode, i.e. outside BEGIN … COMMIT/ROLLBACK.
    return conn._sqlite_conn.in_transaction


class LotseSQLiteDatastore(SQLiteDatastore):
    """The library's SQLite datastore on `LotseSQLiteConnectionPool`."""

    def __init__(
        self,
        db_name: str,
        *,
        lock_timeout: int | None = None,
        pool_size: int = 5,
        max_overflow: int = 10,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT,
        max_age: float | None = None,
        pre_ping: bool = False,
        single_row_tracking: bool = True,
        originator_id_type: Literal["uuid", "text"] = "uuid",
    ) -> None:
        super().__init__(
            db_name,
            lock_timeout=lock_timeout,
            single_row_tracking=single_row_tracking,
            originator_id_type=originator_id_type,
        )
        # The library's constructor makes its own pool, which has not connected yet.
        self.pool.close()
        self.pool = LotseSQLiteConnectionPool(
            db_name=db_name,
            lock_timeout=lock_timeout,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            max_age=max_age,
            pre_ping=pre_ping,
        )


class LotseSQLiteFactory(library.SQLiteFactory):
    """The library's SQLite factory on `LotseSQLiteDatastore`, with the pool's timeout from
    `SQLITE_POOL_TIMEOUT` (seconds, default 30), whose application recorder chains every event
    it writes (`ChainedSQLiteApplicationRecorder`)."""

    SQLITE_POOL_TIMEOUT = "SQLITE_POOL_TIMEOUT"
    application_recorder_class = ChainedSQLiteApplicationRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        # The library reads and checks its own keys and builds its datastore, which has not
        # connected yet; ours takes over those values.
        super().__init__(env)
        replaced = self.datastore
        try:
            self.datastore = LotseSQLiteDatastore(
                db_name=replaced.pool.db_name,
                lock_timeout=replaced.pool.lock_timeout,
                pool_timeout=self.env_pool_timeout(),
                single_row_tracking=replaced.single_row_tracking,
                originator_id_type=replaced.originator_id_type,
            )
        finally:
            replaced.close()

    def env_pool_timeout(self) -> float:
        """`SQLITE_POOL_TIMEOUT`: seconds above 0; empty or unset gives the default, 30."""
        text = (self.env.get(self.SQLITE_POOL_TIMEOUT) or "").strip()
        if not text:
            return DEFAULT_POOL_TIMEOUT
        try:
            seconds = float(text)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0):
            given_by = next(
                k for k in self.env.create_keys(self.SQLITE_POOL_TIMEOUT) if k in self.env
            )
            msg = (
                f"SQLite environment value for key '{given_by}' is invalid: {text!r}; "
                f"seconds above 0 are expected (empty or unset: {DEFAULT_POOL_TIMEOUT:g})"
            )
            raise OSError(msg)
        return seconds


FACTORY_TOPIC = get_topic(LotseSQLiteFactory)
"""What `PERSISTENCE_MODULE` says for this store: `domain.sqlite_store:LotseSQLiteFactory`."""
