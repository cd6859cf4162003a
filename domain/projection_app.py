"""What the application's reads of a projection beside the record share (the people view, the
timeline; mixins of `LotseApplication`): the parts of the application they use, a projector
opened on first use — a process that never reads a projection never creates its tables — and
an aggregate replayed at a version for the projector.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar, overload
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import Environment

from domain.projecting import apply_to_any

if TYPE_CHECKING:
    from domain.incident import Incident

A = TypeVar("A")


class ClosingStore(Protocol):
    def close(self) -> None: ...


class Projector(Protocol):
    @property
    def store(self) -> ClosingStore: ...


P = TypeVar("P", bound=Projector)


class ProjectionReads:
    """The parts of the application a projection's reads use, and what they do with them."""

    if TYPE_CHECKING:
        name: str
        env: dict[str, str]
        recorder: ApplicationRecorder
        mapper: Mapper[UUID]
        repository: Repository[UUID]

        def incident(self, incident_key: str, version: int | None = None) -> Incident: ...

    def _environment(self) -> Environment:
        """The application's settings, as its projection stores read them."""
        return Environment(self.name, self.env)

    def _aggregate_at(self, kind: type[A], aggregate_id: UUID, version: int, what: str) -> A:
        """The aggregate at `version`, replayed without the library's per-event type check;
        `TypeError` naming `what` it should have been if it is not a `kind`."""
        found: object = self.repository.get(
            aggregate_id, version=version, projector_func=apply_to_any
        )
        if not isinstance(found, kind):
            raise TypeError(f"aggregate {aggregate_id} is a {type(found)}, not {what}")
        return found


class OpenedOnFirstUse(Generic[P]):
    """An application's projector, made by `open` on its first read: one thread opens it while
    the others wait (the lock guards the first opening only); it is then kept in the
    application, where later reads find it without this descriptor."""

    def __init__(self, open: Callable[[Any], P]) -> None:
        self._open = open
        self._lock = threading.Lock()
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, app: None, owner: type) -> Self: ...
    @overload
    def __get__(self, app: object, owner: type) -> P: ...
    def __get__(self, app: object, owner: type) -> Self | P:
        if app is None:
            return self
        with self._lock:
            found: P | None = vars(app).get(self._name)
            if found is None:
                found = vars(app)[self._name] = self._open(app)
        return found

    def close(self, app: object) -> None:
        """Close the projector's store if `app` opened it."""
        found: P | None = vars(app).get(self._name)
        if found is not None:
            found.store.close()
