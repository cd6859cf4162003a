"""Applying stored events to an aggregate, for `Repository.get(…, projector_func=…)`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from eventsourcing.domain import CanMutateProtocol, TMutableOrImmutableAggregate


def apply_events(
    aggregate: TMutableOrImmutableAggregate | None, events: Iterable[Any]
) -> TMutableOrImmutableAggregate | None:
    """Applies stored events in order, like the library's `project_aggregate` but without its
    per-event `isinstance(…, CanMutateProtocol)` check, which costs more than applying the event:
    every event in our store is an aggregate event of ours, which can mutate."""
    for event in events:
        mutable: CanMutateProtocol[TMutableOrImmutableAggregate] = event
        aggregate = mutable.mutate(aggregate)
    return aggregate


apply_to_any: Callable[[Any, Iterable[Any]], Any] = apply_events
"""`apply_events` for a read that checks the aggregate's type after it (`found: object`),
where no aggregate type can be inferred."""
