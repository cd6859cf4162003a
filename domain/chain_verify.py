"""Recompute the record's hash chain and name each event that was altered, deleted, inserted or
reordered (docs/record.md, "Tamper evidence").

One pass over every event with its link, in notification order, hashing in Python; only rows
that do not fit go to a slower second look, which tells the kinds apart:

- **altered**: an event's stored bytes (or its stream/version) differ from those chained;
- **deleted**: a link whose event is gone, or a link that no longer follows the one before it
  (an event removed together with its link; the stream and version are named when the
  stream's versions show the gap);
- **inserted**: an event without a link, or a link that the next link skips over;
- **reordered**: an event's bytes belong to another notification's link;
- **cut off** (with a checkpoint only): the chain ends before, or differs at, the
  notification a signed checkpoint saw.

The chain alone cannot show the newest events removed together with their links, nor a
rewrite of the whole chain: that is what a checkpoint kept outside the store is for.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from domain.event_chain import (
    GENESIS,
    VERSION_PART,
    ChainSnapshot,
    Introduction,
    Link,
    as_bytes,
    link_hash,
    pack_length,
    pack_version,
)

Kind = Literal["altered", "deleted", "inserted", "reordered", "cut off", "unchained"]
PAIRING_LIMIT = 500
"""Rows that do not fit their links compared pairwise for swapped contents, at most."""
BATCH = 10_000
NO_INCIDENT = ""
"""`Finding.incident` of a stream that belongs to no incident (an agreement, the directory)."""


@dataclass(frozen=True)
class Finding:
    """One thing found changed: what, where (notification, stream, version), and in words."""

    kind: Kind
    what: str
    notification_id: int | None = None
    originator_id: str | None = None
    version: int | None = None
    stream: str = ""
    """The stream as its first event names it (`person DD-0042 of incident x`), if it can."""
    incident: str | None = None
    """The incident the stream belongs to, as its first event says; `NO_INCIDENT` for a
    stream of none; None if not known (its first event is gone, or no stream is named)."""

    def line(self) -> str:
        """`kind: stream …, version V, notification N: what`."""
        where = []
        if self.originator_id is not None:
            label = f"{self.stream} (stream {self.originator_id})" if self.stream else None
            where.append(label or f"stream {self.originator_id}")
        if self.version is not None:
            where.append(f"version {self.version}")
        if self.notification_id is not None:
            where.append(f"notification {self.notification_id}")
        place = ", ".join(where)
        return f"{self.kind}: {place}: {self.what}" if place else f"{self.kind}: {self.what}"


@dataclass(frozen=True)
class CheckpointClaim:
    """What a verified checkpoint says: the chain's head hash at a notification, and when."""

    notification_id: int
    head_hash: bytes
    made_at: str


@dataclass
class Report:
    """The outcome of `verify_chain`."""

    events: int = 0
    head: tuple[int, bytes] | None = None
    findings: list[Finding] = field(default_factory=list)
    introductions: list[Introduction] = field(default_factory=list)
    checkpoint: CheckpointClaim | None = None
    incident: str | None = None
    outside_incident: int = 0
    """Findings left out because they belong to streams of other incidents."""

    @property
    def intact(self) -> bool:
        return not self.findings


@dataclass
class _Pass:
    """What the first pass keeps besides counts: the rows that do not fit."""

    mismatched: list[tuple[Any, ...]] = field(default_factory=list)
    breaks: list[tuple[int | None, bytes, bytes, int, bytes]] = field(default_factory=list)
    """(previous link's notification — None before the first —, its hash, its previous hash,
    this notification, this link's previous hash) where a link does not follow the one before
    it."""
    unlinked: list[tuple[int, str, int]] = field(default_factory=list)
    linked: int = 0
    events: int = 0


