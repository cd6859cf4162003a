"""The key store as the table `lotse_person_keys` in the event store's PostgreSQL database,
in the configured schema (`POSTGRES_SCHEMA`, default `public`), apart from the events table.

PostgreSQL keeps an updated row's old version until VACUUM reclaims it, and its write-ahead
log and backups keep what they kept: see docs/data-protection.md for what that means for
erasure.
"""

from __future__ import annotations

import random
import time
from uuid import UUID

import psycopg
from eventsourcing.utils import Environment
from psycopg import sql
from psycopg_pool import ConnectionPool

from domain.keys import new_key
from domain.postgres_target import postgres_target

TABLE = "lotse_person_keys"
SETUP_ATTEMPTS = 5
POOL_MAX_SIZE = 4


class PostgresKeyStore:
    """`KeyStore` in PostgreSQL; one small connection pool per application."""

    def __init__(self, conninfo: str, schema: str = "") -> None:
        self._table = sql.Identifier(schema, TABLE) if schema else sql.Identifier(TABLE)
        self._pool = ConnectionPool(
            conninfo, min_size=1, max_size=POOL_MAX_SIZE, kwargs={"autocommit": True}, open=True
        )
        try:
            self._create_table()
        except BaseException:
            self._pool.close()
            raise

    @classmethod
    def from_env(cls, env: Environment) -> PostgresKeyStore:
        """The database the event store's `POSTGRES_*` settings name."""
        return cls(*postgres_target(env))

    def _create_table(self) -> None:
        """Workers starting together on a new database both create the table; PostgreSQL
        refuses one of the concurrent definitions, and the next attempt finds it made."""
        statement = sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (person_id uuid PRIMARY KEY, key bytea, "
            "created_at timestamptz NOT NULL DEFAULT now(), destroyed_at timestamptz)"
        ).format(self._table)
        for attempt in range(1, SETUP_ATTEMPTS + 1):
            try:
                with self._pool.connection() as conn:
                    conn.execute(statement)
                return
            except (psycopg.errors.UniqueViolation, psycopg.errors.InternalError):
                if attempt == SETUP_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.1 * attempt))  # jitter, not secrecy

    def create(self, person_id: UUID) -> None:
        query = sql.SQL(
            "INSERT INTO {} (person_id, key) VALUES (%s, %s) ON CONFLICT (person_id) DO NOTHING"
        ).format(self._table)
        with self._pool.connection() as conn:
            conn.execute(query, (person_id, new_key()))

    def key(self, person_id: UUID) -> bytes | None:
        query = sql.SQL("SELECT key FROM {} WHERE person_id = %s").format(self._table)
        with self._pool.connection() as conn:
            row = conn.execute(query, (person_id,)).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def destroy(self, person_id: UUID) -> bool:
        query = sql.SQL(
            "INSERT INTO {table} AS k (person_id, key, destroyed_at) VALUES (%s, NULL, now()) "
            "ON CONFLICT (person_id) DO UPDATE SET key = NULL, "
            "destroyed_at = coalesce(k.destroyed_at, excluded.destroyed_at) "
            "RETURNING (SELECT old.key IS NOT NULL FROM {table} old WHERE old.person_id = %s)"
        ).format(table=self._table)
        with self._pool.connection() as conn:
            row = conn.execute(query, (person_id, person_id)).fetchone()
        return bool(row and row[0])

    def destroyed(self, person_id: UUID) -> bool:
        query = sql.SQL("SELECT destroyed_at IS NOT NULL FROM {} WHERE person_id = %s").format(
            self._table
        )
        with self._pool.connection() as conn:
            row = conn.execute(query, (person_id,)).fetchone()
        return bool(row and row[0])

    def close(self) -> None:
        self._pool.close()
