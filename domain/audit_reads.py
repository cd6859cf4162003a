"""Audit reads as the record keeps them: one small aggregate per read of an audit command.

An auditor is accountable too (issue #9, point 6): `lotse audit replay|timeline|report` (and
`verify`) record who read, when, and what — the command, the incident, the options that
narrowed the read, the output format; never the output itself. The id is uuid5 of the read's
command id, so a read recorded twice (a retried write) is one read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic
from pydantic import BaseModel, ConfigDict

from contracts.accountability import AuditReadRequest
from contracts.messages import Actor, CommandContext
from domain import ids

if TYPE_CHECKING:
    from eventsourcing.application import Repository
    from eventsourcing.persistence import ApplicationRecorder, Mapper


class AuditRead(Aggregate):
    """One read by one auditor; it never changes once recorded."""

    @staticmethod
    def create_id(command_id: str) -> Any:
        return ids.audit_read_id(command_id)

    @event("Recorded")
    def __init__(
        self,
        command_id: str,
        command: str,
        incident_key: str | None,
        options: dict[str, str],
        output_format: str,
        ctx: CommandContext,
    ) -> None:
        self.command = command
        self.incident_key = incident_key
        self.options = dict(options)
        self.output_format = output_format
        self.ctx = ctx


AUDIT_READ_TOPIC = get_topic(AuditRead.Recorded)  # type: ignore[attr-defined]  # made by @event


class AuditReadEntry(BaseModel):
    """One recorded read: who (actor, on whose behalf, channel), when, and what."""

    model_config = ConfigDict(frozen=True)

    seq: int
    """Its place in the record (notification id)."""
    recorded_at: datetime
    actor: Actor
    channel: str
    command: str
    incident_key: str | None
    options: dict[str, str]
    output_format: str

    def what(self) -> str:
        """`report --format md --lang de` as an auditor reads it."""
        options = " ".join(f"{name} {value}" for name, value in self.options.items())
        return " ".join(part for part in (self.command, options, f"[{self.output_format}]") if part)


def read_entry(seq: int, recorded: Any) -> AuditReadEntry:
    """The entry of one stored `AuditRead.Recorded` event."""
    ctx: CommandContext = recorded.ctx
    return AuditReadEntry(
        seq=seq,
        recorded_at=recorded.timestamp,
        actor=ctx.actor,
        channel=str(ctx.channel),
        command=recorded.command,
        incident_key=recorded.incident_key,
        options=dict(recorded.options),
        output_format=recorded.output_format,
    )


class AuditReadsMixin:
    """Recording and listing audit reads. Needs the application's repository, recorder,
    mapper and `save`."""

    if TYPE_CHECKING:
        repository: Repository[UUID]
        recorder: ApplicationRecorder
        mapper: Mapper[UUID]

        def save(self, *objs: Any, **kwargs: Any) -> Any: ...

    def record_audit_read(self, read: AuditReadRequest, ctx: CommandContext) -> AuditRead:
        """Record one read; a command id recorded before returns that read, writing nothing."""
        try:
            found: Any = self.repository.get(ids.audit_read_id(ctx.command_id))
        except AggregateNotFoundError:
            pass
        else:
            if not isinstance(found, AuditRead):
                raise TypeError(f"aggregate for audit read '{ctx.command_id}' is {type(found)}")
            return found
        recorded = AuditRead(
            command_id=ctx.command_id,
            command=str(read.command),
            incident_key=read.incident_key,
            options=dict(read.options),
            output_format=read.output_format,
            ctx=ctx,
        )
        self.save(recorded)
        return recorded

    def audit_reads(self, incident_key: str | None = None) -> list[AuditReadEntry]:
        """Every recorded read in record order; with `incident_key`, the reads of that incident."""
        entries = (
            read_entry(n.id, self.mapper.to_domain_event(n))
            for n in _notifications(self.recorder.select_notifications)
        )
        return [e for e in entries if incident_key is None or e.incident_key == incident_key]


def _notifications(select: Callable[..., Any]) -> Iterator[Any]:
    start = 1
    while True:
        batch = select(start, 500, topics=[AUDIT_READ_TOPIC])
        yield from batch
        if len(batch) < 500:
            return
        start = batch[-1].id + 1
