"""Where the event store's PostgreSQL database is, for the tables Lotse keeps beside the events
(the person keys, the people view): the same `POSTGRES_*` settings the store reads."""

from __future__ import annotations

from eventsourcing.utils import Environment
from psycopg.conninfo import make_conninfo


def postgres_target(env: Environment) -> tuple[str, str]:
    """The connection string and the schema (empty: `public`) that `env` names."""
    conninfo = make_conninfo(
        host=env.get("POSTGRES_HOST", "127.0.0.1"),
        port=env.get("POSTGRES_PORT", "5432"),
        user=env.get("POSTGRES_USER", "postgres"),
        password=env.get("POSTGRES_PASSWORD", ""),
        dbname=env.get("POSTGRES_DBNAME", "lotse"),
        connect_timeout=env.get("POSTGRES_CONNECT_TIMEOUT", "10"),
    )
    return conninfo, env.get("POSTGRES_SCHEMA", "") or ""
