"""Reading a damaged stream of the record fails with one `DamagedRecordError`, never with the
library's own exception, and never for any other stream.

The library meets damage in three places, each with its own exception and none naming what was
damaged in an operator's words: the mapper (a state that does not decode, `MapperDeserialisation
Error`; a topic that resolves to nothing, `TopicError`), an aggregate's replay (a version missing
from the middle, `OriginatorVersionError`; the first version missing, a bare `assert`), and an
event's `apply` on a state that does not fit it. `CheckedMapper` and `CheckedRepository` turn each
into a `DamagedRecordError` naming the originator id and version; the application then names the
stream as people know it (`naming`). `in_order` does the same for a read of raw events (history).

A version missing at the end (the newest events deleted) cannot be seen from the stream alone;
that is the hash chain's part (`lotse audit verify`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import TopicError

from domain.errors import DamagedRecordError
from domain.projecting import apply_to_any

T = TypeVar("T")
Projector = Callable[[Any, Iterable[Any]], Any]

APPLY_FAILURES = (AssertionError, AttributeError, KeyError, TypeError, ValueError)
"""What applying a stored event to its aggregate raises when the stored state does not fit the
event (a field missing or of the wrong kind). Domain refusals are not among them: an event that
was recorded has been accepted once."""


class CheckedMapper(Mapper[UUID]):
    """The library's mapper; a stored event it cannot turn back into a domain event is a
    `DamagedRecordError` naming its originator and version."""

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        try:
            return super().to_domain_event(stored_event)
        except TopicError:
            problem = f"its event type '{stored_event.topic}' does not exist"
        except MapperDeserialisationError as error:
            problem = f"its stored state cannot be read ({_first_line(error.__cause__)})"
        raise DamagedRecordError(
            stored_event.originator_id, stored_event.originator_version, problem
        ) from None


class CheckedRepository(Repository[UUID]):
    """The library's repository, whose every replay checks that the versions follow one
    another from the aggregate's own and that each event applies."""

    def get(
        self, aggregate_id: UUID, *, projector_func: Projector | None = None, **options: Any
    ) -> Any:
        projector = projector_func or apply_to_any
        return super().get(aggregate_id, projector_func=checked(projector), **options)


def checked(projector: Projector) -> Projector:
    """`projector` fed only events whose versions follow on from the aggregate's; a gap, or
    an event that does not apply, is a `DamagedRecordError` at that version."""

    def project(aggregate: Any, events: Iterable[Any]) -> Any:
        reading = _Reading(aggregate)
        try:
            return projector(aggregate, reading.events(events))
        except APPLY_FAILURES as error:
            last = reading.last
            if last is None:
                raise
            raise DamagedRecordError(
                last.originator_id,
                last.originator_version,
                f"its stored state does not fit its event type ({_first_line(error)})",
            ) from None

    return project


class _Reading:
    """The events of one replay, checked for gaps as they pass; remembers the last one."""

    def __init__(self, aggregate: Any) -> None:
        self.version = 0 if aggregate is None else int(aggregate.version)
        self.last: Any = None

    def events(self, events: Iterable[Any]) -> Iterator[Any]:
        for event in events:
            check_follows(event, self.version)
            self.version = event.originator_version
            self.last = event
            yield event


def in_order(events: Iterable[T]) -> Iterator[T]:
    """Every event of one stream read from its start, with a gap a `DamagedRecordError`."""
    version = 0
    for event in events:
        check_follows(event, version)
        version = event.originator_version  # type: ignore[attr-defined]  # every domain event has one
        yield event


def check_follows(event: Any, version: int) -> None:
    """A `DamagedRecordError` unless `event` (a domain event or a stored one) is the version
    after `version` in its stream."""
    expected = version + 1
    if event.originator_version != expected:
        raise DamagedRecordError(
            event.originator_id,
            expected,
            f"version {expected} is missing (the next one stored is version "
            f"{event.originator_version})",
        )


@contextmanager
def naming(stream: str) -> Iterator[None]:
    """Within it, a `DamagedRecordError` names `stream` (`incident 'x'`, `person P-1 of
    incident 'x'`) besides its originator id."""
    try:
        yield
    except DamagedRecordError as error:
        raise error.naming(stream) from None


def person_stream(incident_key: str, person_ref: str) -> str:
    """How a damaged person's stream is named to an operator."""
    return f"person {person_ref} of incident '{incident_key}'"


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip() if error is not None else ""
    return text.partition("\n")[0] or type(error).__name__
