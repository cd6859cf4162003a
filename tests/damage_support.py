"""Damage done to a real event store with plain SQL, as someone with access to the database
could: a row deleted from the middle of a stream, a state that is no longer JSON, a topic that
names no event type. SQLite (the store's file) and PostgreSQL (the test's schema) alike."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from settings import Settings
from tests.conftest import POSTGRES_CONNINFO

UNKNOWN_TOPIC = "domain.incident:Incident.NeverDefined"


@dataclass(frozen=True)
class Damage:
    """Plain SQL on the events table of the store `settings` point at."""

    settings: Settings

    def delete(self, originator_id: UUID, version: int) -> None:
        """Delete one stored event, leaving a gap in its stream."""
        self._change("DELETE FROM {table} WHERE {where}", (), originator_id, version)

    def garble_state(self, originator_id: UUID, version: int) -> None:
        """Overwrite one event's stored state with bytes that are not JSON."""
        self._change(
            "UPDATE {table} SET state = %s WHERE {where}", (b"{not json",), originator_id, version
        )

    def rename_topic(self, originator_id: UUID, version: int, topic: str = UNKNOWN_TOPIC) -> None:
        """Make one event's topic name a type that does not exist."""
        self._change(
            "UPDATE {table} SET topic = %s WHERE {where}", (topic,), originator_id, version
        )

    def _change(
        self, statement: str, values: tuple[Any, ...], originator_id: UUID, version: int
    ) -> None:
        where = "originator_id = %s AND originator_version = %s"
        if self.settings.store == "sqlite":
            text = statement.format(table="stored_events", where=where).replace("%s", "?")
            with sqlite3.connect(self.settings.event_store_path) as conn:
                changed = conn.execute(text, (*values, originator_id.hex, version)).rowcount
        else:
            table = sql.Identifier(self.settings.postgres_schema, "lotse_events")
            query = sql.SQL(statement).format(table=table, where=sql.SQL(where))
            with psycopg.connect(POSTGRES_CONNINFO) as conn:
                changed = conn.execute(query, (*values, originator_id, version)).rowcount
        assert changed == 1, f"no stored event {originator_id} version {version} to damage"
