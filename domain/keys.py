"""Per-person keys, kept apart from the events: destroying a key erases that person's contact
data from the append-only record ("crypto-shredding").

`KeyStore` is the contract; `build_key_store` picks the implementation that matches the event
store's settings: a SQLite file beside the event store's file (`domain/keys_sqlite.py`), or the
table `lotse_person_keys` in the event store's PostgreSQL database and schema
(`domain/keys_postgres.py`). An in-memory event store gets an in-memory key store.

A destroyed key leaves a tombstone (person id, `destroyed_at`), so "erased" can be told apart
from "never had a key", and a destroyed key is never made again. Nothing here caches a key:
every reader asks the store, so a key destroyed by another process is gone for all at once.
"""

from __future__ import annotations

import secrets
from typing import Protocol
from uuid import UUID

KEY_BYTES = 32
"""AES-256."""
SQLITE_KEY_FILE = "person-keys.sqlite"


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


class KeyStore(Protocol):
    """Where each affected person's key lives, apart from the events."""

    def create(self, person_id: UUID) -> None:
        """Make the person's key unless one exists or was destroyed (idempotent)."""

    def key(self, person_id: UUID) -> bytes | None:
        """The person's key; None if it never existed or was destroyed."""

    def destroy(self, person_id: UUID) -> bool:
        """Delete the key and keep a tombstone; True if a key was destroyed by this call."""

    def destroyed(self, person_id: UUID) -> bool:
        """Whether the person's key was destroyed."""

    def close(self) -> None: ...


class KeyMissingError(LookupError):
    """A registered person whose key was neither made nor destroyed in this key store: the
    application is reading another store's keys."""
