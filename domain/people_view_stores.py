"""Which people view an application uses: a SQLite file beside the store's file, or two tables
in the store's PostgreSQL database. Apart from `people_view.py`, which both implementations
import; each is imported only when chosen, for its own driver."""

from __future__ import annotations

from eventsourcing.utils import Environment

from domain.people_view import SQLITE_VIEW_FILE, PeopleViewStore
from domain.store_files import sqlite_beside, sqlite_file_beside_store, store_is_postgres


def build_people_view(env: Environment) -> PeopleViewStore:
    """The view store beside the event store that `env` configures (the application's env)."""
    # Imported here: each implementation pulls in its own driver.
    if store_is_postgres(env):
        from domain.people_view_postgres import PostgresPeopleView

        return PostgresPeopleView.from_env(env)
    from domain.people_view_sqlite import SQLitePeopleView

    return SQLitePeopleView(sqlite_file_beside_store(env, SQLITE_VIEW_FILE))


def sqlite_view_path(event_store_dbname: str) -> str:
    """The view file beside the event store's file: `events.sqlite` → `people-view.sqlite`,
    `other.sqlite` → `other-people-view.sqlite`; an in-memory event store → `:memory:`."""
    return sqlite_beside(event_store_dbname, SQLITE_VIEW_FILE)
