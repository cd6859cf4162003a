"""Which timeline store an application uses: a SQLite file beside the store's file, or two
tables in the store's PostgreSQL database. Each implementation is imported only when chosen,
for its own driver."""

from __future__ import annotations

from eventsourcing.utils import Environment

from domain.store_files import sqlite_file_beside_store, store_is_postgres
from domain.timeline import SQLITE_TIMELINE_FILE, TimelineStore


def build_timeline(env: Environment) -> TimelineStore:
    """The timeline store beside the event store that `env` configures (the application's)."""
    if store_is_postgres(env):
        from domain.timeline_postgres import PostgresTimeline

        return PostgresTimeline.from_env(env)
    from domain.timeline_sqlite import SQLiteTimeline

    return SQLiteTimeline(sqlite_file_beside_store(env, SQLITE_TIMELINE_FILE))
