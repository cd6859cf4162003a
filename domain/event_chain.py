"""The hash chain over Lotse's record: each stored event is linked to the one before it, in
notification order, by a SHA-256 over its stored bytes (docs/record.md, "Tamper evidence").

A link is a row of `lotse_event_chain`, written by the chained recorders (domain/sqlite_store.py,
domain/postgres_store.py) in the transaction that writes its event:

    notification id · originator id · originator version · previous hash · hash

    hash = SHA-256( previous hash (32 bytes)
                    ‖ part(originator id) ‖ part(version) ‖ part(topic) ‖ part(state) )
    part(x) = len(x) as 8-byte big-endian unsigned ‖ x

The originator id is UTF-8 of its text, a UUID as 32 lower-case hex digits (`UUID.hex`, as the
SQLite store holds it); the version an 8-byte big-endian signed integer; the topic UTF-8; the
state the stored bytes themselves (for personal data the ciphertext, so that erasing a person
by destroying their key leaves the chain intact). The first link's previous hash is 32 zero
bytes. Each link keeps its previous hash too: a link that no longer follows the one before it
tells a removed or inserted link from an altered event.

This module knows no database: the recorders give it rows and write what it returns.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError, StoredEvent

CHAIN_TABLE = "lotse_event_chain"
"""One row per chained event (SQLite: in the event store's file; PostgreSQL: its schema)."""
INTRODUCTIONS_TABLE = "lotse_event_chain_introduced"
"""When the chain was first written to a store that already held events, which it chained."""
STREAM_INDEX = "lotse_event_chain_stream_version"
"""Unique over (originator id, version): a version the chain holds is never chained again."""

GENESIS = bytes(32)
"""The previous hash of the first link."""

pack_length = struct.Struct(">Q").pack
"""A part's length prefix: 8 bytes, big-endian, unsigned."""
pack_version = struct.Struct(">q").pack
"""A version: 8 bytes, big-endian, signed."""
VERSION_PART = pack_length(8)
"""The version's length prefix (always 8)."""

CHAIN_BATCH = 10_000
"""Rows read per batch when events already in a store are chained."""


class ChainConflictError(PersistenceError):
    """A write the chain refuses: it would record a stream's version, or a notification id,
    that the chain already holds for an event no longer in the events table (an event was
    deleted behind Lotse's back). Not an `IntegrityError`: retrying cannot help."""


def id_text(originator_id: UUID | str) -> str:
    """The originator id as the chain and the SQLite store write it: a UUID as 32 hex digits."""
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


def link_hash(previous: bytes, originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    """The hash of one link (module docstring); `originator_id` as `id_text` gives it."""
    oid = originator_id.encode()
    top = topic.encode()
    return hashlib.sha256(
        b"".join(
            (
                previous,
                pack_length(len(oid)),
                oid,
                VERSION_PART,
                pack_version(version),
                pack_length(len(top)),
                top,
                pack_length(len(state)),
                state,
            )
        )
    ).digest()


@dataclass(frozen=True)
class Link:
    """One row of the chain table."""

    notification_id: int
    originator_id: str
    originator_version: int
    previous_hash: bytes
    hash: bytes

    @classmethod
    def of(cls, row: Sequence[Any]) -> Link:
        """A link from a chain table row, its hashes as bytes whatever the row holds (an
        edited SQLite row may hold text)."""
        nid, oid, version, previous, digest = row
        return cls(nid, str(oid), version, as_bytes(previous), as_bytes(digest))

    def stream_version(self) -> tuple[str, int]:
        return self.originator_id, self.originator_version

    def row(self) -> tuple[int, str, int, bytes, bytes]:
        return (
            self.notification_id,
            self.originator_id,
            self.originator_version,
            self.previous_hash,
            self.hash,
        )


Row = tuple[int, str, int, str, bytes]
"""An event as the chain reads it: notification id, originator id text, version, topic, state."""


def links_after(previous: bytes, rows: Iterable[Row]) -> Iterator[Link]:
    """The links of `rows` (in notification order), the first following `previous`."""
    for notification_id, originator_id, version, topic, state in rows:
        digest = link_hash(previous, originator_id, version, topic, state)
        yield Link(notification_id, originator_id, version, previous, digest)
        previous = digest


def new_event_rows(
    stored_events: Sequence[StoredEvent], notification_ids: Sequence[int]
) -> list[Row]:
    """The events just inserted, paired with the notification ids the store gave them (in
    insert order, which is ascending order), as chain rows."""
    if len(notification_ids) != len(stored_events):
        msg = (
            f"the store returned {len(notification_ids)} notification ids for "
            f"{len(stored_events)} events: they cannot be chained"
        )
        raise ChainConflictError(msg)
    return [
        (nid, id_text(e.originator_id), e.originator_version, e.topic, bytes(e.state))
        for nid, e in zip(notification_ids, stored_events, strict=True)
    ]


def version_reused_message(originator_id: str, version: int, notification_id: int) -> str:
    """Why a write that would record a chained stream version again is refused."""
    return (
        f"stream {originator_id} version {version} was recorded before (notification "
        f"{notification_id} of the chain) and is missing from the events table: the record was "
        "changed; nothing was written — run `lotse audit verify`"
    )


def notification_reused_message(head: int, first_new: int) -> str:
    """Why a write given a notification id the chain already holds is refused."""
    return (
        f"the store gave notification {first_new} to a new event, but the chain already runs "
        f"to notification {head}: events were deleted from the end of the record; nothing was "
        "written — run `lotse audit verify`"
    )


def as_bytes(value: Any) -> bytes:
    """A BLOB/bytea value as bytes (psycopg may give `memoryview`; an edited SQLite row text,
    taken as UTF-8)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return str(value).encode(errors="surrogateescape")


class ChainWriter:
    """What a chained recorder does in the transaction that inserts events, once the store has
    given them notification ids (`chain_new_events`). The recorder supplies the SQL (the
    `_…` hooks); the store serialises writers (SQLite: one writer; PostgreSQL: the events
    table is locked), so the head read here is the head the new links follow."""

    def chain_new_events(
        self, cursor: Any, stored_events: Sequence[StoredEvent], notification_ids: Sequence[int]
    ) -> None:
        """Chain the events just inserted; if the chain is empty and the store already held
        events, chain those first (once) and record that. Raises `ChainConflictError` (and the
        transaction rolls back) for a stream version or notification id the chain holds."""
        if not stored_events:
            return
        rows = new_event_rows(stored_events, notification_ids)
        head = self._chain_head(cursor)
        if head is None:
            head = self._introduce_chain(cursor, before=rows[0][0])
        elif head[0] >= rows[0][0]:
            raise ChainConflictError(notification_reused_message(head[0], rows[0][0]))
        held = self._chained_versions(cursor, rows)
        if held:
            raise ChainConflictError(version_reused_message(*held[0]))
        self._write_links(cursor, list(links_after(head[1], rows)))

    def _introduce_chain(self, cursor: Any, before: int) -> tuple[int, bytes]:
        """Chain the events stored before notification `before` (written before the chain
        existed), record from which to which and when; the head after them."""
        head: tuple[int, bytes] = (0, GENESIS)
        first: int | None = None
        for batch in self._events_before(cursor, before):
            links = list(links_after(head[1], batch))
            self._write_links(cursor, links)
            first = links[0].notification_id if first is None else first
            head = (links[-1].notification_id, links[-1].hash)
        if first is not None:
            self._record_introduction(cursor, first, head[0])
        return head

    # --- the recorder's SQL ---------------------------------------------------------------

    def _chain_head(self, cursor: Any) -> tuple[int, bytes] | None:
        """The chain's last link: notification id and hash; None for an empty chain."""
        raise NotImplementedError

    def _events_before(self, cursor: Any, before: int) -> Iterator[list[Row]]:
        """The stored events before notification `before`, in order, in batches."""
        raise NotImplementedError

    def _chained_versions(self, cursor: Any, rows: Sequence[Row]) -> list[tuple[str, int, int]]:
        """Of `rows`, the (originator id, version, notification id) the chain already holds."""
        raise NotImplementedError

    def _write_links(self, cursor: Any, links: Sequence[Link]) -> None:
        raise NotImplementedError

    def _record_introduction(self, cursor: Any, first: int, last: int) -> None:
        """Record that the events `first`–`last` were chained now, when the chain began."""
        raise NotImplementedError


@dataclass(frozen=True)
class Introduction:
    """Events a store held before its chain began, chained when the chain was introduced."""

    first_notification_id: int
    last_notification_id: int
    introduced_at: str  # ISO 8601, UTC


JoinedRow = tuple[int, str, int, str, bytes, str | None, int | None, bytes | None, bytes | None]
"""An event and its link, if any: notification id, originator id, version, topic, state, then
the link's originator id, version, previous hash and hash (None without a link)."""


class ChainSnapshot:
    """One consistent read of the events and the chain (one read transaction), for `verify`.
    Implemented by each store's reader (plain SQL, no domain events)."""

    def joined_rows(self, batch: int) -> Iterator[Sequence[JoinedRow]]:
        """Every event in notification order with its link, in batches of up to `batch`."""
        raise NotImplementedError

    def link_count(self) -> int:
        raise NotImplementedError

    def orphan_links(self) -> list[Link]:
        """Links whose event is not in the events table, in notification order."""
        raise NotImplementedError

    def stream_versions(self) -> Iterator[tuple[str, int, int]]:
        """(originator id, version, notification id) of every link, by stream and version."""
        raise NotImplementedError

    def head(self) -> tuple[int, bytes] | None:
        """The link with the highest notification id: its id and hash."""
        raise NotImplementedError

    def link_at(self, notification_id: int) -> Link | None:
        raise NotImplementedError

    def introductions(self) -> list[Introduction]:
        raise NotImplementedError

    def holds_stream(self, originator_id: str) -> bool:
        """Whether the chain or the events table holds an event of the stream."""
        raise NotImplementedError

    def first_states(self, originator_ids: Iterable[str]) -> dict[str, bytes]:
        """The state of version 1 of each stream still in the events table."""
        raise NotImplementedError
