"""Which people view an application uses: a SQLite file beside the store's file, or two tables
in the store's PostgreSQL database. Apart from `people_view.py`, which both implementations
import; each is imported only when chosen, for its own driver."""

from __future__ import annotations

from eventsourcing.utils import Environment

from domain.people_view import SQLITE_VIEW_FILE, PeopleViewStore
from domain.store_files import names_sqlite_store, sqlite_beside


def build_people_view(env: Environment) -> PeopleViewStore:
    """The view store beside the event store that `env` configures (the application's env)."""
    # Imported here: each implementation pulls in its own driver.
    module = env.get("PERSISTENCE_MODULE", "") or ""
    if module == "eventsourcing.postgres":
        from domain.people_view_postgres import PostgresPeopleView

        return PostgresPeopleView.from_env(env)
    from domain.people_view_sqlite import SQLitePeopleView

    if names_sqlite_store(module):
        return SQLitePeopleView(sqlite_view_path(env.get("SQLITE_DBNAME", "") or ":memory:"))
    return SQLitePeopleView(":memory:")


def sqlite_view_path(event_store_dbname: str) -> str:
    """The view file beside the event store's file: `events.sqlite` → `people-view.sqlite`,
    `other.sqlite` → `other-people-view.sqlite`; an in-memory event store → `:memory:`."""
    return sqlite_beside(event_store_dbname, SQLITE_VIEW_FILE)