def verify_chain(
    snapshot: ChainSnapshot,
    *,
    checkpoint: CheckpointClaim | None = None,
    incident: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Recompute the whole chain of `snapshot`; findings limited to `incident`'s streams
    (its own and those made for it: the streams whose first event names it) if given.
    `progress` is called with the notification id reached after each batch."""
    seen = _first_pass(snapshot, progress)
    findings = _findings(snapshot, seen)
    report = Report(
        events=seen.events,
        head=snapshot.head(),
        introductions=snapshot.introductions(),
        checkpoint=checkpoint,
        incident=incident,
    )
    if checkpoint is not None:
        findings += _checkpoint_findings(snapshot, report.head, checkpoint)
    findings = _named(snapshot, findings)
    if incident is not None:
        kept = [f for f in findings if f.incident in (incident, None)]
        report.outside_incident = len(findings) - len(kept)
        findings = kept
    report.findings = findings
    return report


def _first_pass(snapshot: ChainSnapshot, progress: Callable[[int], None] | None) -> _Pass:
    """Every event with its link; the fast path is one hash and four comparisons a row."""
    seen = _Pass()
    # Local names: the loop runs once per event, and a global lookup costs there.
    sha256 = hashlib.sha256
    length = pack_length
    version_part = VERSION_PART
    version_bytes = pack_version
    join = b"".join
    last_nid: int | None = None
    last_hash, last_previous = GENESIS, GENESIS
    for rows in snapshot.joined_rows(BATCH):
        for row in rows:
            nid, oid, ver, topic, state, l_oid, l_ver, l_prev, l_hash = row
            if l_hash is None or l_prev is None:  # no link (both columns are NOT NULL)
                seen.unlinked.append((nid, oid, ver))
                continue
            try:
                o = oid.encode()
                t = topic.encode()
                digest: bytes | None = sha256(
                    join(
                        (
                            l_prev,
                            length(len(o)),
                            o,
                            version_part,
                            version_bytes(ver),
                            length(len(t)),
                            t,
                            length(len(state)),
                            state,
                        )
                    )
                ).digest()
            except (AttributeError, TypeError, struct.error):
                # SQLite keeps whatever type a value is given: an edited row may hold text
                # where bytes were written, or the reverse. Such a row is not what was chained.
                digest = None
            if digest != l_hash or oid != l_oid or ver != l_ver:
                seen.mismatched.append(row)
            if l_prev != last_hash:
                seen.breaks.append((last_nid, last_hash, last_previous, nid, l_prev))
            last_nid, last_hash, last_previous = nid, l_hash, l_prev
            seen.linked += 1
        seen.events += len(rows)
        if progress is not None:
            progress(rows[-1][0])
    return seen


def _findings(snapshot: ChainSnapshot, seen: _Pass) -> list[Finding]:
    if seen.events and not seen.linked and snapshot.link_count() == 0:
        first, last = seen.unlinked[0][0], seen.unlinked[-1][0]
        return [
            Finding(
                "unchained",
                f"the record carries no chain: its {seen.events} events (notifications "
                f"{first}–{last}) were written without one; the chain begins with the next "
                "write",
            )
        ]
    orphans = snapshot.orphan_links() if snapshot.link_count() != seen.linked else []
    findings = _mismatch_findings(seen.mismatched)
    findings += _break_findings(snapshot, seen.breaks, orphans)
    findings += [
        Finding("inserted", "this event is not in the chain", nid, oid, ver)
        for nid, oid, ver in seen.unlinked
    ]
    return sorted(findings, key=lambda f: (f.notification_id or 0, f.kind))


def _mismatch_findings(rows: Sequence[tuple[Any, ...]]) -> list[Finding]:
    """Rows whose bytes do not give their link's hash: reordered if their contents fit
    another such row's link, else altered."""
    pairable = rows[:PAIRING_LIMIT]
    findings = []
    for row in rows:
        nid, oid, ver, _, _, l_oid, l_ver, l_prev, l_hash = row
        if oid != l_oid or ver != l_ver:
            findings.append(_moved_or_altered(row, pairable))
            continue
        source = next(
            (
                other
                for other in pairable
                if other is not row and lenient_hash(l_prev, oid, ver, other[3], other[4]) == l_hash
            ),
            None,
        )
        if source is not None:
            what = f"holds the state recorded at notification {source[0]} (moved or swapped)"
            findings.append(Finding("reordered", what, nid, oid, ver))
        else:
            what = "its stored bytes differ from those chained"
            findings.append(Finding("altered", what, nid, oid, ver))
    return findings


def _moved_or_altered(row: tuple[Any, ...], pairable: Sequence[tuple[Any, ...]]) -> Finding:
    """A row whose stream or version is not what its link recorded."""
    nid, oid, ver, topic, state, l_oid, l_ver, _, _ = row
    for other in pairable:
        if other is not row and lenient_hash(other[7], oid, ver, topic, state) == other[8]:
            what = f"recorded at notification {other[0]}, it now stands at notification {nid}"
            return Finding("reordered", what, nid, oid, ver)
    what = f"the row now says stream {oid} version {ver}; the chain recorded this stream/version"
    return Finding("altered", what, nid, l_oid, l_ver)


def lenient_hash(previous: Any, oid: Any, version: Any, topic: Any, state: Any) -> bytes | None:
    """`link_hash` of values as an edited SQLite row may hold them (text for bytes, bytes for
    text); None if they cannot be hashed at all."""
    try:
        return link_hash(
            as_bytes(previous), _text(oid), int(version), _text(topic), as_bytes(state)
        )
    except (TypeError, ValueError, OverflowError, struct.error):
        return None


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode(errors="surrogateescape")
    return str(value)


def _break_findings(
    snapshot: ChainSnapshot,
    breaks: Sequence[tuple[int | None, bytes, bytes, int, bytes]],
    orphans: Sequence[Link],
) -> list[Finding]:
    """Links that do not follow the link before them: explained by links whose events are
    gone (deleted events), by a link inserted in between, or by events removed with their
    links (named by the gap in their stream's versions where one shows)."""
    findings: list[Finding] = []
    left = list(orphans)
    gaps: list[tuple[str, int, int | None, int | None]] | None = None
    for last_nid, last_hash, last_previous, nid, previous in breaks:
        between = [o for o in left if _between(o.notification_id, last_nid, nid)]
        reached = last_hash
        for orphan in between:
            if orphan.previous_hash != reached:
                break
            reached = orphan.hash
        if reached == previous:
            continue  # the orphans (reported below) explain this break
        if last_nid is not None and previous == last_previous:
            what = f"its link was not in the chain when notification {nid} was chained"
            inserted = snapshot.link_at(last_nid)
            stream = (None, None) if inserted is None else inserted.stream_version()
            findings.append(Finding("inserted", what, last_nid, *stream))
            continue
        gaps = _version_gaps(snapshot) if gaps is None else gaps
        findings += _removed_with_links(gaps, last_nid, nid)
    findings += [
        Finding(
            "deleted",
            "the event is gone from the events table (its link remains)",
            o.notification_id,
            o.originator_id,
            o.originator_version,
        )
        for o in left
    ]
    return findings


def _removed_with_links(
    gaps: Sequence[tuple[str, int, int | None, int | None]], last_nid: int | None, nid: int
) -> list[Finding]:
    """Events removed with their links between notifications `last_nid` (None: before the
    first link) and `nid`."""
    place = (
        f"before notification {nid}"
        if last_nid is None
        else (f"between notifications {last_nid} and {nid}")
    )
    named = [
        Finding("deleted", f"the event and its link are gone ({place})", None, oid, version)
        for oid, version, before, after in gaps
        if (before is None or last_nid is None or before <= last_nid)
        and (after is None or after >= nid)
    ]
    if named:
        return named
    if last_nid is not None and nid == last_nid + 1:
        what = (
            f"the event and its link were rewritten: the next link (notification {nid}) "
            "was made on another hash"
        )
        return [Finding("altered", what, last_nid)]
    what = f"events with their links are gone {place} (their streams are not known)"
    return [Finding("deleted", what)]


def _between(nid: int | None, after: int | None, before: int | None) -> bool:
    """Whether `nid` lies after `after` (None: any) and before `before` (None: any) — a
    `nid` of None (not known) lies anywhere."""
    if nid is None:
        return True
    return (after is None or nid > after) and (before is None or nid < before)


def _version_gaps(snapshot: ChainSnapshot) -> list[tuple[str, int, int | None, int | None]]:
    """Versions missing inside each stream's chained versions (versions count from 1):
    (stream, version, notification of the version before, of the version after)."""
    gaps: list[tuple[str, int, int | None, int | None]] = []
    stream: str | None = None
    expected, before = 1, None
    for oid, version, nid in snapshot.stream_versions():
        if oid != stream:
            stream, expected, before = oid, 1, None
        gaps += [(oid, missing, before, nid) for missing in range(expected, version)]
        expected, before = version + 1, nid
    return gaps


def _checkpoint_findings(
    snapshot: ChainSnapshot, head: tuple[int, bytes] | None, checkpoint: CheckpointClaim
) -> list[Finding]:
    """The chain against a checkpoint: it must reach the checkpoint's notification with the
    same hash there."""
    seen_to = checkpoint.notification_id
    if head is None or head[0] < seen_to:
        ends = 0 if head is None else head[0]
        what = (
            f"events after notification {ends} are missing; the checkpoint of "
            f"{checkpoint.made_at} saw up to {seen_to}"
        )
        return [Finding("cut off", what, ends)]
    at = snapshot.link_at(seen_to)
    if at is not None and at.hash == checkpoint.head_hash:
        return []
    what = (
        f"the chain at notification {seen_to} is not the one the checkpoint of "
        f"{checkpoint.made_at} saw: events up to it were removed and others written, or the "
        "chain was rebuilt"
    )
    return [Finding("cut off", what, seen_to)]


# --- naming streams ---------------------------------------------------------------------


def _named(snapshot: ChainSnapshot, findings: list[Finding]) -> list[Finding]:
    """Each finding with its stream as the stream's first event names it."""
    streams = {f.originator_id for f in findings if f.originator_id is not None}
    states = snapshot.first_states(streams)
    named = []
    for finding in findings:
        state = states.get(finding.originator_id or "")
        if state is None:
            named.append(finding)
            continue
        label, incident = describe_stream(state)
        named.append(replace(finding, stream=label, incident=incident))
    return named


def describe_stream(first_state: bytes) -> tuple[str, str | None]:
    """What a stream is, from its first event's stored state (plain JSON in Lotse's store):
    `person DD-0042 of incident x`, `incident x`, `agreement y`; and its incident, if any."""
    try:
        state = json.loads(first_state)
    except ValueError:
        return "", None
    if not isinstance(state, dict):
        return "", None
    kind = str(state.get("originator_topic", "")).rpartition(":")[2]
    incident = state.get("incident_key")
    incident = incident if isinstance(incident, str) else None
    if kind == "AffectedPerson":
        registration = state.get("registration", {})
        data = registration.get("_data_", {}) if isinstance(registration, dict) else {}
        ref = data.get("person_ref") if isinstance(data, dict) else None
        return f"person {ref} of incident {incident}", incident
    if kind == "Incident":
        return f"incident {incident}", incident
    if kind == "Agreement":
        return f"agreement {state.get('agreement_key')}", NO_INCIDENT
    label = kind.lower() or "stream"
    if incident:
        return f"{label} of incident {incident}", incident
    return label, NO_INCIDENT
