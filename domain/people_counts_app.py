"""The application's reads of the people view (a mixin of `LotseApplication`): how many people an
incident has and where their cases stand, and what is overdue.

Every read first catches the view up with the record (domain/people_view.py), so it answers
with everything recorded before it began; when the worker keeps the view current in the
background, that costs one query. The view is opened on first use: commands that never count
people never create it.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import Environment

from contracts.case_rules import OverdueItem
from contracts.people_counts import IncidentPeople
from domain.people_app import project_person
from domain.people_summary import count, overdue_of
from domain.people_view import PeopleProjector
from domain.people_view_stores import build_people_view
from domain.person import AffectedPerson

if TYPE_CHECKING:
    from domain.incident import Incident


class PeopleViewMixin:
    """Counts and overdue items of an incident's people, read from the people view."""

    _people_projector: PeopleProjector | None = None
    _people_projector_lock = threading.Lock()  # guards the first opening only

    if TYPE_CHECKING:
        name: str
        env: dict[str, str]
        recorder: ApplicationRecorder
        mapper: Mapper[UUID]
        repository: Repository[UUID]

        def incident(self, incident_key: str, version: int | None = None) -> Incident: ...

    def close(self) -> None:
        if self._people_projector is not None:
            self._people_projector.store.close()
        super().close()  # type: ignore[misc]  # the next mixin's or Application.close

    def catch_up_people(self) -> int:
        """Bring the people view up to date with the record; the number of person events this
        call applied. Safe to call from several threads and processes at once."""
        return self._people().catch_up()

    def people_counts(self, incident_key: str, now: datetime) -> IncidentPeople:
        """How many people the incident has by involvement, their needs by category and
        status, their referrals by status, and what is overdue at `now` (oldest first)."""
        self.incident(incident_key)  # IncidentNotFoundError if not declared
        projector = self._people()
        projector.catch_up()
        return count(incident_key, projector.store.rows(incident_key), now)

    def overdue(self, incident_key: str, now: datetime) -> list[OverdueItem]:
        """Every open need or live referral of the incident's people due before `now`,
        oldest first (equal due dates in the order of registration)."""
        projector = self._people()
        projector.catch_up()
        return overdue_of(projector.store.due_rows(incident_key, now), now)

    def _people(self) -> PeopleProjector:
        projector = self._people_projector
        if projector is not None:
            return projector
        with self._people_projector_lock:
            if self._people_projector is None:
                self._people_projector = PeopleProjector(
                    build_people_view(Environment(self.name, self.env)),
                    self.recorder,
                    self.mapper,
                    self.repository,
                    self._person_at,
                )
            return self._people_projector

    def _person_at(self, person_id: UUID, version: int) -> AffectedPerson:
        found: object = self.repository.get(
            person_id, version=version, projector_func=project_person
        )
        if not isinstance(found, AffectedPerson):
            raise TypeError(f"aggregate {person_id} is a {type(found)}, not a person")
        return found
