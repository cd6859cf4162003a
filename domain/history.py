"""The record as auditors and the CLI read it: one entry per stored domain event."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import AggregateEvent, DomainEventProtocol
from pydantic import BaseModel, ConfigDict

from contracts.messages import CommandContext


class HistoryEntry(BaseModel):
    """One recorded domain event, as auditors and the CLI read it."""

    model_config = ConfigDict(frozen=True)

    version: int
    event: str
    recorded_at: datetime
    ctx: CommandContext
    details: dict[str, Any]


def history_entry(event: DomainEventProtocol[UUID]) -> HistoryEntry:
    if not isinstance(event, AggregateEvent):
        raise TypeError(f"unexpected event type in an aggregate's history: {type(event)}")
    attributes = dict(event.__dict__)
    ctx = attributes.pop("ctx")
    for envelope_field in ("originator_id", "originator_version", "timestamp", "originator_topic"):
        attributes.pop(envelope_field, None)
    return HistoryEntry(
        version=event.originator_version,
        event=type(event).__qualname__.rsplit(".", 1)[-1],
        recorded_at=event.timestamp,
        ctx=ctx,
        details={key: _plain(value) for key, value in attributes.items()},
    )


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
