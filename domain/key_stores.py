"""Which key store a Lotse application uses: the one beside its event store (a SQLite file
next to the store's file, or a table in the same PostgreSQL database). Each implementation is
imported only when chosen, for its own driver."""

from __future__ import annotations

from eventsourcing.utils import Environment

from domain.keys import SQLITE_KEY_FILE, KeyStore
from domain.store_files import sqlite_beside, sqlite_file_beside_store, store_is_postgres


def build_key_store(env: Environment) -> KeyStore:
    """The key store for the event store that `env` configures (the application's env)."""
    # Imported here: each implementation pulls in its own driver.
    if store_is_postgres(env):
        from domain.keys_postgres import PostgresKeyStore

        return PostgresKeyStore.from_env(env)
    from domain.keys_sqlite import SQLiteKeyStore

    return SQLiteKeyStore(sqlite_file_beside_store(env, SQLITE_KEY_FILE))


def sqlite_key_path(event_store_dbname: str) -> str:
    """The key file beside the event store's file: `events.sqlite` → `person-keys.sqlite`,
    `other.sqlite` → `other-person-keys.sqlite`; an in-memory event store → `:memory:`."""
    return sqlite_beside(event_store_dbname, SQLITE_KEY_FILE)
