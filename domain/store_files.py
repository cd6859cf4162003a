"""Files Lotse keeps beside the SQLite event store (the person keys, the people view), and how
to tell from the application's env that the event store is SQLite."""

from __future__ import annotations

from pathlib import Path

from eventsourcing.utils import Environment

from domain.postgres_store import FACTORY_TOPIC as POSTGRES_FACTORY_TOPIC
from domain.sqlite_store import FACTORY_TOPIC

SQLITE_PERSISTENCE_MODULES = frozenset(
    {
        FACTORY_TOPIC,  # what Settings gives: Lotse's pool (domain/sqlite_store.py)
        FACTORY_TOPIC.partition(":")[0],  # the same factory, found in its module
        "eventsourcing.sqlite",  # the library's own, as stores configured before it named it
    }
)


def names_sqlite_store(persistence_module: str) -> bool:
    """Whether `PERSISTENCE_MODULE` (as the application's env gives it) is a SQLite event
    store, whose `SQLITE_DBNAME` the files beside it are named after."""
    return persistence_module in SQLITE_PERSISTENCE_MODULES


def sqlite_beside(event_store_dbname: str, file_name: str) -> str:
    """`file_name` beside the event store's file: `events.sqlite` → `file_name`,
    `other.sqlite` → `other-file_name`; an in-memory event store → `:memory:`."""
    if event_store_dbname == ":memory:" or "mode=memory" in event_store_dbname:
        return ":memory:"
    path = Path(event_store_dbname.removeprefix("file:").split("?", 1)[0])
    name = file_name if path.stem == "events" else f"{path.stem}-{file_name}"
    return str(path.with_name(name))


POSTGRES_PERSISTENCE_MODULES = frozenset(
    {
        POSTGRES_FACTORY_TOPIC,  # what Settings gives: the chained store (domain/postgres_store.py)
        POSTGRES_FACTORY_TOPIC.partition(":")[0],  # the same factory, found in its module
        "eventsourcing.postgres",  # the library's own, as stores configured before it named it
    }
)


def store_is_postgres(env: Environment) -> bool:
    """Whether the application's env configures a PostgreSQL event store."""
    return env.get("PERSISTENCE_MODULE", "") in POSTGRES_PERSISTENCE_MODULES


def sqlite_file_beside_store(env: Environment, file_name: str) -> str:
    """`file_name` beside the SQLite event store the application's env configures
    (`sqlite_beside`); `:memory:` for any other store (the in-memory one of unit tests)."""
    if names_sqlite_store(env.get("PERSISTENCE_MODULE", "") or ""):
        return sqlite_beside(env.get("SQLITE_DBNAME", "") or ":memory:", file_name)
    return ":memory:"
